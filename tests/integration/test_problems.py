"""A district resident's problem, handled by the partner municipality: two real nodes.

M is a municipality; D1, a district, partners with it and routes its lighting problems there.
A D1 resident reports a broken streetlight; M's handler acknowledges it, works on it,
comments and resolves it; each change reaches the resident on D1. The same report is seen
through M's Open311 endpoint, and a status change made there reaches D1 too.
"""

from __future__ import annotations

from tests.api import admin_token, bearer, member_token
from tests.integration.conftest import Peer, get, settle

PARTNERS = "/api/quartier/v1/admin/partnerships"


async def partner(district: Peer, municipality: Peer, admin_d: str, admin_m: str) -> None:
    resp = await district.client.post(
        PARTNERS, json={"node": municipality.domain}, headers=bearer(admin_d)
    )
    assert resp.status == 201, await resp.text()
    await settle(district, municipality)
    [request] = await get(municipality, admin_m, PARTNERS)
    resp = await municipality.client.post(
        f"{PARTNERS}/{request['id']}/accept", headers=bearer(admin_m)
    )
    assert resp.status == 200, await resp.text()
    await settle(district, municipality)


async def test_a_streetlight_reported_on_a_district_is_fixed_by_the_municipality(peers):
    m = await peers("m", community={"kind": "municipality", "name": "Ville"})
    d1 = await peers(
        "d1", community={"kind": "district"}, problems={"routes": f"lighting={m.domain}"}
    )
    admin_m, admin_d = await admin_token(m.client), await admin_token(d1.client)
    zoe = await member_token(d1.client, admin_d, "zoe")

    # Before the partnership, the report is refused: M would not act on it.
    report = {"category": "lighting", "text": "The streetlight at rue Haute 4 is out"}
    resp = await d1.client.post("/api/quartier/v1/problems", json=report, headers=bearer(zoe))
    assert resp.status == 409, await resp.text()

    await partner(d1, m, admin_d, admin_m)
    resp = await d1.client.post("/api/quartier/v1/problems", json=report, headers=bearer(zoe))
    assert resp.status == 201, await resp.text()
    mine = await resp.json()
    assert (mine["handler"], mine["status"]) == (m.domain, "submitted")
    await settle(d1, m)

    [received] = await get(m, admin_m, "/api/quartier/v1/handling/problems")
    assert received["origin"] == d1.domain
    assert received["text"] == report["text"]
    assert received["reporter"] == f"{d1.base}/actor"  # the district shares no identity
    assert "problem.new" in [
        n["type"] for n in await get(m, admin_m, "/api/quartier/v1/notifications")
    ]

    # Another resident has the same problem: "me too", counted on M as well.
    yan = await member_token(d1.client, admin_d, "yan")
    resp = await d1.client.post(
        f"/api/quartier/v1/problems/{mine['id']}/me-too", headers=bearer(yan)
    )
    assert resp.status == 200, await resp.text()
    await settle(d1, m)
    [received] = await get(m, admin_m, "/api/quartier/v1/handling/problems")
    assert received["me_too"] == 1
    # So does a resident of M, who then follows it on M.
    max_m = await member_token(m.client, admin_m, "max")
    resp = await m.client.post(
        f"/api/quartier/v1/problems/{received['id']}/me-too", headers=bearer(max_m)
    )
    assert (await resp.json())["me_too"] == 2

    async def handle(path: str, body: dict) -> None:
        resp = await m.client.post(
            f"/api/quartier/v1/handling/problems/{received['id']}/{path}",
            json=body,
            headers=bearer(admin_m),
        )
        assert resp.status in (200, 201), await resp.text()
        await settle(d1, m)

    async def seen_on_d1() -> dict:
        return await get(d1, zoe, f"/api/quartier/v1/problems/{mine['id']}")

    await handle("status", {"status": "received"})
    assert (await seen_on_d1())["status"] == "received"
    await handle("status", {"status": "in_progress"})
    assert (await seen_on_d1())["status"] == "in_progress"
    await handle("comments", {"text": "A new lamp is fitted on Tuesday"})
    await handle("status", {"status": "resolved"})
    seen = await seen_on_d1()
    assert (seen["status"], seen["open"]) == ("resolved", False)
    assert [(c["author"], c["text"]) for c in seen["comments"]] == [
        ("Ville", "A new lamp is fitted on Tuesday")
    ]
    kinds = [n["type"] for n in await get(d1, zoe, "/api/quartier/v1/notifications")]
    assert kinds.count("problem.status") == 3
    assert kinds.count("problem.comment") == 1
    kinds = [n["type"] for n in await get(d1, yan, "/api/quartier/v1/notifications")]
    assert kinds.count("problem.status") == 3  # who said "me too" follows it too
    kinds = [n["type"] for n in await get(m, max_m, "/api/quartier/v1/notifications")]
    assert kinds.count("problem.status") == 3

    # M's Open311 endpoint shows the report; a status change made there reaches D1.
    resp = await m.client.get("/open311/v2/requests.json")
    [request] = await resp.json()
    assert (request["service_request_id"], request["status"]) == (str(received["id"]), "closed")
    assert request["description"] == report["text"]
    resp = await m.client.post(
        "/api/quartier/v1/admin/open311/keys", json={"name": "back-office"}, headers=bearer(admin_m)
    )
    key = (await resp.json())["key"]
    resp = await m.client.post(
        f"/open311/v2/requests/{received['id']}.json",
        data={"api_key": key, "status": "open", "status_notes": "It flickers again"},
    )
    assert resp.status == 200, await resp.text()
    await settle(d1, m)
    seen = await seen_on_d1()
    assert seen["status"] == "in_progress"
    assert seen["comments"][-1]["text"] == "It flickers again"
    kinds = [n["type"] for n in await get(d1, zoe, "/api/quartier/v1/notifications")]
    assert kinds.count("problem.status") == 4
