"""Notifications as the JSON API shows them."""

from __future__ import annotations

from typing import Any

from activitypub.properties import format_timestamp
from node.notifications.models import Notification, NotificationType


def notification_to_api(row: Notification) -> dict[str, Any]:
    """One notification, naming what it is about by id (and the listing's title)."""
    listing = row.listing
    return {
        "id": row.id,
        "type": row.type.value,
        "actor": row.actor,
        "listing": None if listing is None else {"id": listing.id, "title": listing.title},
        "response_id": row.response_id,  # type: ignore[attr-defined]
        "saved_search_id": row.saved_search_id,  # type: ignore[attr-defined]
        "notice_id": row.notice_id,  # type: ignore[attr-defined]
        "urgent": row.type is NotificationType.URGENT_NOTICE,
        "problem_id": row.problem_id,  # type: ignore[attr-defined]
        "detail": row.detail,
        "created_at": format_timestamp(row.created_at),
        "read": row.read_at is not None,
    }
