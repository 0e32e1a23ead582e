"""Agreements (FEP-0837): the ``Offer(Agreement)``, ``Accept`` and ``Reject`` we send, checked
against the FEP's own examples, and reading theirs and Mitra's in every form they come in.

Expected values are written out from the payloads (tests/data/payloads/listings/, README
there). Pure functions, no event loop.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from activitypub.errors import AgreementMalformed
from activitypub.listings import (
    Agreement,
    Commitment,
    ListingTerms,
    Measure,
    Price,
    ProposalRef,
    ReceivedCompletion,
    ReceivedOffer,
    ServiceDetails,
    accept_agreement,
    agreement_done,
    offer_agreement,
    read_accept,
    read_completion,
    read_listing,
    read_offer,
    read_reject,
    reject_offer,
)

PAYLOADS = Path(__file__).parent.parent / "data" / "payloads" / "listings"
BIKE = "https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930"
ALICE = "https://market.example/users/alice"
BOB = "https://social.example/users/bob"
OFFER = "https://social.example/objects/fc4af0d2-c3a1-409b-947c-3c5be29f49b0/offer"
AGREEMENT = "https://market.example/agreements/edc374aa-e580-4a58-9404-f3e8bf8556b2"
MITRA_PROPOSAL = (
    "https://mitra.example/users/carol/proposals/monero:418015bb9ae982a1975da7d79277c270"
)


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def without_context(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key != "@context"}


# What we send, against the FEP's examples ------------------------------------------------------


def test_our_offer_for_the_feps_bike_is_the_feps_offer() -> None:
    bike = read_listing(payload("fep-0837/proposal_full.json"))
    ours = offer_agreement(OFFER, BOB, ProposalRef.of_listing(bike), 1)
    theirs = payload("fep-0837/offer_agreement.json")
    assert ours["object"] == theirs["object"]
    assert (ours["type"], ours["id"], ours["actor"]) == ("Offer", OFFER, BOB)
    assert ours["to"] == [ALICE]  # the FEP's is the same address, as a string
    # Not in the FEP's current example; its 2023 draft required it.
    assert ours["inReplyTo"] == BIKE


def test_our_accept_of_the_feps_offer_is_the_feps_accept() -> None:
    offer = read_offer(payload("fep-0837/offer_agreement.json"))
    ours = accept_agreement(
        offer,
        AGREEMENT,
        accept_id="https://market.example/activities/059f08fa-31b1-4136-8d76-5987d705a0ab",
        actor=ALICE,
    )
    theirs = without_context(payload("fep-0837/accept_agreement.json"))
    payment_link = theirs["result"].pop("url")  # a payment page: we have none to give
    assert payment_link["rel"] == "payment"
    theirs["to"] = [theirs["to"]]
    assert without_context(ours) == theirs


def test_our_reject_is_the_feps_reject() -> None:
    ours = reject_offer(
        OFFER,
        BOB,
        reject_id="https://market.example/activities/8c05f97f-1531-4b70-9ca8-4ee4a09f36a4",
        actor=ALICE,
        reason="Not available",
    )
    theirs = without_context(payload("fep-0837/reject_offer.json"))
    theirs["to"] = [theirs["to"]]
    assert without_context(ours) == theirs


def test_an_offer_for_several_units_multiplies_in_the_proposals_spelling() -> None:
    trowels = read_listing(payload("epicyon/proposal_shared_item.json"))
    offer = offer_agreement(
        "https://quartier.example/users/bob/offers/1",
        "https://quartier.example/users/bob",
        ProposalRef.of_listing(trowels),
        2,
    )
    # A lot of two trowels at 3.50: two lots are four trowels at 7.00.
    assert offer["object"]["stipulates"]["resourceQuantity"] == {
        "hasUnit": "one",
        "hasNumericalValue": "4.0",
    }
    assert offer["object"]["stipulatesReciprocal"]["resourceQuantity"] == {
        "hasUnit": "one",
        "hasNumericalValue": "7.00",
    }


def test_an_offer_for_mitras_proposal_is_in_its_units() -> None:
    proposal = ProposalRef.of_listing(read_listing(payload("mitra/proposal.json")))
    offer = offer_agreement(
        "https://quartier.example/o/1", "https://quartier.example/u/b", proposal, 8
    )
    assert offer["object"]["stipulates"] == {
        "type": "Commitment",
        "satisfies": f"{MITRA_PROPOSAL}#primary",
        "resourceQuantity": {"hasUnit": "second", "hasNumericalValue": "8"},
    }
    assert offer["object"]["stipulatesReciprocal"]["resourceQuantity"] == {
        "hasUnit": "one",
        "hasNumericalValue": "200000",
    }


TILLEULS = "https://tilleuls.example"


def our_listing(**changes: Any) -> ListingTerms:
    base: dict[str, Any] = {
        "id": f"{TILLEULS}/listings/9",
        "author": f"{TILLEULS}/users/ada",
        "kind": "sell",
        "title": "Étagère",
        "content_html": "",
        "published": datetime(2026, 12, 1, tzinfo=UTC),
        "price": Price(Decimal(15), "EUR"),
        "quantity": 3,
        "available_quantity": 3,
    }
    base.update(changes)
    return ListingTerms(**base)


def test_an_offer_for_one_of_ours_reads_back_for_what_was_asked() -> None:
    bob = "https://other.example/users/bob"
    offer = offer_agreement(
        "https://other.example/offers/3",
        bob,
        ProposalRef.of_terms(our_listing()),
        2,
        message_html="<p>Je passe samedi ?</p>",
        published=datetime(2026, 12, 2, 10, tzinfo=UTC),
    )
    assert offer["to"] == [f"{TILLEULS}/users/ada"]
    received = read_offer(offer)
    assert received == ReceivedOffer(
        id="https://other.example/offers/3",
        actor=bob,
        proposal=f"{TILLEULS}/listings/9",
        agreement=Agreement(
            primary=Commitment(f"{TILLEULS}/listings/9#primary", Measure("one", Decimal(2))),
            reciprocal=Commitment(
                f"{TILLEULS}/listings/9#reciprocal", Measure("one", Decimal("30.00"))
            ),
        ),
        message="Je passe samedi ?",
        to=(f"{TILLEULS}/users/ada",),
    )
    assert received.quantity == 2
    accepted = read_accept(
        accept_agreement(
            received,
            f"{TILLEULS}/agreements/1",
            accept_id=f"{TILLEULS}/accepts/1",
            actor=offer["to"][0],
        )
    )
    assert accepted.offer == "https://other.example/offers/3"
    assert accepted.agreement is not None
    assert accepted.agreement.primary.id == f"{TILLEULS}/agreements/1#primary"
    assert accepted.agreement.reciprocal is not None
    assert accepted.agreement.reciprocal.quantity == Measure("one", Decimal("30.00"))


def test_a_gift_has_no_reciprocal_and_a_service_at_a_price_to_agree_has_no_amount() -> None:
    gift = offer_agreement(
        "https://o.example/1",
        "https://o.example/u",
        ProposalRef.of_terms(our_listing(kind="give", price=None)),
    )
    assert "stipulatesReciprocal" not in gift["object"]
    service = our_listing(kind="service", price=None, details=ServiceDetails(paid=True))
    offer = offer_agreement(
        "https://o.example/2", "https://o.example/u", ProposalRef.of_terms(service)
    )
    assert offer["object"]["stipulatesReciprocal"] == {
        "type": "Commitment",
        "satisfies": f"{TILLEULS}/listings/9#reciprocal",
        "resourceQuantity": {"hasUnit": "one"},
    }
    with pytest.raises(ValueError, match="at least one"):
        offer_agreement(
            "https://o.example/3", "https://o.example/u", ProposalRef.of_terms(service), 0
        )


# Reading theirs --------------------------------------------------------------------------------


def test_the_feps_offer() -> None:
    offer = read_offer(payload("fep-0837/offer_agreement.json"))
    assert offer == ReceivedOffer(
        id=OFFER,
        actor=BOB,
        # No inReplyTo: the proposal is the primary intent's id without its fragment.
        proposal=BIKE,
        agreement=Agreement(
            primary=Commitment(f"{BIKE}#primary", Measure("one", Decimal(1))),
            reciprocal=Commitment(f"{BIKE}#reciprocal", Measure("one", Decimal(30))),
        ),
        to=(ALICE,),
    )


def test_the_2023_drafts_offer_of_a_commitment() -> None:
    offer = read_offer(payload("fep-0837/offer_commitment_2023.json"))
    assert offer.proposal == BIKE  # its inReplyTo
    assert offer.agreement == Agreement(
        primary=Commitment(f"{BIKE}#primary", Measure("one", Decimal(1)))
    )


def test_mitras_offer() -> None:
    offer = read_offer(payload("mitra/offer_agreement.json"))
    assert offer.actor == "https://mitra.example/users/dave"
    assert offer.proposal == "https://quartier.example/listings/42"
    assert offer.agreement.primary.quantity == Measure("second", Decimal(8))
    assert offer.agreement.reciprocal is not None
    assert offer.agreement.reciprocal.quantity == Measure("one", Decimal(200000))
    assert offer.to == ("https://quartier.example/users/bob",)


@pytest.mark.parametrize(
    ("name", "attributed_to"),
    [
        ("fep-0837/accept_agreement.json", ALICE),
        # Spelt "stiplulates", as the FEP's example was until October 2025.
        ("fep-0837/accept_agreement_2024.json", None),
    ],
)
def test_the_feps_accepts(name: str, attributed_to: str | None) -> None:
    accepted = read_accept(payload(name))
    assert accepted.actor == ALICE
    assert accepted.offer == OFFER
    assert accepted.agreement_id == AGREEMENT
    assert accepted.agreement == Agreement(
        primary=Commitment(f"{BIKE}#primary", Measure("one", Decimal(1)), f"{AGREEMENT}#primary"),
        reciprocal=Commitment(
            f"{BIKE}#reciprocal", Measure("one", Decimal(30)), f"{AGREEMENT}#reciprocal"
        ),
        id=AGREEMENT,
        attributed_to=attributed_to,
        url="https://pay.example/invoices/7f1f0c81-0108-4c91-9cb1-d38ebccc3aa1",
    )


def test_mitras_accept() -> None:
    accepted = read_accept(payload("mitra/accept_offer.json"))
    assert accepted.offer == "https://quartier.example/users/bob/offers/7"
    assert accepted.agreement is not None
    assert accepted.agreement.primary.quantity == Measure("second", Decimal(2400))
    assert accepted.agreement.attributed_to == "https://mitra.example/users/carol"
    assert accepted.agreement.url is None  # a caip:10 account, not a page


def test_the_feps_reject() -> None:
    rejected = read_reject(payload("fep-0837/reject_offer.json"))
    assert (rejected.actor, rejected.offer, rejected.reason) == (ALICE, OFFER, "Not available")


@pytest.mark.parametrize(
    "change",
    [
        {"object": {"type": "Offer", "id": OFFER, "actor": BOB}},  # the Offer embedded
        {"object": [OFFER]},
        {"result": AGREEMENT},  # the Agreement by id only
    ],
)
def test_accept_forms(change: dict[str, Any]) -> None:
    accepted = read_accept({**payload("fep-0837/accept_agreement.json"), **change})
    assert accepted.offer == OFFER
    assert accepted.agreement_id == AGREEMENT


def test_an_accept_of_an_embedded_agreement() -> None:
    doc = payload("fep-0837/accept_agreement.json")
    doc["object"] = doc.pop("result")
    accepted = read_accept(doc)
    assert accepted.offer is None
    assert accepted.agreement_id == AGREEMENT


def test_a_reject_of_an_embedded_offer() -> None:
    doc = payload("fep-0837/reject_offer.json")
    doc["object"] = {"type": "Offer", "id": OFFER}
    assert read_reject(doc).offer == OFFER


# What we refuse --------------------------------------------------------------------------------


def offer_with(**changes: Any) -> dict[str, Any]:
    doc = payload("fep-0837/offer_agreement.json")
    doc.update(changes)
    return {key: value for key, value in doc.items() if value is not None}


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"type": "Create"}, "not an Offer"),
        (offer_with(id=None), "no id or no actor"),
        (offer_with(actor="javascript:x"), "no id or no actor"),
        (offer_with(object="https://social.example/agreements/1"), "not embedded"),
        (offer_with(object={"type": "Note", "content": "hi"}), "Offer is of Note"),
        (offer_with(object={"type": "Agreement"}), "stipulates nothing"),
        (
            offer_with(object={"type": "Agreement", "stipulates": "https://x.example/c"}),
            "not an embedded",
        ),
        (
            offer_with(object={"type": "Agreement", "stipulates": {"type": "Commitment"}}),
            "satisfies no intent",
        ),
        (
            offer_with(
                object={
                    "type": "Agreement",
                    "stipulates": {"type": "Commitment", "satisfies": f"{BIKE}#primary"},
                }
            ),
            "no resourceQuantity",
        ),
        (
            offer_with(
                object={
                    "type": "Agreement",
                    "stipulates": {
                        "type": "Commitment",
                        "satisfies": f"{BIKE}#primary",
                        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "-1"},
                    },
                }
            ),
            "negative",
        ),
        (
            offer_with(
                object={
                    "type": "Commitment",
                    "satisfies": "urn:x:1",
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
                }
            ),
            "names no proposal",
        ),
    ],
)
def test_bad_offers_say_why(doc: dict[str, Any], reason: str) -> None:
    with pytest.raises(AgreementMalformed, match=reason):
        read_offer(doc)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"object": {"type": "Follow", "id": OFFER}}, "Accept is of a Follow"),
        ({"object": None, "result": None}, "names no Offer"),
        ({"actor": "https://evil.example/users/mallory"}, "attributed to someone else"),
    ],
)
def test_bad_accepts_say_why(change: dict[str, Any], reason: str) -> None:
    doc = {**payload("fep-0837/accept_agreement.json"), **change}
    with pytest.raises(AgreementMalformed, match=reason):
        read_accept({k: v for k, v in doc.items() if v is not None})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "Accept"}, "not a Reject"),
        ({"object": {"type": "Follow", "id": OFFER}}, "Reject is of a Follow"),
        ({"object": 5}, "names no Offer"),
    ],
)
def test_bad_rejects_say_why(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(AgreementMalformed, match=reason):
        read_reject({**payload("fep-0837/reject_offer.json"), **change})


def test_a_hostile_reason_is_text() -> None:
    doc = {**payload("fep-0837/reject_offer.json"), "content": "<script>x()</script><b>Sold</b>"}
    assert read_reject(doc).reason == "Sold"


def test_a_reason_is_sent_as_escaped_text_and_read_back_as_written() -> None:
    reason = "Promised to Tom & Jerry <3"
    reject = reject_offer(OFFER, BOB, reject_id=f"{OFFER}/reject", actor=ALICE, reason=reason)
    assert reject["content"] == "Promised to Tom &amp; Jerry &lt;3"
    assert read_reject(reject).reason == reason


def test_an_agreement_marked_done_reads_back_as_sent() -> None:
    sent = agreement_done(
        AGREEMENT, update_id=f"{BOB}/updates/1", actor=BOB, to=ALICE, thanks="Thanks!"
    )
    assert read_completion(sent) == ReceivedCompletion(
        id=f"{BOB}/updates/1", actor=BOB, agreement_id=AGREEMENT, thanks="Thanks!"
    )
    bare = agreement_done(AGREEMENT, update_id=f"{BOB}/updates/2", actor=BOB, to=ALICE)
    assert "thanks" not in bare["object"]
    assert read_completion(bare).thanks == ""
    long = agreement_done(
        AGREEMENT, update_id=f"{BOB}/updates/3", actor=BOB, to=ALICE, thanks="x" * 5000
    )
    assert len(read_completion(long).thanks) == 500


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"type": "Accept"}, "not an Update"),
        ({"actor": None}, "no id or no actor"),
        ({"object": AGREEMENT}, "not of an embedded Agreement"),
        ({"object": {"id": AGREEMENT, "type": "Note", "agreementStatus": "done"}}, "Agreement"),
        ({"object": {"type": "Agreement", "agreementStatus": "done"}}, "has no id"),
        ({"object": {"id": AGREEMENT, "type": "Agreement"}}, "is not done"),
        (
            {"object": {"id": AGREEMENT, "type": "Agreement", "agreementStatus": "cancelled"}},
            "is not done",
        ),
        (
            {
                "object": {
                    "id": AGREEMENT,
                    "type": "Agreement",
                    "agreementStatus": "done",
                    "thanks": {"en": "hi"},
                }
            },
            "thanks is not text",
        ),
    ],
)
def test_what_is_not_an_agreement_marked_done_is_refused(
    change: dict[str, Any], words: str
) -> None:
    doc = {**agreement_done(AGREEMENT, update_id=f"{BOB}/u", actor=BOB, to=ALICE), **change}
    with pytest.raises(AgreementMalformed, match=words):
        read_completion(doc)
