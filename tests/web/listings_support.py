"""Helpers for the listings pages' tests: members logged in by the form, the listing form as
a browser posts it (multipart, text fields before the photos), and what the node stored."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from node.db import activated
from node.http.keys import DATABASE
from node.listings.models import Listing
from node.media.models import Media
from node.members.models import LoginSession
from tests.api import PASSWORD, admin_token, member_token
from tests.web.support import ORIGIN, log_in_by_form, page_token

__all__ = ["ORIGIN", "PASSWORD", "listing_form", "new_listing", "page_token"]

FIELDS = {
    "kind": "give",
    "title": "Green armchair",
    "description": "Comfortable, a bit worn on the left arm.",
    "category": "furniture",
    "audience": "node",
    "quantity": "1",
}


async def two_members(node: TestClient) -> tuple[str, str]:
    """ada (admin) and bea (resident) registered; returns their API tokens. Nobody is
    logged in in the browser afterwards."""
    ada = await admin_token(node, "ada")
    bea = await member_token(node, ada, "bea")
    node.session.cookie_jar.clear()
    return ada, bea


async def browse_as(node: TestClient, username: str) -> None:
    """Log ``username`` in through the login form (a fresh cookie jar)."""
    node.session.cookie_jar.clear()
    await log_in_by_form(node, username, PASSWORD)


def listing_form(
    token: str,
    photos: list[tuple[bytes, str, str]] = (),  # type: ignore[assignment]
    **fields: str,
) -> aiohttp.FormData:
    """The listing form as a browser sends it: the token first, the text fields, then each
    photo's alt text and file (``(data, alt, content type)``)."""
    form = aiohttp.FormData(default_to_multipart=True)  # as the page's enctype
    form.add_field("csrf_token", token)
    for name, value in {**FIELDS, **fields}.items():
        form.add_field(name, value)
    for n, (data, alt, content_type) in enumerate(photos, start=1):
        form.add_field(f"alt_{n}", alt)
        form.add_field(
            f"photo_{n}", io.BytesIO(data), filename=f"photo{n}.jpg", content_type=content_type
        )
    return form


async def new_listing(node: TestClient, **fields: str) -> int:
    """Publish a listing through the page as whoever is logged in; its id."""
    token = await page_token(node, "/listings/new")
    resp = await node.post(
        "/listings/new", data=listing_form(token, **fields), headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    return int(resp.headers["Location"].rsplit("/", 1)[1])


async def stored(node: TestClient) -> tuple[int, int]:
    """How many listings and photos the node holds."""
    with activated(node.app[DATABASE]):
        return await Listing.all().count(), await Media.all().count()


async def end_sessions(node: TestClient, username: str) -> None:
    """End every session of ``username`` on the server (as from another device)."""
    with activated(node.app[DATABASE]):
        await LoginSession.filter(member__username=username).update(revoked_at=datetime.now(UTC))


def described(**extra: Any) -> dict[str, Any]:
    """The listing form's fields with ``extra`` changed."""
    return {**FIELDS, **extra}
