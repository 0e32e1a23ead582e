"""How long federation bookkeeping is kept, and the purge that enforces it.

Both queues are tables that would otherwise grow forever: every activity received and every
delivery made stays a row. What is kept, and why:

- processed inbound activities (done or ignored): ``inbound`` (14 days). They are the dedupe
  record: a sender that retries a delivery we already stored (its connection dropped before our
  202) must find it here. Senders retry for a few days (Mastodon about 3, we 3), so two weeks
  covers them with room to spare. Failed ones are kept ``failed`` (30 days) for the operator.
- deliveries: delivered ones ``delivered`` (7 days, for diagnosis), dead ones ``dead``
  (30 days, so ``quartier deliveries list | retry`` can still see and resend them).

Pending rows are never purged. Deletes go in chunks so neither database holds a long lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.queryset import QuerySet

from federation.models import Delivery, DeliveryState, InboundMessage, InboundState
from federation.worker import poll_loop

log = logging.getLogger(__name__)

CHUNK = 2_000


@dataclass(frozen=True)
class RetentionPolicy:
    """How long finished rows stay."""

    inbound: timedelta = timedelta(days=14)
    failed: timedelta = timedelta(days=30)
    delivered: timedelta = timedelta(days=7)
    dead: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Purged:
    """How many rows one purge removed."""

    inbound: int = 0
    deliveries: int = 0

    @property
    def total(self) -> int:
        """Rows removed in all."""
        return self.inbound + self.deliveries


async def purge(now: datetime, policy: RetentionPolicy | None = None) -> Purged:
    """Delete the finished rows older than the policy allows; returns how many went."""
    policy = policy or RetentionPolicy()
    processed = (InboundState.DONE, InboundState.IGNORED)
    inbound = await _delete(
        InboundMessage.filter(state__in=processed, received_at__lt=now - policy.inbound)
    )
    inbound += await _delete(
        InboundMessage.filter(state=InboundState.FAILED, received_at__lt=now - policy.failed)
    )
    deliveries = await _delete(
        Delivery.filter(state=DeliveryState.DELIVERED, delivered_at__lt=now - policy.delivered)
    )
    # A dead row's clock is its creation (retry_deliveries resets it when resending).
    deliveries += await _delete(
        Delivery.filter(state=DeliveryState.DEAD, created_at__lt=now - policy.dead)
    )
    return Purged(inbound=inbound, deliveries=deliveries)


async def _delete(query: QuerySet[Any]) -> int:
    removed = 0
    while True:
        ids = await query.limit(CHUNK).values_list("id", flat=True)
        if not ids:
            return removed
        removed += await query.model.filter(id__in=list(ids)).delete()


async def purge_periodically(
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    policy: RetentionPolicy | None = None,
    every: timedelta = timedelta(hours=1),
) -> None:
    """Purge now, then every ``every``, until ``stop`` is set."""

    async def cycle() -> int:
        purged = await purge(clock(), policy)
        if purged.total:
            log.info("purged %d inbound and %d delivery rows", purged.inbound, purged.deliveries)
        return purged.total

    await poll_loop(cycle, asyncio.Event(), stop, every.total_seconds(), "retention")
