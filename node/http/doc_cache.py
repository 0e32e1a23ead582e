"""A small in-process cache of serialised public documents (actor documents).

Actor documents are fetched constantly by other servers and change rarely. Caching the bytes
saves a database round trip and the JSON encoding per fetch. Entries expire after a short TTL so
that with several ``serve`` processes a change made through one is seen by the others within the
TTL; the process that made the change drops its entry at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class DocumentCache:
    """Bytes by key, least recently used evicted first, each entry valid for ``ttl`` seconds."""

    def __init__(
        self,
        ttl: float = 60.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        """The cached bytes of ``key``, or ``None`` if absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, body = entry
        if expires <= self._monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return body

    def put(self, key: str, body: bytes) -> None:
        """Cache ``body`` under ``key``."""
        self._entries[key] = (self._monotonic() + self.ttl, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, key: str) -> None:
        """Forget ``key`` and its variants (``key|...``): its document changed."""
        self._entries.pop(key, None)
        variants = [k for k in self._entries if k.startswith(f"{key}|")]
        for variant in variants:
            del self._entries[variant]

    def clear(self) -> None:
        """Forget everything (what the documents may show changed)."""
        self._entries.clear()
