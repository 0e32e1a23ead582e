"""Anonymous callers and listings in the API. When the community's governance policy lets
listings reach the public (``listings = "public"``, the default), ``GET /api/quartier/v1/listings``
and ``GET /api/quartier/v1/listings/{id}`` answer a caller with no token: this node's own listings
with the audience ``public``, open or reserved, never a partner's, never one for the node's
members or partners only, and with no author's real name. Under a narrower policy, 401 as
before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import bearer, error_of
from tests.node.test_inbox import deliver, worker_round
from tests.node.test_listings import PATH, publish
from tests.node.test_listings_inbound import created, make_partner

pytestmark = pytest.mark.local_testing

GOVERNANCE = "/api/quartier/v1/admin/governance"
SOFA = {"kind": "give", "title": "Public sofa", "category": "furniture", "audience": "public"}


async def public_world(node, people: dict[str, str], clock, remote) -> dict[str, int]:
    """bea's listings of every audience and status, and a partner's public one; the
    browser then holds no session. Returns bea's listings' ids by title."""
    bea = people["bea"]
    ids = {}
    for title, audience in (
        ("Public sofa", "public"),
        ("Reserved rug", "public"),
        ("Given chair", "public"),
        ("Node lamp", "node"),
        ("Partners table", "partners"),
    ):
        ids[title] = int(
            (await publish(node, bea, {**SOFA, "title": title, "audience": audience}))["id"]
        )
    for title, status in (("Reserved rug", "reserved"), ("Given chair", "done")):
        resp = await node.post(
            f"{PATH}/{ids[title]}/status", json={"status": status}, headers=bearer(bea)
        )
        assert resp.status == 200, await resp.text()
    alice = remote.add("alice")
    await make_partner(node, remote)
    await deliver(node, clock, alice, created(alice, 1, public=True, title="Partner bike"))
    await worker_round(node)
    node.session.cookie_jar.clear()  # the browser session the registrations left behind
    return ids


async def set_listings_reach(node, admin: str, reach: str) -> None:
    """The community's policy: how far listings may go."""
    resp = await node.patch(GOVERNANCE, json={"listings": reach}, headers=bearer(admin))
    assert resp.status == 200, await resp.text()
    node.session.cookie_jar.clear()


async def anonymous_titles(node, **params: Any) -> list[str]:
    resp = await node.get(PATH, params={k: str(v) for k, v in params.items()})
    assert resp.status == 200, await resp.text()
    return [listing["title"] for listing in (await resp.json())["listings"]]


async def test_an_anonymous_caller_finds_only_this_nodes_public_listings(
    node, people, clock, remote
):
    ids = await public_world(node, people, clock, remote)
    # members see all of them
    resp = await node.get(
        PATH, params={"status": "open,reserved,done"}, headers=bearer(people["cyd"])
    )
    member_titles = {listing["title"] for listing in (await resp.json())["listings"]}
    assert {"Node lamp", "Partners table", "Partner bike", "Given chair"} <= member_titles
    assert await anonymous_titles(node) == ["Public sofa"]
    assert sorted(await anonymous_titles(node, status="open,reserved,done")) == [
        "Public sofa",
        "Reserved rug",
    ]
    # asking for what a visitor may not see finds nothing rather than widening the search
    assert await anonymous_titles(node, audience="node") == []
    assert await anonymous_titles(node, audience="partners,node") == []
    assert await anonymous_titles(node, local="false") == []
    assert await anonymous_titles(node, origin=remote.base.removeprefix("http://")) == []
    assert await anonymous_titles(node, status="done") == []
    assert await anonymous_titles(node, q="sofa") == ["Public sofa"]
    assert await anonymous_titles(node, q="lamp") == []
    assert await anonymous_titles(node, q="bike") == []
    # one listing: the public ones only; the others as if they did not exist
    resp = await node.get(f"{PATH}/{ids['Public sofa']}")
    assert resp.status == 200, await resp.text()
    shown = await resp.json()
    assert shown["title"] == "Public sofa"
    assert "Bea" not in str(shown)  # the author's real name is never shown
    for title in ("Node lamp", "Partners table", "Given chair"):
        await error_of(await node.get(f"{PATH}/{ids[title]}"), 404, "not_found")
    await error_of(await node.get(f"{PATH}/999999"), 404, "not_found")


async def test_anonymous_search_pages_and_refuses_bad_parameters_as_for_members(
    node, people, clock, remote
):
    await public_world(node, people, clock, remote)
    for n in range(3):
        await publish(node, people["cyd"], {**SOFA, "title": f"Lamp {n}"})
    node.session.cookie_jar.clear()
    resp = await node.get(PATH, params={"limit": "2"})
    first = await resp.json()
    assert len(first["listings"]) == 2
    assert first["next"]
    assert 'rel="next"' in resp.headers["Link"]
    resp = await node.get(PATH, params={"limit": "2", "cursor": first["next"]})
    second = await resp.json()
    titles = [x["title"] for x in first["listings"] + second["listings"]]
    assert sorted(titles) == ["Lamp 0", "Lamp 1", "Lamp 2", "Public sofa"]
    error = await error_of(await node.get(PATH, params={"kind": "steal"}), 422, "validation_failed")
    assert [d["field"] for d in error["details"]] == ["kind"]


async def test_a_token_that_does_not_work_is_refused_not_served_as_anonymous(node, people):
    await error_of(await node.get(PATH, headers=bearer("nope")), 401, "unauthorized")


@pytest.mark.parametrize("reach", ["partners", "nobody"])
async def test_under_a_narrower_policy_anonymous_callers_get_401(
    node, people, clock, remote, reach
):
    ids = await public_world(node, people, clock, remote)
    await set_listings_reach(node, people["ada"], reach)
    await error_of(await node.get(PATH), 401, "unauthorized")
    await error_of(await node.get(f"{PATH}/{ids['Public sofa']}"), 401, "unauthorized")
    # members are not concerned
    resp = await node.get(PATH, headers=bearer(people["cyd"]))
    assert resp.status == 200, await resp.text()


async def test_visitors_reads_are_limited_per_address_and_members_are_not(node, people, clock):
    # The app's limit (VISITOR_READS_PER_MINUTE), read by search and by listing alike.
    node.session.cookie_jar.clear()
    for _ in range(60):
        assert (await node.get(PATH)).status == 200
        assert (await node.get(f"{PATH}/999999")).status == 404
    refused = await node.get(PATH)
    await error_of(refused, 429, "too_many_requests")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    page = await node.get("/listings")
    assert page.status == 429
    assert page.content_type == "text/html"
    assert "Retry-After" in page.headers
    # A member's searches are theirs: the visitors' limit does not touch them.
    assert (await node.get(PATH, headers=bearer(people["bea"]))).status == 200
    # A minute later the visitor may browse again.
    clock.advance(seconds=61)
    assert (await node.get(PATH)).status == 200
