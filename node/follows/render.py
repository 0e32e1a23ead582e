"""Follows as the client API shows them."""

from __future__ import annotations

from typing import Any

from node.follows.models import Follow


def follow_to_api(row: Follow) -> dict[str, Any]:
    """A follow or follow request."""
    return {
        "id": row.id,
        "follower": row.follower,
        "followee": row.followee,
        "state": row.state.value,
        "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        "accepted_at": row.accepted_at.isoformat().replace("+00:00", "Z")
        if row.accepted_at
        else None,
    }
