"""Remote actors the moderators suspended or silenced, one by one.

Like domain blocks (:mod:`moderation.blocks`), asked on hot paths (the inbound worker, every
search), so answered from an in-memory copy reloaded after each change made here and at most
``max_age`` (30 s) after another process changed it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from moderation.blocks import CACHE_MAX_AGE
from moderation.models import MAX_REASON_LENGTH, ActorRestriction, Severity

Clock = Callable[[], datetime]


class ActorRestrictions:
    """Restrict, lift and look up remote actors' restrictions."""

    def __init__(self, clock: Clock, *, max_age: timedelta = CACHE_MAX_AGE) -> None:
        self._clock = clock
        self._max_age = max_age
        self._by_actor: dict[str, Severity] = {}
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def restrict(self, actor: str, severity: Severity, reason: str) -> ActorRestriction:
        """Suspend or silence ``actor`` (a restriction already there takes the new severity)."""
        row, _ = await ActorRestriction.update_or_create(
            defaults={
                "severity": severity,
                "reason": reason[:MAX_REASON_LENGTH],
                "created_at": self._clock(),
            },
            actor=actor,
        )
        await self.reload()
        return row

    async def lift(self, actor: str) -> bool:
        """Lift the restriction of ``actor``; whether there was one."""
        removed = await ActorRestriction.filter(actor=actor).delete()
        await self.reload()
        return bool(removed)

    async def severity_of(self, actor: str) -> Severity | None:
        """The restriction of ``actor``, if any (no query while the copy is fresh)."""
        await self._fresh()
        return self._by_actor.get(actor)

    async def suspended(self) -> frozenset[str]:
        """Every suspended actor."""
        await self._fresh()
        return frozenset(a for a, s in self._by_actor.items() if s is Severity.SUSPEND)

    async def silenced(self) -> frozenset[str]:
        """Every silenced actor."""
        await self._fresh()
        return frozenset(a for a, s in self._by_actor.items() if s is Severity.SILENCE)

    async def reload(self) -> None:
        """Read the restrictions from the database now."""
        rows = await ActorRestriction.all().values_list("actor", "severity")
        self._by_actor = {str(actor): Severity(severity) for actor, severity in rows}
        self._loaded_at = self._clock()

    async def _fresh(self) -> None:
        if self._is_fresh():
            return
        async with self._lock:
            if not self._is_fresh():
                await self.reload()

    def _is_fresh(self) -> bool:
        if self._loaded_at is None:
            return False
        age = self._clock() - self._loaded_at
        return timedelta(0) <= age < self._max_age
