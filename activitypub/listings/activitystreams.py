"""The ActivityStreams parts of a listing that are not FEP-0837's, read in every legal form:
its place, photos, page, addressing, hashtags and language.

Each tolerates what other servers send and drops what it cannot use (a point out of range, an
attachment that is no image, a ``javascript:`` link) rather than refusing the listing.
"""

from __future__ import annotations

import re
from typing import Any

from activitypub.listings.terms import Photo, Place
from activitypub.notes import html_to_text
from activitypub.properties import (
    link_href,
    natural_language,
    object_types,
    reference,
    values,
)

MAX_TITLE = 200
MAX_PHOTOS = 4
MAX_HASHTAGS = 20
MAX_ADDRESSES = 100
_IMAGE_TYPES = frozenset({"Image", "Document", "Link"})
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
# Radius units ActivityStreams names, in metres.
_UNITS = {"m": 1.0, "km": 1000.0, "cm": 0.01, "feet": 0.3048, "inches": 0.0254, "miles": 1609.344}


def read_language(doc: dict[str, Any]) -> str | None:
    for field in ("contentMap", "nameMap"):
        mapped = doc.get(field)
        if isinstance(mapped, dict):
            for key in list(mapped)[:10]:
                if isinstance(key, str) and key != "und" and _LANGUAGE.fullmatch(key):
                    return key
    return None


def read_place(value: Any) -> Place | None:
    for item in values(value, limit=5):
        if isinstance(item, str) and not reference(item) and item.strip():
            # Not a link: a place's name, as some servers write it.
            return Place(name=html_to_text(item, MAX_TITLE))
        if not isinstance(item, dict):
            continue
        latitude, longitude = read_point(item.get("latitude"), item.get("longitude"))
        name = natural_language(item, "name")
        if not name and latitude is None:
            continue
        return Place(
            name=html_to_text(name, MAX_TITLE),
            latitude=latitude,
            longitude=longitude,
            radius_m=_radius(item.get("radius"), item.get("units")),
        )
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) <= 32:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
        return float(value)
    return None


def read_point(latitude: Any, longitude: Any) -> tuple[float | None, float | None]:
    lat, lon = _number(latitude), _number(longitude)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None  # a point we cannot place: no point
    return lat, lon


def _radius(radius: Any, units: Any) -> int | None:
    value = _number(radius)
    factor = _UNITS.get(units if isinstance(units, str) else "m")
    if value is None or factor is None or value < 0 or value * factor > 40_000_000:
        return None
    return round(value * factor)


def read_photos(doc: dict[str, Any]) -> tuple[Photo, ...]:
    found: list[Photo] = []
    for field in ("attachment", "image"):
        for item in values(doc.get(field), limit=MAX_PHOTOS * 4):
            # ``image`` may be a bare link to the image; an attachment that is a bare link
            # may be anything.
            photo = _photo(item) if isinstance(item, dict) or field == "image" else None
            if photo is not None and all(p.url != photo.url for p in found):
                found.append(photo)
            if len(found) == MAX_PHOTOS:
                return tuple(found)
    return tuple(found)


def _photo(item: Any) -> Photo | None:
    if isinstance(item, str):
        url = reference(item)
        return Photo(url=url, media_type="") if url else None
    if not isinstance(item, dict):
        return None
    link = next((x for x in values(item.get("url", item.get("href")), 10) if link_href(x)), None)
    url = link_href(link)
    media_type = item.get("mediaType")
    if not isinstance(media_type, str) and isinstance(link, dict):
        media_type = link.get("mediaType")
    media_type = media_type[:127] if isinstance(media_type, str) else ""
    types = object_types(item)
    is_image = media_type.startswith("image/") or (not media_type and "Image" in types)
    if url is None or not is_image or (types and not types & _IMAGE_TYPES):
        return None
    description = natural_language(item, "name") or natural_language(item, "summary")
    return Photo(
        url=url,
        media_type=media_type,
        description=html_to_text(description, 1500),
        width=_dimension(item.get("width")),
        height=_dimension(item.get("height")),
    )


def _dimension(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 100_000:
        return None
    return value


def read_page_url(value: Any) -> str | None:
    """The page of a listing: a ``url`` string, or the Link to ``text/html`` among several."""
    links = values(value, limit=10)
    for link in links:
        if isinstance(link, dict) and link.get("mediaType") == "text/html":
            return link_href(link)
    for link in links:
        found = link_href(link)
        if found:
            return found
    return None


def read_addresses(value: Any) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for item in values(value, MAX_ADDRESSES):
        # The public collection is kept in whichever spelling it came in (``as:Public``).
        address = item if isinstance(item, str) and len(item) <= 2048 else reference(item)
        if address:
            found.setdefault(address, None)
    return tuple(found)


def read_hashtags(value: Any) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for item in values(value, MAX_HASHTAGS * 5):
        if isinstance(item, dict) and "Hashtag" in object_types(item):
            name = item.get("name")
            if isinstance(name, str) and name.strip("#").strip():
                found.setdefault(name.strip().lstrip("#").strip()[:100], None)
        if len(found) == MAX_HASHTAGS:
            break
    return tuple(found)
