"""Browsing and searching listings over the HTTP API: what a member types finds what
neighbours wrote (accents and case aside), edits and copies from partner nodes are found as
they are now, filters and orders, pages that follow one another, and the searches refused
with the parameter named. (The engines themselves: tests/node/test_listing_search.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import admin_token, bearer, error_of, member_token
from tests.node.test_inbox import deliver, worker_round
from tests.node.test_listings import DRILL, PATH, publish
from tests.node.test_listings_inbound import created, make_partner

pytestmark = pytest.mark.local_testing

BIKE = {
    "kind": "give",
    "title": "Vélo de ville",
    "category": "bicycles",
    "description": "Un VÉLO rouge, pneus neufs.",
}


async def found(node, token: str, **params: Any) -> dict[str, Any]:
    resp = await node.get(
        PATH, params={k: str(v) for k, v in params.items()}, headers=bearer(token)
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def titles(node, token: str, **params: Any) -> list[str]:
    return [listing["title"] for listing in (await found(node, token, **params))["listings"]]


async def test_words_are_found_whatever_their_accents_and_case(node, people):
    await publish(node, people["bea"], BIKE)
    await publish(node, people["bea"], DRILL)
    for typed in ("velo", "VÉLO", "Vélo", "rouge pneus", "veLO ville"):
        assert await titles(node, people["cyd"], q=typed) == ["Vélo de ville"], typed
    # the last word is a prefix as people type; the others are whole words
    assert await titles(node, people["cyd"], q="cordless dri") == ["Cordless drill"]
    assert await titles(node, people["cyd"], q="dri cordless") == []
    assert await titles(node, people["cyd"], q="voiture") == []


async def test_without_words_browsing_lists_open_listings_newest_first(node, people, clock):
    first = await publish(node, people["bea"], BIKE)
    clock.advance(minutes=1)
    await publish(node, people["cyd"], DRILL)
    body = await found(node, people["ada"])
    assert [listing["title"] for listing in body["listings"]] == ["Cordless drill", "Vélo de ville"]
    assert body["next"] is None
    # every field a listing has in the API, as GET /api/quartier/v1/listings/{id} shows it
    shown = await (await node.get(f"{PATH}/{first['id']}", headers=bearer(people["ada"]))).json()
    assert body["listings"][1] == shown


async def test_an_edit_changes_what_finds_the_listing(node, people):
    bike = await publish(node, people["bea"], BIKE)
    resp = await node.patch(
        f"{PATH}/{bike['id']}", json={"title": "Trottinette"}, headers=bearer(people["bea"])
    )
    assert resp.status == 200, await resp.text()
    assert await titles(node, people["cyd"], q="ville") == []
    assert await titles(node, people["cyd"], q="trottinette") == ["Trottinette"]
    # the description, left as it was, still finds it
    assert await titles(node, people["cyd"], q="rouge") == ["Trottinette"]
    resp = await node.patch(
        f"{PATH}/{bike['id']}", json={"description": "Bleue."}, headers=bearer(people["bea"])
    )
    assert resp.status == 200, await resp.text()
    assert await titles(node, people["cyd"], q="rouge") == []
    assert await titles(node, people["cyd"], q="bleue trott") == ["Trottinette"]


async def test_filters_narrow_and_statuses_other_than_open_are_asked_for(node, people, clock):
    await publish(node, people["bea"], BIKE)
    sale = await publish(
        node,
        people["bea"],
        {
            "kind": "sell",
            "title": "Vélo enfant",
            "category": "bicycles",
            "price": {"amount": "35", "currency": "EUR"},
        },
    )
    await publish(node, people["cyd"], DRILL)
    cyd = people["cyd"]
    assert await titles(node, cyd, q="velo", kind="sell") == ["Vélo enfant"]
    assert sorted(await titles(node, cyd, category="bicycles")) == ["Vélo de ville", "Vélo enfant"]
    assert await titles(node, cyd, min_price=3000, max_price=4000, currency="EUR") == [
        "Vélo enfant"
    ]
    assert await titles(node, cyd, max_price=3000, currency="EUR") == []
    resp = await node.post(
        f"{PATH}/{sale['id']}/status", json={"status": "reserved"}, headers=bearer(people["bea"])
    )
    assert resp.status == 200, await resp.text()
    assert await titles(node, cyd, q="velo") == ["Vélo de ville"]
    assert await titles(node, cyd, q="velo", status="reserved") == ["Vélo enfant"]
    assert await titles(node, cyd, q="velo", status="open,reserved", kind="sell") == ["Vélo enfant"]
    assert await titles(node, cyd, local="false") == []  # nothing from other nodes yet


async def test_ending_soon_leaves_out_standing_offers(node, people, clock):
    await publish(node, people["bea"], {**BIKE, "expires_at": None})
    await publish(node, people["bea"], {**DRILL, "expires_at": "2026-12-01T00:00:00Z"})
    await publish(node, people["bea"], {**DRILL, "title": "Saw", "expires_at": "2026-11-28T00:00Z"})
    assert await titles(node, people["cyd"], sort="ending_soon") == ["Saw", "Cordless drill"]
    assert await titles(node, people["cyd"], expiring_before="2026-11-30") == ["Saw"]


async def test_nearest_first_with_the_distance(make_settings, make_node, clock):
    node = await make_node(make_settings(community={"latitude": "45.76", "longitude": "4.83"}))
    ada = await admin_token(node, "ada")
    bea = await member_token(node, ada, "bea")
    await publish(node, bea, BIKE)  # at the community's point
    await publish(node, bea, {**DRILL, "location": {"latitude": 45.80, "longitude": 4.83}})
    await publish(
        node, bea, {**DRILL, "title": "Far", "location": {"latitude": 46.5, "longitude": 4.83}}
    )
    body = await found(node, ada, near="45.81,4.83", km=20, sort="nearest")
    shown = [(listing["title"], listing["distance_m"]) for listing in body["listings"]]
    assert [title for title, _ in shown] == ["Cordless drill", "Vélo de ville"]
    # about 1.1 km (the blurred point is within the grid's cell) and about 5.6 km
    assert 0 <= shown[0][1] < 1500
    assert 5000 < shown[1][1] < 6500
    assert "distance_m" not in (await found(node, ada))["listings"][0]


async def test_pages_follow_one_another_by_cursor_and_link(node, people, clock):
    for n in range(5):
        await publish(node, people["bea"], {**DRILL, "title": f"Drill {n}"})
        clock.advance(seconds=1)
    seen: list[str] = []
    resp = await node.get(PATH, params={"q": "drill", "limit": "2"}, headers=bearer(people["cyd"]))
    while True:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        seen += [listing["title"] for listing in body["listings"]]
        if body["next"] is None:
            assert "Link" not in resp.headers
            break
        link = resp.headers["Link"]
        assert link.startswith("<http")
        assert link.endswith('>; rel="next"')
        url = link[1 : link.index(">")]
        assert f"cursor={body['next']}" in url
        # the link is absolute, on this node: ask the test server for its path and query
        resp = await node.get(url[url.index("/api/") :], headers=bearer(people["cyd"]))
    assert seen == [f"Drill {n}" for n in (4, 3, 2, 1, 0)]
    # a cursor belongs to its search: another search refuses it
    first = await found(node, people["cyd"], q="drill", limit=2)
    resp = await node.get(
        PATH,
        params={"q": "saw", "limit": "2", "cursor": first["next"]},
        headers=bearer(people["cyd"]),
    )
    error = await error_of(resp, 422, "validation_failed")
    assert [d["field"] for d in error["details"]] == ["cursor"]


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"colour": "red"}, ["colour"]),
        ({"kind": "steal"}, ["kind"]),
        ({"status": "withdrawn"}, ["status"]),
        ({"min_price": "-5", "currency": "EUR"}, ["min_price"]),
        ({"max_price": "10"}, ["currency"]),
        ({"sort": "nearest"}, ["sort"]),
        ({"near": "91,0"}, ["near"]),
        ({"limit": "0"}, ["limit"]),
        ({"q": "x" * 1000}, ["q"]),
        ({"cursor": "not-a-cursor"}, ["cursor"]),
        ({"published_since": "yesterday", "kind": "nope"}, ["kind", "published_since"]),
    ],
)
async def test_a_search_that_cannot_be_run_is_refused_naming_each_parameter(
    node, people, params, fields
):
    resp = await node.get(PATH, params=params, headers=bearer(people["cyd"]))
    error = await error_of(resp, 422, "validation_failed")
    assert sorted(d["field"] for d in error["details"]) == fields


async def test_only_members_search_and_withdrawn_listings_are_never_found(node, people):
    bike = await publish(node, people["bea"], BIKE)
    node.session.cookie_jar.clear()  # the browser session the registration left behind
    # a visitor finds only public listings (tests/node/test_listings_public.py): not this one
    resp = await node.get(PATH, params={"q": "velo"})
    assert (await resp.json())["listings"] == []
    resp = await node.delete(f"{PATH}/{bike['id']}", headers=bearer(people["bea"]))
    assert resp.status == 200, await resp.text()
    for who in ("bea", "cyd"):
        assert await titles(node, people[who], q="velo") == []
        assert await titles(node, people[who], status="open,reserved,done,expired") == []


async def test_partner_listings_are_found_with_ours_and_follow_their_updates(
    node, people, clock, remote
):
    alice = remote.add("alice")
    await make_partner(node, remote)
    await publish(node, people["bea"], {**BIKE, "title": "Chaises de jardin"})
    await deliver(node, clock, alice, created(alice, 1, public=False, title="Gärden chäirs"))
    await worker_round(node)
    origin = remote.base.removeprefix("http://")
    cyd = people["cyd"]
    assert await titles(node, cyd, q="garden chairs") == ["Gärden chäirs"]
    assert sorted(await titles(node, cyd, q="chaises")) == ["Chaises de jardin"]
    assert await titles(node, cyd, origin=origin) == ["Gärden chäirs"]
    assert await titles(node, cyd, origin="local") == ["Chaises de jardin"]
    assert await titles(node, cyd, local="false", audience="partners") == ["Gärden chäirs"]
    update = created(alice, 1, public=False, kind="Update", title="Deck chairs")
    await deliver(node, clock, alice, update)
    await worker_round(node)
    assert await titles(node, cyd, q="garden") == []
    assert await titles(node, cyd, q="deck") == ["Deck chairs"]
    delete = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.base}/activities/delete-1",
        "type": "Delete",
        "actor": alice.id,
        "object": f"{alice.base}/listings/1",
    }
    await deliver(node, clock, alice, delete)
    await worker_round(node)
    assert await titles(node, cyd, q="deck") == []
