"""The JSON-LD vocabulary of listings: FEP-0837 (Valueflows), and our own terms.

Every listing, Offer, Accept and Reject we send carries :data:`CONTEXT` inline, so that no
reader needs to fetch a context document beyond ActivityStreams' own (Mitra and the FEP's
examples do the same).

**Our namespace** is ``urn:uuid:03bb033a-b5f1-4172-b75d-83527ad05bbc#`` (:data:`NAMESPACE`).
A namespace IRI must be one nobody else can mint: a ``tag:`` URI (RFC 4151) needs a domain or
an e-mail address we held on a given date, and a ``https://w3id.org/...`` IRI needs a
registration we have not made (minting one first would let anyone register the name under
us). A UUID URN (RFC 9562) is unique by construction and needs no authority; like every other
term here it is defined inline, so nothing ever dereferences it. If Quartier registers a
w3id.org name one day, readers keep accepting these terms by their compact names.

The FEP-0837 terms are mapped exactly as the FEP's context document (``fep-0837.jsonld``) and
its examples map them: Valueflows ``https://w3id.org/valueflows/ont/vf#`` and the Ontology of
units of Measure for ``hasUnit``/``hasNumericalValue``.
"""

from __future__ import annotations

from typing import Any, Final

from activitypub.namespace import NAMESPACE

AS_CONTEXT: Final = "https://www.w3.org/ns/activitystreams"
PUBLIC: Final = "https://www.w3.org/ns/activitystreams#Public"
VALUEFLOWS: Final = "https://w3id.org/valueflows/ont/vf#"
OM2: Final = "http://www.ontology-of-units-of-measure.org/resource/om-2/"
XSD: Final = "http://www.w3.org/2001/XMLSchema#"

# FEP-0837 recommends these fragment identifiers for the intents of a proposal and for the
# commitments of an agreement.
PRIMARY: Final = "primary"
RECIPROCAL: Final = "reciprocal"

# The unit of countable things (OM2 ``one``), the only one we send.
UNIT_ONE: Final = "one"

_FEP_0837_TERMS: dict[str, Any] = {
    "vf": VALUEFLOWS,
    "om2": OM2,
    "Proposal": "vf:Proposal",
    "Intent": "vf:Intent",
    "Agreement": "vf:Agreement",
    "Commitment": "vf:Commitment",
    "purpose": "vf:purpose",
    "publishes": "vf:publishes",
    "reciprocal": "vf:reciprocal",
    "unitBased": "vf:unitBased",
    "action": "vf:action",
    "resourceConformsTo": "vf:resourceConformsTo",
    "resourceQuantity": "vf:resourceQuantity",
    "availableQuantity": "vf:availableQuantity",
    "minimumQuantity": "vf:minimumQuantity",
    "satisfies": "vf:satisfies",
    "stipulates": "vf:stipulates",
    "stipulatesReciprocal": "vf:stipulatesReciprocal",
    "hasUnit": "om2:hasUnit",
    "hasNumericalValue": "om2:hasNumericalValue",
}


def _ours(name: str, datatype: str | None = None) -> Any:
    if datatype is None:
        return f"{NAMESPACE}{name}"
    return {"@id": f"{NAMESPACE}{name}", "@type": datatype}


# Our terms, each documented in docs/listings.md ("Our namespace").
OUR_TERMS: dict[str, Any] = {
    "listingKind": _ours("listingKind"),
    "listingStatus": _ours("listingStatus"),
    "listingCategory": _ours("listingCategory"),
    "totalQuantity": _ours("totalQuantity", f"{XSD}nonNegativeInteger"),
    "returnBy": _ours("returnBy", f"{XSD}date"),
    "loanDays": _ours("loanDays", f"{XSD}nonNegativeInteger"),
    "requestNeed": _ours("requestNeed"),
    "paidService": _ours("paidService", f"{XSD}boolean"),
    "respondersVerified": _ours("respondersVerified", f"{XSD}boolean"),
    "rideFrom": _ours("rideFrom"),
    "rideTo": _ours("rideTo"),
    "seats": _ours("seats", f"{XSD}nonNegativeInteger"),
    "rideRecurrence": _ours("rideRecurrence"),
    "agreementStatus": _ours("agreementStatus"),
    "thanks": _ours("thanks"),
}

CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        # Not in the ActivityStreams context, though everyone sends it (Mastodon's mapping).
        "Hashtag": "as:Hashtag",
        **_FEP_0837_TERMS,
        # schema.org's ISO 4217 code of a price, on the reciprocal intent: it says the
        # currency to readers that know no Wikidata item (and for currencies we have none for).
        "priceCurrency": "http://schema.org/priceCurrency",
        **OUR_TERMS,
    },
]
