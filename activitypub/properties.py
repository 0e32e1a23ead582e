"""Reading ActivityStreams properties in every legal form, once, at the edge.

In ActivityStreams 2.0 most properties may hold a single value or a list, and a reference may be
a URI string, an embedded object with an ``id``, or a ``Link`` with an ``href``; natural-language
text may come as ``content`` or as a ``contentMap`` keyed by language. Services should never see
those variants: these functions turn them into plain values (lists of URIs, one string).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

MAX_VALUES = 100  # a property with more values than this is cut: nothing we read needs more
MAX_URI = 2048


def values(value: Any, limit: int = MAX_VALUES) -> list[Any]:
    """A property's values as a list: ``None`` is none, a list is itself, anything else one."""
    if value is None:
        return []
    if isinstance(value, list):
        return value[:limit]
    return [value]


def reference(value: Any) -> str | None:
    """The URI a single value refers to: a string, an object's ``id``, or a Link's ``href``.

    Only ``http(s)`` URIs of a sane length count; anything else is no reference at all.
    """
    if isinstance(value, dict):
        value = value.get("id") if "id" in value else value.get("href")
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_URI
        and value.startswith(("https://", "http://"))
    ):
        return value
    return None


def link_href(value: Any) -> str | None:
    """Where a link points: a Link's ``href`` (its ``id`` names the Link, not the target),
    else the value as a :func:`reference`."""
    if isinstance(value, dict) and "href" in value:
        return reference(value["href"])
    return reference(value)


def object_types(item: dict[str, Any]) -> set[str]:
    """An object's types: ``type`` may be one name or a list of them (JSON-LD)."""
    return {t for t in values(item.get("type"), limit=10) if isinstance(t, str)}


def references(value: Any, limit: int = MAX_VALUES) -> list[str]:
    """Every URI a property refers to, in order, without duplicates."""
    found: dict[str, None] = {}
    for item in values(value, limit):
        uri = reference(item)
        if uri is not None:
            found.setdefault(uri, None)
    return list(found)


def first_reference(value: Any) -> str | None:
    """The first URI a property refers to (``inReplyTo``, ``context``), or ``None``."""
    found = references(value, limit=10)
    return found[0] if found else None


def identifier(value: Any) -> str | None:
    """An identifier that need not be an http(s) URL (a thread's ``context`` or Mastodon's
    ``conversation``, a ``tag:`` URI): any absolute URI string, or an object's ``id``."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("id")
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_URI
        and ":" in value
        and value.isprintable()  # no control characters, and no space but " "
        and " " not in value
    ):
        return value
    return None


def natural_language(doc: dict[str, Any], name: str) -> str:
    """A natural-language property (``content``, ``summary``, ``name``) as one string.

    ``name`` itself wins; else the ``<name>Map``'s value for an undetermined language
    (``und``), else its first value. A list holds alternatives: the first string is taken.
    """
    for item in values(doc.get(name), limit=10):
        if isinstance(item, str):
            return item
    mapped = doc.get(f"{name}Map")
    if isinstance(mapped, dict):
        preferred = mapped.get("und")
        if isinstance(preferred, str):
            return preferred
        for item in mapped.values():
            if isinstance(item, str):
                return item
    return ""


def timestamp(value: Any) -> datetime | None:
    """An ``xsd:dateTime`` (``published``, ``updated``) as an aware UTC datetime, or ``None``
    for anything else (a missing zone counts as UTC, as Misskey and others mean it)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        # Year 1 or 9999 with an offset is not a moment UTC can name (OverflowError).
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


@overload
def format_timestamp(value: datetime) -> str: ...
@overload
def format_timestamp(value: None) -> None: ...
@overload
def format_timestamp(value: datetime | None) -> str | None: ...
def format_timestamp(value: datetime | None) -> str | None:
    """An aware datetime as the ``xsd:dateTime`` servers expect (UTC written ``Z``), or
    ``None`` for ``None``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
