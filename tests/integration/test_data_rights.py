"""Data rights and retention across two real nodes, A and B, partners.

bea (on A) shares a listing with the partners and writes to bob (on B). Her export holds each
thing she made and says where it went; her erasure removes her account on A and, through the
Deletes A sends, her listing, her message and her account on B. Retention on each node then
purges exactly what its policy says has expired, and nothing else.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from federation.models import Delivery, InboundMessage, RemoteActor
from moderation.models import AuditEntry
from node.db import activated
from node.http.keys import DATABASE, LISTINGS, RETENTION
from node.listings.models import Listing
from tests.api import PASSWORD, bearer, login
from tests.integration.conftest import Peer, get, member, settle
from tests.integration.test_conversations import conversations, messages
from tests.integration.test_listings import DRILL, copies, partner


async def listing_of(peer: Peer, token: str, **fields: object) -> dict:
    resp = await peer.client.post(
        "/api/quartier/v1/listings",
        json={**DRILL, "audience": "partners", **fields},
        headers=bearer(token),
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


def part(archive: zipfile.ZipFile, name: str):
    return json.loads(archive.read(name))


async def test_an_erased_account_goes_from_the_partner_node_too(peers):
    a, b = await peers("a"), await peers("b")
    await partner(a, b)
    bea, bob = await member(a, "bea"), await member(b, "bob")
    listing = await listing_of(a, bea)
    resp = await a.client.post(
        "/api/quartier/v1/conversations",
        json={"to": [b.handle("bob")], "text": "Is the drill free on Sunday?"},
        headers=bearer(bea),
    )
    assert resp.status == 201, await resp.text()
    await settle(a, b)
    [copy] = await copies(b, listing["url"])
    [conv] = await conversations(b, bob)
    [received] = await messages(b, bob, conv["id"])
    assert received["text"] == "Is the drill free on Sunday?"

    # Her export: each thing she made, and the ledger saying it went to B.
    resp = await a.client.get("/api/quartier/v1/me/export", headers=bearer(bea))
    assert resp.status == 200, await resp.text()
    archive = zipfile.ZipFile(io.BytesIO(await resp.read()))
    assert part(archive, "profile.json")["username"] == "bea"
    [exported] = part(archive, "listings.json")
    assert (exported["ap_id"], exported["title"]) == (listing["url"], "Cordless drill")
    [message] = part(archive, "messages.json")
    assert message["text"] == "Is the drill free on Sunday?"
    ledger = part(archive, "sharing.json")
    assert {(item["kind"], item["host"]) for item in ledger} == {
        ("listings", b.domain),
        ("messages", b.domain),
    }

    # Erasure: gone on A at once, and on B once A's Deletes arrived.
    resp = await a.client.post(
        "/api/quartier/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(bea)
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["servers_told"] == 1
    await settle(a, b)
    resp = await a.client.get("/users/bea", headers={"Accept": "application/activity+json"})
    assert resp.status == 410
    assert await copies(b, listing["url"]) == []
    assert (await get(b, bob, "/api/quartier/v1/listings?q=drill"))["listings"] == []
    [withdrawn] = await messages(b, bob, conv["id"])
    assert (withdrawn["deleted"], withdrawn["text"]) == (True, "")  # a trace, without its text
    with activated(b.client.app[DATABASE]):
        assert not await RemoteActor.exists(uri=a.actor("bea"))
    with activated(a.client.app[DATABASE]):
        assert await Delivery.filter(state="dead").count() == 0
    assert copy.title == "Cordless drill"  # B did hold it before


async def retention(peer: Peer) -> list[str]:
    """Run the peer's retention job; what its audit entries say it purged."""
    with activated(peer.client.app[DATABASE]):
        await peer.client.app[RETENTION].run_once()
        return sorted(
            await AuditEntry.filter(action="retention.purge").values_list("reason", flat=True)
        )


async def expire(peer: Peer) -> None:
    with activated(peer.client.app[DATABASE]):
        await peer.client.app[LISTINGS].expire_due()


async def test_retention_on_each_node_purges_exactly_what_expired(peers, clock):
    a, b = await peers("a"), await peers("b")
    await partner(a, b)
    ada, bob = await member(a, "ada"), await member(b, "bob")
    soon = (clock.now + timedelta(days=1)).isoformat()
    short = await listing_of(a, ada, title="Ladder for a day", expires_at=soon)
    standing = await listing_of(a, ada, title="Drill for ever", expires_at=None)
    await settle(a, b)
    assert len(await copies(b, short["url"])) == len(await copies(b, standing["url"])) == 1

    # Two days on: the short one ended on A; B drops its copy at the same expiry.
    clock.advance(days=2)
    await expire(a)
    await expire(b)
    assert await copies(b, short["url"]) == []
    # 91 days later a new listing arrives, fresh in both nodes' logs.
    clock.advance(days=91)
    ada, bob = await login(a.client, "ada"), await login(b.client, "bob")  # sessions expired
    fresh = await listing_of(a, ada, title="Wheelbarrow")
    await settle(a, b)
    with activated(b.client.app[DATABASE]):
        inbound_before = await InboundMessage.all().count()

    said_a, said_b = await retention(a), await retention(b)

    with activated(a.client.app[DATABASE]):
        titles = sorted(await Listing.filter(local=True).values_list("title", flat=True))
        assert titles == ["Drill for ever", "Wheelbarrow"]  # the ended one, 90 days on, went
        kept_deliveries = await Delivery.all().count()
    assert kept_deliveries >= 1  # the Wheelbarrow's, a day old, stays
    assert any(line.startswith("1 listings ended more than 90 days ago") for line in said_a)
    assert any("deliveries made more than 7 days ago" in line for line in said_a)
    with activated(b.client.app[DATABASE]):
        inbound_after = await InboundMessage.all().count()
        kept_copies = sorted(await Listing.filter(local=False).values_list("title", flat=True))
    assert kept_copies == ["Drill for ever", "Wheelbarrow"]
    assert 1 <= inbound_after < inbound_before  # the old activities went, the fresh one stays
    purged_inbound = inbound_before - inbound_after
    assert f"{purged_inbound} inbound activities processed more than 14 days ago" in said_b
    assert [
        item["title"] for item in (await get(b, bob, "/api/quartier/v1/listings"))["listings"]
    ] == [
        "Wheelbarrow",
        "Drill for ever",
    ]
    assert fresh["title"] == "Wheelbarrow"
