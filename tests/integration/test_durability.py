"""Nothing is lost when a node is down or a sender dies mid-fan-out."""

from __future__ import annotations

from datetime import timedelta

from federation.models import Delivery, DeliveryState, InboundMessage
from federation.outbound import DeliveryPolicy, publish
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER
from tests.api import bearer
from tests.integration.conftest import member, settle


async def test_a_node_that_was_down_receives_what_was_queued_when_it_comes_back(peers, clock):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    # A learns B's actor while B is up, then B goes down.
    resp = await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    assert resp.status == 201
    await b.stop()
    with activated(a.client.app[DATABASE]):
        await a.client.app[DELIVERY_WORKER].run_once()
        [row] = await Delivery.all()
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 1)

    clock.advance(hours=2)  # B was down for two hours
    await b.restart()
    await settle(a, b)
    [request] = await (
        await b.client.get("/api/quartier/v1/follow_requests", headers=bearer(bob))
    ).json()
    assert request["follower"] == a.actor("ada")


async def test_a_sender_killed_mid_fan_out_resumes_and_nothing_is_lost_or_doubled(peers, clock):
    a, b = await peers("a"), await peers("b")
    await member(a, "ada")
    inboxes = [f"{b.base}/inbox"]
    # 30 activities queued for B's shared inbox, then delivered ten at a time.
    with activated(a.client.app[DATABASE]):
        for n in range(30):
            activity = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{a.base}/users/ada/notes/{n}",
                "type": "Like",
                "actor": a.actor("ada"),
                "object": f"{b.base}/notes/{n}",
            }
            await publish(activity, inboxes, a.actor("ada"), clock.now)
        worker = a.client.app[DELIVERY_WORKER]
        worker.policy = DeliveryPolicy(batch_size=10)
        await worker.run_once()  # ten delivered
        claimed = await worker._claim()  # ten more claimed, then the process dies
        assert len(claimed) == 10
    await a.stop()

    await a.restart()
    clock.advance(minutes=6)  # the dead worker's leases run out
    await settle(a, b)
    with activated(a.client.app[DATABASE]):
        states = [r.state for r in await Delivery.all()]
    assert states == [DeliveryState.DELIVERED] * 30
    with activated(b.client.app[DATABASE]):
        received = await InboundMessage.all().values_list("activity_id", flat=True)
    assert sorted(received) == sorted(f"{a.base}/users/ada/notes/{n}" for n in range(30))


async def test_deliveries_waiting_for_a_node_go_out_as_soon_as_it_sends_us_something(peers, clock):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    resp = await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    assert resp.status == 201
    await b.stop()
    with activated(a.client.app[DATABASE]):
        await a.client.app[DELIVERY_WORKER].run_once()  # B is down: retried later
        # After a long outage, its next slot is hours away.
        await Delivery.all().update(next_attempt_at=clock.now + timedelta(hours=6), attempts=9)

    await b.restart()
    # B's first word to A since: bob follows ada back. A's inbox accepts it...
    resp = await b.client.post(
        "/api/quartier/v1/follows", json={"target": a.handle("ada")}, headers=bearer(bob)
    )
    assert resp.status == 201
    with activated(b.client.app[DATABASE]):
        assert await b.client.app[DELIVERY_WORKER].run_once() == 1
    # ... so what waited for B is due now, not in six hours (the clock has not moved).
    with activated(a.client.app[DATABASE]):
        [row] = await Delivery.filter(host=b.domain)
        assert (row.state, row.next_attempt_at) == (DeliveryState.PENDING, clock.now)
    await settle(a, b)
    [request] = await (
        await b.client.get("/api/quartier/v1/follow_requests", headers=bearer(bob))
    ).json()
    assert request["follower"] == a.actor("ada")
