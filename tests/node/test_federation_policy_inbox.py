"""The community's federation policy at the inbox: blocks, and the three federation modes.

Real nodes over real HTTP; the senders are fake remote servers on 127.0.0.1 (each on its own
port, so each is its own host for blocks and partnerships), as in test_inbox.py.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from tortoise.exceptions import ConfigurationError

from activitypub.proofs import create_proof
from federation.models import InboundState, Partnership, PartnershipState
from node.db import activated
from node.http.keys import DATABASE, FEDERATION_POLICY, INBOUND_WORKER
from tests.api import bearer, bootstrap_invite, error_of, login, register
from tests.node.cli_support import QUARTIER
from tests.node.test_inbox import NODE, Remote, deliver, follow, start_remote, stored


def host_of(remote: Remote) -> str:
    return remote.base.removeprefix("http://")


async def block(node: TestClient, domain: str) -> None:
    with activated(node.app[DATABASE]):
        await node.app[FEDERATION_POLICY].blocks.add(domain)


async def unblock(node: TestClient, domain: str) -> None:
    with activated(node.app[DATABASE]):
        await node.app[FEDERATION_POLICY].blocks.remove(domain)


async def partnership(
    node: TestClient, remote: Remote, state: PartnershipState, clock, actor: str = ""
) -> None:
    """A partnership row with the remote server, as the partnership handlers leave it."""
    with activated(node.app[DATABASE]):
        await Partnership.create(
            peer_actor=actor or f"{remote.base}/actor",
            peer_host=host_of(remote),
            peer_inbox=f"{remote.base}/inbox",
            initiated_by_us=state is PartnershipState.PROPOSED,
            state=state,
            follow_activity_id=f"{NODE}/actor/partnership/{state.value}",
            follow_activity={},
            created_at=clock.now,
            updated_at=clock.now,
        )


def unsigned_from(actor: str, n: int = 1) -> dict:
    host = actor.split("/users/")[0]
    return {"id": f"{host}/activities/{n}", "type": "Follow", "actor": actor,
            "object": f"{NODE}/users/bob"}  # fmt: skip


# Blocks (any mode)


async def test_what_a_server_sent_before_its_block_is_set_aside_unprocessed(node_in, clock, remote):
    node = await node_in("open")
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    token = await login(node, "bob")
    resp = await deliver(node, clock, alice, follow(alice), path="/users/bob/inbox")
    assert resp.status == 202, await resp.text()
    await block(node, host_of(remote))
    with activated(node.app[DATABASE]):
        assert await node.app[INBOUND_WORKER].run_once() == 1
    [row] = await stored(node)
    assert (row.state, row.last_error) == (InboundState.IGNORED, "blocked by this node's community")
    resp = await node.get("/api/quartier/v1/follow_requests", headers=bearer(token))
    assert await resp.json() == []  # the Follow was not acted upon


async def test_a_blocked_sender_gets_202_and_nothing_is_stored_or_fetched(
    node_in, clock, remote, aiohttp_server
):
    node = await node_in("open")
    other = await start_remote(aiohttp_server)
    alice, carol = remote.add("alice"), other.add("carol")
    await block(node, host_of(remote))
    resp = await deliver(node, clock, alice, follow(alice))
    assert resp.status == 202, await resp.text()
    assert await resp.read() == b""
    assert await stored(node) == []
    assert remote.fetches == 0  # dropped before its key was even looked at
    # Another server is not affected; lifting the block lets the first one in again.
    assert (await deliver(node, clock, carol, follow(carol))).status == 202
    await unblock(node, host_of(remote))
    assert (await deliver(node, clock, alice, follow(alice, 2))).status == 202
    assert [m.actor for m in await stored(node)] == [carol.id, alice.id]


@pytest.mark.parametrize("mode", ["open", "allowlist"])
async def test_a_block_covers_subdomains_but_not_lookalikes(node_in, clock, mode):
    node = await node_in(mode)
    await block(node, "spam.example")
    for actor in (
        "https://spam.example/users/x",
        "https://a.b.spam.example/users/x",
        "https://SPAM.example:8443/users/x",
    ):
        # Unsigned, and on a host that does not exist: only a drop can answer 202.
        resp = await deliver(node, clock, None, unsigned_from(actor))
        assert resp.status == 202, (actor, await resp.text())
    for actor in ("https://spam.example.evil.net/users/x", "https://notspam.example/users/x"):
        resp = await deliver(node, clock, None, unsigned_from(actor))
        assert resp.status in (401, 403), actor
    assert await stored(node) == []


async def test_an_activity_relayed_by_a_blocked_server_is_dropped(
    node_in, clock, remote, aiohttp_server
):
    node = await node_in("open")
    relays = await start_remote(aiohttp_server)
    alice, relay = remote.add("alice"), relays.add("relay")
    signed = create_proof(follow(alice), alice.ed_key, f"{alice.id}#ed25519-key", clock.now)
    await block(node, host_of(relays))
    resp = await deliver(node, clock, relay, signed)
    assert resp.status == 202, await resp.text()
    assert await stored(node) == []
    assert relays.fetches == 0  # the blocked server's key was not even fetched
    await unblock(node, host_of(relays))  # control: the same delivery is stored without it
    assert (await deliver(node, clock, relay, signed)).status == 202
    assert [m.actor for m in await stored(node)] == [alice.id]


async def test_a_block_added_by_the_cli_reaches_a_running_node_within_30_seconds(
    node_in, clock, remote, database_url, tmp_path: Path
):
    node = await node_in("open")
    alice = remote.add("alice")
    assert (await deliver(node, clock, alice, follow(alice, 1))).status == 202  # cache loaded
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_")}
    env["QUARTIER_STORAGE_DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        str(QUARTIER), "blocks", "add", host_of(remote), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    clock.advance(seconds=29)
    assert (await deliver(node, clock, alice, follow(alice, 2))).status == 202
    assert len(await stored(node)) == 2  # the node's cache is not 30 s old yet
    clock.advance(seconds=1)
    assert (await deliver(node, clock, alice, follow(alice, 3))).status == 202
    assert len(await stored(node)) == 2  # dropped


# Allowlist


async def test_allowlist_refuses_a_server_that_is_not_a_partner(node_in, clock, remote):
    node = await node_in("allowlist")
    alice = remote.add("alice")
    resp = await deliver(node, clock, alice, follow(alice))
    error = await error_of(resp, 403, "forbidden")
    assert error["message"] == "this node federates only with its partner nodes"
    assert await stored(node) == []
    assert remote.fetches == 0


async def test_allowlist_admits_a_partnership_proposal_from_anyone(node_in, clock, remote):
    node = await node_in("allowlist")
    alice = remote.add("alice")
    proposal = follow(alice, target=f"{NODE}/actor")
    resp = await deliver(node, clock, alice, proposal, path="/actor/inbox")
    assert resp.status == 202, await resp.text()
    [message] = await stored(node)
    assert message.activity_type == "Follow"
    # A Follow of anyone else is no proposal.
    resp = await deliver(node, clock, alice, follow(alice, 2, target=f"{NODE}/users/bob"))
    await error_of(resp, 403, "forbidden")


@pytest.mark.parametrize(
    ("state", "anything", "handshake"),
    [
        (PartnershipState.ACTIVE, True, True),
        (PartnershipState.PROPOSED, False, True),  # their Accept or Reject of our proposal
        (PartnershipState.REQUESTED, False, True),  # their Undo of their proposal
        (PartnershipState.ENDED, False, False),
        (PartnershipState.REFUSED, False, False),
    ],
)
async def test_allowlist_admits_active_partners_and_only_the_handshake_while_under_way(
    node_in, clock, remote, state, anything, handshake
):
    node = await node_in("allowlist")
    # "peer" stands for the other node's Application actor, alice for one of its members.
    peer, alice = remote.add("peer"), remote.add("alice")
    await partnership(node, remote, state, clock, actor=peer.id)
    undo = {"id": f"{remote.base}/activities/undo", "type": "Undo", "actor": peer.id,
            "object": f"{remote.base}/activities/proposal"}  # fmt: skip
    note = {"id": f"{remote.base}/activities/note", "type": "Create", "actor": peer.id,
            "object": {"type": "Note", "content": "hello"}}  # fmt: skip
    for sender, activity, admitted in (
        (alice, follow(alice), anything),  # a member's Follow of bob
        (peer, note, anything),  # the node actor, but not the handshake
        (peer, undo, handshake),
    ):
        resp = await deliver(node, clock, sender, activity)
        if admitted:
            assert resp.status == 202, await resp.text()
        else:
            error = await error_of(resp, 403, "forbidden")
            assert error["message"] == "this node federates only with its partner nodes"
    expected = [
        a["id"] for a, ok in ((follow(alice), anything), (note, anything), (undo, handshake)) if ok
    ]
    assert [m.activity_id for m in await stored(node)] == expected


async def test_allowlist_drops_a_blocked_partner(node_in, clock, remote):
    node = await node_in("allowlist")
    alice = remote.add("alice")
    await partnership(node, remote, PartnershipState.ACTIVE, clock)
    await block(node, host_of(remote))
    assert (await deliver(node, clock, alice, follow(alice))).status == 202
    assert await stored(node) == []


# Local


@pytest.mark.parametrize(
    ("path", "target"),
    [("/inbox", f"{NODE}/users/bob"), ("/actor/inbox", f"{NODE}/actor")],
)
async def test_local_accepts_nothing_not_even_from_a_partner(node_in, clock, remote, path, target):
    node = await node_in("local")
    alice = remote.add("alice")
    await partnership(node, remote, PartnershipState.ACTIVE, clock)
    resp = await deliver(node, clock, alice, follow(alice, target=target), path=path)
    error = await error_of(resp, 403, "forbidden")
    assert error["message"] == "this node does not federate"
    assert await stored(node) == []
    assert remote.fetches == 0


# The hot path


async def test_the_open_mode_checks_an_inbox_post_without_a_query(node_in, clock, remote):
    node = await node_in("open")
    alice = remote.add("alice")
    await block(node, "spam.example")  # loads the block cache
    inbox = node.app[FEDERATION_POLICY].inbox
    # No ORM context is active here: any query would raise.
    assert await inbox.is_blocked("a.spam.example")
    assert not await inbox.is_blocked(host_of(remote))
    assert await inbox.refuse(host_of(remote), follow(alice)) is None


async def test_control_the_allowlist_mode_does_query(node_in, clock, remote):
    node = await node_in("allowlist")
    alice = remote.add("alice")
    await block(node, "spam.example")
    inbox = node.app[FEDERATION_POLICY].inbox
    with pytest.raises((RuntimeError, ConfigurationError), match=r"TortoiseContext|connection"):
        await inbox.refuse(host_of(remote), follow(alice))


async def test_what_a_partner_sent_before_the_partnership_ended_is_set_aside(
    node_in, clock, remote
):
    node = await node_in("allowlist")
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    await partnership(node, remote, PartnershipState.ACTIVE, clock)
    resp = await deliver(node, clock, alice, follow(alice), path="/users/bob/inbox")
    assert resp.status == 202, await resp.text()
    with activated(node.app[DATABASE]):
        await Partnership.filter(peer_host=host_of(remote)).update(state=PartnershipState.ENDED)
        assert await node.app[INBOUND_WORKER].run_once() == 1
    [row] = await stored(node)
    assert (row.state, row.last_error) == (
        InboundState.IGNORED,
        "this node federates only with its partner nodes",
    )
