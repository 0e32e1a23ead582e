"""A local group as an ActivityStreams ``Group`` actor."""

from __future__ import annotations

from typing import Any

from activitypub.uris import UriScheme
from node.actors.render import local_actor_to_ap
from node.groups.models import LocalGroup


def group_to_ap(group: LocalGroup, uris: UriScheme, name: str, summary: str) -> dict[str, Any]:
    """The group's actor document: followed without approval (it shows only what is public
    to those who are not partner nodes)."""
    return local_actor_to_ap(
        group,
        uris.group(group.slug),
        uris,
        actor_type="Group",
        preferred_username=group.slug,
        name=name,
        summary=summary,
        url=uris.url("/"),
        published=group.created_at,
        manually_approves_followers=False,
    )
