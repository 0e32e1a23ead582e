"""Problem reports between nodes: the problem object, and the ``Update`` its handler sends back.

A problem travels as a ``Note`` (so that any fediverse server reads its ``content``: category,
text, place) carrying our terms, defined inline in :data:`CONTEXT` under our namespace
(:mod:`activitypub.namespace`): ``problemCategory``, ``problemStatus``, ``statusReason``,
``meTooCount``, ``problemComments``. The reporter's node sends it in a ``Create`` to the
handler's node; every change the handler makes comes back as an ``Update`` of the same object
(its id is the reporter node's) with the status and all comments. docs/problems.md shows both.

Pure functions: no database, no network.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from activitypub.actors import plain_text_to_html
from activitypub.namespace import NAMESPACE
from activitypub.notes import html_to_text
from activitypub.properties import (
    format_timestamp,
    natural_language,
    object_types,
    reference,
    references,
    timestamp,
    values,
)

AS_CONTEXT: Final = "https://www.w3.org/ns/activitystreams"
XSD: Final = "http://www.w3.org/2001/XMLSchema#"
MAX_TEXT = 5000
MAX_COMMENTS = 200
MAX_PHOTOS = 4
STATUSES: Final = ("submitted", "received", "in_progress", "resolved", "rejected")

# Our terms, each documented in docs/problems.md.
CONTEXT: Final[list[Any]] = [
    AS_CONTEXT,
    {
        "problemCategory": f"{NAMESPACE}problemCategory",
        "problemStatus": f"{NAMESPACE}problemStatus",
        "statusReason": f"{NAMESPACE}statusReason",
        "meTooCount": {"@id": f"{NAMESPACE}meTooCount", "@type": f"{XSD}nonNegativeInteger"},
        "problemComments": {"@id": f"{NAMESPACE}problemComments", "@container": "@list"},
    },
]


@dataclass(frozen=True)
class ProblemComment:
    """A handler's comment, as it travels."""

    text: str
    published: datetime | None
    author_name: str = ""


@dataclass(frozen=True)
class ReceivedProblem:
    """A problem another node sent us, as plain values."""

    id: str
    attributed_to: str | None
    category: str
    text: str
    latitude: float | None
    longitude: float | None
    photos: tuple[str, ...]
    public: bool
    me_too: int


@dataclass(frozen=True)
class ProblemChange:
    """What a handler's ``Update`` says of a problem."""

    id: str
    status: str
    reason: str
    comments: tuple[ProblemComment, ...]
    updated: datetime | None  # when the handler made the change (orders late deliveries)


class ProblemMalformed(ValueError):
    """A problem object or its Update lacks what we need (the message says what)."""


def _content(category: str, text: str, status: str, reason: str, place: str) -> str:
    parts = [f"<p><strong>Problem report ({html.escape(category)})</strong></p>"]
    parts.append(plain_text_to_html(text))
    if place:
        parts.append(f"<p>Place: {html.escape(place)}</p>")
    line = f"Status: {status.replace('_', ' ')}"
    if reason:
        line += f" ({reason})"
    parts.append(f"<p>{html.escape(line)}</p>")
    return "".join(parts)


def build_problem(
    *,
    problem_id: str,
    attributed_to: str,
    to: str,
    category: str,
    text: str,
    latitude: float | None,
    longitude: float | None,
    photos: list[dict[str, Any]],
    public: bool,
    status: str,
    me_too: int,
    published: datetime,
) -> dict[str, Any]:
    """The problem object: a readable ``Note`` with our terms. ``attributed_to`` is the node's
    actor unless the community lets the reporter be named; ``to`` the handler node's actor."""
    place = "" if latitude is None else f"{latitude:.5f}, {longitude:.5f}"
    note: dict[str, Any] = {
        "id": problem_id,
        "type": "Note",
        "attributedTo": attributed_to,
        "to": [to],
        "content": _content(category, text, status, "", place),
        "source": {"content": text, "mediaType": "text/plain"},
        "published": format_timestamp(published),
        "problemCategory": category,
        "problemStatus": status,
        "meTooCount": me_too,
        "sensitive": False,
    }
    if public:
        note["cc"] = ["https://www.w3.org/ns/activitystreams#Public"]
    if latitude is not None and longitude is not None:
        note["location"] = {"type": "Place", "latitude": latitude, "longitude": longitude}
    if photos:
        note["attachment"] = photos
    return note


def build_change(
    *,
    problem_id: str,
    handler: str,
    to: str,
    category: str,
    status: str,
    reason: str,
    comments: list[ProblemComment],
    updated: datetime,
) -> dict[str, Any]:
    """The problem object as the handler's ``Update`` carries it: status, reason, comments."""
    text = "\n\n".join(c.text for c in comments[-1:]) or "Status changed."
    return {
        "id": problem_id,
        "type": "Note",
        "attributedTo": handler,
        "to": [to],
        "content": _content(category, text, status, reason, ""),
        "updated": format_timestamp(updated),
        "problemCategory": category,
        "problemStatus": status,
        "statusReason": reason,
        "problemComments": [
            {
                "type": "Note",
                "content": plain_text_to_html(c.text),
                "source": {"content": c.text, "mediaType": "text/plain"},
                "name": c.author_name,
                "published": format_timestamp(c.published),
            }
            for c in comments
        ],
    }


def wrap(kind: str, activity_id: str, actor: str, obj: dict[str, Any]) -> dict[str, Any]:
    """``Create`` or ``Update`` of a problem object, with our context inline."""
    return {
        "@context": CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor,
        "to": obj["to"],
        "object": obj,
    }


def is_problem(obj: Any) -> bool:
    """Whether an embedded object is one of our problem reports (it carries a category)."""
    return isinstance(obj, dict) and "Note" in object_types(obj) and "problemCategory" in obj


def _plain(obj: dict[str, Any], limit: int) -> str:
    source = obj.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return source["content"].strip()[:limit]
    return html_to_text(natural_language(obj, "content"), limit)


def _coordinate(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if -bound <= value <= bound else None


def read_problem(obj: Any) -> ReceivedProblem:
    """The plain values of a problem object; ``ProblemMalformed`` saying what is wrong."""
    if not is_problem(obj):
        raise ProblemMalformed("not a problem report")
    problem_id = reference(obj.get("id"))
    if problem_id is None:
        raise ProblemMalformed("the problem has no usable id")
    raw_category = obj.get("problemCategory")
    # Checked as stored: lower-casing may lengthen it ("İ" becomes two characters).
    category = raw_category.strip().lower() if isinstance(raw_category, str) else ""
    if not 0 < len(category) <= 32:
        raise ProblemMalformed("the problem has no usable category")
    text = _plain(obj, MAX_TEXT)
    if not text:
        raise ProblemMalformed("the problem has no text")
    location = values(obj.get("location"), limit=1)
    place = location[0] if location and isinstance(location[0], dict) else {}
    latitude = _coordinate(place.get("latitude"), 90)
    longitude = _coordinate(place.get("longitude"), 180)
    if latitude is None or longitude is None:
        latitude = longitude = None
    photos = [
        url
        for item in values(obj.get("attachment"), limit=MAX_PHOTOS)
        if isinstance(item, dict) and (url := _image_url(item))
    ]
    me_too = obj.get("meTooCount")
    audience = references(obj.get("to")) + references(obj.get("cc"))
    return ReceivedProblem(
        id=problem_id,
        attributed_to=reference(obj.get("attributedTo")),
        category=category,
        text=text,
        latitude=latitude,
        longitude=longitude,
        photos=tuple(photos),
        public=any(a.endswith("#Public") for a in audience) or "as:Public" in values(obj.get("cc")),
        me_too=me_too if isinstance(me_too, int) and 0 <= me_too < 2**31 else 0,
    )


def _image_url(item: dict[str, Any]) -> str | None:
    url = item.get("url")
    if isinstance(url, list):
        url = url[0] if url else None
    return reference(url)


def read_change(obj: Any) -> ProblemChange:
    """The plain values of a handler's change; ``ProblemMalformed`` saying what is wrong."""
    if not is_problem(obj):
        raise ProblemMalformed("not a problem report")
    problem_id = reference(obj.get("id"))
    if problem_id is None:
        raise ProblemMalformed("the problem has no usable id")
    status = obj.get("problemStatus")
    if status not in STATUSES:
        raise ProblemMalformed(f"unknown status {str(status)[:40]!r}")
    reason = obj.get("statusReason")
    comments = []
    for item in values(obj.get("problemComments"), limit=MAX_COMMENTS):
        if not isinstance(item, dict):
            continue
        text = _plain(item, MAX_TEXT)
        name = item.get("name")
        if text:
            comments.append(
                ProblemComment(
                    text=text,
                    published=timestamp(item.get("published")),
                    author_name=name[:200] if isinstance(name, str) else "",
                )
            )
    return ProblemChange(
        id=problem_id,
        status=str(status),
        reason=reason.strip()[:MAX_TEXT] if isinstance(reason, str) else "",
        comments=tuple(comments),
        updated=timestamp(obj.get("updated")),
    )
