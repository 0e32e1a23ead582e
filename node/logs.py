"""Logging set-up: one line per record, each tagged with the id of the request it belongs to."""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str) -> None:
    """Configure the root logger for a node process (only ``node`` ever calls this)."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log cannot see our request ids; the request middleware logs instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Tortoise logs every SQL statement at DEBUG, parameters included (password hashes, keys).
    logging.getLogger("tortoise").setLevel(max(logging.INFO, logging.getLevelName(level)))
