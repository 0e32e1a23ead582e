"""Actor documents of this node's actors, and its ``Application`` actor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activitypub.actors import ActorDescription, Residency, actor_document
from activitypub.uris import UriScheme
from node.actors.models import InstanceActor, KeyedActor


def local_actor_to_ap(
    actor: KeyedActor,
    actor_id: str,
    uris: UriScheme,
    *,
    actor_type: str,
    preferred_username: str,
    name: str,
    summary: str,
    url: str,
    published: datetime,
    manually_approves_followers: bool = True,
    residency: Residency | None = None,
    endorsements: str | None = None,
    real_name: str | None = None,
) -> dict[str, Any]:
    """The document of one of this node's actors: its collections under its id, the node's
    shared inbox, its public keys."""
    return actor_document(
        ActorDescription(
            actor_id=actor_id,
            actor_type=actor_type,
            preferred_username=preferred_username,
            name=name,
            summary=summary,
            inbox=uris.collection(actor_id, "inbox"),
            outbox=uris.collection(actor_id, "outbox"),
            followers=uris.collection(actor_id, "followers"),
            following=uris.collection(actor_id, "following"),
            shared_inbox=uris.shared_inbox,
            url=url,
            published=published,
            rsa_public_pem=actor.rsa_public_pem,
            ed25519_multibase=actor.ed25519_multibase,
            manually_approves_followers=manually_approves_followers,
            residency=residency,
            endorsements=endorsements,
            real_name=real_name,
        )
    )


def instance_to_ap(
    actor: InstanceActor, uris: UriScheme, name: str, summary: str, *, endorses: bool = False
) -> dict[str, Any]:
    """The node's Application actor (FEP-2677); its preferredUsername is the host name.
    ``endorses``: the node (a municipality) endorses other nodes, and links where."""
    return local_actor_to_ap(
        actor,
        uris.instance_actor,
        uris,
        actor_type="Application",
        preferred_username=instance_username(uris),
        name=name,
        summary=summary,
        url=uris.url("/"),
        published=actor.created_at,
        endorsements=uris.endorsements if endorses else None,
    )


def instance_username(uris: UriScheme) -> str:
    """The Application actor's handle: the node's host name, as Mastodon and GoToSocial do.

    Member usernames cannot contain dots, so it never collides with one.
    """
    return uris.hostname
