"""Retention: what the community's policy says must go, purged on schedule, with audit entries.

Each run reads the policy in force (``[governance]`` ``keep_*_days``, or as admins changed it)
and removes exactly what is older than it allows:

- listings that ended (expired, withdrawn, done) more than ``keep_expired_listings_days``
  ago, ours and other nodes' copies, with their photos (rows and files) and the responses to
  them; open and reserved listings are never touched, however old;
- messages older than ``keep_messages_days`` (none when 0), and conversations left empty;
- the federation logs: processed inbound activities after ``keep_inbound_days``, delivered
  deliveries after ``keep_deliveries_days`` (failed and dead ones as federation.retention
  says), never a pending one;
- audit entries older than ``keep_audit_days`` (none when 0).

Every category that lost something gets one audit entry by ``system`` saying how many and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import cast

from tortoise.transactions import in_transaction

from federation.retention import RetentionPolicy, purge
from moderation import audit
from moderation.policy_store import PolicyStore
from node.conversations.models import Conversation, Message
from node.listings.models import Listing, Status
from node.media.service import MediaService

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ENDED = (Status.EXPIRED, Status.WITHDRAWN, Status.DONE)
CHUNK = 500


@dataclass(frozen=True)
class Purged:
    """What one run removed."""

    listings: int = 0
    messages: int = 0
    inbound: int = 0
    deliveries: int = 0
    audit_entries: int = 0

    @property
    def total(self) -> int:
        """Everything removed."""
        return sum(getattr(self, f.name) for f in fields(self))


class RetentionJob:
    """Purges what the community's retention periods say must go."""

    def __init__(self, governance: PolicyStore, media: MediaService | None, clock: Clock) -> None:
        self._governance = governance
        self._media = media
        self._clock = clock

    async def run_once(self) -> Purged:
        """One purge, as the policy stands now."""
        keep = (await self._governance.current()).retention
        now = self._clock()
        listings = 0
        if keep.expired_listings is not None:
            listings = await self._listings(now - timedelta(days=keep.expired_listings))
            await _audit(
                listings, "listings", f"ended more than {keep.expired_listings} days ago", now
            )
        messages = 0
        if keep.messages is not None:
            messages = await _messages(now - timedelta(days=keep.messages))
            await _audit(messages, "messages", f"older than {keep.messages} days", now)
        logs = await purge(
            now,
            RetentionPolicy(
                inbound=timedelta(days=keep.inbound_log),
                delivered=timedelta(days=keep.delivery_log),
            ),
        )
        await _audit(
            logs.inbound,
            "inbound activities",
            f"processed more than {keep.inbound_log} days ago",
            now,
        )
        await _audit(
            logs.deliveries, "deliveries", f"made more than {keep.delivery_log} days ago", now
        )
        entries = 0
        if keep.audit is not None:
            entries = await audit.purge_before(now - timedelta(days=keep.audit))
            await _audit(entries, "audit entries", f"older than {keep.audit} days", now)
        purged = Purged(listings, messages, logs.inbound, logs.deliveries, entries)
        if purged.total:
            log.info("retention purged %s", purged)
        return purged

    async def run_total(self) -> int:
        """:meth:`run_once`, counted (for the background loop)."""
        return (await self.run_once()).total

    async def _listings(self, cutoff: datetime) -> int:
        ended = Listing.filter(status__in=ENDED, updated_at__lt=cutoff)
        removed = 0
        while ids := cast(list[int], await ended.limit(CHUNK).values_list("id", flat=True)):
            for listing_id in ids:
                if self._media is not None:
                    await self._media.forget_listing(listing_id)  # files too, not rows only
            # Conditions again: a listing reopened meanwhile stays.
            still = Listing.filter(id__in=ids, status__in=ENDED, updated_at__lt=cutoff)
            # Counted first: SQLite's count of a DELETE includes what the search triggers did.
            removed += await still.count()
            await still.delete()
            if len(ids) < CHUNK:
                break
        return removed


async def _messages(cutoff: datetime) -> int:
    removed = 0
    while ids := list(
        await Message.filter(created_at__lt=cutoff).limit(CHUNK).values_list("id", flat=True)
    ):
        removed += len(ids)
        await Message.filter(id__in=ids).delete()
    emptied = Conversation.filter(updated_at__lt=cutoff, messages__id__isnull=True)
    empty_ids = list(await emptied.values_list("id", flat=True))
    if empty_ids:
        await Conversation.filter(id__in=empty_ids).delete()
    return removed


async def _audit(count: int, what: str, why: str, now: datetime) -> None:
    if count:
        async with in_transaction():
            await audit.record(audit.SYSTEM, "retention.purge", what, f"{count} {what} {why}", now)
