"""Notifications through the pages: the list (unread marked, each linking to what it is
about), marking one or all read."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.api import bearer
from tests.web.account_support import (
    FRENCH,
    SCRIPT,
    assert_escaped,
    end_browser_session,
    neighbours,
    post_page_form,
    relogin_token,
)
from tests.web.support import ORIGIN, page_token


@pytest.fixture
async def tokens(node) -> dict[str, str]:
    """bob has two notifications: a listing matching his saved search, and his verification."""
    tokens = await neighbours(node)
    saved = await node.post(
        "/api/quartier/v1/saved_searches",
        json={"name": "Tools", "query": {"q": "drill"}},
        headers=bearer(tokens["bob"]),
    )
    assert saved.status == 201
    listing = await node.post(
        "/api/quartier/v1/listings",
        json={"kind": "give", "title": f"Drill {SCRIPT}", "category": "tools"},
        headers=bearer(tokens["ada"]),
    )
    assert listing.status == 201, await listing.text()
    tokens["listing"] = str((await listing.json())["id"])
    verified = await node.post(
        "/api/quartier/v1/admin/members/bob/verification",
        json={"verified": True, "reason": "known to the caretaker"},
        headers=bearer(tokens["ada"]),
    )
    assert verified.status == 200, await verified.text()
    return tokens


async def unread(node, token: str) -> int:
    resp = await node.get("/api/quartier/v1/notifications/unread_count", headers=bearer(token))
    return (await resp.json())["count"]


async def test_a_visitor_is_sent_to_log_in(node):
    resp = await node.get("/notifications", allow_redirects=False)
    assert resp.status == 303
    assert unquote(resp.headers["Location"]) == "/login?next=/notifications"


async def test_the_list_links_each_to_what_it_is_about(node, tokens):
    page = await (await node.get("/notifications")).text()
    assert "A new listing matches one of your saved searches." in page
    assert f'href="/listings/{tokens["listing"]}"' in page
    assert "You are now a verified neighbour." in page
    assert 'href="/verification"' in page
    assert page.count('class="unread"') == 2
    assert_escaped(page)  # the listing's title


async def test_the_list_in_french(node, tokens):
    page = await (await node.get("/notifications", headers=FRENCH)).text()
    assert "Vous êtes désormais un voisin vérifié." in page
    assert "Tout marquer comme lu" in page


async def test_marking_all_read(node, tokens):
    assert await unread(node, tokens["bob"]) == 2
    resp = await post_page_form(node, "/notifications", "/notifications/read", {})
    assert resp.status == 303
    assert resp.headers["Location"] == "/notifications"
    assert await unread(node, tokens["bob"]) == 0
    page = await (await node.get("/notifications")).text()
    assert 'class="unread"' not in page


async def test_marking_one_read(node, tokens):
    rows = await (
        await node.get("/api/quartier/v1/notifications", headers=bearer(tokens["bob"]))
    ).json()
    first = rows[0]["id"]
    resp = await post_page_form(node, "/notifications", f"/notifications/{first}/read", {})
    assert resp.status == 303
    assert await unread(node, tokens["bob"]) == 1


async def test_marking_someone_elses_is_not_found(node, tokens):
    rows = await (
        await node.get("/api/quartier/v1/notifications", headers=bearer(tokens["bob"]))
    ).json()
    resp = await post_page_form(
        node, "/notifications", f"/notifications/{rows[0]['id'] + 999}/read", {}
    )
    assert resp.status == 404
    assert "text/html" in resp.headers["Content-Type"]


@pytest.mark.parametrize("token", ["", "wrong"])
async def test_marking_without_the_right_token_is_refused(node, tokens, token):
    resp = await node.post("/notifications/read", data={"csrf_token": token}, headers=ORIGIN)
    assert resp.status == 403
    assert await unread(node, tokens["bob"]) == 2


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_marking_from_another_origin_is_refused(node, tokens, headers):
    token = await page_token(node, "/notifications")
    resp = await node.post("/notifications/read", data={"csrf_token": token}, headers=headers)
    assert resp.status == 403
    assert await unread(node, tokens["bob"]) == 2


async def test_marking_after_the_session_ended_asks_to_log_in_first(node, tokens):
    token = await page_token(node, "/notifications")
    tokens["bob"] = await end_browser_session(node, "bob")
    resp = await node.post("/notifications/read", data={"csrf_token": token}, headers=ORIGIN)
    assert resp.status == 401
    assert 'name="relogin_username"' in await resp.text()
    form = {
        "csrf_token": await relogin_token(resp),
        "relogin_username": "bob",
        "relogin_password": "correct horse battery staple",
    }
    resp = await node.post("/notifications/read", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303
    assert await unread(node, tokens["bob"]) == 0
