"""aiohttp's connection logger, minus what it says about requests its HTTP parser refused.

A request line or header over 8,190 bytes, or a malformed one, is refused by aiohttp's parser
before any middleware runs: aiohttp answers 400 itself and logs an ERROR with a traceback whose
message quotes up to 100 bytes of the offending line, which may be an ``Authorization`` header.
Anyone can send such requests, so they are neither errors of ours nor safe to quote: they get one
INFO line naming the kind of error, never its content. Everything else aiohttp logs (a handler's
unhandled exception, with its traceback) passes through unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"


class ParserErrorLog(logging.LoggerAdapter[logging.Logger]):
    """The logger aiohttp's request handler is given (``handler_args={"logger": ...}``)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        super().__init__(logger or logging.getLogger(SERVER_LOGGER), {})

    def log(
        self,
        level: int,
        msg: object,
        *args: object,
        exc_info: Any = None,
        extra: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> None:
        """Log as the wrapped logger would, except refused requests (see the module)."""
        if isinstance(exc_info, HttpProcessingError):
            # Never above INFO (a client's mistake), never below what aiohttp chose.
            quiet = min(level, logging.INFO)
            if self.logger.isEnabledFor(quiet):
                self.logger.log(
                    quiet,
                    "refused a request the HTTP parser could not read: %s (answered %s)",
                    type(exc_info).__name__,
                    exc_info.code,
                )
            return
        super().log(level, msg, *args, exc_info=exc_info, extra=extra, **kwargs)
