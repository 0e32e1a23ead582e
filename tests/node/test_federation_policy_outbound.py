"""The community's federation policy on outbound deliveries: what the worker refuses to send.

Real node (its own delivery worker, as create_app wires it), real database, and a real inbox
server on 127.0.0.1 that records every POST it gets.
"""

from __future__ import annotations

import json
import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from federation.models import Delivery, DeliveryState, Partnership, PartnershipState
from federation.outbound import publish
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER, FEDERATION_POLICY
from tests.api import bootstrap_invite, register

NODE = "http://127.0.0.1:8080"
INSTANCE_ACTOR = f"{NODE}/actor"


class Sink:
    """A remote server whose inbox accepts everything and remembers it."""

    def __init__(self) -> None:
        self.base = ""
        self.received: list[dict] = []

    @property
    def host(self) -> str:
        return self.base.removeprefix("http://")

    @property
    def inbox(self) -> str:
        return f"{self.base}/inbox"

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(json.loads(await request.read()))
        return web.Response(status=202)


@pytest.fixture
async def sink(aiohttp_server) -> Sink:
    sink = Sink()
    app = web.Application()
    app.router.add_post("/inbox", sink.handle)
    server = await aiohttp_server(app)
    sink.base = f"http://127.0.0.1:{server.port}"
    return sink


async def queue(
    node: TestClient,
    sink: Sink,
    clock,
    kind: str = "Create",
    *,
    signer: str = INSTANCE_ACTOR,
    partners_only: bool = False,
) -> str:
    activity_id = f"{signer}/activities/{uuid.uuid4().hex}"
    activity = {"id": activity_id, "type": kind, "actor": signer, "object": f"{sink.base}/x"}
    with activated(node.app[DATABASE]):
        await publish(activity, [sink.inbox], signer, clock.now, partners_only=partners_only)
    return activity_id


async def send(node: TestClient) -> dict[str, Delivery]:
    """Run the node's delivery worker once; every delivery by activity id."""
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()
        return {row.activity_id: row for row in await Delivery.all()}


async def partnership(node: TestClient, sink: Sink, state: PartnershipState, clock) -> None:
    with activated(node.app[DATABASE]):
        await Partnership.create(
            peer_actor=f"{sink.base}/actor",
            peer_host=sink.host,
            peer_inbox=sink.inbox,
            initiated_by_us=True,
            state=state,
            follow_activity_id=f"{INSTANCE_ACTOR}/partnership/1",
            follow_activity={},
            created_at=clock.now,
            updated_at=clock.now,
        )


async def set_state(node: TestClient, sink: Sink, state: PartnershipState) -> None:
    with activated(node.app[DATABASE]):
        await Partnership.filter(peer_host=sink.host).update(state=state)


def dead(row: Delivery, reason: str) -> bool:
    return (row.state, row.last_error, row.last_status) == (DeliveryState.DEAD, reason, None)


async def test_open_sends_everything_except_to_blocked_servers(node_in, sink, clock):
    node = await node_in("open")
    sent = await queue(node, sink, clock)
    rows = await send(node)
    assert rows[sent].state == DeliveryState.DELIVERED
    with activated(node.app[DATABASE]):
        await node.app[FEDERATION_POLICY].blocks.add(sink.host)
    refused = await queue(node, sink, clock)
    rows = await send(node)
    assert dead(rows[refused], "blocked by this node's community")
    assert [a["id"] for a in sink.received] == [sent]


async def test_a_block_stops_rows_queued_before_it(node_in, sink, clock):
    node = await node_in("open")
    queued = await queue(node, sink, clock)
    with activated(node.app[DATABASE]):
        await node.app[FEDERATION_POLICY].blocks.add(sink.host)
    rows = await send(node)
    assert dead(rows[queued], "blocked by this node's community")
    assert sink.received == []


async def test_local_sends_nothing(node_in, sink, clock):
    node = await node_in("local")
    await partnership(node, sink, PartnershipState.ACTIVE, clock)
    ids = [await queue(node, sink, clock), await queue(node, sink, clock, "Accept")]
    rows = await send(node)
    assert all(dead(rows[i], "this node does not federate") for i in ids)
    assert sink.received == []


@pytest.mark.parametrize(
    ("state", "sent"),
    [
        (None, False),
        (PartnershipState.ACTIVE, True),
        (PartnershipState.PROPOSED, False),  # only the handshake, until it is active
        (PartnershipState.REQUESTED, False),
        (PartnershipState.ENDED, False),
        (PartnershipState.REFUSED, False),
    ],
)
async def test_allowlist_sends_to_partner_nodes_only(node_in, sink, clock, state, sent):
    node = await node_in("allowlist")
    if state is not None:
        await partnership(node, sink, state, clock)
    activity = await queue(node, sink, clock)
    rows = await send(node)
    if sent:
        assert rows[activity].state == DeliveryState.DELIVERED
        assert [a["id"] for a in sink.received] == [activity]
    else:
        assert dead(rows[activity], "this node federates only with its partner nodes")
        assert sink.received == []


@pytest.mark.parametrize("kind", ["Follow", "Accept", "Reject", "Undo"])
async def test_allowlist_sends_the_handshake_of_the_nodes_own_actor(node_in, sink, clock, kind):
    node = await node_in("allowlist")
    await partnership(node, sink, PartnershipState.ENDED, clock)  # e.g. telling them it ended
    handshake = await queue(node, sink, clock, kind)
    other = await queue(node, sink, clock, "Create")
    rows = await send(node)
    assert rows[handshake].state == DeliveryState.DELIVERED
    assert dead(rows[other], "this node federates only with its partner nodes")
    assert [a["id"] for a in sink.received] == [handshake]


async def test_allowlist_does_not_exempt_a_members_follow(node_in, sink, clock):
    node = await node_in("allowlist")
    await register(node, await bootstrap_invite(node), "bob")
    follow = await queue(node, sink, clock, "Follow", signer=f"{NODE}/users/bob")
    rows = await send(node)
    assert dead(rows[follow], "this node federates only with its partner nodes")
    assert sink.received == []


@pytest.mark.parametrize("mode", ["open", "allowlist"])
async def test_partner_scoped_rows_go_only_to_active_partners(node_in, sink, clock, mode):
    node = await node_in(mode)
    never = await queue(node, sink, clock, partners_only=True)
    rows = await send(node)
    assert dead(rows[never], "not a partner node")

    await partnership(node, sink, PartnershipState.ACTIVE, clock)
    delivered = await queue(node, sink, clock, partners_only=True)
    rows = await send(node)
    assert rows[delivered].state == DeliveryState.DELIVERED

    # Queued while active, the partnership ends before the worker gets to it.
    late = await queue(node, sink, clock, partners_only=True)
    await set_state(node, sink, PartnershipState.ENDED)
    rows = await send(node)
    assert dead(rows[late], "the partnership ended")
    assert [a["id"] for a in sink.received] == [delivered]
