"""Responding to a listing, FEP-0837: ``Offer(Agreement)``, answered by ``Accept`` or ``Reject``.

The flow, as the FEP draws it: Bob sends Alice an ``Offer`` whose object is an ``Agreement``
that ``stipulates`` a ``Commitment`` satisfying the proposal's primary intent (and
``stipulatesReciprocal`` one satisfying its reciprocal intent, when it has one); Alice answers
with an ``Accept`` whose ``object`` is the Offer's id and whose ``result`` is the finalized
Agreement (with ids, ``attributedTo`` Alice), or with a ``Reject`` of the Offer.

We also put the proposal's id in the Offer's ``inReplyTo``: the FEP's 2023 draft required it,
and it lets a reader find the listing without taking the intent's id apart. Readers accept the
2023 draft's ``Offer(Commitment)`` as well, the Accept's ``object`` as an id or an embedded
Offer, its ``result`` embedded or as an id, and ``stiplulates`` (the FEP's own examples spelt it
so until October 2025).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from activitypub.errors import AgreementMalformed, ListingError
from activitypub.listings.read import read_measure
from activitypub.listings.terms import (
    ListingTerms,
    Measure,
    ReceivedListing,
    ServiceDetails,
)
from activitypub.listings.vocabulary import CONTEXT, PRIMARY, RECIPROCAL, UNIT_ONE
from activitypub.notes import html_to_text
from activitypub.properties import (
    first_reference,
    format_timestamp,
    identifier,
    link_href,
    natural_language,
    object_types,
    reference,
    values,
)

MAX_MESSAGE = 2000
MAX_THANKS = 500
# A Measure is frozen: one instance may be every proposal's default.
ONE_ITEM = Measure(UNIT_ONE, Decimal(1))


@dataclass(frozen=True)
class ProposalRef:
    """What an ``Offer(Agreement)`` must name and match of the listing it answers: its intents,
    and the quantities of one unit of it (``primary``) and of what is asked in return for one
    unit (``reciprocal``; its value is ``None`` when the amount is to be agreed).

    FEP-0837: "The units specified in the agreement MUST match the units specified in the
    proposal", and the amounts must be the proposal's (or multiples of them when it is
    ``unitBased``): an offer for ``n`` units multiplies both quantities by ``n``, in the
    proposal's own spelling ("30" stays "30", "3.50" times 2 is "7.00").
    """

    id: str
    author: str
    primary_intent: str
    primary: Measure = ONE_ITEM
    reciprocal_intent: str | None = None
    reciprocal: Measure | None = None

    @classmethod
    def of_listing(cls, listing: ReceivedListing) -> ProposalRef:
        """The proposal a listing received from another server makes."""
        primary = listing.resource_quantity
        if primary is None or primary.value is None:
            primary = Measure(primary.unit if primary else UNIT_ONE, Decimal(1))
        reciprocal = listing.reciprocal_quantity
        if listing.reciprocal_intent is not None and reciprocal is None:
            reciprocal = Measure(UNIT_ONE, None)
        return cls(
            id=listing.id,
            author=listing.author,
            primary_intent=listing.primary_intent or f"{listing.id}#{PRIMARY}",
            primary=primary,
            reciprocal_intent=listing.reciprocal_intent,
            reciprocal=reciprocal if listing.reciprocal_intent is not None else None,
        )

    @classmethod
    def of_terms(cls, terms: ListingTerms) -> ProposalRef:
        """The proposal one of our listings makes (its intents and quantities as
        :func:`~activitypub.listings.listing_object` publishes them: one item per unit)."""
        reciprocal: Measure | None = None
        if terms.price is not None:
            reciprocal = Measure(UNIT_ONE, terms.price.amount)
        elif _paid_service(terms):
            reciprocal = Measure(UNIT_ONE, None)
        return cls(
            id=terms.id,
            author=terms.author,
            primary_intent=f"{terms.id}#{PRIMARY}",
            reciprocal_intent=f"{terms.id}#{RECIPROCAL}" if reciprocal else None,
            reciprocal=reciprocal,
        )


@dataclass(frozen=True)
class Commitment:
    """A promised transfer: the intent it satisfies and how much."""

    satisfies: str
    quantity: Measure
    id: str | None = None


@dataclass(frozen=True)
class Agreement:
    """An agreement: what the responder gets (``primary``) and gives back (``reciprocal``)."""

    primary: Commitment
    reciprocal: Commitment | None = None
    id: str | None = None
    attributed_to: str | None = None
    # A page about the agreement (a payment page, FEP-0ea0), when it is an http(s) link.
    url: str | None = None


@dataclass(frozen=True)
class ReceivedOffer:
    """An ``Offer(Agreement)``: who responds to which listing, for how much, and what they say."""

    id: str
    actor: str
    proposal: str
    agreement: Agreement
    message: str = ""
    to: tuple[str, ...] = ()

    @property
    def quantity(self) -> int | None:
        """How many units the responder asks for, when it is a whole number of them."""
        value = self.agreement.primary.quantity.value
        if value is None or value != value.to_integral_value():
            return None
        return int(value)


@dataclass(frozen=True)
class ReceivedAcceptance:
    """An ``Accept`` of an Offer: the finalized agreement when it is embedded."""

    id: str
    actor: str
    offer: str | None
    agreement: Agreement | None
    agreement_id: str | None


@dataclass(frozen=True)
class ReceivedRejection:
    """A ``Reject`` of an Offer, with the reason given (plain text)."""

    id: str
    actor: str
    offer: str
    reason: str = ""


@dataclass(frozen=True)
class ReceivedCompletion:
    """One side saying an agreement happened: an ``Update`` of the ``Agreement`` with our
    ``agreementStatus`` ``done``, and that side's thank-you (plain text)."""

    id: str
    actor: str
    agreement_id: str
    thanks: str = ""


def offer_agreement(
    offer_id: str,
    actor: str,
    proposal: ProposalRef,
    quantity: int = 1,
    *,
    message_html: str = "",
    published: datetime | None = None,
) -> dict[str, Any]:
    """The ``Offer(Agreement)`` with which ``actor`` responds to ``proposal`` for ``quantity``
    units, addressed to the proposal's author only. ``message_html`` (already safe HTML) is
    what the responder writes."""
    if quantity < 1:
        raise ValueError("an offer is for at least one unit")
    agreement: dict[str, Any] = {
        "type": "Agreement",
        "stipulates": {
            "type": "Commitment",
            "satisfies": proposal.primary_intent,
            "resourceQuantity": _times(proposal.primary, quantity),
        },
    }
    if proposal.reciprocal_intent is not None:
        agreement["stipulatesReciprocal"] = {
            "type": "Commitment",
            "satisfies": proposal.reciprocal_intent,
            "resourceQuantity": _times(proposal.reciprocal or Measure(UNIT_ONE, None), quantity),
        }
    offer: dict[str, Any] = {
        "@context": CONTEXT,
        "id": offer_id,
        "type": "Offer",
        "actor": actor,
        "object": agreement,
        "inReplyTo": proposal.id,
        "to": [proposal.author],
    }
    if message_html:
        offer["content"] = message_html
    if published is not None:
        offer["published"] = format_timestamp(published)
    return offer


def accept_agreement(
    offer: ReceivedOffer,
    agreement_id: str,
    *,
    accept_id: str,
    actor: str,
    url: str | None = None,
    published: datetime | None = None,
) -> dict[str, Any]:
    """The ``Accept`` of ``offer`` by the listing's author ``actor``: ``object`` the Offer's
    id, ``result`` the finalized Agreement (ids on it and on its commitments, the quantities of
    the Offer), as FEP-0837 requires."""
    finalized: dict[str, Any] = {
        "type": "Agreement",
        "id": agreement_id,
        "attributedTo": actor,
        "stipulates": _commitment_json(offer.agreement.primary, f"{agreement_id}#{PRIMARY}"),
    }
    if offer.agreement.reciprocal is not None:
        finalized["stipulatesReciprocal"] = _commitment_json(
            offer.agreement.reciprocal, f"{agreement_id}#{RECIPROCAL}"
        )
    if url:
        finalized["url"] = url
    accept: dict[str, Any] = {
        "@context": CONTEXT,
        "id": accept_id,
        "type": "Accept",
        "actor": actor,
        "object": offer.id,
        "result": finalized,
        "to": [offer.actor],
    }
    if published is not None:
        accept["published"] = format_timestamp(published)
    return accept


def reject_offer(
    offer_id: str,
    responder: str,
    *,
    reject_id: str,
    actor: str,
    reason: str = "",
    published: datetime | None = None,
) -> dict[str, Any]:
    """The ``Reject`` of the Offer ``offer_id`` (sent by ``responder``), with an optional
    plain-text reason."""
    reject: dict[str, Any] = {
        "@context": CONTEXT,
        "id": reject_id,
        "type": "Reject",
        "actor": actor,
        "object": offer_id,
        "to": [responder],
    }
    if reason:
        reject["content"] = html.escape(reason, quote=False)
    if published is not None:
        reject["published"] = format_timestamp(published)
    return reject


def agreement_done(
    agreement_id: str,
    *,
    update_id: str,
    actor: str,
    to: str,
    thanks: str = "",
    published: datetime | None = None,
) -> dict[str, Any]:
    """``actor``'s ``Update`` saying the agreement ``agreement_id`` happened (our
    ``agreementStatus`` ``done``, FEP-0837 has no word for it), with a plain-text thank-you,
    to the other side ``to``."""
    agreement: dict[str, Any] = {
        "id": agreement_id,
        "type": "Agreement",
        "agreementStatus": "done",
    }
    if thanks:
        agreement["thanks"] = thanks
    update: dict[str, Any] = {
        "@context": CONTEXT,
        "id": update_id,
        "type": "Update",
        "actor": actor,
        "object": agreement,
        "to": [to],
    }
    if published is not None:
        update["published"] = format_timestamp(published)
    return update


def read_completion(doc: Any) -> ReceivedCompletion:
    """An ``Update`` of an ``Agreement`` to ``agreementStatus`` ``done`` (see
    :func:`agreement_done`); :exc:`~activitypub.errors.AgreementMalformed` otherwise."""
    update_id, actor = _activity(doc, "Update")
    obj = next((v for v in values(doc.get("object"), limit=5) if isinstance(v, dict)), None)
    if obj is None or "Agreement" not in object_types(obj):
        raise AgreementMalformed("the Update is not of an embedded Agreement")
    agreement_id = reference(obj.get("id"))
    if agreement_id is None:
        raise AgreementMalformed("the Agreement has no id")
    status = obj.get("agreementStatus")
    if status != "done":
        raise AgreementMalformed(f"agreementStatus {status!r} is not done")
    thanks = obj.get("thanks", "")
    if not isinstance(thanks, str):
        raise AgreementMalformed("thanks is not text")
    return ReceivedCompletion(
        id=update_id, actor=actor, agreement_id=agreement_id, thanks=thanks[:MAX_THANKS]
    )


def read_offer(doc: Any) -> ReceivedOffer:
    """An ``Offer`` of an Agreement (or, as in FEP-0837's 2023 draft, of a Commitment) in
    plain values; :exc:`~activitypub.errors.AgreementMalformed` says what is missing."""
    offer_id, actor = _activity(doc, "Offer")
    obj = next((v for v in values(doc.get("object"), limit=5) if isinstance(v, dict)), None)
    if obj is None:
        raise AgreementMalformed("the Offer's object is not embedded (an Agreement is needed)")
    types = object_types(obj)
    if "Agreement" in types:
        agreement = _agreement(obj)
    elif "Commitment" in types:
        agreement = Agreement(primary=_commitment(obj, "object"))
    else:
        raise AgreementMalformed(f"the Offer is of {'/'.join(sorted(types)) or 'no type'}")
    proposal = first_reference(doc.get("inReplyTo")) or _without_fragment(
        agreement.primary.satisfies
    )
    if proposal is None:
        raise AgreementMalformed("the Offer names no proposal (inReplyTo or an intent's id)")
    return ReceivedOffer(
        id=offer_id,
        actor=actor,
        proposal=proposal,
        agreement=agreement,
        message=html_to_text(natural_language(doc, "content"), MAX_MESSAGE),
        to=tuple(a for a in (reference(x) for x in values(doc.get("to"), 20)) if a),
    )


def read_accept(doc: Any) -> ReceivedAcceptance:
    """An ``Accept`` of an Offer: its ``object`` the Offer (an id or embedded), its ``result``
    the Agreement (embedded or an id). An Accept whose object is an embedded Agreement (not the
    FEP's form, but a reading of it) is taken too."""
    accept_id, actor = _activity(doc, "Accept")
    offer: str | None = None
    agreement: Agreement | None = None
    for item in values(doc.get("object"), limit=5):
        if isinstance(item, dict) and "Agreement" in object_types(item):
            agreement = _agreement(item)
        elif isinstance(item, dict) and object_types(item) and "Offer" not in object_types(item):
            raise AgreementMalformed(f"the Accept is of a {'/'.join(sorted(object_types(item)))}")
        else:
            offer = offer or reference(item)
    result = next(iter(values(doc.get("result"), limit=5)), None)
    if isinstance(result, dict) and "Agreement" in object_types(result):
        agreement = _agreement(result)
    agreement_id = agreement.id if agreement else reference(result)
    if offer is None and agreement is None:
        raise AgreementMalformed("the Accept names no Offer and carries no Agreement")
    if agreement and agreement.attributed_to and agreement.attributed_to != actor:
        raise AgreementMalformed("the accepted Agreement is attributed to someone else")
    return ReceivedAcceptance(
        id=accept_id, actor=actor, offer=offer, agreement=agreement, agreement_id=agreement_id
    )


def read_reject(doc: Any) -> ReceivedRejection:
    """A ``Reject`` of an Offer (its ``object`` an id or the embedded Offer)."""
    reject_id, actor = _activity(doc, "Reject")
    item = next(iter(values(doc.get("object"), limit=5)), None)
    if isinstance(item, dict) and object_types(item) and "Offer" not in object_types(item):
        raise AgreementMalformed(f"the Reject is of a {'/'.join(sorted(object_types(item)))}")
    offer = reference(item)
    if offer is None:
        raise AgreementMalformed("the Reject names no Offer")
    return ReceivedRejection(
        id=reject_id,
        actor=actor,
        offer=offer,
        reason=html_to_text(natural_language(doc, "content"), MAX_MESSAGE),
    )


def _activity(doc: Any, kind: str) -> tuple[str, str]:
    if not isinstance(doc, dict) or kind not in object_types(doc):
        article = "an" if kind[0] in "AEIOU" else "a"
        raise AgreementMalformed(f"not {article} {kind}")
    activity_id = reference(doc.get("id"))
    actor = first_reference(doc.get("actor"))
    if activity_id is None or actor is None:
        raise AgreementMalformed(f"the {kind} has no id or no actor")
    return activity_id, actor


def _agreement(obj: dict[str, Any]) -> Agreement:
    primary = obj.get("stipulates", obj.get("stiplulates"))
    if primary is None:
        raise AgreementMalformed("the Agreement stipulates nothing")
    reciprocal = obj.get("stipulatesReciprocal")
    url = next((u for u in (link_href(x) for x in values(obj.get("url"), 5)) if u), None)
    return Agreement(
        primary=_commitment(primary, "stipulates"),
        reciprocal=_commitment(reciprocal, "stipulatesReciprocal") if reciprocal else None,
        id=identifier(obj.get("id")),
        attributed_to=first_reference(obj.get("attributedTo")),
        url=url,
    )


def _commitment(value: Any, where: str) -> Commitment:
    item = next((v for v in values(value, limit=5) if isinstance(v, dict)), None)
    if item is None:
        raise AgreementMalformed(f"{where} is not an embedded Commitment")
    satisfies = identifier(item.get("satisfies"))
    if satisfies is None:
        raise AgreementMalformed(f"{where} satisfies no intent")
    try:
        quantity = read_measure(item.get("resourceQuantity"), f"{where}.resourceQuantity")
    except ListingError as error:
        raise AgreementMalformed(str(error)) from None
    if quantity is None:
        raise AgreementMalformed(f"{where} has no resourceQuantity")
    return Commitment(satisfies=satisfies, quantity=quantity, id=identifier(item.get("id")))


def _times(measure: Measure, quantity: int) -> dict[str, Any]:
    """A quantity ``quantity`` times over, or with no amount when it is to be agreed."""
    json: dict[str, Any] = {"hasUnit": measure.unit}
    if measure.value is not None:
        json["hasNumericalValue"] = str(measure.value * quantity)
    return json


def _commitment_json(commitment: Commitment, commitment_id: str) -> dict[str, Any]:
    return {
        "id": commitment_id,
        "type": "Commitment",
        "satisfies": commitment.satisfies,
        "resourceQuantity": _times(commitment.quantity, 1),
    }


def _without_fragment(intent: str) -> str | None:
    return reference(intent.split("#", 1)[0])


def _paid_service(terms: ListingTerms) -> bool:
    return isinstance(terms.details, ServiceDetails) and terms.details.paid
