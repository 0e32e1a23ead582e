"""Problem reports as the JSON API shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from activitypub.properties import format_timestamp
from activitypub.uris import UriScheme
from node.media.models import Media
from node.media.render import media_to_api
from node.problems.models import Problem, ProblemComment


def problem_to_api(
    problem: Problem,
    uris: UriScheme,
    *,
    photos: Sequence[Media] = (),
    comments: Sequence[ProblemComment] = (),
    me_too: int = 0,
    viewer_id: int | None = None,
    staff: bool = False,
) -> dict[str, Any]:
    """One problem. Who reported it is shown to the reporter and to staff handling it only
    (a remote reporter as the actor their node disclosed, often just the node's own)."""
    reporter_id = problem.reporter_id  # type: ignore[attr-defined]
    body: dict[str, Any] = {
        "id": problem.id,
        "uri": problem.ap_id,
        "category": problem.category,
        "text": problem.text,
        "latitude": problem.latitude,
        "longitude": problem.longitude,
        "address": problem.address,
        "public": problem.public,
        "status": problem.status.value,
        "open": problem.status.is_open,
        "status_reason": problem.status_reason,
        "handler": problem.handler_host or "managers",
        "handled_here": problem.handled_here,
        "origin": problem.origin_host or ("open311" if problem.open311_key else "local"),
        "mine": viewer_id is not None and reporter_id == viewer_id,
        "me_too": me_too,
        "photos": [media_to_api(m, uris) for m in photos]
        + [{"url": url, "remote": True} for url in problem.photo_urls],
        "comments": [
            {
                "author": c.author_name,
                "text": c.text,
                "created_at": format_timestamp(c.created_at),
            }
            for c in comments
        ],
        "created_at": format_timestamp(problem.created_at),
        "updated_at": format_timestamp(problem.updated_at),
    }
    if staff and problem.handled_here:
        body["reporter"] = problem.reporter_actor or (
            None if reporter_id is None else f"member:{reporter_id}"
        )
    return body
