"""Open311 GeoReport v2 over problem reports: API keys, and the mapping of our problems and
categories onto the specification's service requests and services (docs/problems.md).

Keys are random 32-byte tokens shown once; only their SHA-256 is stored (a token that long
needs no slow hash: nobody can guess its way through 2**256 values).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from activitypub.properties import format_timestamp
from activitypub.uris import UriScheme
from node.clock import Clock
from node.errors import NotFound
from node.media.models import Media
from node.media.render import photo_urls
from node.problems.models import Open311Key, Problem, ProblemComment, ProblemStatus

KEY_BYTES = 32


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class Open311Keys:
    """The API keys Open311 clients create requests (and change statuses) with."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def add(self, name: str) -> tuple[Open311Key, str]:
        """A new key named ``name``: its row and the key itself (shown once, never again)."""
        key = secrets.token_urlsafe(KEY_BYTES)
        row = await Open311Key.create(name=name, key_hash=_digest(key), created_at=self._clock())
        return row, key

    async def all(self) -> list[Open311Key]:
        """Every key, revoked ones too, oldest first."""
        return await Open311Key.all().order_by("id")

    async def revoke(self, key_id: int) -> Open311Key:
        """Revoke a key (404 if there is none with that id); revoking twice is harmless."""
        row = await Open311Key.get_or_none(id=key_id)
        if row is None:
            raise NotFound("no Open311 key with that id")
        if row.revoked_at is None:
            row.revoked_at = self._clock()
            await row.save(update_fields=["revoked_at"])
        return row

    async def check(self, key: str) -> Open311Key | None:
        """The live key ``key`` is, or ``None`` (unknown or revoked)."""
        if not key or len(key) > 200:
            return None
        row = await Open311Key.get_or_none(key_hash=_digest(key), revoked_at__isnull=True)
        if row is not None:
            row.last_used_at = self._clock()
            await row.save(update_fields=["last_used_at"])
        return row


def key_to_api(row: Open311Key) -> dict[str, Any]:
    """A key as admins see it (never the key itself, which is not kept)."""
    return {
        "id": row.id,
        "name": row.name,
        "created_at": format_timestamp(row.created_at),
        "revoked_at": format_timestamp(row.revoked_at),
        "last_used_at": format_timestamp(row.last_used_at),
    }


def service_name(code: str) -> str:
    """A category's readable name ("cleanliness" -> "Cleanliness")."""
    return code.replace("_", " ").replace("-", " ").capitalize()


def service_to_georeport(code: str) -> dict[str, Any]:
    """A category as a GeoReport service: ``realtime`` (a request gets its id at once),
    without extra attributes (``metadata`` false)."""
    return {
        "service_code": code,
        "service_name": service_name(code),
        "description": f"Problems of category {code}",
        "metadata": False,
        "type": "realtime",
        "keywords": code,
        "group": "problems",
    }


def georeport_status(status: ProblemStatus) -> str:
    """GeoReport knows ``open`` and ``closed``; the details go in ``status_notes``."""
    return "open" if status.is_open else "closed"


def problem_to_georeport(
    problem: Problem,
    uris: UriScheme,
    *,
    agency: str,
    photos: Sequence[Media] = (),
    comments: Sequence[ProblemComment] = (),
) -> dict[str, Any]:
    """A problem as a GeoReport service request. ``status_notes`` says our finer status,
    the rejection reason and the latest comment."""
    notes = problem.status.value.replace("_", " ")
    if problem.status_reason:
        notes += f": {problem.status_reason}"
    if comments:
        notes += f" ({comments[-1].text})"
    media_url = photo_urls(photos[0], uris)[0] if photos else None
    if media_url is None and problem.photo_urls:
        media_url = problem.photo_urls[0]
    return {
        "service_request_id": str(problem.id),
        "status": georeport_status(problem.status),
        "status_notes": notes,
        "service_name": service_name(problem.category),
        "service_code": problem.category,
        "description": problem.text,
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": format_timestamp(problem.created_at),
        "updated_datetime": format_timestamp(problem.updated_at),
        "expected_datetime": None,
        "address": problem.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": problem.latitude,
        "long": problem.longitude,
        "media_url": media_url,
    }
