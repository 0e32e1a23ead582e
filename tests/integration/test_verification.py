"""Verified neighbours across four real nodes: what other communities can check, and believe.

On A, bea is verified by a manager who read her proof of residence; on B, cyd is verified by
two verified neighbours' vouches. C is A's partner and knows nothing of B: C shows bea as a
verified resident of A, attested by A, and cyd as not verified. M, a municipality, endorses
A; B trusts only M: B shows bea as verified, trusted through M. When A takes bea's
verification back, C (a partner, told by an Update) stops showing it at once, and B at its
next status-list refresh.
"""

from __future__ import annotations

from typing import Any

from aiohttp import FormData

from federation.models import CredentialCheck, RemoteCredential
from node.db import activated
from node.http.keys import DATABASE, TRUST
from tests.api import admin_token, bearer, member_token
from tests.integration.conftest import Peer, get, settle

PARTNERSHIPS = "/api/quartier/v1/admin/partnerships"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def partner(a: Peer, admin_a: str, b: Peer, admin_b: str) -> None:
    resp = await a.client.post(PARTNERSHIPS, json={"node": b.domain}, headers=bearer(admin_a))
    assert resp.status == 201, await resp.text()
    await settle(a, b)
    [request] = await get(b, admin_b, PARTNERSHIPS)
    resp = await b.client.post(f"{PARTNERSHIPS}/{request['id']}/accept", headers=bearer(admin_b))
    assert resp.status == 200, await resp.text()
    await settle(a, b)


async def verify_by_manager(peer: Peer, admin: str, username: str, verified: bool) -> None:
    resp = await peer.client.post(
        f"/api/quartier/v1/admin/members/{username}/verification",
        json={"verified": verified, "reason": "moved out"},
        headers=bearer(admin),
    )
    assert resp.status == 200, await resp.text()


async def seen_from(peer: Peer, token: str, *actors: str) -> dict[str, dict[str, Any]]:
    query = "&".join(f"actor={actor}" for actor in actors)
    shown = await get(peer, token, f"/api/quartier/v1/verification?{query}")
    return {entry["actor"]: entry for entry in shown}


async def test_verified_neighbours_are_believed_where_their_node_is_trusted(peers, clock):
    m = await peers("m")
    a = await peers("a", community={"area": "Lyon 4e"})
    b = await peers("b", verification={"trust_anchors": m.base})
    c = await peers("c")
    admin_a, admin_b = await admin_token(a.client, "ada"), await admin_token(b.client, "ben")
    admin_c, admin_m = await admin_token(c.client, "cal"), await admin_token(m.client, "mia")
    await partner(a, admin_a, c, admin_c)

    # On A, bea sends a proof of residence and a manager approves it.
    bea = await member_token(a.client, admin_a, "bea")
    form = FormData()
    form.add_field("file", PDF, filename="facture.pdf", content_type="application/pdf")
    resp = await a.client.post(
        "/api/quartier/v1/me/verification/document", data=form, headers=bearer(bea)
    )
    assert resp.status == 201, await resp.text()
    document = await resp.json()
    resp = await a.client.post(
        f"/api/quartier/v1/admin/verification/documents/{document['id']}/decision",
        json={"approve": True},
        headers=bearer(admin_a),
    )
    assert resp.status == 200, await resp.text()
    assert (await get(a, bea, "/api/quartier/v1/me/verification"))["method"] == "document"

    # On B, two verified neighbours vouch for cyd.
    cyd = await member_token(b.client, admin_b, "cyd")
    for voucher in ("vera", "vic"):
        token = await member_token(b.client, admin_b, voucher)
        await verify_by_manager(b, admin_b, voucher, True)
        resp = await b.client.post("/api/quartier/v1/members/cyd/vouch", headers=bearer(token))
        assert resp.status == 200, await resp.text()
    mine = await get(b, cyd, "/api/quartier/v1/me/verification")
    assert (mine["level"], mine["method"]) == ("verified", "vouching")

    # M endorses A for its community, exactly as A names it.
    resp = await m.client.post(
        "/api/quartier/v1/admin/endorsements",
        json={"node": f"{a.base}/actor", "name": "Node a", "area": "Lyon 4e"},
        headers=bearer(admin_m),
    )
    assert resp.status == 201, await resp.text()

    # C trusts A (a partner), not B.
    reader_c = await member_token(c.client, admin_c, "carl")
    seen = await seen_from(c, reader_c, a.actor("bea"), b.actor("cyd"))
    assert seen[a.actor("bea")] == {
        "actor": a.actor("bea"),
        "level": "verified",
        "method": "document",
        "community": "Node a",
        "attested_by": a.domain,
        "trusted_through": None,
        "valid_until": "2027-11-26T12:00:00Z",
    }
    assert seen[b.actor("cyd")] == {"actor": b.actor("cyd"), "level": None}
    with activated(c.client.app[DATABASE]):
        untrusted = await RemoteCredential.get(subject=b.actor("cyd"))
    assert untrusted.outcome is CredentialCheck.UNTRUSTED

    # B trusts only M, which endorses A.
    reader_b = await member_token(b.client, admin_b, "bob")
    seen = await seen_from(b, reader_b, a.actor("bea"))
    assert seen[a.actor("bea")]["level"] == "verified"
    assert seen[a.actor("bea")]["trusted_through"] == f"{m.base}/actor"

    # A takes bea's verification back: C, told by an Update, stops believing it at once.
    await verify_by_manager(a, admin_a, "bea", False)
    await settle(a, c)
    seen = await seen_from(c, reader_c, a.actor("bea"))
    assert seen[a.actor("bea")]["level"] is None
    # B, not a partner of A, hears nothing: it sees it at its next status-list refresh.
    assert (await seen_from(b, reader_b, a.actor("bea")))[a.actor("bea")]["level"] == "verified"
    clock.advance(minutes=61)
    with activated(b.client.app[DATABASE]):
        assert await b.client.app[TRUST].run_once() == 1
        refused = await RemoteCredential.get(subject=a.actor("bea"))
    assert refused.outcome is CredentialCheck.REJECTED
    assert refused.reason.startswith("revoked")
    assert (await seen_from(b, reader_b, a.actor("bea")))[a.actor("bea")]["level"] is None


async def test_only_verified_neighbours_of_trusted_nodes_answer_a_verified_only_listing(peers):
    """bea on A keeps answers to her listing for verified neighbours: carl on C (a partner),
    not verified, is told so by his own node; dora on C, verified by C's manager, is heard,
    although A had never checked her credential before her answer arrived."""
    a, c = await peers("a"), await peers("c")
    admin_a, admin_c = await admin_token(a.client, "ada"), await admin_token(c.client, "cal")
    await partner(a, admin_a, c, admin_c)
    bea = await member_token(a.client, admin_a, "bea")
    resp = await a.client.post(
        "/api/quartier/v1/listings",
        json={
            "kind": "give",
            "title": "Sofa, three seats",
            "category": "furniture",
            "audience": "partners",
            "verified_responders": True,
        },
        headers=bearer(bea),
    )
    assert resp.status == 201, await resp.text()
    listing = await resp.json()
    assert listing["verified_responders"] is True
    await settle(a, c)
    carl = await member_token(c.client, admin_c, "carl")
    dora = await member_token(c.client, admin_c, "dora")
    await verify_by_manager(c, admin_c, "dora", True)
    [copy] = (await get(c, carl, "/api/quartier/v1/listings?q=sofa"))["listings"]
    assert copy["verified_responders"] is True  # the rule travels with the listing
    resp = await c.client.post(
        f"/api/quartier/v1/listings/{copy['id']}/responses",
        json={"message": "I would take it"},
        headers=bearer(carl),
    )
    assert resp.status == 403, await resp.text()  # told at once, on his own node
    resp = await c.client.post(
        f"/api/quartier/v1/listings/{copy['id']}/responses",
        json={"message": "I would take it"},
        headers=bearer(dora),
    )
    assert resp.status == 201, await resp.text()
    await settle(a, c)
    responses = await get(a, bea, f"/api/quartier/v1/listings/{listing['id']}/responses")
    assert [r["responder"] for r in responses] == [c.actor("dora")]
    # and on A itself, an unverified neighbour is told at once
    ana = await member_token(a.client, admin_a, "ana")
    resp = await a.client.post(
        f"/api/quartier/v1/listings/{listing['id']}/responses",
        json={"message": "Me too"},
        headers=bearer(ana),
    )
    assert resp.status == 403, await resp.text()
    assert "verified neighbours only" in (await resp.json())["error"]["message"]
