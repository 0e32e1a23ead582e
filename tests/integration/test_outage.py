"""A conversation survives an outage of the receiving node whole and in order.

While B is down, A queues 60 replies; their retries are spread by jitter, so when B comes back
they arrive in no particular order. B must show one conversation, read in the order the
replies were written, and everything must arrive as soon as B answers again, not at each
row's own next backoff slot.
"""

from __future__ import annotations

from federation.models import Delivery, DeliveryState, InboundMessage
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER
from tests.api import bearer
from tests.integration.conftest import get, member, settle

REPLIES = 60


async def test_sixty_replies_queued_during_an_outage_arrive_as_one_ordered_conversation(
    peers, clock
):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    resp = await b.client.post(
        "/api/quartier/v1/conversations",
        json={"to": [a.handle("ada")], "text": "Anyone have a ladder?"},
        headers=bearer(bob),
    )
    assert resp.status == 201, await resp.text()
    await settle(a, b)
    [conversation] = await get(a, ada, "/api/quartier/v1/conversations")

    await b.stop()
    for n in range(1, REPLIES + 1):
        clock.advance(seconds=1)
        resp = await a.client.post(
            f"/api/quartier/v1/conversations/{conversation['id']}/messages",
            json={"text": f"reply {n}"},
            headers=bearer(ada),
        )
        assert resp.status == 201, await resp.text()
    with activated(a.client.app[DATABASE]):
        # B is down: a batch's first requests are refused, the rest of it is not sent, and
        # B's rows outside the batch are put off with them: one batch, not one per 28 rows.
        assert await a.client.app[DELIVERY_WORKER].run_once() > 0
        assert await a.client.app[DELIVERY_WORKER].run_once() == 0
        pending = await Delivery.filter(state=DeliveryState.PENDING, host=b.domain)
        assert len(pending) == REPLIES
        assert all(row.next_attempt_at > clock.now for row in pending)

    await b.restart()
    # The first retries come due (1 minute, +-20% jitter: some now, some later, in any
    # order); the first that succeeds shows B is back, and the rest go at once: the clock
    # does not move again.
    clock.advance(seconds=60)
    await settle(a, b)
    with activated(a.client.app[DATABASE]):
        states = await Delivery.filter(activity_id__contains="/messages/").values_list(
            "state", flat=True
        )
    assert states == [DeliveryState.DELIVERED] * REPLIES
    with activated(b.client.app[DATABASE]):
        arrived = await InboundMessage.filter(activity_type="Create").count()
    assert arrived == REPLIES

    [at_b] = await get(b, bob, "/api/quartier/v1/conversations")
    texts = [m["text"] for m in await get(b, bob, f"/api/quartier/v1/conversations/{at_b['id']}")]
    assert texts == ["Anyone have a ladder?"] + [f"reply {n}" for n in range(1, REPLIES + 1)]
