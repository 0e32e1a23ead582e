"""Listings and answers from other servers, one rule at a time: who may send a listing here,
in which scope it is kept, who may change or withdraw it, who may answer ours with an Offer,
and what a forged or unreadable one leaves (nothing, with the reason)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activitypub.listings import (
    ListingTerms,
    Price,
    ProposalRef,
    listing_activity,
    listing_object,
    offer_agreement,
    read_listing,
)
from federation.models import InboundMessage, Partnership, PartnershipState
from node.db import activated
from node.follows.models import Follow, FollowState
from node.http.keys import DATABASE, DELIVERY_WORKER, LISTINGS
from node.listings.models import Listing
from tests.api import admin_token, bearer, login, member_token
from tests.node.test_inbox import NODE, deliver, start_remote, worker_round

pytestmark = pytest.mark.local_testing

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def bea(node) -> str:
    ada = await admin_token(node, "ada")
    return await member_token(node, ada, "bea")


async def make_partner(node, remote) -> None:
    host = remote.base.removeprefix("http://")
    with activated(node.app[DATABASE]):
        await Partnership.create(
            peer_actor=f"{remote.base}/actor",
            peer_host=host,
            peer_inbox=f"{remote.base}/inbox",
            initiated_by_us=True,
            state=PartnershipState.ACTIVE,
            follow_activity_id=f"{NODE}/partnerships/1",
            follow_activity={},
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
            updated_at=datetime(2026, 11, 1, tzinfo=UTC),
        )


def terms(actor, n: int, *, public: bool, title: str = "Garden chairs", **changes) -> ListingTerms:
    group = f"{actor.base}/groups/neighbourhood"
    listing = ListingTerms(
        id=f"{actor.base}/listings/{n}",
        author=actor.id,
        kind="sell",
        title=title,
        content_html="<p>Four chairs, <script>x()</script>barely used.</p>",
        published=datetime(2026, 11, 26, 10, tzinfo=UTC),
        category="garden",
        price=Price.parse("40", "EUR"),
        to=(PUBLIC,) if public else (group,),
        cc=(group,) if public else (),
        audience=group,
        end_time=datetime(2026, 12, 20, tzinfo=UTC),
    )
    return dataclasses.replace(listing, **changes)


def created(actor, n: int, *, public: bool, kind: str = "Create", **extra) -> dict[str, Any]:
    doc = listing_object(terms(actor, n, public=public, **extra))
    return listing_activity(kind, f"{actor.base}/activities/{kind}-{n}", doc)  # type: ignore[arg-type]


def announced(group_actor, inner: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{group_actor.base}/announces/{n}",
        "type": "Announce",
        "actor": group_actor.id,
        "object": inner,
        "to": [PUBLIC],
    }


async def held(node) -> list[Listing]:
    with activated(node.app[DATABASE]):
        return await Listing.filter(local=False).order_by("id")


async def last_reasons(node) -> tuple[str, list[str]]:
    """The last inbound activity's state, and each handler's reason for leaving it."""
    with activated(node.app[DATABASE]):
        row = await InboundMessage.all().order_by("-id").first()
    assert row is not None
    return row.state.value, row.last_error.split("; ")


async def test_a_partners_listing_is_kept_in_its_scope_and_sanitised(node, clock, remote, bea):
    alice = remote.add("alice")
    await make_partner(node, remote)
    assert (await deliver(node, clock, alice, created(alice, 1, public=False))).status == 202
    await worker_round(node)
    [copy] = await held(node)
    assert (copy.title, copy.audience.value, copy.kind.value) == (
        "Garden chairs",
        "partners",
        "sell",
    )
    assert (copy.price_minor, copy.currency) == (4000, "EUR")
    assert "script" not in copy.description_html
    assert copy.origin_host == remote.base.removeprefix("http://")
    seen = await (
        await node.get(f"/api/quartier/v1/listings/{copy.id}", headers=bearer(bea))
    ).json()
    assert seen["local"] is False
    assert seen["price"] == {"amount": "40.00", "currency": "EUR"}


async def test_a_stranger_s_listing_is_not_taken_unless_public_and_followed(
    node, clock, remote, bea
):
    alice = remote.add("alice")
    assert (await deliver(node, clock, alice, created(alice, 1, public=True))).status == 202
    await worker_round(node)
    assert await held(node) == []
    state, reasons = await last_reasons(node)
    assert state == "ignored"
    assert (
        "listings are taken from partner nodes, and public ones from whom members follow" in reasons
    )
    # Once bea follows alice, alice's public listings come in (her private ones still not).
    with activated(node.app[DATABASE]):
        await Follow.create(
            follower=f"{NODE}/users/bea",
            followee=alice.id,
            activity_id=f"{NODE}/users/bea/follows/1",
            activity={},
            state=FollowState.ACCEPTED,
            created_at=clock.now,
        )
    assert (await deliver(node, clock, alice, created(alice, 2, public=True))).status == 202
    assert (await deliver(node, clock, alice, created(alice, 3, public=False))).status == 202
    await worker_round(node)
    assert [c.ap_id for c in await held(node)] == [f"{alice.base}/listings/2"]


async def test_only_the_author_changes_or_withdraws_a_listing(node, clock, remote, bea):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    await make_partner(node, remote)
    await deliver(node, clock, alice, created(alice, 1, public=False))
    await worker_round(node)
    # mallory (same server, so a partner too) sends an Update of alice's listing as hers.
    forged = created(alice, 1, public=False, kind="Update", title="Now mine")
    forged["actor"] = mallory.id
    forged["id"] = f"{remote.base}/activities/forged"
    assert (await deliver(node, clock, mallory, forged)).status == 202
    await worker_round(node)
    assert [c.title for c in await held(node)] == ["Garden chairs"]
    # mallory's Delete of it is refused; alice's own Update then Delete work.
    delete = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{remote.base}/activities/delete-by-mallory",
        "type": "Delete",
        "actor": mallory.id,
        "object": f"{alice.base}/listings/1",
    }
    await deliver(node, clock, mallory, delete)
    await worker_round(node)
    state, reasons = await last_reasons(node)
    assert state == "ignored"
    assert "only its author may withdraw a listing" in reasons
    update = created(alice, 1, public=False, kind="Update", title="Garden chairs (3 left)")
    await deliver(node, clock, alice, update)
    await worker_round(node)
    assert [c.title for c in await held(node)] == ["Garden chairs (3 left)"]
    await deliver(node, clock, alice, {**delete, "id": f"{alice.base}/d", "actor": alice.id})
    await worker_round(node)
    assert await held(node) == []


async def test_an_update_of_a_listing_never_received_is_not_a_way_in(node, clock, remote, bea):
    alice = remote.add("alice")
    await make_partner(node, remote)
    update = created(alice, 9, public=False, kind="Update")
    await deliver(node, clock, alice, update)
    await worker_round(node)
    assert await held(node) == []


async def test_a_group_announces_only_its_own_nodes_listings(
    node, clock, remote, bea, aiohttp_server
):
    alice = remote.add("alice")
    group = remote.add("neighbourhood")
    other = await start_remote(aiohttp_server)
    stranger = other.add("eve")
    await make_partner(node, remote)
    await deliver(node, clock, group, announced(group, created(alice, 1, public=False), 1))
    # The partner's group relaying a listing of another server's member: refused.
    await deliver(node, clock, group, announced(group, created(stranger, 2, public=True), 2))
    await worker_round(node)
    assert [c.ap_id for c in await held(node)] == [f"{alice.base}/listings/1"]
    state, reasons = await last_reasons(node)
    assert state == "ignored"
    assert "a group announces listings of its own node's members only" in reasons


async def test_offers_answer_our_listings_within_their_audience(node, clock, remote, bea):
    alice = remote.add("alice")
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={
            "kind": "give",
            "title": "Sofa, three seats",
            "category": "furniture",
            "audience": "partners",
        },
        headers=bearer(bea),
    )
    listing = await resp.json()
    proposal = await proposal_of(node, listing["url"])
    offer = offer_agreement(f"{alice.base}/offers/1", alice.id, proposal, message_html="<p>Hi</p>")
    # Not a partner: refused.
    await deliver(node, clock, alice, offer)
    await worker_round(node)
    assert await responses(node, bea, listing["id"]) == []
    state, reasons = await last_reasons(node)
    assert state == "ignored"
    assert "the listing is for partner neighbourhoods only" in reasons
    # A partner now: a response, pending.
    await make_partner(node, remote)
    await deliver(node, clock, alice, {**offer, "id": f"{alice.base}/offers/2"})
    await worker_round(node)
    [response] = await responses(node, bea, listing["id"])
    assert (response["responder"], response["message"], response["state"]) == (
        alice.id,
        "Hi",
        "pending",
    )
    # An Offer for more than there is: refused.
    too_many = offer_agreement(f"{alice.base}/offers/3", alice.id, proposal, 5)
    await deliver(node, clock, alice, too_many)
    await worker_round(node)
    assert len(await responses(node, bea, listing["id"])) == 1
    # Accepting sends the Accept with the finalized Agreement to alice's server.
    resp = await node.post(
        f"/api/quartier/v1/listings/responses/{response['id']}/accept", headers=bearer(bea)
    )
    assert resp.status == 200
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()
    accepts = [body for _, body in remote.delivered if body["type"] == "Accept"]
    [accept] = accepts
    assert accept["object"] == f"{alice.base}/offers/2"
    assert accept["result"]["type"] == "Agreement"
    assert accept["result"]["attributedTo"] == f"{NODE}/users/bea"


async def proposal_of(node, url: str) -> ProposalRef:
    """What a partner reads from our listing's Note: its intents (built by our builder, read
    by our reader, as a partner's Quartier would)."""
    with activated(node.app[DATABASE]):
        row = await Listing.get(ap_id=url)
        doc = node.app[LISTINGS].document(row, [])
    return ProposalRef.of_listing(read_listing(doc))


async def responses(node, token: str, listing_id: int) -> list[dict[str, Any]]:
    resp = await node.get(
        f"/api/quartier/v1/listings/{listing_id}/responses", headers=bearer(token)
    )
    return await resp.json()


async def test_deliveries_that_overtake_one_another_never_bring_back_an_older_version(
    node, clock, remote, bea
):
    alice = remote.add("alice")
    await make_partner(node, remote)
    await deliver(node, clock, alice, created(alice, 1, public=False))
    newer = created(
        alice,
        1,
        public=False,
        kind="Update",
        title="Two chairs left",
        updated=datetime(2026, 11, 26, 11, tzinfo=UTC),
    )
    older = created(
        alice,
        1,
        public=False,
        kind="Update",
        title="Three chairs left",
        updated=datetime(2026, 11, 26, 10, 30, tzinfo=UTC),
    )
    older["id"] += "-older"
    await deliver(node, clock, alice, newer)
    await deliver(node, clock, alice, older)
    await worker_round(node)
    assert [c.title for c in await held(node)] == ["Two chairs left"]
    state, reasons = await last_reasons(node)
    assert state == "ignored"
    assert "an older version of a listing we hold" in reasons


async def test_a_withdrawn_copy_kept_for_an_agreement_stays_withdrawn(node, clock, remote, bea):
    alice = remote.add("alice")
    await make_partner(node, remote)
    await deliver(node, clock, alice, created(alice, 1, public=False))
    await worker_round(node)
    # As drop_copy leaves a copy a member has an agreement on (tests/integration/
    # test_listings.py goes the whole way): closed, its document forgotten.
    with activated(node.app[DATABASE]):
        await Listing.filter(local=False).update(status="withdrawn", received=None)
    update = created(
        alice,
        1,
        public=False,
        kind="Update",
        title="Back again",
        updated=datetime(2026, 11, 26, 11, tzinfo=UTC),
    )
    await deliver(node, clock, alice, update)
    await worker_round(node)
    [copy] = await held(node)
    assert (copy.title, copy.status.value) == ("Garden chairs", "withdrawn")
    state, reasons = await last_reasons(node)
    assert state == "ignored"
    assert "the listing was withdrawn" in reasons


async def test_a_deleted_account_takes_its_listings_with_it(node, clock, remote, bea):
    alice, bob = remote.add("alice"), remote.add("bob")
    await make_partner(node, remote)
    for n in (1, 2):
        await deliver(node, clock, alice, created(alice, n, public=False))
    await deliver(node, clock, bob, created(bob, 3, public=False))
    await worker_round(node)
    assert len(await held(node)) == 3
    gone = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.id}#delete",
        "type": "Delete",
        "actor": alice.id,
        "object": alice.id,
        "to": [PUBLIC],
    }
    assert (await deliver(node, clock, alice, gone)).status == 202
    await worker_round(node)
    assert [c.author for c in await held(node)] == [bob.id]


async def test_a_standing_offer_from_elsewhere_is_kept_a_year_at_most(node, clock, remote, bea):
    alice = remote.add("alice")
    await make_partner(node, remote)
    await deliver(node, clock, alice, created(alice, 1, public=False, end_time=None))
    await worker_round(node)
    [copy] = await held(node)
    assert copy.expires_at == clock.now + timedelta(days=365)


async def test_a_partner_s_listing_for_a_few_is_not_shown_to_every_member(node, clock, remote, bea):
    alice = remote.add("alice")
    await make_partner(node, remote)
    followers = f"{alice.id}/followers"
    for n, audience in ((1, None), (2, followers)):
        private = created(alice, n, public=False, audience=audience)
        private["object"]["to"] = [followers]
        private["to"] = [followers]
        assert (await deliver(node, clock, alice, private)).status == 202
        await worker_round(node)
        assert await held(node) == []
        state, reasons = await last_reasons(node)
        assert state == "ignored"
        assert "a listing that is not public is taken when addressed to a neighbourhood" in reasons
    # addressed to this node's neighbourhood group: for our members, as partners' listings are
    ours = created(alice, 3, public=False, audience=None)
    ours["object"]["to"] = [f"{NODE}/groups/neighbourhood"]
    await deliver(node, clock, alice, ours)
    await worker_round(node)
    assert [(c.ap_id, c.audience.value) for c in await held(node)] == [
        (f"{alice.base}/listings/3", "partners")
    ]


async def test_a_copy_the_moderators_hid_does_not_come_back_when_sent_again(
    node, clock, remote, bea
):
    alice = remote.add("alice")
    await make_partner(node, remote)
    await deliver(node, clock, alice, created(alice, 1, public=False))
    await worker_round(node)
    [copy] = await held(node)
    ada = await login(node, "ada")
    resp = await node.post(
        "/api/quartier/v1/moderation/decisions",
        json={"action": "hide", "listing": copy.id, "reason": "Counterfeit"},
        headers=bearer(ada),
    )
    assert resp.status == 201, await resp.text()
    assert await held(node) == []
    # alice sends it again, as a new Create and as an Update: it stays hidden here.
    for n, kind in enumerate(("Create", "Update"), start=2):
        again = created(alice, 1, public=False, kind=kind, title="Garden chairs!")
        again["id"] = f"{remote.base}/activities/again-{n}"
        assert (await deliver(node, clock, alice, again)).status == 202
        await worker_round(node)
        assert await held(node) == []
        state, reasons = await last_reasons(node)
        assert state == "ignored"
        says = "the listing was hidden by this node's moderators"
        # (other handlers of Notes, problem reports among them, give their reasons too)
        unheld = any("a listing we do not hold" in reason for reason in reasons)
        assert says in reasons if kind == "Create" else unheld
    # Another listing of hers still comes in.
    await deliver(node, clock, alice, created(alice, 3, public=False, title="Parasol"))
    await worker_round(node)
    assert [c.title for c in await held(node)] == ["Parasol"]
