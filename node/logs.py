"""Logging set-up: one line per record, each tagged with the id of the request it belongs to."""

from __future__ import annotations

import logging
from contextvars import ContextVar

SQL_LOGGERS = ("tortoise", "tortoise.db_client", "aiosqlite", "asyncpg")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class _QuartierHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Standard error, marked as ours so reconfiguring replaces it instead of adding another."""


def configure_logging(level: str) -> None:
    """Configure the root logger for a node process (only ``node`` ever calls this)."""
    handler = _QuartierHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    # Replace our own handler if configured twice, but leave others (a supervisor's, pytest's).
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _QuartierHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    # aiohttp's access log cannot see our request ids; the request middleware logs instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # These log every SQL statement at DEBUG with its parameters (password hashes, private
    # keys): they never go below INFO, whatever the node's level.
    floor = max(logging.INFO, logging.getLevelName(level))
    for name in SQL_LOGGERS:
        logging.getLogger(name).setLevel(floor)
