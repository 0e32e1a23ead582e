"""A local group as an ActivityStreams ``Group`` actor."""

from __future__ import annotations

from typing import Any

from activitypub.actors import ActorDescription, actor_document
from activitypub.uris import UriScheme
from node.groups.models import LocalGroup


def group_to_ap(group: LocalGroup, uris: UriScheme, name: str, summary: str) -> dict[str, Any]:
    """The group's actor document: followed without approval (it shows only what is public
    to those who are not partner nodes)."""
    actor_id = uris.group(group.slug)
    return actor_document(
        ActorDescription(
            actor_id=actor_id,
            actor_type="Group",
            preferred_username=group.slug,
            name=name,
            summary=summary,
            inbox=uris.collection(actor_id, "inbox"),
            outbox=uris.collection(actor_id, "outbox"),
            followers=uris.collection(actor_id, "followers"),
            following=uris.collection(actor_id, "following"),
            shared_inbox=uris.shared_inbox,
            url=uris.url("/"),
            published=group.created_at,
            rsa_public_pem=group.rsa_public_pem,
            ed25519_multibase=group.ed25519_multibase,
            manually_approves_followers=False,
        )
    )
