"""Saved searches through the pages: the list, saving one (the API's checks), deleting."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.api import bearer
from tests.web.account_support import (
    FRENCH,
    SCRIPT,
    assert_escaped,
    neighbours,
    post_page_form,
)
from tests.web.support import ORIGIN, page_token


@pytest.fixture
async def tokens(node) -> dict[str, str]:
    return await neighbours(node)


async def saved(node, token: str) -> list[dict]:
    resp = await node.get("/api/quartier/v1/saved_searches", headers=bearer(token))
    return await resp.json()


async def test_a_visitor_is_sent_to_log_in(node):
    resp = await node.get("/searches", allow_redirects=False)
    assert resp.status == 303
    assert unquote(resp.headers["Location"]) == "/login?next=/searches"


async def test_saving_a_search_lists_it(node, tokens):
    fields = {
        "name": "Drills",
        "q": "drill",
        "kind": "lend",
        "category": "tools",
        "verified": "true",
    }
    resp = await post_page_form(node, "/searches", "/searches", fields)
    assert resp.status == 303
    assert resp.headers["Location"] == "/searches"
    [search] = await saved(node, tokens["bob"])
    assert search["name"] == "Drills"
    assert search["query"] == {
        "q": "drill",
        "kind": "lend",
        "category": "tools",
        "verified": "true",
    }
    page = await (await node.get("/searches")).text()
    assert "Drills" in page
    assert "Lending" in page
    assert "Tools" in page
    assert 'href="/listings?q=drill' in page


async def test_the_listings_search_is_carried_to_the_form(node, tokens):
    page = await (await node.get("/searches?q=sofa&origin=local")).text()
    assert 'value="sofa"' in page
    assert 'type="hidden" name="origin" value="local"' in page


async def test_the_page_in_french(node, tokens):
    resp = await post_page_form(
        node, "/searches", "/searches", {"name": "Vélos", "category": "bicycles"}
    )
    assert resp.status == 303
    page = await (await node.get("/searches", headers=FRENCH)).text()
    assert "Recherches enregistrées" in page
    assert "Vélos" in page
    assert "Toutes les catégories" in page


async def test_an_invalid_search_is_refused_with_what_was_typed(node, tokens):
    fields = {"name": "Cheap", "q": "lamp", "min_price": "abc"}
    resp = await post_page_form(node, "/searches", "/searches", fields)
    assert resp.status == 422
    page = await resp.text()
    assert 'role="alert"' in page
    assert 'value="Cheap"' in page
    assert 'value="lamp"' in page
    assert await saved(node, tokens["bob"]) == []


async def test_a_missing_name_is_shown_next_to_the_field(node, tokens):
    resp = await post_page_form(node, "/searches", "/searches", {"name": "", "q": "lamp"})
    assert resp.status == 422
    page = await resp.text()
    assert 'id="name-error"' in page
    assert 'aria-describedby="name-error"' in page


async def test_a_script_in_the_fields_is_text(node, tokens):
    resp = await post_page_form(node, "/searches", "/searches", {"name": SCRIPT, "q": SCRIPT})
    assert resp.status == 303
    assert_escaped(await (await node.get("/searches")).text())


async def test_deleting_a_search(node, tokens):
    await post_page_form(node, "/searches", "/searches", {"name": "Drills", "q": "drill"})
    [search] = await saved(node, tokens["bob"])
    resp = await post_page_form(node, "/searches", f"/searches/{search['id']}/delete", {})
    assert resp.status == 303
    assert await saved(node, tokens["bob"]) == []


async def test_deleting_someone_elses_search_is_not_found(node, tokens):
    mine = await node.post(
        "/api/quartier/v1/saved_searches",
        json={"name": "Ada's", "query": {"q": "x"}},
        headers=bearer(tokens["ada"]),
    )
    ada_search = (await mine.json())["id"]
    resp = await post_page_form(node, "/searches", f"/searches/{ada_search}/delete", {})
    assert resp.status == 404
    assert len(await saved(node, tokens["ada"])) == 1


@pytest.mark.parametrize("token", ["", "wrong"])
async def test_saving_without_the_right_token_is_refused(node, tokens, token):
    resp = await node.post("/searches", data={"csrf_token": token, "name": "x"}, headers=ORIGIN)
    assert resp.status == 403
    assert await saved(node, tokens["bob"]) == []


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_saving_from_another_origin_is_refused(node, tokens, headers):
    token = await page_token(node, "/searches")
    resp = await node.post("/searches", data={"csrf_token": token, "name": "x"}, headers=headers)
    assert resp.status == 403
    assert await saved(node, tokens["bob"]) == []
