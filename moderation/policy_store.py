"""The governance policy in force: the file's settings, with what admins changed through the API.

Every delivery asks for the policy, so it is answered from memory; the stored changes are read
again after each change made through this object, and otherwise at most ``max_age`` (30 s)
after they were read, when next asked: a change made through another process (a second
``serve``, the CLI) takes effect everywhere within 30 s, and no restart is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from moderation import audit
from moderation.errors import PolicyError
from moderation.governance import GovernancePolicy
from moderation.models import PolicyOverride

Clock = Callable[[], datetime]
# Validates the policy's settings (the file's, with the changes over them) into a policy, or
# raises PolicyError naming the setting at fault.
Parse = Callable[[Mapping[str, Any]], GovernancePolicy]
CACHE_MAX_AGE = timedelta(seconds=30)
_OVERRIDE_ID = 1


class PolicyStore:
    """Reads, changes and caches the community's governance policy."""

    def __init__(
        self,
        file_values: Mapping[str, Any],
        parse: Parse,
        clock: Clock,
        *,
        max_age: timedelta = CACHE_MAX_AGE,
    ) -> None:
        self._file = dict(file_values)
        self._parse = parse
        self._clock = clock
        self._max_age = max_age
        self._policy = parse(self._file)
        self._changes: dict[str, Any] = {}
        self._changed_by = ""
        self._changed_at: datetime | None = None
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    @property
    def cached(self) -> GovernancePolicy:
        """The policy as last read, without asking the database (for code that cannot wait)."""
        return self._policy

    async def current(self) -> GovernancePolicy:
        """The policy in force: no query unless the copy is ``max_age`` old."""
        if not self._is_fresh():
            async with self._lock:  # one read for a burst of deliveries, not one each
                if not self._is_fresh():
                    await self.reload()
        return self._policy

    async def values(self) -> dict[str, Any]:
        """Every setting of the policy in force, and which ones admins changed."""
        await self.current()
        return {**self._file, **self._changes}

    async def changed_settings(self) -> tuple[dict[str, Any], str, datetime | None]:
        """The settings changed through the API (over the file's), who changed them last
        and when (``""`` and ``None`` when none is)."""
        await self.current()
        return dict(self._changes), self._changed_by, self._changed_at

    async def change(self, changes: Mapping[str, Any], by: str) -> GovernancePolicy:
        """Apply ``changes`` (setting -> value) over the policy in force and keep them.

        Validated as a whole first: ``PolicyError`` naming the setting, and nothing changed,
        when the result would not be a valid policy. A value equal to the file's drops the
        change, so the file decides again. The audit log records who changed what, from
        which value to which.
        """
        async with self._lock:
            await self.reload()
            before = {**self._file, **self._changes}
            merged = {**self._changes, **changes}
            policy = self._parse({**self._file, **merged})
            kept = {key: value for key, value in merged.items() if self._file.get(key) != value}
            now = self._clock()
            async with in_transaction():
                row = await PolicyOverride.get_or_none(id=_OVERRIDE_ID)
                if row is None:
                    row = PolicyOverride(id=_OVERRIDE_ID)
                row.values, row.changed_by, row.changed_at = kept, by, now
                await row.save()
                await audit.record(
                    by, "governance.changed", "governance", _what(before, changes), now
                )
            self._changes, self._policy, self._loaded_at = kept, policy, self._clock()
            self._changed_by, self._changed_at = by, row.changed_at
        return policy

    async def reset(self, by: str) -> GovernancePolicy:
        """Drop every change made through the API: the file's settings apply again (``by``
        is remembered in this process only: the audit log keeps who did it)."""
        async with self._lock:
            now = self._clock()
            async with in_transaction():
                await PolicyOverride.filter(id=_OVERRIDE_ID).delete()
                what = _what({**self._file, **self._changes}, self._file)
                await audit.record(by, "governance.reset", "governance", what, now)
            self._changes, self._policy = {}, self._parse(self._file)
            self._changed_by, self._changed_at = by, self._clock()
            self._loaded_at = self._clock()
        return self._policy

    async def reload(self) -> None:
        """Read the stored changes now; ``PolicyError`` naming the setting when they no longer
        make a valid policy (a newer version's rules): the node must not run on a guess."""
        row = await PolicyOverride.get_or_none(id=_OVERRIDE_ID)
        changes = dict(row.values) if row is not None else {}
        try:
            policy = self._parse({**self._file, **changes})
        except PolicyError as exc:
            raise PolicyError(
                f"the governance settings changed through the API: {exc}", exc.problems
            ) from None
        self._changes, self._policy, self._loaded_at = changes, policy, self._clock()
        if row is not None:
            self._changed_by, self._changed_at = row.changed_by, row.changed_at

    def _is_fresh(self) -> bool:
        if self._loaded_at is None:
            return False
        age = self._clock() - self._loaded_at
        return timedelta(0) <= age < self._max_age


def _what(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``key: old -> new`` for each setting whose value differs, for the audit log."""
    moves = [
        f"{key}: {before.get(key)!r} -> {value!r}"
        for key, value in sorted(after.items())
        if before.get(key) != value
    ]
    return "; ".join(moves) or "no setting changed value"
