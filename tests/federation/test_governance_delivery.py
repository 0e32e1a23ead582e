"""The governance policy at the delivery layer: whatever a service queues, what the community's
policy forbids is never sent.

Real parts: a migrated database, the delivery worker with its real transport, and two real
inbox servers on 127.0.0.1, one of them an active partner node. Hypothesis draws the policy
(federation mode, the reach of each kind of content) and what a service asks to send; every
example checks which inbox got it against the policy's rules, written out independently here.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.models import Delivery, DeliveryState, Partnership, PartnershipState, SharedItem
from federation.outbound import DeliveryWorker, publish
from federation.policy import FederationPolicy
from federation.transport import TransportSettings, open_transport
from moderation.blocks import DomainBlocks
from moderation.policy_store import PolicyStore
from node.config import parse_policy
from node.db import activated, open_database
from tests.conftest import FakeClock, migrate_schema, scratch_database

ME = "https://tilleuls.example"
BEA = f"{ME}/users/bea"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
LOCAL = TransportSettings(user_agent="test", allow_private=True, allow_http=True)

# What a member's node may ask to send, by the kind the policy governs (None: plumbing).
SHAPES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "direct message": (
        "messages",
        {"type": "Create", "object": {"type": "Note", "attributedTo": BEA, "content": "hi"}},
    ),
    "listing": (
        "listings",
        {
            "type": "Create",
            "object": {"type": "Note", "attributedTo": BEA, "purpose": "offer", "publishes": {}},
        },
    ),
    "answer to a response": (
        "messages",
        {"type": "Accept", "object": "https://x.example/offers/1", "result": {"type": "Agreement"}},
    ),
    "profile": ("profiles", {"type": "Update", "object": {"type": "Person", "id": BEA}}),
    "follow": (None, {"type": "Follow", "object": "https://x.example/users/zoe"}),
    "withdrawal": (None, {"type": "Delete", "object": {"type": "Tombstone"}}),
}


@dataclass
class Inbox:
    """A remote server's inbox that keeps what it gets."""

    partner: bool
    base: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.base}/inbox"

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(json.loads(await request.read()))
        return web.Response(status=202)


@asynccontextmanager
async def world(directory: Path) -> AsyncIterator[tuple[PolicyStore, DeliveryWorker, list[Inbox]]]:
    clock = FakeClock()
    inboxes = [Inbox(partner=True), Inbox(partner=False)]
    servers = []
    for inbox in inboxes:
        app = web.Application()
        app.router.add_post("/inbox", inbox.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        inbox.base = f"http://127.0.0.1:{server.port}"
        servers.append(server)

    async def keys(actor: str) -> tuple[str, rsa.RSAPrivateKey]:
        return f"{actor}#main-key", KEY

    try:
        async with scratch_database(directory, schema=True) as url:
            await migrate_schema(url)
            async with open_database(url) as ctx, open_transport(LOCAL) as transport:
                with activated(ctx):
                    store = PolicyStore({}, parse_policy, clock)
                    policy = FederationPolicy(store, DomainBlocks(ME, clock), f"{ME}/actor")
                    worker = DeliveryWorker(transport, keys, clock, refuse=policy.refuse_deliveries)
                    partner = inboxes[0]
                    await Partnership.create(
                        peer_actor=f"{partner.base}/actor",
                        peer_host=partner.base.removeprefix("http://"),
                        peer_inbox=partner.url,
                        initiated_by_us=True,
                        state=PartnershipState.ACTIVE,
                        follow_activity_id=f"{ME}/follows/1",
                        follow_activity={},
                        created_at=clock.now,
                        updated_at=clock.now,
                    )
                    yield store, worker, inboxes
    finally:
        for server in servers:
            await server.close()


def may_go(values: dict[str, str], kind: str | None, partner: bool) -> bool:
    """The rules, as docs/governance.md states them."""
    mode = values["federation_mode"]
    if mode == "local" or (mode == "allowlist" and not partner):
        return False
    if kind is None:
        return True
    reach = values[kind]
    return reach == "public" or (reach == "partners" and partner)


reach = st.sampled_from(["public", "partners", "nobody"])
policies = st.fixed_dictionaries(
    {
        "federation_mode": st.sampled_from(["open", "allowlist", "local"]),
        "messages": reach,
        "listings": reach,
        "profiles": reach,
    }
)


def test_nothing_the_policy_forbids_is_ever_sent(tmp_path: Path) -> None:
    with asyncio.Runner() as runner:
        context = world(tmp_path)
        store, worker, inboxes = runner.run(context.__aenter__())
        try:

            @settings(
                max_examples=60,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            )
            @given(values=policies, shape=st.sampled_from(sorted(SHAPES)))
            def check(values: dict[str, str], shape: str) -> None:
                runner.run(one_example(store, worker, inboxes, values, shape))

            check()
        finally:
            runner.run(context.__aexit__(None, None, None))


async def one_example(
    store: PolicyStore,
    worker: DeliveryWorker,
    inboxes: list[Inbox],
    values: dict[str, str],
    shape: str,
) -> None:
    await store.change(values, by="test")
    kind, body = SHAPES[shape]
    activity = {**body, "id": f"{BEA}/activities/{uuid.uuid4().hex}", "actor": BEA}
    for inbox in inboxes:
        inbox.received.clear()
    # The service asks for both servers, and does not say the content is partners-only.
    await publish(activity, [inbox.url for inbox in inboxes], BEA, FakeClock().now)
    await worker.run_once()
    for inbox in inboxes:
        sent = [got["id"] for got in inbox.received]
        expected = [activity["id"]] if may_go(values, kind, inbox.partner) else []
        assert sent == expected, (values, shape, inbox.partner)
    rows = await Delivery.filter(activity_id=activity["id"])
    assert {row.state for row in rows} <= {DeliveryState.DELIVERED, DeliveryState.DEAD}
    for row in rows:
        if row.state is DeliveryState.DEAD:
            assert row.last_error  # the reason is kept for the operator
    # The ledger holds exactly the deliveries of the member's content that went out.
    ledger = await SharedItem.all().values_list("host", "owner", "kind")
    assert sorted(ledger) == sorted(
        (row.host, BEA, kind)
        for row in rows
        if row.state is DeliveryState.DELIVERED and kind is not None
    )
    await SharedItem.all().delete()
