"""Live updates for apps: the streams of Mastodon's streaming API, fed by the node's services.

A service that makes something a member should see at once (a new status in a timeline, a
notification, a direct message) calls :meth:`StreamHub.publish` with the Mastodon event name
and its payload already rendered as JSON text; the hub hands it to every open connection
subscribed to that stream. Connections live in this process only.

Fan-out is built for a thousand connections and more on one event:

* an event is encoded once per transport and stream name (one Server-Sent Events frame, one
  WebSocket message per ``["user"]``, ``["hashtag", "bikes"]``...), never once per connection;
* each connection has a bounded queue, filled without waiting by :meth:`StreamHub.publish`
  and drained by the connection's own writer (node/http/mastodon/streaming.py). A client too
  slow to keep up fills its queue and is cut off; nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

# Streams of one member: publish() needs ``member_ids`` for them.
MEMBER_STREAMS = frozenset({"user", "user:notification", "direct"})
PUBLIC_STREAMS = frozenset(
    {
        "public",
        "public:media",
        "public:local",
        "public:local:media",
        "public:remote",
        "public:remote:media",
    }
)
TAG_STREAMS = frozenset({"hashtag", "hashtag:local"})
# Every stream name a client may ask for. ``list`` is Mastodon's too: Quartier has no lists,
# so a subscription to one is refused the way Mastodon refuses somebody else's list.
STREAM_NAMES = MEMBER_STREAMS | PUBLIC_STREAMS | TAG_STREAMS | {"list"}

# Frames every connection shares. SSE comment lines (a colon first) are ignored by parsers.
SSE_OPENING = b":)\n"
SSE_HEARTBEAT = b":thump\n"

DEFAULT_QUEUE_SIZE = 256
DEFAULT_HEARTBEAT_SECONDS = 15.0  # Mastodon's SSE heartbeat
DEFAULT_PING_SECONDS = 30.0  # Mastodon's WebSocket ping
# How often open connections' sessions are checked again, for revocations the hub is not told
# of (another process: the command line, a second ``serve``).
DEFAULT_REVALIDATE_SECONDS = 60.0
MAX_SUBSCRIPTIONS = 64  # per WebSocket: one app uses a handful
MAX_TAG_LENGTH = 100


def normalize_tag(tag: str) -> str:
    """A hashtag as streams are keyed: without ``#``, NFKC-normalised, lower case (so
    ``#Vélo``, ``vélo`` and ``VÉLO`` are one stream)."""
    return unicodedata.normalize("NFKC", tag.strip()).lstrip("#").lower()


@dataclass(frozen=True)
class Subscription:
    """One stream a connection receives: its name and, for hashtags, the (normalised) tag."""

    stream: str
    tag: str | None = None

    def name(self) -> list[str]:
        """The ``stream`` array of a WebSocket message: ``["user"]``, ``["hashtag", "bikes"]``."""
        return [self.stream] if self.tag is None else [self.stream, self.tag]


class Connection:
    """One open streaming connection (SSE or WebSocket) and what it is subscribed to.

    Its writer awaits :meth:`next_frame` and writes what comes; ``None`` means "stop"."""

    __slots__ = (
        "_abort",
        "_queue",
        "closed",
        "may_read_notifications",
        "member_id",
        "session_id",
        "subscriptions",
        "websocket",
    )

    def __init__(
        self,
        *,
        session_id: int,
        member_id: int,
        websocket: bool,
        may_read_notifications: bool,
        queue_size: int,
        abort: asyncio.Transport | None,
    ) -> None:
        self.session_id = session_id
        self.member_id = member_id
        self.websocket = websocket
        # Mastodon sends notifications on the ``user`` stream only to tokens that may read them.
        self.may_read_notifications = may_read_notifications
        self.subscriptions: set[Subscription] = set()
        self.closed = False
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(queue_size)
        self._abort = abort

    def offer(self, frame: bytes) -> bool:
        """Queue ``frame`` without waiting; ``False`` when the queue is full (too slow)."""
        if self.closed:
            return True
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    async def next_frame(self) -> bytes | None:
        """The next frame to write, waiting for one; ``None`` once the connection is closed."""
        if self.closed:
            return None
        return await self._queue.get()

    def stop(self, *, abort: bool) -> None:
        """Make the writer stop: what is still queued is dropped and ``None`` comes next.

        ``abort`` also drops the TCP connection, for a writer stuck writing to a client that
        does not read (its send buffer full)."""
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)
        if abort and self._abort is not None:
            self._abort.abort()


class StreamHub:
    """The open streaming connections of this process, by stream.

    The HTTP layer registers a connection with :meth:`connect`, subscribes it, drains it and
    calls :meth:`disconnect` at the end. Limits are attributes, so a test can shorten them
    before connecting: ``queue_size`` (frames a connection may lag behind), ``heartbeat_seconds``
    (SSE ``:thump``), ``ping_seconds`` (WebSocket ping), ``revalidate_seconds`` (sessions
    checked again).
    """

    def __init__(
        self,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS,
        ping_seconds: float = DEFAULT_PING_SECONDS,
        revalidate_seconds: float = DEFAULT_REVALIDATE_SECONDS,
    ) -> None:
        self.queue_size = queue_size
        self.heartbeat_seconds = heartbeat_seconds
        self.ping_seconds = ping_seconds
        self.revalidate_seconds = revalidate_seconds
        self._sweeper: asyncio.Task[None] | None = None
        # (stream, tag, member id or None) -> connections: the member id is set for the
        # streams of one member, the tag for hashtag streams.
        self._subscribers: dict[tuple[str, str | None, int | None], set[Connection]] = {}
        self._by_session: dict[int, set[Connection]] = {}
        self.dropped_slow = 0  # connections cut off for not keeping up, since start

    # Connections

    def connect(
        self,
        *,
        session_id: int,
        member_id: int,
        websocket: bool,
        may_read_notifications: bool,
        transport: asyncio.Transport | None = None,
    ) -> Connection:
        """Register a new connection (no subscription yet). ``transport`` is what to abort if
        the client stops reading."""
        conn = Connection(
            session_id=session_id,
            member_id=member_id,
            websocket=websocket,
            may_read_notifications=may_read_notifications,
            queue_size=self.queue_size,
            abort=transport,
        )
        self._by_session.setdefault(session_id, set()).add(conn)
        return conn

    def disconnect(self, conn: Connection) -> None:
        """Forget ``conn`` (its client went away or it was closed); idempotent."""
        conn.closed = True
        for sub in list(conn.subscriptions):
            self.unsubscribe(conn, sub)
        sessions = self._by_session.get(conn.session_id)
        if sessions is not None:
            sessions.discard(conn)
            if not sessions:
                del self._by_session[conn.session_id]
        if not self._by_session and self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def keep_checking(self, live: Callable[[set[int]], Awaitable[set[int]]]) -> None:
        """While connections are open, every ``revalidate_seconds`` ask ``live`` which of
        their sessions are still valid and close the others. Started by the first connection
        (in its context: the database the request uses), stopped with the last."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep(live))

    async def _sweep(self, live: Callable[[set[int]], Awaitable[set[int]]]) -> None:
        while self._by_session:
            await asyncio.sleep(self.revalidate_seconds)
            open_ids = set(self._by_session)
            self.close_sessions(open_ids - await live(open_ids))

    def subscribe(self, conn: Connection, sub: Subscription) -> bool:
        """Add ``sub`` to ``conn``; ``False`` when ``conn`` already has too many. Subscribing
        twice is a no-op, as on Mastodon."""
        if sub in conn.subscriptions:
            return True
        if len(conn.subscriptions) >= MAX_SUBSCRIPTIONS:
            return False
        conn.subscriptions.add(sub)
        self._subscribers.setdefault(self._key(conn, sub), set()).add(conn)
        return True

    def unsubscribe(self, conn: Connection, sub: Subscription) -> None:
        """Remove ``sub`` from ``conn`` (nothing happens when it was not subscribed)."""
        if sub not in conn.subscriptions:
            return
        conn.subscriptions.discard(sub)
        key = self._key(conn, sub)
        subscribers = self._subscribers.get(key)
        if subscribers is not None:
            subscribers.discard(conn)
            if not subscribers:
                del self._subscribers[key]

    @property
    def connection_count(self) -> int:
        """How many connections are open."""
        return sum(len(conns) for conns in self._by_session.values())

    def close_session(self, session_id: int) -> None:
        """Close every connection opened with the login session ``session_id`` (its token
        was revoked)."""
        for conn in list(self._by_session.get(session_id, ())):
            self._close(conn, abort=False)

    def close_sessions(self, session_ids: Iterable[int]) -> None:
        """:meth:`close_session` for each of ``session_ids`` (a password change, a suspension)."""
        for session_id in session_ids:
            self.close_session(session_id)

    def close_member(self, member_id: int, *, except_session_id: int | None = None) -> None:
        """Close every connection of ``member_id`` (suspended, erased, password changed), but
        those of ``except_session_id``."""
        for session_id, conns in list(self._by_session.items()):
            if session_id == except_session_id:
                continue
            for conn in list(conns):
                if conn.member_id == member_id:
                    self._close(conn, abort=False)

    def close_all(self) -> None:
        """Close every connection: the node is shutting down (an open stream would otherwise
        hold the shutdown for aiohttp's whole grace period)."""
        for conns in list(self._by_session.values()):
            for conn in list(conns):
                self._close(conn, abort=False)

    async def on_shutdown(self, app: object) -> None:
        """``app.on_shutdown`` hook: :meth:`close_all`."""
        self.close_all()

    def send(self, conn: Connection, message: dict[str, object]) -> None:
        """Queue a message of the protocol itself (an error) for one WebSocket."""
        self._offer(conn, json.dumps(message, separators=(",", ":")).encode())

    # Events

    def publish(
        self,
        stream: str,
        event: str,
        payload: str | None,
        *,
        member_ids: Iterable[int] | None = None,
        tag: str | None = None,
    ) -> None:
        """Send ``event`` with ``payload`` (JSON text, or a bare id for ``delete``) to the
        connections subscribed to ``stream``.

        ``stream`` is a Mastodon stream name: ``user``, ``user:notification`` and ``direct``
        reach the connections of ``member_ids`` only; ``public``, ``public:local``,
        ``public:remote`` (and their ``:media`` forms) reach everyone subscribed;
        ``hashtag`` and ``hashtag:local`` those subscribed to ``tag``.

        A ``notification`` (publish it on ``user:notification``) also reaches the member's
        ``user`` streams whose token may read notifications, as on Mastodon. One call is one
        stream: a local public status with a photo goes to ``public``, ``public:local``,
        ``public:media`` and ``public:local:media`` (:meth:`publish_status` does that).
        ``payload`` is ``None`` only for ``filters_changed``. Never waits.
        """
        groups: list[tuple[Subscription, Iterable[Connection]]] = []
        if stream in MEMBER_STREAMS:
            if member_ids is None:
                raise ValueError(f"publishing on {stream} needs member_ids")
            to_notifications = stream == "user:notification" or (
                stream == "user" and event == "notification"
            )
            for member_id in set(member_ids):
                if to_notifications:
                    notif = Subscription("user:notification")
                    groups.append(
                        (notif, self._subscribers.get((notif.stream, None, member_id), ()))
                    )
                    user = Subscription("user")
                    readers = self._subscribers.get(("user", None, member_id), ())
                    groups.append((user, [c for c in readers if c.may_read_notifications]))
                else:
                    sub = Subscription(stream)
                    groups.append((sub, self._subscribers.get((stream, None, member_id), ())))
        elif stream in TAG_STREAMS:
            if not tag:
                raise ValueError(f"publishing on {stream} needs a tag")
            sub = Subscription(stream, normalize_tag(tag))
            groups.append((sub, self._subscribers.get((stream, sub.tag, None), ())))
        elif stream in PUBLIC_STREAMS:
            sub = Subscription(stream)
            groups.append((sub, self._subscribers.get((stream, None, None), ())))
        else:
            raise ValueError(f"unknown stream {stream!r}")
        sse: bytes | None = None
        slow: list[Connection] = []
        for sub, conns in groups:
            ws: bytes | None = None
            for conn in conns:
                if conn.websocket:
                    if ws is None:
                        ws = _ws_frame(sub, event, payload)
                    frame = ws
                else:
                    if sse is None:
                        sse = _sse_frame(event, payload)
                    frame = sse
                if not conn.offer(frame):
                    slow.append(conn)
        for conn in slow:
            self.dropped_slow += 1
            self._close(conn, abort=True)

    def publish_status(
        self,
        event: str,
        payload: str,
        *,
        local: bool,
        media: bool,
        tags: Iterable[str] = (),
    ) -> None:
        """A public status (``update``, ``status.update``; ``delete`` with its id) on every
        public stream it belongs to: the federated timeline, local or remote, their media
        forms when it has media, and each of its hashtags (``hashtag:local`` too if local)."""
        where = "public:local" if local else "public:remote"
        for stream in ("public", where):
            self.publish(stream, event, payload)
            if media:
                self.publish(f"{stream}:media", event, payload)
        for tag in {normalize_tag(t) for t in tags if normalize_tag(t)}:
            self.publish("hashtag", event, payload, tag=tag)
            if local:
                self.publish("hashtag:local", event, payload, tag=tag)

    # Inside

    @staticmethod
    def _key(conn: Connection, sub: Subscription) -> tuple[str, str | None, int | None]:
        member = conn.member_id if sub.stream in MEMBER_STREAMS else None
        return (sub.stream, sub.tag, member)

    def _offer(self, conn: Connection, frame: bytes) -> None:
        if not conn.offer(frame):
            self.dropped_slow += 1
            self._close(conn, abort=True)

    def _close(self, conn: Connection, *, abort: bool) -> None:
        self.disconnect(conn)
        conn.stop(abort=abort)


def _sse_frame(event: str, payload: str | None) -> bytes:
    # Mastodon writes "undefined" for an event without payload (filters_changed). Compact JSON
    # is one line; anything else is split into data lines, which SSE readers join again.
    data = "undefined" if payload is None else payload.replace("\n", "\ndata: ")
    return f"event: {event}\ndata: {data}\n\n".encode()


def _ws_frame(sub: Subscription, event: str, payload: str | None) -> bytes:
    message: dict[str, object] = {"stream": sub.name(), "event": event}
    if payload is not None:
        message["payload"] = payload
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
