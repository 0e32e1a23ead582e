"""Direct messages to a server that behaves like GoToSocial, written here from its rules.

GoToSocial keeps a remote status only if the receiving account follows its author or is
mentioned in it ("not relevant to receiver ... not mentioned; dropping it"), and shows a direct
status only to the accounts it mentions. The fake server below applies exactly those rules to
what it receives, reading the JSON itself (nothing of ours is imported for it), so a note that
only *addresses* its recipient is lost there, as it was with the real GoToSocial.

Also here: a known contact stays reachable while their server is down (the message is queued,
and delivered when it answers again), and a neighbour is named by bare username.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.models import Delivery, DeliveryState
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER
from tests.api import bearer, bootstrap_invite, error_of, login, member_token, register
from tests.integration.conftest import free_port

pytestmark = pytest.mark.local_testing

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass
class Status:
    id: str
    content: str
    visible_to: set[str]


@dataclass
class GoToSocialLike:
    """One account, ``zork``, on a server that keeps and shows statuses as GoToSocial does."""

    base: str
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    following: set[str] = field(default_factory=set)  # actors zork follows
    statuses: dict[str, Status] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    webfinger_lookups: int = 0

    @property
    def zork(self) -> str:
        return f"{self.base}/users/zork"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/webfinger", self.webfinger)
        app.router.add_get("/users/zork", self.actor)
        app.router.add_post("/users/zork/inbox", self.inbox)
        return app

    async def webfinger(self, request: web.Request) -> web.Response:
        self.webfinger_lookups += 1
        host = self.base.removeprefix("http://")
        if request.query.get("resource") != f"acct:zork@{host}":
            raise web.HTTPNotFound()
        link = {"rel": "self", "type": "application/activity+json", "href": self.zork}
        return web.json_response({"subject": f"acct:zork@{host}", "links": [link]})

    async def actor(self, request: web.Request) -> web.Response:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # GoToSocial publishes a personal inbox only, and its key at <actor>/main-key.
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.zork,
            "type": "Person",
            "preferredUsername": "zork",
            "inbox": f"{self.zork}/inbox",
            "outbox": f"{self.zork}/outbox",
            "publicKey": {
                "id": f"{self.zork}/main-key",
                "owner": self.zork,
                "publicKeyPem": pem.decode(),
            },
        }
        return web.json_response(doc, content_type="application/activity+json")

    async def inbox(self, request: web.Request) -> web.Response:
        activity = await request.json()
        note = activity.get("object")
        if not isinstance(note, dict) or note.get("type") != "Note":
            return web.Response(status=202)
        mentioned = {
            tag.get("href")
            for tag in _as_list(note.get("tag"))
            if isinstance(tag, dict) and tag.get("type") == "Mention"
        }
        author = note.get("attributedTo")
        if activity["type"] == "Create":
            if self.zork not in mentioned and author not in self.following:
                self.dropped.append(note["id"])  # not relevant to receiver
                return web.Response(status=202)
        elif activity["type"] == "Update":
            if note["id"] not in self.statuses:
                return web.Response(status=202)
        else:
            return web.Response(status=202)
        audience = set(_as_list(note.get("to"))) | set(_as_list(note.get("cc")))
        direct = not any(a == PUBLIC or str(a).endswith("/followers") for a in audience)
        # A direct status is shown to the accounts it mentions, and to nobody else.
        visible = mentioned if direct else {self.zork}
        self.statuses[note["id"]] = Status(note["id"], note.get("content", ""), visible)
        return web.Response(status=202)

    def shown_to_zork(self) -> list[Status]:
        return [s for s in self.statuses.values() if self.zork in s.visible_to]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


@pytest.fixture
async def gts():
    port = free_port()
    remote = GoToSocialLike(base=f"http://127.0.0.1:{port}")
    server = TestServer(remote.app(), host="127.0.0.1", port=port)
    await server.start_server()
    remote.server, remote.port = server, port  # type: ignore[attr-defined]
    yield remote
    await remote.server.close()  # type: ignore[attr-defined]  # the last one started


async def deliver_all(node) -> None:
    with activated(node.app[DATABASE]):
        while await node.app[DELIVERY_WORKER].run_once():
            pass


async def test_a_direct_message_to_an_account_that_does_not_follow_us_is_kept_and_shown(node, gts):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    handle = "zork@" + gts.base.removeprefix("http://")
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [handle], "text": "Is the drill still free?"},
        headers=bearer(token),
    )
    assert resp.status == 201, await resp.text()
    conversation = (await resp.json())["id"]
    await deliver_all(node)
    assert gts.dropped == []
    [first] = gts.shown_to_zork()
    assert "Is the drill still free?" in first.content

    # A reply, then an edit of it: each is kept and shown to zork as well.
    resp = await node.post(
        f"/api/quartier/v1/conversations/{conversation}/messages",
        json={"text": "I can pick it up tonight."},
        headers=bearer(token),
    )
    assert resp.status == 201, await resp.text()
    reply = await resp.json()
    await deliver_all(node)
    resp = await node.patch(
        f"/api/quartier/v1/conversations/{conversation}/messages/{reply['id']}",
        json={"text": "I can pick it up tomorrow."},
        headers=bearer(token),
    )
    assert resp.status == 200, await resp.text()
    await deliver_all(node)
    assert gts.dropped == []
    shown = [s.content for s in gts.shown_to_zork()]
    assert len(shown) == 2
    assert "I can pick it up tomorrow." in shown[1]


async def test_the_fake_server_drops_a_direct_message_that_only_addresses_its_receiver(gts):
    """The rule the test above relies on: without a mention, the message is lost there."""
    async with aiohttp.ClientSession() as session:
        note = {"id": "https://a.example/n/1", "type": "Note", "attributedTo": "https://a.example/u",
                "to": [gts.zork], "content": "<p>hi</p>"}  # fmt: skip
        body = {"type": "Create", "actor": note["attributedTo"], "object": note}
        async with session.post(f"{gts.zork}/inbox", json=body) as resp:
            assert resp.status == 202
    assert gts.dropped == ["https://a.example/n/1"]
    assert gts.shown_to_zork() == []


async def test_a_known_contact_is_written_to_while_their_server_is_down(node, gts):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    handle = "zork@" + gts.base.removeprefix("http://")
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [handle], "text": "Hello"},
        headers=bearer(token),
    )
    assert resp.status == 201, await resp.text()
    await deliver_all(node)
    lookups = gts.webfinger_lookups

    await gts.server.close()  # their server goes down
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [handle], "text": "About the drill"},
        headers=bearer(token),
    )
    assert resp.status == 201, await resp.text()  # queued, not refused
    await deliver_all(node)
    with activated(node.app[DATABASE]):
        [waiting] = await Delivery.filter(state=DeliveryState.PENDING)
    assert waiting.last_error  # tried, failed, will retry

    # Back again: the queued message reaches them (its retry is made due by hand here).
    gts.server = TestServer(gts.app(), host="127.0.0.1", port=gts.port)
    await gts.server.start_server()
    with activated(node.app[DATABASE]):
        await Delivery.filter(id=waiting.id).update(next_attempt_at=waiting.created_at)
    await deliver_all(node)
    assert [s.content for s in gts.shown_to_zork() if "About the drill" in s.content]
    assert gts.webfinger_lookups == lookups  # known: never looked up again


async def test_an_unknown_account_on_a_server_that_is_down_gets_an_explanation(node, gts):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    await gts.server.close()
    handle = "zork@" + gts.base.removeprefix("http://")
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [handle], "text": "Hello"},
        headers=bearer(token),
    )
    message = (await error_of(resp, 404, "not_found"))["message"]
    assert handle in message
    assert "try again later" in message
    assert "Connect call failed" not in message  # no socket errors for residents


async def test_a_neighbour_is_named_by_bare_username(node):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    bea = await member_token(node, token, "bea")
    resp = await node.post(
        "/api/quartier/v1/conversations", json={"to": ["Bea"], "text": "Hi"}, headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()
    resp = await node.get("/api/quartier/v1/conversations", headers=bearer(bea))
    [conversation] = await resp.json()
    assert conversation["last_message"]["text"] == "Hi"


@pytest.mark.parametrize("target", ["no such user!", "a" * 3000, "@"])
async def test_a_recipient_that_is_no_name_is_refused_without_echoing_it(node, target):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    resp = await node.post(
        "/api/quartier/v1/conversations", json={"to": [target], "text": "Hi"}, headers=bearer(token)
    )
    assert resp.status in (400, 422), await resp.text()
    assert len(await resp.read()) < 1000
