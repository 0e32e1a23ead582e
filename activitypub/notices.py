"""Notices on the wire: a ``Note`` any fediverse reader shows, with our terms beside it.

A notice (works in the building, a water outage, an urgent warning from the town hall) must
read well in Mastodon, GoToSocial or Lemmy, which know nothing of notices. So it is a ``Note``
whose ``content`` opens with the kind and title, then the text, then when and where; the same
facts travel as ActivityStreams' own ``name``, ``startTime``, ``endTime`` and ``location``
(Mastodon ignores them on a Note, Quartier reads them), the photo as an ``Image`` attachment,
and the kind in our namespace (``noticeKind``), which is what marks a ``Note`` as a notice.
The text alone travels in ``source`` (as for listings), so that Quartier nodes show it without
the first line. Documented, with an example, in ``docs/notices.md``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, get_args

from activitypub.namespace import NAMESPACE
from activitypub.notes import Attachment, html_to_text, read_note
from activitypub.properties import (
    format_timestamp,
    natural_language,
    reference,
    timestamp,
    values,
)

AS_CONTEXT: Final = "https://www.w3.org/ns/activitystreams"
NoticeKind = Literal["information", "works", "outage", "event", "urgent"]
NOTICE_KINDS: Final[tuple[str, ...]] = get_args(NoticeKind)
CONTEXT: Final[list[Any]] = [AS_CONTEXT, {"noticeKind": f"{NAMESPACE}noticeKind"}]
MAX_TITLE: Final = 200
MAX_TEXT: Final = 10_000
MAX_PLACE: Final = 200

_LABELS: dict[str, str] = {
    "information": "Information",
    "works": "Works",
    "outage": "Outage",
    "event": "Event",
    "urgent": "URGENT",
}


class NoticeError(ValueError):
    """A notice that cannot be read (the reason in the message)."""


@dataclass(frozen=True)
class NoticePlace:
    """Where a notice applies: a name, and a point when there is one."""

    name: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class NoticeTerms:
    """What a notice says, in plain values (``text`` is plain text)."""

    kind: str
    title: str
    text: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: NoticePlace | None = None


@dataclass(frozen=True)
class ReceivedNotice:
    """A notice from another node, read from any legal form of its properties."""

    id: str
    author: str
    terms: NoticeTerms
    photos: list[Attachment]
    published: datetime | None
    updated: datetime | None


def notice_line(terms: NoticeTerms) -> str:
    """The first line a reader sees: kind and title (``URGENT: No water in building B``)."""
    return f"{_LABELS.get(terms.kind, 'Notice')}: {terms.title}"


def _when(terms: NoticeTerms) -> str:
    start, end = terms.starts_at, terms.ends_at
    fmt = "%Y-%m-%d %H:%M UTC"
    if start and end:
        return f"From {start.strftime(fmt)} to {end.strftime(fmt)}"
    if start:
        return f"From {start.strftime(fmt)}"
    if end:
        return f"Until {end.strftime(fmt)}"
    return ""


def notice_object(
    *,
    object_id: str,
    author: str,
    terms: NoticeTerms,
    text_html: str,
    published: datetime,
    updated: datetime,
    to: list[str],
    cc: list[str],
    url: str,
    photos: list[Attachment] = (),  # type: ignore[assignment]
    audience: str | None = None,
) -> dict[str, Any]:
    """A notice as a ``Note`` (``text_html`` is the text as already-safe HTML)."""
    facts = [part for part in (_when(terms), terms.place.name if terms.place else "") if part]
    content = f"<p><strong>{html.escape(notice_line(terms))}</strong></p>{text_html}"
    if facts:
        content += f"<p>{html.escape(' · '.join(facts))}</p>"
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": object_id,
        "type": "Note",
        "attributedTo": author,
        "name": terms.title,
        "content": content,
        "source": {"content": terms.text, "mediaType": "text/plain"},
        "noticeKind": terms.kind,
        "published": format_timestamp(published),
        "updated": format_timestamp(updated),
        "url": url,
        "to": to,
        "cc": cc,
    }
    if audience is not None:
        doc["audience"] = audience
    if terms.starts_at is not None:
        doc["startTime"] = format_timestamp(terms.starts_at)
    if terms.ends_at is not None:
        doc["endTime"] = format_timestamp(terms.ends_at)
    if terms.place is not None:
        place: dict[str, Any] = {"type": "Place", "name": terms.place.name}
        if terms.place.latitude is not None and terms.place.longitude is not None:
            place["latitude"] = terms.place.latitude
            place["longitude"] = terms.place.longitude
        doc["location"] = place
    if photos:
        doc["attachment"] = [
            {"type": "Image", "url": p.url, "mediaType": p.media_type, "name": p.description}
            for p in photos
        ]
    return doc


def is_notice(obj: Any) -> bool:
    """Whether ``obj`` is a notice: an embedded object carrying ``noticeKind``."""
    return isinstance(obj, dict) and "noticeKind" in obj


def read_notice(obj: dict[str, Any]) -> ReceivedNotice:
    """A received notice in plain values; :class:`NoticeError` for what cannot be one.

    An unknown ``noticeKind`` reads as ``information`` (a newer node's kind must not be lost
    as a whole notice); the text is ``source`` when it is plain text, else the content."""
    note = read_note(obj)
    if note.id is None:
        raise NoticeError("a notice needs an id")
    if len(note.authors) != 1:
        raise NoticeError("a notice has exactly one author")
    kinds = [k for k in values(obj.get("noticeKind"), limit=5) if isinstance(k, str)]
    kind = kinds[0] if kinds and kinds[0] in NOTICE_KINDS else "information"
    title = " ".join(html_to_text(natural_language(obj, "name"), MAX_TITLE).split())
    source = obj.get("source")
    if (
        isinstance(source, dict)
        and isinstance(source.get("content"), str)
        and source.get("mediaType", "text/plain") == "text/plain"
    ):
        text = source["content"][:MAX_TEXT].strip()
    else:
        text = note.text[:MAX_TEXT]
    if not title:
        first, _, rest = text.partition("\n")
        title, text = first[:MAX_TITLE].strip(), rest.strip()
    if not title:
        raise NoticeError("a notice needs a title or some text")
    starts, ends = timestamp(obj.get("startTime")), timestamp(obj.get("endTime"))
    if starts and ends and ends < starts:
        raise NoticeError("a notice cannot end before it starts")
    return ReceivedNotice(
        id=note.id,
        author=note.authors[0],
        terms=NoticeTerms(
            kind=kind,
            title=title,
            text=text,
            starts_at=starts,
            ends_at=ends,
            place=_place(obj.get("location")),
        ),
        photos=[a for a in note.attachments if a.media_type.startswith("image/")][:4],
        published=note.published,
        updated=timestamp(obj.get("updated")),
    )


def _place(value: Any) -> NoticePlace | None:
    for item in values(value, limit=5):
        if isinstance(item, str) and reference(item) is None and item.strip():
            return NoticePlace(item.strip()[:MAX_PLACE])
        if not isinstance(item, dict):
            continue
        name = " ".join(html_to_text(natural_language(item, "name"), MAX_PLACE).split())
        lat, lon = _degrees(item.get("latitude"), 90), _degrees(item.get("longitude"), 180)
        if lat is not None and lon is not None:
            return NoticePlace(name, lat, lon)
        if name:
            return NoticePlace(name)
    return None


def _degrees(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if -bound <= value <= bound else None
