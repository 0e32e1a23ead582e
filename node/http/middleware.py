"""Request middlewares: request ids and logging, JSON errors, the database binding."""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from node.db import activated
from node.errors import (
    NodeError,
    NotAcceptable,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from node.http.keys import DATABASE
from node.logs import request_id_var

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# aiohttp's own HTTP errors (unknown route, wrong method, body too large) in our JSON shape.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (the client's ``X-Request-Id`` if sane), log it, echo it back."""
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        log.info(
            "%s %s -> %s in %.1f ms",
            request.method,
            # raw_path keeps percent-escapes (a decoded %0A would forge a log line); the query
            # is left out, as it may one day carry something private.
            request.raw_path.partition("?")[0],
            status,
            (time.perf_counter() - started) * 1000,
        )
        request_id_var.reset(token)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into a JSON body with a stable code; never leak a stack trace."""
    try:
        return await handler(request)
    except NodeError as exc:
        if exc.status == 500:
            log.exception("internal error")
        body = _mastodon_error(exc.safe) if _mastodon_api(request) else exc.to_json()
        response = web.json_response(body, status=exc.status)
        if isinstance(exc, TooManyRequests | ServiceUnavailable):
            response.headers["Retry-After"] = str(exc.retry_after)
        elif isinstance(exc, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="quartier"'  # RFC 6750 section 3
        elif isinstance(exc, NotAcceptable):
            response.headers["Vary"] = "Accept"
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        body = {"error": {"code": code, "message": exc.reason.lower()}}
        if _mastodon_api(request):
            body = _mastodon_error(exc.reason)
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return web.json_response(body, status=exc.status, headers=headers)
    except Exception:
        log.exception("unhandled error")
        body = {"error": {"code": "internal_error", "message": "internal error"}}
        if _mastodon_api(request):
            body = _mastodon_error("Internal server error")
        return web.json_response(body, status=500)


def _mastodon_api(request: web.Request) -> bool:
    """Whether ``request`` is for the Mastodon client API, whose apps read errors as
    ``{"error": "..."}`` (docs/client-api.md); our own API keeps its coded shape."""
    return request.path.startswith(("/api/v1/", "/api/v2/"))


def _mastodon_error(message: str) -> dict[str, str]:
    # Mastodon capitalises its messages ("Record not found"); apps show them as they are.
    return {"error": message[:1].upper() + message[1:]}


# Discovery documents are public and read by browser-based clients (RFC 7033 section 5
# requires it for WebFinger), errors included, so a client can tell "no such account" apart.
_CORS_PREFIXES = ("/.well-known/", "/nodeinfo/")


# The APIs apps in browsers call (Elk, Phanpy): the client API, OAuth's token endpoints and
# our own API. Their tokens travel in headers, never in cookies, and "*" never carries cookies
# (a browser sends them cross-origin only to an explicitly named origin), so any site's app may
# call them with a token its user gave it.
_API_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke")
_API_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
_EXPOSED = (
    "Link, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id"
)


@web.middleware
async def discovery_cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``Access-Control-Allow-Origin: *`` on every discovery and API response, errors
    included, and the answer to a browser's preflight for the APIs."""
    api = request.path.startswith(_API_PREFIXES)
    if api and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
                "Access-Control-Allow-Headers": _API_HEADERS,
                "Access-Control-Max-Age": "86400",
            },
        )
    response = await handler(request)
    # A stream (SSE, WebSocket) sent its headers already: its handler set what it needs.
    if (api or request.path.startswith(_CORS_PREFIXES)) and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = "*"
        if api:
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED
    return response


@web.middleware
async def database(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind the node's own ORM context to the request (several nodes may share a process)."""
    with activated(request.app[DATABASE]):
        return await handler(request)
