"""Partnerships through the staff page. Proposing one contacts the other node: here only
what happens before that (the API's validation and refusals) is tested; answering a request
and ending a partnership are tested on rows as the inbox leaves them (the other node is told
through the delivery queue, not at once)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from federation.models import Partnership, PartnershipState
from node.db import activated
from node.http.keys import DATABASE
from node.members.models import Role
from tests.api import bearer
from tests.web.staff_support import ESCAPED, FRENCH, SCRIPT, browse_as, post_form, staff_member

API = "/api/quartier/v1/admin/partnerships"


@pytest.fixture
async def ada(node) -> str:
    token = await staff_member(node, "ada", Role.ADMIN)
    await browse_as(node, "ada")
    return token


async def requested(node, message: str = "") -> int:
    """A request from b.example, waiting for our answer."""
    now = datetime.now(UTC)
    with activated(node.app[DATABASE]):
        row = await Partnership.create(
            peer_actor="https://b.example/actor",
            peer_host="b.example",
            peer_inbox="https://b.example/inbox",
            initiated_by_us=False,
            state=PartnershipState.REQUESTED,
            message=message,
            follow_activity_id="https://b.example/follows/1",
            follow_activity={},
            created_at=now,
            updated_at=now,
        )
    return row.id


async def state_of(node, token: str) -> str:
    [row] = await (await node.get(API, headers=bearer(token))).json()
    return row["state"]


async def test_a_request_is_listed_accepted_and_ended(node, ada):
    pid = await requested(node, SCRIPT)
    page = await (await node.get("/staff/partnerships")).text()
    assert "b.example" in page
    assert ESCAPED in page
    assert SCRIPT not in page
    assert "asked by them" in page
    resp = await post_form(node, "/staff/partnerships", f"/staff/partnerships/{pid}/accept", {})
    assert resp.status == 303
    assert resp.headers["Location"] == "/staff/partnerships"
    assert await state_of(node, ada) == "active"
    resp = await post_form(node, "/staff/partnerships", f"/staff/partnerships/{pid}/end", {})
    assert resp.status == 303
    assert await state_of(node, ada) == "ended"
    # Ended: it cannot be accepted any more.
    resp = await post_form(
        node, "/staff/partnerships", f"/staff/partnerships/{pid}/accept", {}, FRENCH
    )
    assert resp.status == 409
    assert "n\u2019est plus dans un état" in await resp.text()


async def test_a_request_is_refused(node, ada):
    pid = await requested(node)
    resp = await post_form(node, "/staff/partnerships", f"/staff/partnerships/{pid}/reject", {})
    assert resp.status == 303
    assert await state_of(node, ada) == "refused"


@pytest.mark.parametrize("peer", ["not a host!", SCRIPT, ""])
async def test_an_invalid_node_shows_the_form_again(node, ada, peer):
    data = {"node": peer, "message": f"kept {SCRIPT}"}
    resp = await post_form(node, "/staff/partnerships", "/staff/partnerships", data)
    assert resp.status == 422
    page = await resp.text()
    assert 'id="node-error"' in page
    assert f"kept {ESCAPED}" in page
    assert SCRIPT not in page
    assert await (await node.get(API, headers=bearer(ada))).json() == []


async def test_a_blocked_node_cannot_be_asked(node, ada):
    resp = await node.post(
        API.replace("partnerships", "domain_blocks"),
        json={"domain": "b.example"},
        headers=bearer(ada),
    )
    assert resp.status == 201
    resp = await post_form(
        node, "/staff/partnerships", "/staff/partnerships", {"node": "b.example"}
    )
    assert resp.status == 409
    assert 'id="node-error"' in await resp.text()
    assert await (await node.get(API, headers=bearer(ada))).json() == []
