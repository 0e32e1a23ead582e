"""Listings and visitors. The API's search (``GET /api/v1/listings``) and its listing
(``GET /api/v1/listings/{id}``) answer members only, whatever a listing's audience: the pages
follow it, so a visitor is sent to log in even for a public listing, and the front page offers
no listings. (A public listing reaches the wider world through ActivityPub, as its ``Note``.)
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp.test_utils import TestClient

from tests.api import admin_token, bearer


async def public_listing(node: TestClient) -> tuple[str, int]:
    """ada's public listing; the browser holds no session."""
    ada = await admin_token(node, "ada")
    resp = await node.post(
        "/api/v1/listings",
        json={
            "kind": "give",
            "title": "Public sofa",
            "category": "furniture",
            "audience": "public",
        },
        headers=bearer(ada),
    )
    assert resp.status == 201, await resp.text()
    node.session.cookie_jar.clear()
    return ada, int((await resp.json())["id"])


async def test_the_api_does_not_search_for_anonymous_callers(node):
    _, listing = await public_listing(node)
    assert (await node.get("/api/v1/listings")).status == 401
    assert (await node.get(f"/api/v1/listings/{listing}")).status == 401


async def test_a_visitor_is_sent_to_log_in_even_for_a_public_listing(node):
    _, listing = await public_listing(node)
    for path in ("/listings", "/listings?q=sofa", f"/listings/{listing}"):
        resp = await node.get(path, allow_redirects=False)
        assert resp.status == 303
        assert unquote(resp.headers["Location"]) == f"/login?next={path}"


async def test_the_front_page_shows_no_listing_to_a_visitor(node):
    await public_listing(node)
    page = await (await node.get("/")).text()
    assert "Public sofa" not in page
    assert 'href="/listings' not in page
