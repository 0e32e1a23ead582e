"""Mastodon's rate limit on the client API: 300 requests per 5 minutes per token (per address
without one), told in ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` on every answer, as
apps (and Mastodon.py's ``ratelimit_method``) pace themselves by them. Past it: 429 with
``Retry-After``. Streams are long-lived connections and are not counted."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from node.http.keys import CLOCK
from node.ratelimit import SlidingWindowLimiter

LIMIT = 300
WINDOW = 300
API_LIMITER = web.AppKey("mastodon_api_limiter", SlidingWindowLimiter)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _counted(request: web.Request) -> bool:
    path = request.path
    return path.startswith(("/api/v1/", "/api/v2/")) and not path.startswith("/api/v1/streaming")


def _key(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header:
        # A digest: the limiter's memory never holds a usable token.
        return "token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return f"address:{request.remote}"


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request against its token, answer 429 past the limit, and say where the
    caller stands on every answer."""
    if not _counted(request) or API_LIMITER not in request.app:
        return await handler(request)
    limiter = request.app[API_LIMITER]
    key = _key(request)
    left, reset = limiter.remaining(key)
    if left <= 0:
        now = request.app[CLOCK]().timestamp()
        response: web.StreamResponse = web.json_response(
            {"error": "Too many requests"},
            status=429,
            headers={"Retry-After": str(max(1, math.ceil(reset - now)))},
        )
    else:
        limiter.record(key)
        response = await handler(request)
        left, reset = limiter.remaining(key)
    if not response.prepared:
        response.headers["X-RateLimit-Limit"] = str(limiter.max_events)
        response.headers["X-RateLimit-Remaining"] = str(left)
        response.headers["X-RateLimit-Reset"] = (
            datetime.fromtimestamp(reset, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
    return response
