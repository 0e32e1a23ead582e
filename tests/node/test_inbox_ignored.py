"""What the node's handlers leave alone is kept as ``ignored``, with a reason an admin reads."""

from __future__ import annotations

import pytest

from federation.models import InboundMessage, InboundState
from node.db import activated
from node.http.keys import DATABASE, INBOUND_WORKER
from tests.api import bootstrap_invite, register
from tests.node.test_inbox import NODE, deliver, follow

pytestmark = pytest.mark.local_testing


async def outcomes(node) -> dict[str, tuple[InboundState, str]]:
    with activated(node.app[DATABASE]):
        assert await node.app[INBOUND_WORKER].run_once()
        rows = await InboundMessage.all()
    return {row.activity_id: (row.state, row.last_error) for row in rows}


async def test_activities_no_handler_acts_on_are_ignored_with_the_reasons(node, clock, remote):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    of_bob = follow(alice, 1)
    of_nobody = follow(alice, 2, target=f"{NODE}/users/nobody")
    undo = {**follow(alice, 3), "type": "Undo", "object": f"{alice.base}/activities/unknown"}
    proposal = follow(alice, 4, target=f"{NODE}/actor")  # by a Person
    hijack = {
        **follow(alice, 5),
        "type": "Update",
        "object": {"id": "https://x.example/u", "type": "Person"},
    }
    like = {**follow(alice, 6), "type": "Like"}
    for activity in (of_bob, of_nobody, undo, proposal, hijack, like):
        assert (await deliver(node, clock, alice, activity)).status == 202
    found = await outcomes(node)
    assert found.pop(of_bob["id"]) == (InboundState.DONE, "")
    assert found == {
        of_nobody["id"]: (
            InboundState.IGNORED,
            "the Follow is not of one of our members; "
            "the Follow is not of this node's actor (not a partnership); "
            "the Follow is not of one of our groups; "
            "the Follow is not of one of our circles",
        ),
        undo["id"]: (
            InboundState.IGNORED,
            "the Undo is not of a follow we know; "
            "the Undo is not of a partnership (or of an earlier proposal); "
            "the Undo is not of a block we know; "
            "no boost here has that id; "
            "the Undo is not of a Follow of one of our circles",
        ),
        proposal["id"]: (
            InboundState.IGNORED,
            "the Follow is not of one of our members; "
            "a partnership proposal by a Person, not by a node's actor; "
            "the Follow is not of one of our groups; "
            "the Follow is not of one of our circles",
        ),
        hijack["id"]: (
            InboundState.IGNORED,
            "an Update of another actor (an actor may update only itself)",
        ),
        like["id"]: (InboundState.IGNORED, "this node does not handle Like"),
    }
