"""The opaque cursor of a listing search: where the last page ended, bound to its search.

base64url of ``[version, sort, fingerprint, key, id]``: the sort key of the page's last listing
(a time, or a distance in metres) and its id, which breaks ties. Anything else handed back is a
``ValidationFailed`` naming ``cursor`` (a 422), never an error deeper down.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from node.errors import ValidationFailed

_VERSION = 1
_MAX_LENGTH = 300
_TIME_SORTS = ("newest", "ending_soon")


@dataclass(frozen=True)
class Position:
    """Where a page ended: the sort key of its last listing, and the listing's id.

    ``key`` is a time (``newest``, ``ending_soon``) or a distance in metres (``nearest``).
    """

    key: datetime | float
    id: int


def encode_position(position: Position, sort: str, bound_to: str) -> str:
    """The cursor of ``position`` in a search ordered by ``sort`` with fingerprint
    ``bound_to``."""
    key = position.key.isoformat() if isinstance(position.key, datetime) else position.key
    body = [_VERSION, sort, bound_to, key, position.id]
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _refuse(message: str = "not a cursor from this search") -> ValidationFailed:
    return ValidationFailed("invalid cursor", details=[{"field": "cursor", "message": message}])


def decode_position(raw: str, sort: str, bound_to: str) -> Position:
    """The position a cursor stands for, if it is one of this search's."""
    if len(raw) > _MAX_LENGTH:
        raise _refuse()
    try:
        body = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        raise _refuse() from None
    if not (isinstance(body, list) and len(body) == 5 and body[0] == _VERSION):
        raise _refuse()
    _, its_sort, its_search, key, listing_id = body
    if its_sort != sort or its_search != bound_to:
        raise _refuse("belongs to another search: start again without it")
    # Bounded as the engines' keys are (an id below 2^31, a finite distance, a time SQLite's
    # key can hold): a crafted cursor is refused, never an overflow.
    if not isinstance(listing_id, int) or isinstance(listing_id, bool):
        raise _refuse()
    if not 0 <= listing_id < 2**31:
        raise _refuse()
    if sort not in _TIME_SORTS:
        if not isinstance(key, int | float) or isinstance(key, bool) or not 0 <= key <= 1e9:
            raise _refuse()
        return Position(float(key), listing_id)
    try:
        moment = datetime.fromisoformat(key) if isinstance(key, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not 1970 <= moment.year <= 2100:
        raise _refuse()
    return Position(moment.astimezone(UTC), listing_id)
