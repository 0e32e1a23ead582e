"""Reports: members report listings, messages and accounts; other servers' Flags (in the
shapes Mastodon and GoToSocial send) land in the same queue; reports of other servers'
content go there as Flags from this node, the reporter anonymous."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.models import Delivery, InboundMessage, InboundState
from moderation.models import AuditEntry, Report, ReportState, TargetKind
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER, INBOUND_WORKER
from node.listings.models import Audience
from tests.api import bearer, error_of
from tests.node.media_support import make_listing
from tests.node.test_inbox import NODE, deliver, start_remote
from tests.node.test_inbox_interop import ShapedRemote, localised, with_key
from tests.node.test_inbox_interop import deliver as deliver_shaped

pytestmark = pytest.mark.local_testing

HOSTILE = '<script>alert("x")</script><b onmouseover="steal()">bold</b> & more'


async def reports(node) -> list[Report]:
    with activated(node.app[DATABASE]):
        return await Report.all().order_by("id")


async def deliveries(node) -> list[Delivery]:
    with activated(node.app[DATABASE]):
        return await Delivery.all().order_by("id")


async def report(node, token: str, **body: Any):
    return await node.post("/api/quartier/v1/reports", json=body, headers=bearer(token))


async def test_a_member_reports_a_listing_here_and_moderators_hear_of_it(node, people):
    listing = await make_listing(node, Audience.NODE, author=f"{NODE}/users/cyd")
    resp = await report(node, people["bea"], listing=listing, category="fraud", comment=HOSTILE)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["target"] == {
        "kind": "listing",
        "uri": f"{NODE}/listings/1",
        "account": f"{NODE}/users/cyd",
    }
    # Plain text, exactly as written: never turned into (or taken for) HTML.
    assert (body["category"], body["comment"], body["state"]) == ("fraud", HOSTILE, "open")
    assert body["forwarded_to"] is None
    assert "reporter" not in body  # the member's view of their own report
    [row] = await reports(node)
    assert (row.reporter_member_id, row.target_kind, row.comment) == (
        2,
        TargetKind.LISTING,
        HOSTILE,
    )
    assert await deliveries(node) == []  # ours: nothing leaves the node
    # The admin (ada) is told; the residents are not.
    notes = await (
        await node.get("/api/quartier/v1/notifications", headers=bearer(people["ada"]))
    ).json()
    assert [n["type"] for n in notes] == ["moderation.report"]
    notes = await (
        await node.get("/api/quartier/v1/notifications", headers=bearer(people["cyd"]))
    ).json()
    assert notes == []
    mine = await (await node.get("/api/quartier/v1/reports", headers=bearer(people["bea"]))).json()
    assert [r["id"] for r in mine] == [body["id"]]
    assert (
        await (await node.get("/api/quartier/v1/reports", headers=bearer(people["cyd"]))).json()
        == []
    )


async def test_a_report_of_another_servers_listing_goes_there_as_an_anonymous_flag(
    node, people, remote
):
    alice = remote.add("alice")
    listing = await make_listing(node, Audience.PUBLIC, author=alice.id, local=False)
    resp = await report(node, people["bea"], listing=listing, category="spam", comment="Ads")
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["forwarded_to"] == remote.base.removeprefix("http://")

    with activated(node.app[DATABASE]):
        assert await node.app[DELIVERY_WORKER].run_once() == 1
    [(path, flag)] = remote.delivered
    assert path == "/inbox"  # the server's shared inbox
    assert flag["type"] == "Flag"
    assert flag["actor"] == f"{NODE}/actor"  # the node's Application actor, not bea
    assert flag["object"] == [alice.id, f"{remote.base}/listings/1"]
    assert flag["content"] == "Ads"
    assert "bea" not in json.dumps(flag)
    [row] = await reports(node)
    assert row.activity_id == flag["id"]


async def test_a_reporter_who_agrees_is_named_in_the_flag(node, people, remote):
    alice = remote.add("alice")
    resp = await report(node, people["bea"], account=alice.id, category="harassment", identify=True)
    assert resp.status == 201, await resp.text()
    [delivery] = await deliveries(node)
    flag = json.loads(delivery.body)
    assert flag["object"] == [alice.id]
    assert flag["actor"] == f"{NODE}/actor"
    assert "@bea@127.0.0.1:8080" in flag["content"]
    # Declining to forward keeps the report here only.
    resp = await report(node, people["cyd"], account=alice.id, category="spam", forward=False)
    assert (await resp.json())["forwarded_to"] is None
    assert len(await deliveries(node)) == 1


async def test_members_report_messages_they_received_and_accounts(node, people, remote):
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": ["bea"], "text": "Pay me first"},
        headers=bearer(people["cyd"]),
    )
    assert resp.status == 201, await resp.text()
    conversation = await resp.json()
    messages = await (
        await node.get(
            f"/api/quartier/v1/conversations/{conversation['id']}", headers=bearer(people["bea"])
        )
    ).json()
    message_id = messages[0]["id"]
    resp = await report(node, people["bea"], message=message_id, category="fraud")
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["target"]["kind"] == "message"
    # ada is not in that conversation: for her, the message does not exist.
    resp = await report(node, people["ada"], message=message_id, category="fraud")
    await error_of(resp, 404, "not_found")
    for name in ("cyd", "@cyd", f"{NODE}/users/cyd", "cyd@127.0.0.1:8080"):
        resp = await report(node, people["bea"], account=name, category="spam")
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["target"]["uri"] == f"{NODE}/users/cyd"


async def test_reports_of_what_does_not_exist_or_is_the_reporters_own(node, people):
    bea = people["bea"]
    for body in (
        {"listing": 999},
        {"message": 999},
        {"account": "nobody"},
        {"account": f"{NODE}/users/nobody"},
    ):
        resp = await report(node, bea, category="spam", **body)
        await error_of(resp, 404, "not_found")
    resp = await report(node, bea, account="bea", category="spam")
    error = await error_of(resp, 422, "validation_failed")
    assert error["message"] == "you cannot report yourself"
    assert await reports(node) == []


async def test_malformed_oversized_and_unauthenticated_reports(node, people):
    bea = people["bea"]
    cases = [
        ({"listing": 1}, "category", "Field required"),
        ({"listing": 1, "category": "rude"}, "category", "Input should be"),
        ({"listing": "1", "category": "spam"}, "listing", "integer"),
        ({"listing": 0, "category": "spam"}, "listing", "greater than or equal to 1"),
        ({"listing": 2**60, "category": "spam"}, "listing", "less than or equal"),
        ({"listing": 1, "category": "spam", "comment": "x" * 1001}, "comment", "at most 1000"),
        ({"listing": 1, "category": "spam", "who": "me"}, "who", "unknown field"),
        ({"account": "x" * 2049, "category": "spam"}, "account", "at most 2048"),
        ({"category": "spam"}, "(body)", "exactly one"),
        ({"listing": 1, "message": 1, "category": "spam"}, "(body)", "exactly one"),
        ({"listing": 1, "category": "spam", "comment": "a\x00b"}, "comment", "NUL"),
    ]
    for body, field, says in cases:
        resp = await report(node, bea, **body)
        error = await error_of(resp, 422, "validation_failed")
        assert error["details"][0]["field"] == field, error
        assert says in error["details"][0]["message"], error
    resp = await node.post(
        "/api/quartier/v1/reports",
        data="{not json",
        headers={**bearer(bea), "Content-Type": "application/json"},
    )
    await error_of(resp, 400, "invalid_json")
    resp = await node.post(
        "/api/quartier/v1/reports",
        data=io.BytesIO(b'{"comment": "' + b"x" * 2_000_000 + b'"}'),
        headers={**bearer(bea), "Content-Type": "application/json"},
    )
    await error_of(resp, 413, "payload_too_large")
    node.session.cookie_jar.clear()
    resp = await node.post("/api/quartier/v1/reports", json={"listing": 1, "category": "spam"})
    await error_of(resp, 401, "unauthorized")
    await error_of(await node.get("/api/quartier/v1/reports"), 401, "unauthorized")
    assert await reports(node) == []


async def test_a_member_making_too_many_reports_is_slowed_down(node, people):
    for _ in range(10):
        resp = await report(node, people["bea"], account="cyd", category="spam")
        assert resp.status == 201
    resp = await report(node, people["bea"], account="cyd", category="spam")
    error = await error_of(resp, 429, "too_many_requests")
    assert error["details"]["retry_after"] > 0
    # Others still report.
    assert (await report(node, people["cyd"], account="bea", category="spam")).status == 201


# Flags from other servers


def instance_actor(remote: ShapedRemote, software: str, key: rsa.RSAPrivateKey, path: str) -> dict:
    """The software's instance actor (its Application actor, which sends Flags) on the fake
    server: the software's actor document, moved to ``path``."""
    person = with_key(localised(f"{software}/actor.json", remote.base), key)
    actor = copy.deepcopy(person)
    actor["id"] = f"{remote.base}{path}"
    actor["type"] = "Application"
    actor["publicKey"]["id"] = f"{actor['id']}#main-key"
    actor["publicKey"]["owner"] = actor["id"]
    remote.publish(actor["id"], actor)
    return actor


@pytest.fixture
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def shaped(aiohttp_server) -> ShapedRemote:
    """A fake server answering with stored documents (as in test_inbox_interop)."""
    remote = ShapedRemote()
    app = web.Application()
    app.router.add_get("/{tail:.*}", remote.serve)
    server = await aiohttp_server(app)
    remote.base = f"http://127.0.0.1:{server.port}"
    return remote


@pytest.mark.parametrize(
    ("software", "actor_path"),
    [("mastodon", "/actor"), ("gotosocial", "/users/gotosocial.example")],
)
async def test_flags_in_mastodon_and_gotosocial_shapes_land_in_the_queue(
    node, clock, people, shaped, key, software, actor_path
):
    await make_listing(node, Audience.PUBLIC, author=f"{NODE}/users/cyd")
    actor = instance_actor(shaped, software, key, actor_path)
    flag = localised(f"{software}/flag.json", shaped.base)
    assert flag["actor"] == actor["id"]
    flag["object"] = [
        f"{NODE}/users/cyd" if o == f"{NODE}/users/bob" else f"{NODE}/listings/1"
        for o in flag["object"]
    ]
    resp = await deliver_shaped(node, clock, flag, actor["publicKey"]["id"], key)
    assert resp.status == 202, await resp.text()
    with activated(node.app[DATABASE]):
        assert await node.app[INBOUND_WORKER].run_once() == 1
        [message] = await InboundMessage.all()
    assert message.state is InboundState.DONE, message.last_error
    [row] = await reports(node)
    assert row.reporter_member_id is None
    assert row.reporter_actor == actor["id"]
    assert row.origin_host == shaped.base.removeprefix("http://")
    assert (row.target_kind, row.target_uri) == (TargetKind.LISTING, f"{NODE}/listings/1")
    assert row.target_actor == f"{NODE}/users/cyd"
    assert row.objects == [f"{NODE}/users/cyd", f"{NODE}/listings/1"]
    assert row.comment == "Asks for payment up front, then never shows up"
    assert row.state is ReportState.OPEN


async def test_a_flag_naming_nothing_of_ours_is_ignored_with_the_reason(
    node, clock, people, remote
):
    alice = remote.add("alice")
    for n, objects in enumerate(
        [[f"{NODE}/users/nobody"], ["https://elsewhere.example/users/x"], []], start=1
    ):
        flag = {"id": f"{remote.base}/flags/{n}", "type": "Flag", "actor": alice.id}
        flag["object"] = objects
        assert (await deliver(node, clock, alice, flag)).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
        rows = await InboundMessage.all().order_by("id")
    assert [(r.state, r.last_error) for r in rows] == [
        (InboundState.IGNORED, "the report names nothing on this node"),
        (InboundState.IGNORED, "the report names nothing on this node"),
        (InboundState.IGNORED, "the Flag names no object"),
    ]
    assert await reports(node) == []


async def test_a_flood_of_flags_from_one_server_is_set_aside_and_others_still_land(
    node, clock, people, aiohttp_server
):
    flooding, other = await start_remote(aiohttp_server), await start_remote(aiohttp_server)
    spammer, honest = flooding.add("spammer"), other.add("mod")
    for n in range(25):
        flag = {
            "id": f"{flooding.base}/flags/{n}",
            "type": "Flag",
            "actor": spammer.id,
            "object": f"{NODE}/users/cyd",
            "content": f"flood {n}",
        }
        assert (await deliver(node, clock, spammer, flag)).status == 202
    flag = {
        "id": f"{other.base}/flags/1",
        "type": "Flag",
        "actor": honest.id,
        "object": [f"{NODE}/users/bea"],
        "content": "Real problem",
    }
    assert (await deliver(node, clock, honest, flag)).status == 202
    with activated(node.app[DATABASE]):
        while await node.app[INBOUND_WORKER].run_once():
            pass
        rows = await InboundMessage.all()
    ignored = [r for r in rows if r.state is InboundState.IGNORED]
    assert len(ignored) == 5
    assert {r.last_error for r in ignored} == {
        f"rate limited: too many reports from {flooding.base.removeprefix('http://')}"
    }
    landed = await reports(node)
    assert len(landed) == 21
    assert [r.comment for r in landed if r.origin_host == other.base.removeprefix("http://")] == [
        "Real problem"
    ]
    # Nothing lost: the activities set aside are kept, with the reason, for the admins.
    assert len(rows) == 26
    with activated(node.app[DATABASE]):
        assert await AuditEntry.filter(action="report.received").count() == 21
