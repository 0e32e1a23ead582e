"""Reports across two real nodes, A and B, partners.

bob, on B, reports a listing of ada's (on A) that B holds a copy of: B sends A a Flag from
B's Application actor, without bob's identity; it lands in A's moderators' queue. A's
moderator hides the listing, which closes the report and sends a Delete, so B's copy goes.
ada appeals through the API; the moderator overturns the decision and the listing is
published again, reaching B anew.
"""

from __future__ import annotations

import json

from federation.models import InboundMessage
from moderation.models import Report
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, login
from tests.integration.conftest import Peer, get, member, settle
from tests.integration.test_listings import DRILL, copies, partner


async def inbound_flags(peer: Peer) -> list[InboundMessage]:
    with activated(peer.client.app[DATABASE]):
        return await InboundMessage.filter(activity_type="Flag")


async def test_a_report_of_a_partners_listing_reaches_its_node_which_hides_it(peers):
    a, b = await peers("a"), await peers("b")
    await partner(a, b)  # manon is an admin on each
    ada, bob = await member(a, "ada"), await member(b, "bob")
    manon = await login(a.client, "manon")
    resp = await a.client.post(
        "/api/quartier/v1/listings", json={**DRILL, "audience": "partners"}, headers=bearer(ada)
    )
    assert resp.status == 201, await resp.text()
    listing = await resp.json()
    await settle(a, b)
    [copy] = await copies(b, listing["url"])

    # bob reports B's copy: B keeps the report and sends A a Flag.
    resp = await b.client.post(
        "/api/quartier/v1/reports",
        json={"listing": copy.id, "category": "fraud", "comment": "Wants a deposit first"},
        headers=bearer(bob),
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["forwarded_to"] == a.domain
    await settle(a, b)

    [flag] = await inbound_flags(a)
    assert flag.actor == f"{b.base}/actor"  # B's Application actor
    assert flag.body["object"] == [a.actor("ada"), listing["url"]]
    assert flag.body["content"] == "Wants a deposit first"
    assert "bob" not in json.dumps(flag.body)
    [queued] = await get(a, manon, "/api/quartier/v1/moderation/reports")
    assert queued["reporter"] == {"server": b.domain, "actor": f"{b.base}/actor"}
    assert queued["target"] == {"kind": "listing", "uri": listing["url"], "account": a.actor("ada")}
    assert queued["comment"] == "Wants a deposit first"

    # A's moderator hides it: the report is resolved, B's copy goes.
    resp = await a.client.post(
        "/api/quartier/v1/moderation/decisions",
        json={
            "action": "hide",
            "listing": listing["id"],
            "report": queued["id"],
            "reason": "Deposits before meeting are a known scam",
        },
        headers=bearer(manon),
    )
    assert resp.status == 201, await resp.text()
    decision = await resp.json()
    await settle(a, b)
    assert await copies(b, listing["url"]) == []
    assert (await get(b, bob, "/api/quartier/v1/listings?q=drill"))["listings"] == []
    with activated(a.client.app[DATABASE]):
        [report] = await Report.all()
    assert report.state.value == "resolved"

    # ada appeals on A; the moderator overturns: published again, B has it again.
    [mine] = await get(a, ada, "/api/quartier/v1/decisions")
    assert mine["id"] == decision["id"]
    assert mine["reason"] == "Deposits before meeting are a known scam"
    resp = await a.client.post(
        f"/api/quartier/v1/decisions/{decision['id']}/appeal",
        json={"text": "The deposit is for the batteries, returned with the drill"},
        headers=bearer(ada),
    )
    assert resp.status == 201, await resp.text()
    [appeal] = await get(a, manon, "/api/quartier/v1/moderation/appeals")
    resp = await a.client.post(
        f"/api/quartier/v1/moderation/appeals/{appeal['id']}/overturn",
        json={"reason": "Fair enough"},
        headers=bearer(manon),
    )
    assert resp.status == 200, await resp.text()
    await settle(a, b)
    assert (await get(a, ada, f"/api/quartier/v1/listings/{listing['id']}"))["status"] == "open"
    assert len(await copies(b, listing["url"])) == 1
