"""Saved searches (alerts) over the HTTP API: a member keeps a search and hears of each new
listing that matches it, this node's or a partner's; what cannot be saved is refused, naming
the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import bearer, error_of
from tests.node.test_inbox import deliver, worker_round
from tests.node.test_listings import DRILL, PATH, notifications, publish
from tests.node.test_listings_inbound import created, make_partner

pytestmark = pytest.mark.local_testing

SAVED = "/api/quartier/v1/saved_searches"
BIKE = {"kind": "give", "title": "Vélo de ville", "category": "bicycles"}


async def save(node, token: str, name: str, query: dict[str, Any], status: int = 201) -> Any:
    resp = await node.post(SAVED, json={"name": name, "query": query}, headers=bearer(token))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def saved(node, token: str) -> list[dict[str, Any]]:
    resp = await node.get(SAVED, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def matches(node, token: str) -> list[tuple[str, int, int]]:
    """(listing title, listing id, saved search id) of each match notification."""
    return [
        (n["listing"]["title"], n["listing"]["id"], n["saved_search_id"])
        for n in await notifications(node, token)
        if n["type"] == "saved_search.match"
    ]


async def test_a_saved_search_is_kept_as_understood_listed_and_deleted(node, people):
    bikes = await save(node, people["cyd"], "Bikes", {"q": "Vélo ", "kind": "lend,give"})
    assert bikes["name"] == "Bikes"
    # kept as the search understood it: trimmed, the list in order
    assert bikes["query"] == {"q": "Vélo", "kind": "give,lend"}
    assert bikes["created_at"] == "2026-11-26T12:00:00Z"
    near = await save(node, people["cyd"], "Near", {"near": "45.76,4.83", "km": "2"})
    assert near["query"] == {"near": "45.76,4.83", "km": "2.0"}
    assert [s["id"] for s in await saved(node, people["cyd"])] == [bikes["id"], near["id"]]
    assert await saved(node, people["bea"]) == []
    # only its owner deletes it
    resp = await node.delete(f"{SAVED}/{bikes['id']}", headers=bearer(people["bea"]))
    await error_of(resp, 404, "not_found")
    resp = await node.delete(f"{SAVED}/{bikes['id']}", headers=bearer(people["cyd"]))
    assert resp.status == 204
    assert [s["id"] for s in await saved(node, people["cyd"])] == [near["id"]]
    resp = await node.delete(f"{SAVED}/{bikes['id']}", headers=bearer(people["cyd"]))
    await error_of(resp, 404, "not_found")


async def test_a_new_matching_listing_notifies_once_and_never_its_author(node, people):
    cyd_bikes = await save(node, people["cyd"], "Bikes", {"q": "velo"})
    await save(node, people["cyd"], "Gifts", {"kind": "give"})  # the same listing matches
    await save(node, people["bea"], "Bikes too", {"q": "velo"})
    await save(node, people["ada"], "Sales", {"kind": "sell"})
    bike = await publish(node, people["bea"], BIKE)
    await publish(node, people["bea"], DRILL)  # matches nobody's
    assert await matches(node, people["cyd"]) == [("Vélo de ville", bike["id"], cyd_bikes["id"])]
    assert await matches(node, people["bea"]) == []  # her own listing
    assert await matches(node, people["ada"]) == []
    # an edit is not a new listing: no second alert
    resp = await node.patch(
        f"{PATH}/{bike['id']}", json={"title": "Vélo bleu"}, headers=bearer(people["bea"])
    )
    assert resp.status == 200, await resp.text()
    assert len(await matches(node, people["cyd"])) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "x", "query": {"colour": "red"}}, ["colour"]),
        ({"name": "x", "query": {"q": "velo", "sort": "newest"}}, ["sort"]),
        ({"name": "x", "query": {"limit": "5", "cursor": "abc"}}, ["cursor", "limit"]),
        ({"name": "x", "query": {"status": "withdrawn"}}, ["status"]),
        ({"name": "x", "query": {"max_price": "10"}}, ["currency"]),
        ({"name": "", "query": {}}, ["name"]),
        ({"name": "x" * 101, "query": {}}, ["name"]),
        ({"name": "x", "query": {"kind": ["give"]}}, ["query.kind"]),
        ({"name": "x", "query": {f"p{n}": "1" for n in range(31)}}, ["query"]),
        ({"name": "x"}, ["query"]),
    ],
)
async def test_what_cannot_be_saved_is_refused_naming_it(node, people, body, fields):
    resp = await node.post(SAVED, json=body, headers=bearer(people["cyd"]))
    error = await error_of(resp, 422, "validation_failed")
    assert sorted(d["field"] for d in error["details"]) == fields
    assert await saved(node, people["cyd"]) == []


async def test_twenty_saved_searches_at_most_and_only_for_members(node, people):
    for n in range(20):
        await save(node, people["cyd"], f"Search {n}", {"q": f"word{n}"})
    resp = await node.post(
        SAVED, json={"name": "one more", "query": {}}, headers=bearer(people["cyd"])
    )
    await error_of(resp, 409, "conflict")
    node.session.cookie_jar.clear()  # the browser session the registration left behind
    await error_of(await node.get(SAVED), 401, "unauthorized")
    await error_of(await node.post(SAVED, json={"name": "x", "query": {}}), 401, "unauthorized")


async def test_a_partner_s_new_listing_notifies_too(node, people, clock, remote):
    alice = remote.add("alice")
    await make_partner(node, remote)
    chairs = await save(node, people["cyd"], "Chairs", {"q": "chairs", "local": "false"})
    await deliver(node, clock, alice, created(alice, 1, public=False))
    await worker_round(node)
    [(title, _, search_id)] = await matches(node, people["cyd"])
    assert (title, search_id) == ("Garden chairs", chairs["id"])
    # its Update is the same listing: no second alert
    await deliver(node, clock, alice, created(alice, 1, public=False, kind="Update"))
    await worker_round(node)
    assert len(await matches(node, people["cyd"])) == 1


async def test_a_deleted_saved_search_alerts_no_more(node, people):
    bikes = await save(node, people["cyd"], "Bikes", {"q": "velo"})
    first = await publish(node, people["bea"], BIKE)
    assert await matches(node, people["cyd"]) == [("Vélo de ville", first["id"], bikes["id"])]
    resp = await node.delete(f"{SAVED}/{bikes['id']}", headers=bearer(people["cyd"]))
    assert resp.status == 204
    await publish(node, people["bea"], {**BIKE, "title": "Vélo pliant"})
    # its notifications went with it, and the new listing told nobody
    assert await matches(node, people["cyd"]) == []
    again = await save(node, people["cyd"], "Bikes again", {"q": "pliant"})
    third = await publish(node, people["bea"], {**BIKE, "title": "Autre vélo pliant"})
    assert await matches(node, people["cyd"]) == [("Autre vélo pliant", third["id"], again["id"])]
