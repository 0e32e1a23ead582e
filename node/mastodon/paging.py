"""Mastodon's id pagination: ``max_id``, ``since_id``, ``min_id``, ``limit`` and ``Link``.

``max_id`` pages back in time; ``since_id`` gives the newest items above an id; ``min_id``
gives the items just above an id (oldest first, then returned newest first), which is how an
app catches up without a gap. The ``Link`` header names the next page (older, ``max_id`` =
the last id returned) and the previous one (newer, ``min_id`` = the first id returned).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from aiohttp import web
from tortoise.models import Model
from tortoise.queryset import QuerySet

from node.mastodon.params import Params, ValidationError

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page:
    """The window an app asked for."""

    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int

    @property
    def ascending(self) -> bool:
        """Whether to read upwards from ``min_id`` (then reverse), not down from the top."""
        return self.min_id is not None

    def clauses(self, column: str = "id") -> dict[str, int]:
        """Tortoise filter keywords for ``column``."""
        found: dict[str, int] = {}
        if self.max_id is not None:
            found[f"{column}__lt"] = self.max_id
        lower = max(v for v in (self.since_id, self.min_id, -1) if v is not None)
        if lower >= 0:
            found[f"{column}__gt"] = lower
        return found

    def order(self, column: str = "id") -> str:
        """The ORDER BY for the query (reverse the rows when :attr:`ascending`)."""
        return column if self.ascending else f"-{column}"


def read_page(params: Params, *, default: int = 20, most: int = 40) -> Page:
    """The page of ``params``: a ``limit`` above ``most`` is lowered to it, as Mastodon does;
    ids that are not numbers match nothing in our id space, so they are refused."""
    limit = params.integer("limit", default) or default
    return Page(
        max_id=_id(params, "max_id"),
        since_id=_id(params, "since_id"),
        min_id=_id(params, "min_id"),
        limit=max(1, min(limit, most)),
    )


def _id(params: Params, name: str) -> int | None:
    value = params.text(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 19:
        raise ValidationError(f"{name} must be an id")
    return int(value)


async def fetch(query: QuerySet[M], page: Page, column: str = "id") -> list[M]:
    """The rows of ``query`` in ``page`` (paged on ``column``), newest first, whichever way
    they had to be read."""
    rows = await query.filter(**page.clauses(column)).order_by(page.order(column)).limit(page.limit)
    return list(reversed(rows)) if page.ascending else list(rows)


def link_header(request: web.Request, base_url: str, ids: Sequence[int | str]) -> str | None:
    """The ``Link`` header for a page whose items have ``ids`` (newest first), or ``None``
    for an empty page."""
    if not ids:
        return None
    kept = [(k, v) for k, v in request.query.items() if k not in ("max_id", "min_id", "since_id")]
    url = base_url + request.path
    older = urlencode([*kept, ("max_id", str(ids[-1]))])
    newer = urlencode([*kept, ("min_id", str(ids[0]))])
    return f'<{url}?{older}>; rel="next", <{url}?{newer}>; rel="prev"'
