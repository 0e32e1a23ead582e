"""Domain blocks: the service admins use, and the cache the federation hot paths read.

A block suspends a server (nothing accepted from it or sent to it: what the inbox asks) or
silences it (what it sends is accepted, but kept out of browse results and alerts).

Every inbox POST asks whether its sender is blocked, so the answer comes from an in-memory set
of blocked hosts, not from a query. The set is reloaded after every change made through this
object, and otherwise at most ``max_age`` (30 s) after it was loaded, when next asked: a block
added by ``quartier blocks add`` (another process) takes effect in a running node within 30 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from moderation.domains import blocked_by, covers, normalise_domain
from moderation.errors import AlreadyBlocked, InvalidBlock, NoSuchBlock
from moderation.models import MAX_REASON_LENGTH, DomainBlock, Severity

Clock = Callable[[], datetime]
CACHE_MAX_AGE = timedelta(seconds=30)


class DomainBlocks:
    """Add, remove and list blocks, and answer "is this server blocked?" from memory."""

    def __init__(
        self, own_authority: str, clock: Clock, *, max_age: timedelta = CACHE_MAX_AGE
    ) -> None:
        self._own = own_authority.lower()
        self._clock = clock
        self._max_age = max_age
        self._blocked: frozenset[str] = frozenset()
        self._silenced: frozenset[str] = frozenset()
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def add(
        self, domain: str, reason: str = "", severity: Severity = Severity.SUSPEND
    ) -> DomainBlock:
        """Suspend (by default) or silence ``domain`` (and its subdomains); ``InvalidBlock``
        or ``AlreadyBlocked`` when that cannot be done."""
        host = normalise_domain(domain)
        if host == self._own:
            raise InvalidBlock(f"{host} is this node's own host")
        if covers(host, self._own):  # a parent domain, or our host on any port
            raise InvalidBlock(f"{host} covers this node's own host ({self._own})")
        reason = reason.strip()
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidBlock(
                f"the reason is longer than {MAX_REASON_LENGTH} characters", field="reason"
            )
        if await DomainBlock.exists(host=host):
            raise AlreadyBlocked(f"{host} is already blocked")
        try:
            block = await DomainBlock.create(
                host=host, reason=reason, severity=severity, created_at=self._clock()
            )
        except IntegrityError:  # added by someone else between the check and the insert
            raise AlreadyBlocked(f"{host} is already blocked") from None
        await self.reload()
        return block

    async def remove(self, domain: str) -> DomainBlock:
        """Lift the block on ``domain`` (spelled as it was blocked, in any case or IDNA form)."""
        host = normalise_domain(domain)
        block = await DomainBlock.get_or_none(host=host)
        if block is None:
            raise NoSuchBlock(f"{host} is not blocked")
        await block.delete()
        await self.reload()
        return block

    async def all(self) -> list[DomainBlock]:
        """Every block, alphabetically by host."""
        return await DomainBlock.all().order_by("host")

    async def blocking(self, authority: str) -> str | None:
        """The suspension covering the server at ``authority`` (``host[:port]``), or ``None``.

        No query unless the cache is older than ``max_age``.
        """
        await self._fresh()
        return blocked_by(self._blocked, authority)

    async def is_silenced(self, authority: str) -> bool:
        """Whether the server at ``authority`` is silenced (not suspended: see
        :meth:`is_blocked`)."""
        await self._fresh()
        return blocked_by(self._silenced, authority) is not None

    async def silenced(self) -> frozenset[str]:
        """Every silenced domain (each covers its subdomains)."""
        await self._fresh()
        return self._silenced

    async def is_blocked(self, authority: str) -> bool:
        """Whether the server at ``authority`` is suspended (see :meth:`blocking`)."""
        return await self.blocking(authority) is not None

    async def reload(self) -> None:
        """Read the blocks from the database now."""
        rows = await DomainBlock.all().values_list("host", "severity")
        self._blocked = frozenset(str(h) for h, s in rows if s == Severity.SUSPEND)
        self._silenced = frozenset(str(h) for h, s in rows if s == Severity.SILENCE)
        self._loaded_at = self._clock()

    async def _fresh(self) -> None:
        if self._is_fresh():
            return
        async with self._lock:  # one reload for a burst of requests, not one per request
            if not self._is_fresh():
                await self.reload()

    def _is_fresh(self) -> bool:
        if self._loaded_at is None:
            return False
        age = self._clock() - self._loaded_at
        return timedelta(0) <= age < self._max_age  # a clock set back counts as stale
