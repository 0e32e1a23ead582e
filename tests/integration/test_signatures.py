"""Two Quartier nodes sign to each other with RFC 9421 Ed25519, and each inbox verifies it."""

from __future__ import annotations

import logging

from federation.models import Delivery, DeliveryState, PeerSignatureScheme, SignatureScheme
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer
from tests.integration.conftest import Peer, get, member, settle


async def schemes_known_by(peer: Peer) -> dict[str, SignatureScheme]:
    with activated(peer.client.app[DATABASE]):
        rows = await PeerSignatureScheme.all()
    return {row.host: SignatureScheme(row.scheme) for row in rows}


async def deliveries_of(peer: Peer) -> list[tuple[str, DeliveryState, int]]:
    with activated(peer.client.app[DATABASE]):
        rows = await Delivery.all().order_by("id")
    return [(row.host, row.state, row.attempts) for row in rows]


async def test_two_quartier_nodes_exchange_ed25519_signed_deliveries(peers, caplog):
    caplog.set_level(logging.INFO, logger="federation.signing")
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")

    resp = await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    assert resp.status == 201, await resp.text()
    await settle(a, b)
    [request] = await get(b, bob, "/api/quartier/v1/follow_requests")
    resp = await b.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(bob)
    )
    assert resp.status == 200
    await settle(a, b)
    [follow] = await get(a, ada, "/api/quartier/v1/follows")
    assert follow["state"] == "accepted"

    # Each learnt from the other's NodeInfo that it is a Quartier node ...
    assert await schemes_known_by(a) == {b.domain: SignatureScheme.RFC9421}
    assert await schemes_known_by(b) == {a.domain: SignatureScheme.RFC9421}
    # ... and each delivery (the Follow, the Accept) was taken at its only try. Signed with
    # RFC 9421: a refusal would have been followed by a draft-cavage knock, and the host
    # remembered as draft-cavage, which neither was.
    assert await deliveries_of(a) == [(b.domain, DeliveryState.DELIVERED, 1)]
    assert await deliveries_of(b) == [(a.domain, DeliveryState.DELIVERED, 1)]
    assert "refused an RFC 9421 signature" not in caplog.text
