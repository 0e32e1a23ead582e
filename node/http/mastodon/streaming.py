"""The Mastodon streaming API: Server-Sent Events and WebSocket (node/mastodon/streaming.py).

GET /api/v1/streaming/health            ``OK``, for apps checking the service is up
GET /api/v1/streaming/<channel>         one stream as Server-Sent Events (Mastodon.py's default):
                                        user, user/notification, public[/local|/remote]
                                        (``only_media``), hashtag[/local] (``tag``), direct, list
GET /api/v1/streaming[/]                WebSocket, many streams over one connection
                                        (``stream``, ``tag`` to start; subscribe messages)

Every stream needs a member's token (Mastodon 4.2 and later: public streams too): the
``Authorization: Bearer`` header, the ``access_token`` query parameter, or, for browsers, which
cannot set headers on a WebSocket, the ``Sec-WebSocket-Protocol`` header (echoed back as the
chosen protocol, or the browser drops the connection). Errors are Mastodon's streaming server's:
``{"error": "..."}`` over HTTP, ``{"error": "...", "status": 400}`` inside a WebSocket.
See docs/client-api-streaming.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from node.http.auth import Caller
from node.http.keys import CLOCK, MEMBERS, STREAMS
from node.mastodon.streaming import (
    MAX_TAG_LENGTH,
    MEMBER_STREAMS,
    PUBLIC_STREAMS,
    SSE_HEARTBEAT,
    SSE_OPENING,
    STREAM_NAMES,
    TAG_STREAMS,
    Connection,
    StreamHub,
    Subscription,
    normalize_tag,
)
from node.members.models import LoginSession

routes = web.RouteTableDef()

# What a client may send us over the WebSocket: small JSON commands.
MAX_CLIENT_MESSAGE = 4096
# Mastodon's isTruthy(): anything but these (and an absent value) is true.
_FALSE = frozenset({"", "0", "f", "F", "false", "FALSE", "off", "OFF"})
# SSE path (after /api/v1/streaming/) -> stream name, and the same with only_media.
_SSE_CHANNELS: dict[str, tuple[str, str]] = {
    "user": ("user", "user"),
    "user/notification": ("user:notification", "user:notification"),
    "public": ("public", "public:media"),
    "public/local": ("public:local", "public:local:media"),
    "public/remote": ("public:remote", "public:remote:media"),
    "hashtag": ("hashtag", "hashtag"),
    "hashtag/local": ("hashtag:local", "hashtag:local"),
    "direct": ("direct", "direct"),
    "list": ("list", "list"),
}


@dataclass(frozen=True)
class StreamError(Exception):
    """A stream refused, with Mastodon's status and message."""

    status: int
    message: str


def _error(status: int, message: str) -> web.Response:
    # Mastodon's streaming server's shape ({"error": "..."}), not Quartier's own API's; the
    # X-Error-Message header is what it sends when it refuses a WebSocket upgrade.
    response = web.json_response({"error": message}, status=status)
    response.headers["X-Error-Message"] = message
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="quartier"'
    return response


def _offered_protocols(request: web.Request) -> tuple[str, ...]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return tuple(p.strip() for p in header.split(",") if p.strip())


async def _caller(request: web.Request) -> Caller:
    """The member streaming, from the header, the query or the WebSocket protocol (Mastodon's
    order); :class:`StreamError` 401 otherwise. A browser's session cookie is not enough: a
    page on another site could open a WebSocket with it."""
    token: str | None = None
    header = request.headers.get("Authorization")
    if header:
        scheme, _, rest = header.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else header
    elif request.query.get("access_token"):
        token = request.query["access_token"]
    elif protocols := _offered_protocols(request):
        token = protocols[0]
    if not token:
        raise StreamError(401, "Missing access token")
    session = await request.app[MEMBERS].session_for_token(token)
    if session is None:
        raise StreamError(401, "Invalid access token")
    return Caller(member=session.member, session=session, via_cookie=False)


def _check_scope(caller: Caller, stream: str) -> None:
    # Mastodon: "read" covers every stream; user:notification needs read:notifications, the
    # others read:statuses. Caller.may() knows that read covers read:*.
    needed = "read:notifications" if stream == "user:notification" else "read:statuses"
    if not caller.may(needed):
        raise StreamError(401, "Access token does not cover required scopes")


def _resolve(caller: Caller, stream: object, params: Mapping[str, Any]) -> Subscription:
    """The subscription a client asks for (a stream name and its parameters), or
    :class:`StreamError` with Mastodon's status and message."""
    if isinstance(stream, list):  # Mastodon takes the first of a repeated parameter
        stream = stream[0] if stream else None
    if not isinstance(stream, str) or stream not in STREAM_NAMES:
        raise StreamError(400, "Unknown stream type")
    _check_scope(caller, stream)
    if stream in TAG_STREAMS:
        tag = params.get("tag")
        normal = normalize_tag(tag) if isinstance(tag, str) else ""
        if not normal or len(normal) > MAX_TAG_LENGTH:
            raise StreamError(400, "Missing tag name parameter")
        return Subscription(stream, normal)
    if stream == "list":
        if not params.get("list"):
            raise StreamError(400, "Missing list name parameter")
        # Quartier has no lists: every id is somebody else's, as Mastodon answers then.
        raise StreamError(401, "Not authorized to stream this list")
    assert stream in MEMBER_STREAMS or stream in PUBLIC_STREAMS
    return Subscription(stream)


def _open(hub: StreamHub, request: web.Request, caller: Caller, *, websocket: bool) -> Connection:
    conn = hub.connect(
        session_id=caller.session.id,
        member_id=caller.member.id,
        websocket=websocket,
        may_read_notifications=caller.may("read:notifications"),
        transport=request.transport,
    )
    clock = request.app[CLOCK]

    async def live(session_ids: set[int]) -> set[int]:
        # What session_for_token() accepts: not revoked, not expired, member not suspended.
        # In slices: SQLite limits the parameters of one statement.
        ids = sorted(session_ids)
        alive: set[int] = set()
        for start in range(0, len(ids), 500):
            rows = await LoginSession.filter(
                id__in=ids[start : start + 500],
                revoked_at__isnull=True,
                expires_at__gt=clock(),
                member__suspended_at__isnull=True,
            ).values_list("id", flat=True)
            alive.update(int(row) for row in rows)  # type: ignore[call-overload]
        return alive

    hub.keep_checking(live)
    return conn


# --------------------------------------------------------------------------------------------
# Routes


@routes.get("/api/v1/streaming/health")
async def health(request: web.Request) -> web.Response:
    """Whether the streaming service is up: always, it is this process."""
    return web.Response(text="OK", content_type="text/plain")


@routes.get("/api/v1/streaming")
@routes.get("/api/v1/streaming/")
async def websocket(request: web.Request) -> web.StreamResponse:
    """The multiplexed WebSocket; without an upgrade, Mastodon's "use this host" 404."""
    if not _is_upgrade(request):
        # Mastodon's main host answers 404 here when streaming is served on the same host
        # (and redirects to the streaming host otherwise): apps read it as "stream here".
        return _error(404, "Record not found")
    return await _serve_websocket(request)


@routes.get("/api/v1/streaming/{channel:.+}")
async def server_sent_events(request: web.Request) -> web.StreamResponse:
    """One stream as Server-Sent Events: ``event: <name>`` and ``data: <payload>`` lines."""
    if _is_upgrade(request):  # Mastodon's streaming server upgrades on any path
        return await _serve_websocket(request)
    names = _SSE_CHANNELS.get(request.match_info["channel"].rstrip("/"))
    if names is None:
        return _error(400, "Unknown channel requested")
    only_media = request.query.get("only_media", "") not in _FALSE
    stream = names[1] if only_media else names[0]
    try:
        caller = await _caller(request)
        sub = _resolve(caller, stream, request.query)
    except StreamError as exc:
        return _error(exc.status, exc.message)
    hub = request.app[STREAMS]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            # nginx and similar proxies must pass each event on at once, not buffer them.
            "X-Accel-Buffering": "no",
        }
    )
    response.enable_chunked_encoding()
    conn = _open(hub, request, caller, websocket=False)
    hub.subscribe(conn, sub)
    try:
        await response.prepare(request)
        await response.write(SSE_OPENING)
        while True:
            try:
                async with asyncio.timeout(hub.heartbeat_seconds):
                    frame = await conn.next_frame()
            except TimeoutError:
                # Also how a client that left is noticed: writing to its socket fails.
                frame = SSE_HEARTBEAT
            if frame is None:
                break
            await response.write(frame)
    except ConnectionError:
        pass  # the client went away, or was cut off for not reading
    finally:
        hub.disconnect(conn)
    return response


def _is_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


async def _serve_websocket(request: web.Request) -> web.StreamResponse:
    hub = request.app[STREAMS]
    try:
        caller = await _caller(request)
    except StreamError as exc:
        return _error(exc.status, exc.message)
    ws = web.WebSocketResponse(
        # Echo the protocol a browser offered (its token): a handshake that selects none of
        # the offered protocols is aborted by browsers.
        protocols=_offered_protocols(request),
        heartbeat=hub.ping_seconds,
        # One compressor per connection would cost more than the fan-out itself.
        compress=False,
        max_msg_size=MAX_CLIENT_MESSAGE,
    )
    conn = _open(hub, request, caller, websocket=True)
    writer: asyncio.Task[None] | None = None
    try:
        await ws.prepare(request)
        writer = asyncio.create_task(_write_websocket(ws, conn))
        if "stream" in request.query:
            _subscribe(hub, conn, caller, request.query.getone("stream"), request.query)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                _command(hub, conn, caller, message.data)
            elif message.type == WSMsgType.BINARY:
                # As Mastodon's server: text frames only.
                await ws.close(code=1003, message=b"binary messages are not supported")
                break
    except ConnectionError:
        pass
    finally:
        hub.disconnect(conn)
        conn.stop(abort=False)
        if writer is not None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer
    return ws


async def _write_websocket(ws: web.WebSocketResponse, conn: Connection) -> None:
    """Write what the hub queues for ``conn`` until it is closed, then close the socket."""
    try:
        while (frame := await conn.next_frame()) is not None:
            await ws.send_frame(frame, WSMsgType.TEXT)
    except ConnectionError:
        return
    await ws.close()


def _command(hub: StreamHub, conn: Connection, caller: Caller, text: str) -> None:
    """A client's ``{"type": "subscribe"|"unsubscribe", "stream": ..., "tag": ...}``; what
    is not such an object is ignored, as Mastodon does."""
    try:
        command = json.loads(text)
    except ValueError:
        return
    if not isinstance(command, dict):
        return
    kind = command.get("type")
    if kind == "subscribe":
        _subscribe(hub, conn, caller, command.get("stream"), command)
    elif kind == "unsubscribe":
        try:
            sub = _resolve(caller, command.get("stream"), command)
        except StreamError:
            hub.send(conn, {"error": "Error unsubscribing from channel"})
            return
        hub.unsubscribe(conn, sub)


def _subscribe(
    hub: StreamHub, conn: Connection, caller: Caller, stream: object, params: Mapping[str, Any]
) -> None:
    try:
        sub = _resolve(caller, stream, params)
    except StreamError as exc:
        hub.send(conn, {"error": exc.message, "status": exc.status})
        return
    if not hub.subscribe(conn, sub):
        hub.send(conn, {"error": "Too many subscriptions", "status": 400})
