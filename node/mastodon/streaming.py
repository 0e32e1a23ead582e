"""Live updates for apps: the streams of Mastodon's streaming API, fed by the node's services.

A service that makes something a member should see at once (a new status in a timeline, a
notification, a direct message) calls :meth:`StreamHub.publish` with the Mastodon event name
and its payload already rendered as JSON text; the hub hands it to every open connection
subscribed to that stream. Connections live in this process only.
"""

from __future__ import annotations

from collections.abc import Iterable


class StreamHub:
    """The open streaming connections of this process, by stream."""

    def publish(
        self,
        stream: str,
        event: str,
        payload: str,
        *,
        member_ids: Iterable[int] | None = None,
        tag: str | None = None,
    ) -> None:
        """Send ``event`` with ``payload`` (JSON text, or a bare id for ``delete``) to the
        connections subscribed to ``stream``.

        ``stream`` is a Mastodon stream name: ``user``, ``user:notification`` and ``direct``
        reach the connections of ``member_ids`` only; ``public``, ``public:local``,
        ``public:remote`` (and their ``:media`` forms) reach everyone subscribed;
        ``hashtag`` and ``hashtag:local`` those subscribed to ``tag``."""

    def close_session(self, session_id: int) -> None:
        """Close every connection opened with the login session ``session_id`` (its token
        was revoked)."""
