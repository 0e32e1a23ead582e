"""The node's ``Application`` actor document."""

from __future__ import annotations

from typing import Any

from activitypub.actors import ActorDescription, actor_document
from activitypub.uris import UriScheme
from node.actors.models import InstanceActor


def instance_to_ap(
    actor: InstanceActor, uris: UriScheme, name: str, summary: str
) -> dict[str, Any]:
    """The node's Application actor (FEP-2677); its preferredUsername is the host name."""
    actor_id = uris.instance_actor
    return actor_document(
        ActorDescription(
            actor_id=actor_id,
            actor_type="Application",
            preferred_username=instance_username(uris),
            name=name,
            summary=summary,
            inbox=uris.collection(actor_id, "inbox"),
            outbox=uris.collection(actor_id, "outbox"),
            followers=uris.collection(actor_id, "followers"),
            following=uris.collection(actor_id, "following"),
            shared_inbox=uris.shared_inbox,
            url=uris.url("/"),
            published=actor.created_at,
            rsa_public_pem=actor.rsa_public_pem,
            ed25519_multibase=actor.ed25519_multibase,
        )
    )


def instance_username(uris: UriScheme) -> str:
    """The Application actor's handle: the node's host name, as Mastodon and GoToSocial do.

    Member usernames cannot contain dots, so it never collides with one.
    """
    return uris.hostname
