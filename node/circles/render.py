"""Circles as ActivityStreams documents and as the JSON of our API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activitypub.activities import AS_CONTEXT, AS_PUBLIC
from activitypub.uris import UriScheme
from node.actors.render import local_actor_to_ap
from node.circles.models import Circle, CircleMember, CirclePost
from node.groups.models import LocalGroup


def circle_to_ap(circle: Circle, group: LocalGroup, uris: UriScheme) -> dict[str, Any]:
    """The circle's ``Group`` actor document: FEP-1b12, with ``manuallyApprovesFollowers``
    when joining waits for a moderator or a manager."""
    doc = local_actor_to_ap(
        group,
        uris.group(circle.slug),
        uris,
        actor_type="Group",
        preferred_username=circle.slug,
        name=circle.name,
        summary=circle.summary,
        url=uris.url(f"/groups/{circle.slug}"),
        published=circle.created_at,
        manually_approves_followers=circle.join_policy != "open",
    )
    return doc


def addressing(circle_actor: str, *, public: bool) -> tuple[list[str], list[str]]:
    """``to`` and ``cc`` of a post to a circle: the circle (and everyone when public), its
    followers in copy (as Lemmy addresses posts to a community)."""
    to = [circle_actor, AS_PUBLIC] if public else [circle_actor]
    return to, [UriScheme.collection(circle_actor, "followers")]


def post_create(
    post_id: str, author: str, circle_actor: str, html: str, published: datetime, *, public: bool
) -> dict[str, Any]:
    """The ``Create(Note)`` of a post to a circle (``audience`` the circle, FEP-1b12)."""
    to, cc = addressing(circle_actor, public=public)
    when = published.isoformat().replace("+00:00", "Z")
    note = {
        "id": post_id,
        "type": "Note",
        "attributedTo": author,
        "content": html,
        "published": when,
        "audience": circle_actor,
        "to": to,
        "cc": cc,
    }
    return {
        "@context": AS_CONTEXT,
        "id": f"{post_id}/activity",
        "type": "Create",
        "actor": author,
        "object": note,
        "audience": circle_actor,
        "published": when,
        "to": to,
        "cc": cc,
    }


def post_delete(
    activity_id: str, actor: str, post: CirclePost, *, public: bool, summary: str = ""
) -> dict[str, Any]:
    """A ``Delete`` of a post to a circle, by its author or a moderator (Lemmy's shape for a
    moderator's removal: the moderator deletes, the group announces)."""
    to, cc = addressing(post.circle, public=public)
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Delete",
        "actor": actor,
        "object": post.ap_id,
        "audience": post.circle,
        "to": to,
        "cc": cc,
    }
    if summary:
        doc["summary"] = summary
    return doc


def circle_to_json(
    circle: Circle, uris: UriScheme, mine: CircleMember | None, members: int
) -> dict[str, Any]:
    """A circle in the API, with the caller's membership."""
    return {
        "slug": circle.slug,
        "actor": uris.group(circle.slug),
        "handle": f"{circle.slug}@{uris.domain}",
        "name": circle.name,
        "summary": circle.summary,
        "kind": circle.kind.value,
        "join_policy": circle.join_policy.value,
        "partners_may_join": circle.partners_may_join,
        "public": circle.public,
        "created_by": circle.created_by,
        "created_at": circle.created_at.isoformat(),
        "members": members,
        "membership": membership_to_json(mine) if mine is not None else None,
    }


def membership_to_json(row: CircleMember) -> dict[str, Any]:
    """A member, request or follower of a circle."""
    return {
        "id": row.id,
        "actor": row.actor,
        "role": row.role.value,
        "state": row.state.value,
        "since": row.created_at.isoformat(),
    }


def post_to_json(post: CirclePost) -> dict[str, Any]:
    """A post of a circle in the API."""
    return {
        "id": post.id,
        "url": post.ap_id,
        "circle": post.circle,
        "author": post.author,
        "content": post.content_html,
        "text": post.text,
        "public": post.public,
        "local": post.local,
        "published_at": post.published_at.isoformat(),
    }
