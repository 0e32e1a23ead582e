"""In-process sliding-window limiter for actions that can be abused (logins, registrations).

Per process: with several ``serve`` processes each enforces its own window, which still bounds
guessing to ``processes x max_attempts`` per window. Memory is capped: the least recently seen
keys are forgotten first.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

from node.clock import Clock
from node.errors import TooManyRequests

MAX_TRACKED_KEYS = 100_000


class SlidingWindowLimiter:
    """Allows ``max_events`` per ``window_seconds`` for each key."""

    def __init__(self, max_events: int, window_seconds: int, clock: Clock) -> None:
        self.max_events = max_events
        self.window = window_seconds
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float]:
        now = self._clock().timestamp()
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def check(self, *keys: str) -> None:
        """Raise :class:`TooManyRequests` if any key has used up its window."""
        now = self._clock().timestamp()
        for key in keys:
            events = self._recent(key)
            if len(events) >= self.max_events:
                retry_after = max(1, math.ceil(events[0] + self.window - now))
                raise TooManyRequests("too many attempts; try again later", retry_after=retry_after)

    def record(self, *keys: str) -> None:
        """Count one event against each key."""
        now = self._clock().timestamp()
        for key in keys:
            events = self._events.setdefault(key, deque())
            events.append(now)
            self._events.move_to_end(key)
        while len(self._events) > MAX_TRACKED_KEYS:
            self._events.popitem(last=False)

    def hit(self, *keys: str) -> None:
        """Check and count one attempt in one step, before the attempt is made.

        Counting before the (slow) attempt means concurrent attempts cannot all pass the
        check while the first ones are still being verified.
        """
        self.check(*keys)
        self.record(*keys)

    def forgive(self, *keys: str) -> None:
        """Take back the latest attempt of each key (it succeeded, or was not a guess)."""
        for key in keys:
            events = self._events.get(key)
            if events:
                events.pop()
                if not events:
                    del self._events[key]

    def remaining(self, key: str) -> tuple[int, float]:
        """How many events ``key`` has left in its window, and when (a timestamp) its oldest
        counted event leaves it (now, when it has none)."""
        events = self._recent(key)
        now = self._clock().timestamp()
        reset = events[0] + self.window if events else now
        return max(0, self.max_events - len(events)), reset

    def reset(self, *keys: str) -> None:
        """Forget the events of each key (after a successful login)."""
        for key in keys:
            self._events.pop(key, None)
