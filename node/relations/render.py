"""Blocks and mutes as the JSON API shows them."""

from __future__ import annotations

from typing import Any

from activitypub.properties import format_timestamp
from node.relations.models import MemberRelation


def relation_to_api(row: MemberRelation) -> dict[str, Any]:
    """One block or mute: whom it is of, and (for a block of another server's actor) whether
    that server was told."""
    return {
        "id": row.id,
        "account": row.target,
        "kind": row.kind.value,
        "federated": row.activity is not None,
        "created_at": format_timestamp(row.created_at),
    }
