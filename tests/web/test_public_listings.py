"""Listings and visitors. When the community's governance policy lets listings reach the
public (the default), a visitor browses this node's public listings, open or reserved, and
opens them read-only, with a link to log in and answer: never a listing for the members or
partners only, never a partner node's, never an author's real name. The front page and the
navigation then link to them. Under a narrower policy, the pages send visitors to log in
(303), as the API answers them 401 (tests/node/test_listings_public.py)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.api import admin_token, member_token
from tests.node.test_inbox import Remote, start_remote
from tests.node.test_listings_public import public_world, set_listings_reach
from tests.web.listings_support import browse_as

pytestmark = pytest.mark.local_testing


@pytest.fixture
async def people(node) -> dict[str, str]:
    """Tokens of ada (an admin), bea and cyd (residents)."""
    ada = await admin_token(node, "ada")
    return {
        "ada": ada,
        "bea": await member_token(node, ada, "bea"),
        "cyd": await member_token(node, ada, "cyd"),
    }


@pytest.fixture
async def remote(aiohttp_server) -> Remote:
    """A partner node (fake), whose public listing reaches us."""
    return await start_remote(aiohttp_server)


HIDDEN = ("Node lamp", "Partners table", "Partner bike", "Given chair")


async def test_a_visitor_browses_only_this_nodes_public_listings(node, people, clock, remote):
    await public_world(node, people, clock, remote)
    resp = await node.get("/listings")
    assert resp.status == 200
    page = await resp.text()
    assert "Public sofa" in page
    for title in HIDDEN:
        assert title not in page
    assert "Lovelace" not in page
    assert "Bea" not in page
    assert 'href="/listings/new"' not in page  # nothing to publish without an account
    searched = await (await node.get("/listings", params={"q": "lamp"})).text()
    assert "Node lamp" not in searched
    # the filters a visitor may not widen find nothing
    for params in ({"audience": "node"}, {"local": "false"}, {"status": "done"}):
        other = await (await node.get("/listings", params=params)).text()
        for title in HIDDEN:
            assert title not in other, params


async def test_a_visitor_reads_a_public_listing_and_is_asked_to_log_in_to_answer(
    node, people, clock, remote
):
    ids = await public_world(node, people, clock, remote)
    resp = await node.get(f"/listings/{ids['Public sofa']}")
    assert resp.status == 200
    page = await resp.text()
    assert "Public sofa" in page
    assert f'href="/login?next=/listings/{ids["Public sofa"]}"' in page
    assert "Log in to answer" in page
    assert 'action="/listings/' not in page  # no answer, report, status or withdraw form
    assert "/report" not in page
    assert "/edit" not in page
    assert "Lovelace" not in page
    assert "Bea" not in page
    french = await (
        await node.get(f"/listings/{ids['Public sofa']}", headers={"Accept-Language": "fr"})
    ).text()
    assert "Se connecter pour répondre" in french
    reserved = await node.get(f"/listings/{ids['Reserved rug']}")
    assert reserved.status == 200
    for title in ("Node lamp", "Partners table", "Given chair"):
        hidden = await node.get(f"/listings/{ids[title]}", allow_redirects=False)
        assert hidden.status == 404, title
        assert title not in await hidden.text()


async def test_the_front_page_and_the_navigation_lead_visitors_to_the_listings(
    node, people, clock, remote
):
    await public_world(node, people, clock, remote)
    page = await (await node.get("/")).text()
    assert "See the neighbourhood's public listings" in page
    assert 'href="/listings"' in page
    french = await (await node.get("/", headers={"Accept-Language": "fr"})).text()
    assert "Voir les annonces publiques du quartier" in french
    about = await (await node.get("/about")).text()
    assert 'href="/listings"' not in about  # the flag is the listings pages' and the front's


@pytest.mark.parametrize("reach", ["partners", "nobody"])
async def test_under_a_narrower_policy_a_visitor_is_sent_to_log_in(
    node, people, clock, remote, reach
):
    ids = await public_world(node, people, clock, remote)
    await set_listings_reach(node, people["ada"], reach)
    for path in ("/listings", "/listings?q=sofa", f"/listings/{ids['Public sofa']}"):
        resp = await node.get(path, allow_redirects=False)
        assert resp.status == 303
        assert unquote(resp.headers["Location"]) == f"/login?next={path}"
    page = await (await node.get("/")).text()
    assert "Public sofa" not in page
    assert 'href="/listings' not in page


async def test_a_member_still_answers_from_the_page(node, people, clock, remote):
    ids = await public_world(node, people, clock, remote)
    await browse_as(node, "cyd")
    page = await (await node.get(f"/listings/{ids['Public sofa']}")).text()
    assert f'action="/listings/{ids["Public sofa"]}/respond"' in page
    assert "Log in to answer" not in page
    assert 'href="/listings/new"' in await (await node.get("/listings")).text()
