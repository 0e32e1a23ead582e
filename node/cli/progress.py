"""A progress bar for long commands: on a terminal only, redrawn in place with a carriage
return, so output captured to a file or a pipe stays free of control characters."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30
# Redrawing 10,000 times a second costs more than the work it shows; ten times is plenty.
INTERVAL_SECONDS = 0.1


class ProgressBar:
    """``bar(done, total)`` draws ``label [#####.....] done/total`` on ``stream`` when it is
    a terminal, and nothing otherwise; :meth:`close` ends the line it drew."""

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._label = label
        self._clock = clock
        self._live = stream.isatty()
        self._drawn_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        """Show that ``done`` of ``total`` are done (at most every ``INTERVAL_SECONDS``,
        and always the last step)."""
        if not self._live:
            return
        now = self._clock()
        recent = self._drawn_at is not None and now - self._drawn_at < INTERVAL_SECONDS
        if recent and done < total:
            return
        filled = WIDTH * done // total if total else WIDTH
        bar = "#" * filled + "." * (WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {done}/{total}")
        self._stream.flush()
        self._drawn_at = now

    def close(self) -> None:
        """End the bar's line, so what is printed next starts on a line of its own."""
        if self._drawn_at is not None:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn_at = None
