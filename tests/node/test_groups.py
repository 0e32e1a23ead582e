"""The neighbourhood group: a ``Group`` actor anyone may follow and find by WebFinger, whose
followers are accepted at once and may leave (its distribution of listings:
tests/integration/test_listings.py)."""

from __future__ import annotations

import pytest

from federation.models import Delivery
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER
from tests.api import bootstrap_invite, error_of
from tests.node.test_inbox import NODE, deliver, follow, worker_round

pytestmark = pytest.mark.local_testing

GROUP = f"{NODE}/groups/neighbourhood"
AP = {"Accept": "application/activity+json"}


async def test_the_neighbourhood_is_a_group_actor_found_by_webfinger(node):
    resp = await node.get("/groups/neighbourhood", headers=AP)
    assert resp.status == 200
    doc = await resp.json(content_type=None)
    assert doc["type"] == "Group"
    assert doc["id"] == GROUP
    assert doc["preferredUsername"] == "neighbourhood"
    assert doc["name"] == "My neighbourhood"
    assert doc["manuallyApprovesFollowers"] is False
    assert doc["publicKey"]["owner"] == GROUP
    assert doc["endpoints"]["sharedInbox"] == f"{NODE}/inbox"
    resp = await node.get(
        "/.well-known/webfinger", params={"resource": "acct:neighbourhood@127.0.0.1:8080"}
    )
    jrd = await resp.json(content_type=None)
    assert [link["href"] for link in jrd["links"] if link.get("rel") == "self"] == [GROUP]
    by_url = await node.get("/.well-known/webfinger", params={"resource": GROUP})
    assert (await by_url.json(content_type=None))["subject"] == "acct:neighbourhood@127.0.0.1:8080"
    await error_of(await node.get("/groups/nobody", headers=AP), 404, "not_found")
    resp = await node.post(
        "/groups/nobody/inbox", data=b"{}", headers={"Content-Type": "application/activity+json"}
    )
    await error_of(resp, 404, "not_found")


async def test_no_member_can_take_the_groups_name(node):
    code = await bootstrap_invite(node)
    resp = await node.post(
        "/api/quartier/v1/accounts",
        json={
            "invite": code,
            "username": "neighbourhood",
            "real_name": "Nobody",
            "password": "a long enough passphrase",
        },
    )
    error = await error_of(resp, 422, "validation_failed")
    assert "reserved" in str(error["details"])


async def test_anyone_following_the_group_is_accepted_at_once_and_may_leave(node, clock, remote):
    alice = remote.add("alice")
    activity = follow(alice, target=GROUP)
    # Mastodon delivers a Follow to the followed actor's own inbox.
    path = "/groups/neighbourhood/inbox"
    assert (await deliver(node, clock, alice, activity, path=path)).status == 202
    await worker_round(node)
    followers = await (await node.get("/groups/neighbourhood/followers", headers=AP)).json(
        content_type=None
    )
    assert followers["totalItems"] == 1
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()
        [row] = await Delivery.all()
    assert row.signer == GROUP
    [(path, accept)] = remote.delivered
    assert path == "/inbox"
    assert accept["type"] == "Accept"
    assert accept["actor"] == GROUP
    assert accept["object"]["id"] == activity["id"]

    # The same Follow again (a retry) is answered once; an Undo ends the follow.
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.base}/activities/undo-1",
        "type": "Undo",
        "actor": alice.id,
        "object": activity,
    }
    assert (await deliver(node, clock, alice, undo)).status == 202
    await worker_round(node)
    followers = await (await node.get("/groups/neighbourhood/followers", headers=AP)).json(
        content_type=None
    )
    assert followers["totalItems"] == 0
    with activated(node.app[DATABASE]):
        assert await Delivery.all().count() == 1
