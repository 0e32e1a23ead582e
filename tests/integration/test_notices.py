"""A municipality and its districts: notices reach every district's members, the directory
lists the districts, and the municipality's members search listings across them."""

from __future__ import annotations

from federation.models import Delivery
from node.db import activated
from node.http.keys import DATABASE
from node.members.models import Member
from tests.api import admin_token, bearer, login
from tests.integration.conftest import Peer, get, member, settle

PARTNERSHIPS = "/api/quartier/v1/admin/partnerships"

NOTICES = "/api/quartier/v1/notices"
URGENT = {
    "kind": "urgent",
    "title": "Storm warning: stay indoors tonight",
    "text": "Gusts of 120 km/h expected from 20:00.\nParks are closed.",
    "audience": "districts",
    "ends_at": "2026-11-27T08:00:00Z",
}


async def admin_of(peer: Peer) -> str:
    """A token of manon, the node's admin (registered on first use)."""
    with activated(peer.client.app[DATABASE]):
        known = await Member.exists(username="manon")
    return await login(peer.client, "manon") if known else await admin_token(peer.client, "manon")


async def federate(municipality: Peer, *districts: Peer) -> str:
    """Each district proposes a partnership, the municipality accepts: its admin's token."""
    mayor = await admin_of(municipality)
    for district in districts:
        admin = await admin_of(district)
        resp = await district.client.post(
            PARTNERSHIPS, json={"node": municipality.domain}, headers=bearer(admin)
        )
        assert resp.status == 201, await resp.text()
        await settle(municipality, district)
        [request] = [
            p for p in await get(municipality, mayor, PARTNERSHIPS) if p["node"] == district.domain
        ]
        resp = await municipality.client.post(
            f"{PARTNERSHIPS}/{request['id']}/accept", headers=bearer(mayor)
        )
        assert resp.status == 200, await resp.text()
        await settle(municipality, district)
    return mayor


async def notifications(peer: Peer, token: str) -> list[dict]:
    return await get(peer, token, "/api/quartier/v1/notifications")


async def announces_sent(peer: Peer) -> list[str]:
    with activated(peer.client.app[DATABASE]):
        rows = await Delivery.filter(activity_type="Announce").values_list("inbox", flat=True)
    return sorted(str(r) for r in rows)


async def test_a_municipality_notice_reaches_every_district_and_no_other_node(peers):
    m = await peers("m", community={"kind": "municipality", "area": "Villeneuve"})
    d1 = await peers("d1", community={"kind": "district", "area": "Les Tilleuls"})
    d2 = await peers("d2", community={"kind": "district", "area": "Le Port"})
    x = await peers("x")  # a partner of d1, not of the municipality
    mayor = await federate(m, d1, d2)
    await federate(d1, x)  # x partners with d1 only
    lea, noe, xav = await member(d1, "lea"), await member(d2, "noe"), await member(x, "xav")

    resp = await m.client.post(NOTICES, json=URGENT, headers=bearer(mayor))
    assert resp.status == 201, await resp.text()
    published = await resp.json()
    assert (published["urgent"], published["pinned"], published["audience"]) == (
        True,
        True,
        "districts",
    )
    await settle(m, d1, d2, x)

    # One request per district (their shared inboxes), none to x.
    assert [inbox.split("/")[2] for inbox in await announces_sent(m)] == sorted(
        [d1.domain, d2.domain]
    )
    for peer, token in ((d1, lea), (d2, noe)):
        [note] = [n for n in await notifications(peer, token) if n["notice_id"]]
        assert (note["type"], note["urgent"]) == ("notice.urgent", True)
        assert note["detail"] == URGENT["title"]
        assert note["actor"] == m.actor("manon")
        [shown] = (await get(peer, token, NOTICES))["notices"]
        assert shown["title"] == URGENT["title"]
        assert shown["text"] == URGENT["text"]
        assert (shown["from"], shown["local"], shown["pinned"]) == (m.domain, False, True)
        assert shown["ends_at"] == URGENT["ends_at"]
    assert not [n for n in await notifications(x, xav) if n["notice_id"]]
    assert (await get(x, xav, NOTICES))["notices"] == []

    # The municipality changes it, then withdraws it: the districts follow.
    changed = {k: v for k, v in URGENT.items() if k != "audience"} | {"title": "Storm over"}
    resp = await m.client.patch(f"{NOTICES}/{published['id']}", json=changed, headers=bearer(mayor))
    assert resp.status == 200, await resp.text()
    await settle(m, d1, d2, x)
    [shown] = (await get(d1, lea, NOTICES))["notices"]
    assert shown["title"] == "Storm over"
    assert len([n for n in await notifications(d1, lea) if n["notice_id"]]) == 1  # not again

    resp = await m.client.delete(f"{NOTICES}/{published['id']}", headers=bearer(mayor))
    assert resp.status == 204
    await settle(m, d1, d2, x)
    for peer, token in ((d1, lea), (d2, noe)):
        assert (await get(peer, token, NOTICES))["notices"] == []
        assert not [n for n in await notifications(peer, token) if n["notice_id"]]


async def test_the_municipality_directory_lists_its_districts_from_their_nodeinfo(peers):
    m = await peers("m", community={"kind": "municipality"})
    d1 = await peers("d1", community={"kind": "district", "area": "Les Tilleuls"})
    d2 = await peers("d2", community={"kind": "district", "area": "Le Port"})
    await federate(m, d1, d2)
    for name in ("lea", "leo"):
        await member(d1, name)

    resp = await m.client.get("/api/quartier/v1/directory")  # public: no token
    assert resp.status == 200, await resp.text()
    directory = await resp.json()
    assert (directory["kind"], directory["name"]) == ("municipality", "Node m")
    by_node = {d["node"]: d for d in directory["districts"]}
    assert set(by_node) == {d1.domain, d2.domain}
    first = by_node[d1.domain]
    assert (first["name"], first["area"], first["kind"]) == ("Node d1", "Les Tilleuls", "district")
    assert (first["partnership"], first["reachable"]) == ("active", True)
    assert first["members"] == 3  # manon (who made the partnership), lea and leo
    assert by_node[d2.domain]["members"] == 1

    # A node that is not a municipality has no districts to list.
    resp = await d1.client.get("/api/quartier/v1/directory")
    assert (await resp.json())["districts"] == []


async def test_municipality_members_find_listings_of_every_district(peers):
    m = await peers("m", community={"kind": "municipality"})
    d1, d2 = await peers("d1"), await peers("d2")
    await federate(m, d1, d2)
    citizen = await member(m, "cyd")
    for peer, name, title in ((d1, "lea", "Garden ladder"), (d2, "noe", "Garden chairs")):
        token = await member(peer, name)
        resp = await peer.client.post(
            "/api/quartier/v1/listings",
            json={"kind": "give", "title": title, "category": "tools", "audience": "partners"},
            headers=bearer(token),
        )
        assert resp.status == 201, await resp.text()
    await settle(m, d1, d2)
    found = await get(m, citizen, "/api/quartier/v1/listings?q=garden")
    assert sorted(x["title"] for x in found["listings"]) == ["Garden chairs", "Garden ladder"]


async def test_a_circle_notice_reaches_only_the_circles_members_here_and_on_partners(peers):
    d1, d2 = await peers("d1"), await peers("d2")
    await federate(d1, d2)  # partners (d1's manon is its admin)
    manon = await admin_of(d1)
    ines, bob, eve = await member(d1, "ines"), await member(d2, "bob"), await member(d2, "eve")
    circle = {"slug": "batiment_b", "name": "Bâtiment B", "kind": "building"}
    resp = await d1.client.post(
        "/api/quartier/v1/circles", json=circle | {"partners_may_join": True}, headers=bearer(manon)
    )
    assert resp.status == 201, await resp.text()
    group = (await resp.json())["actor"]
    resp = await d2.client.post(
        "/api/quartier/v1/me/circles",
        json={"circle": f"batiment_b@{d1.domain}"},
        headers=bearer(bob),
    )
    assert resp.status == 201, await resp.text()
    await settle(d1, d2)

    notice = {"kind": "works", "title": "Painting the stairs", "audience": "circle"}
    resp = await d1.client.post(
        NOTICES, json=notice | {"circle": "batiment_b"}, headers=bearer(manon)
    )
    assert resp.status == 201, await resp.text()
    published = await resp.json()
    assert (published["audience"], published["circle"]) == ("circle", group)
    await settle(d1, d2)

    # bob joined the circle on D2: told, and he reads it; eve on D2 and ines on D1 are not in it.
    [note] = [n for n in await notifications(d2, bob) if n["notice_id"]]
    assert note["detail"] == "Painting the stairs"
    [shown] = (await get(d2, bob, NOTICES))["notices"]
    assert (shown["title"], shown["audience"], shown["circle"]) == (
        "Painting the stairs",
        "circle",
        group,
    )
    for peer, token in ((d2, eve), (d1, ines)):
        assert not [n for n in await notifications(peer, token) if n["notice_id"]]
        assert (await get(peer, token, NOTICES))["notices"] == []
    resp = await d2.client.get(f"{NOTICES}/{shown['id']}", headers=bearer(eve))
    assert resp.status == 404
    # A notice, not one of the circle's posts.
    assert await get(d2, bob, f"/api/quartier/v1/me/circles/posts?circle={group}") == []

    # Deleted by its author: gone for bob too.
    resp = await d1.client.delete(f"{NOTICES}/{published['id']}", headers=bearer(manon))
    assert resp.status == 204
    await settle(d1, d2)
    assert (await get(d2, bob, NOTICES))["notices"] == []
