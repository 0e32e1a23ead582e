"""Conversations and messages as the client API shows them."""

from __future__ import annotations

from typing import Any

from activitypub.properties import format_timestamp
from node.conversations.models import Message
from node.conversations.service import Summary


def message_to_api(message: Message) -> dict[str, Any]:
    """One message; a deleted one keeps its place, without its text.

    ``summary`` is a content warning (shown before the text), ``attachments`` are links to
    files on the sender's server, ``not_sent_to`` the participants it could not be sent to.
    """
    return {
        "id": message.id,
        "author": message.author,
        "text": message.text,
        "summary": message.summary,
        "attachments": [
            {key: a.get(key) for key in ("url", "media_type", "description")}
            for a in message.attachments
        ],
        "in_reply_to": message.in_reply_to,
        "created_at": format_timestamp(message.created_at),
        "edited_at": format_timestamp(message.edited_at),
        "deleted": message.deleted_at is not None,
        "not_sent_to": message.not_sent_to,
    }


def summary_to_api(summary: Summary) -> dict[str, Any]:
    """A conversation in the list."""
    return {
        "id": summary.conversation.id,
        "participants": summary.participants,
        "updated_at": format_timestamp(summary.conversation.updated_at),
        "unread": summary.unread,
        "last_message": message_to_api(summary.last) if summary.last else None,
    }
