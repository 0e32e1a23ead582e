"""A manager verifies a member they know, and searches and alerts can ask for verified
authors only: the member's level in the API, who may set it, and what "verified only" finds
(this node's verified members; other nodes' members once their attestations are read)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import bearer, error_of
from tests.node.test_inbox import deliver, worker_round
from tests.node.test_listings import DRILL, PATH, notifications, publish
from tests.node.test_listings_inbound import created, make_partner

pytestmark = pytest.mark.local_testing

MEMBERS = "/api/quartier/v1/admin/members"


async def verify(node, token: str, username: str, verified: bool = True) -> Any:
    resp = await node.post(
        f"{MEMBERS}/{username}/verification", json={"verified": verified}, headers=bearer(token)
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def titles(node, token: str, **params: str) -> list[str]:
    resp = await node.get(PATH, params=params, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return [listing["title"] for listing in (await resp.json())["listings"]]


async def level_of(node, token: str, username: str) -> dict[str, Any]:
    resp = await node.get(f"/api/quartier/v1/members/{username}", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["verification"]


async def test_a_manager_verifies_a_member_and_may_take_it_back(node, people, clock):
    assert await level_of(node, people["cyd"], "bea") == {
        "level": "unverified",
        "method": None,
        "verified_at": None,
    }
    shown = await verify(node, people["ada"], "bea")
    expected = {"level": "verified", "method": "manager", "verified_at": "2026-11-26T12:00:00Z"}
    assert shown["verification"] == expected
    assert await level_of(node, people["cyd"], "bea") == expected
    clock.advance(days=1)
    await verify(node, people["ada"], "bea")  # again: verified since the first time
    assert await level_of(node, people["cyd"], "bea") == expected
    await verify(node, people["ada"], "bea", verified=False)
    assert (await level_of(node, people["cyd"], "bea"))["level"] == "unverified"


async def test_only_managers_and_admins_verify(node, people):
    resp = await node.post(
        f"{MEMBERS}/bea/verification", json={"verified": True}, headers=bearer(people["cyd"])
    )
    await error_of(resp, 403, "forbidden")
    resp = await node.patch(
        f"{MEMBERS}/cyd", json={"role": "manager"}, headers=bearer(people["ada"])
    )
    assert resp.status == 200, await resp.text()
    await verify(node, people["cyd"], "bea")  # now a manager
    # but not of themself: another manager verifies them (the admin answers for themself)
    resp = await node.post(
        f"{MEMBERS}/cyd/verification", json={"verified": True}, headers=bearer(people["cyd"])
    )
    await error_of(resp, 403, "forbidden")
    await verify(node, people["ada"], "ada")
    resp = await node.post(
        f"{MEMBERS}/nobody/verification", json={"verified": True}, headers=bearer(people["ada"])
    )
    await error_of(resp, 404, "not_found")
    resp = await node.post(
        f"{MEMBERS}/bea/verification", json={"verified": "yes"}, headers=bearer(people["ada"])
    )
    await error_of(resp, 422, "validation_failed")


async def test_verified_only_finds_the_verified_members_listings(node, people, clock):
    await publish(node, people["bea"], {**DRILL, "title": "Bea's drill"})
    clock.advance(seconds=1)
    await publish(node, people["cyd"], {**DRILL, "title": "Cyd's drill"})
    assert await titles(node, people["ada"], verified="true") == []  # nobody is verified
    await verify(node, people["ada"], "bea")
    assert await titles(node, people["ada"], verified="true") == ["Bea's drill"]
    assert await titles(node, people["ada"], verified="false") == ["Cyd's drill", "Bea's drill"]
    # with an author: that author, if verified
    for who, found in (("bea", ["Bea's drill"]), ("cyd", [])):
        resp = await node.get(f"/api/quartier/v1/members/{who}", headers=bearer(people["ada"]))
        actor = (await resp.json())["actor"]
        assert await titles(node, people["ada"], verified="true", author=actor) == found
    resp = await node.get(PATH, params={"verified": "maybe"}, headers=bearer(people["ada"]))
    error = await error_of(resp, 422, "validation_failed")
    assert [d["field"] for d in error["details"]] == ["verified"]


async def test_a_page_of_verified_only_still_follows_once_someone_else_is_verified(
    node, people, clock
):
    for n in range(3):
        await publish(node, people["bea"], {**DRILL, "title": f"Drill {n}"})
        clock.advance(seconds=1)
    await publish(node, people["cyd"], {**DRILL, "title": "Cyd's drill"})
    await verify(node, people["ada"], "bea")
    resp = await node.get(
        PATH, params={"verified": "true", "limit": "2"}, headers=bearer(people["ada"])
    )
    first = await resp.json()
    assert [listing["title"] for listing in first["listings"]] == ["Drill 2", "Drill 1"]
    await verify(node, people["ada"], "cyd")  # between two pages
    resp = await node.get(
        PATH,
        params={"verified": "true", "limit": "2", "cursor": first["next"]},
        headers=bearer(people["ada"]),
    )
    assert resp.status == 200, await resp.text()
    assert [listing["title"] for listing in (await resp.json())["listings"]] == ["Drill 0"]


async def test_a_verified_only_alert_hears_only_of_verified_authors(node, people):
    resp = await node.post(
        "/api/quartier/v1/saved_searches",
        json={"name": "Trusted drills", "query": {"q": "drill", "verified": "true"}},
        headers=bearer(people["ada"]),
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["query"] == {"q": "drill", "verified": "true"}
    await publish(node, people["cyd"], {**DRILL, "title": "Cyd's drill"})
    await verify(node, people["ada"], "bea")
    bea = await publish(node, people["bea"], {**DRILL, "title": "Bea's drill"})
    matched = [
        n["listing"]["id"]
        for n in await notifications(node, people["ada"])
        if n["type"] == "saved_search.match"
    ]
    assert matched == [bea["id"]]


async def test_other_nodes_members_are_not_verified_here_yet(node, people, clock, remote):
    alice = remote.add("alice")
    await make_partner(node, remote)
    await deliver(node, clock, alice, created(alice, 1, public=False))
    await worker_round(node)
    assert await titles(node, people["ada"], q="chairs") == ["Garden chairs"]
    assert await titles(node, people["ada"], q="chairs", verified="true") == []
