"""What apps see live: statuses and notifications published on the streaming API as they
happen (node/mastodon/streaming.py carries them)."""

from __future__ import annotations

import json

from activitypub.uris import UriScheme
from node.conversations.models import Conversation, Message, Participant
from node.mastodon.entities import Renderer
from node.mastodon.notifications import NotificationRenderer
from node.mastodon.streaming import StreamHub
from node.members.models import Member
from node.notifications.models import Notification
from node.statuses.models import Status, Visibility


class LiveStatuses:
    """Listens to the home timelines (node/statuses/service.py) and publishes."""

    def __init__(self, hub: StreamHub, renderer: Renderer, uris: UriScheme) -> None:
        self._hub = hub
        self._renderer = renderer
        self._uris = uris

    async def __call__(self, event: str, status: Status, member_ids: list[int]) -> None:
        """Publish ``event`` about ``status`` to the members given and, for a public
        status, on the public and hashtag streams."""
        if event == "delete":
            payload = str(status.id)
        else:
            payload = json.dumps(
                await self._renderer.status(status), ensure_ascii=False, separators=(",", ":")
            )
        if member_ids:
            self._hub.publish("user", event, payload, member_ids=member_ids)
            if status.message_id is not None and event != "delete":  # type: ignore[attr-defined]
                await self._conversation(status, member_ids)
        # Public streams get a status once, when it first arrives (an edit or a delete too).
        boost = status.reblog_of_id is not None  # type: ignore[attr-defined]
        first_time = bool(member_ids) or event != "update"
        if status.visibility == Visibility.PUBLIC and not boost and first_time:
            self._hub.publish_status(
                event, payload, local=status.local, media=status.has_media, tags=status.tags
            )

    async def _conversation(self, status: Status, member_ids: list[int]) -> None:
        """A direct message: its conversation, as each member sees it, on their direct
        stream (Mastodon's ``conversation`` event)."""
        message = await Message.get_or_none(id=status.message_id)  # type: ignore[attr-defined]
        if message is None:
            return
        conversation = await Conversation.get(id=message.conversation_id)  # type: ignore[attr-defined]
        for member in await Member.filter(id__in=member_ids):
            me = self._uris.actor(member.username)
            seen = await Participant.get_or_none(conversation=conversation, actor=me)
            last_read = {conversation.id: seen.last_read_id if seen else 0}
            rendered = await self._renderer.conversations([conversation], me, last_read)
            payload = json.dumps(rendered[0], ensure_ascii=False, separators=(",", ":"))
            self._hub.publish("direct", "conversation", payload, member_ids=[member.id])


class LiveNotifications:
    """Publishes each new notification on its member's notification streams."""

    def __init__(self, hub: StreamHub, notifications: NotificationRenderer) -> None:
        self._hub = hub
        self._notifications = notifications

    async def __call__(self, row: Notification) -> None:
        """Publish ``row`` (a notification just made) to its member."""
        member = await Member.get_or_none(id=row.member_id)  # type: ignore[attr-defined]
        if member is None:
            return
        rendered = await self._notifications.render([row], member)
        if rendered:
            payload = json.dumps(rendered[0], ensure_ascii=False, separators=(",", ":"))
            self._hub.publish("user:notification", "notification", payload, member_ids=[member.id])
