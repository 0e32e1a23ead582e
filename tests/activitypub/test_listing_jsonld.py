"""Everything we send about listings is valid JSON-LD, and every term in it is defined.

Expanded with PyLD, offline: the document loader serves the ActivityStreams context from a local
copy (tests/data/contexts/activitystreams.jsonld, the published context, whose ``@vocab`` is
``_:``) and refuses every other URL, so a context we forgot to inline fails here instead of
being fetched. Under ``"@vocab": "_:"`` an undefined term does not vanish: it expands to a
blank-node IRI ``_:term``, which :func:`undefined_terms` finds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from activitypub.listings import NAMESPACE
from tests.activitypub.listing_examples import examples

DATA = Path(__file__).parent.parent / "data"
AS_CONTEXT = json.loads((DATA / "contexts" / "activitystreams.jsonld").read_text())
VF = "https://w3id.org/valueflows/ont/vf#"
OM2 = "http://www.ontology-of-units-of-measure.org/resource/om-2/"
AS = "https://www.w3.org/ns/activitystreams#"


def offline_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    if url.rstrip("#") == "https://www.w3.org/ns/activitystreams":
        return {"contextUrl": None, "documentUrl": url, "document": AS_CONTEXT}
    raise AssertionError(f"a context we do not carry inline: {url}")


def expand(doc: dict[str, Any]) -> list[dict[str, Any]]:
    expanded: list[dict[str, Any]] = jsonld.expand(doc, {"documentLoader": offline_loader})
    return expanded


def undefined_terms(expanded: Any) -> set[str]:
    """Every property or type that expanded to a blank-node IRI (a term no context defines)."""
    found: set[str] = set()
    if isinstance(expanded, list):
        for item in expanded:
            found |= undefined_terms(item)
    elif isinstance(expanded, dict):
        for key, value in expanded.items():
            if key.startswith("_:"):
                found.add(key)
            if key == "@type":
                found |= {t for t in value if isinstance(t, str) and t.startswith("_:")}
            if key != "@value":
                found |= undefined_terms(value)
    return found


def iris(expanded: Any) -> set[str]:
    """Every property IRI used anywhere in an expanded document."""
    found: set[str] = set()
    if isinstance(expanded, list):
        for item in expanded:
            found |= iris(item)
    elif isinstance(expanded, dict):
        for key, value in expanded.items():
            if not key.startswith("@"):
                found.add(key)
            found |= iris(value)
    return found


EXAMPLES = examples()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_term_we_send_is_defined(name: str) -> None:
    expanded = expand(EXAMPLES[name])
    assert expanded, "expansion dropped the document"
    assert undefined_terms(expanded) == set()


def test_the_checker_sees_an_undefined_term() -> None:
    doc = {**EXAMPLES["give"], "giftWrapped": True}
    assert undefined_terms(expand(doc)) == {"_:giftWrapped"}


def test_a_listing_expands_to_valueflows_and_our_namespace() -> None:
    found = iris(expand(EXAMPLES["carpool"]))
    assert {
        f"{VF}purpose",
        f"{VF}publishes",
        f"{VF}action",
        f"{VF}resourceQuantity",
        f"{VF}availableQuantity",
        f"{VF}unitBased",
        f"{OM2}hasUnit",
        f"{OM2}hasNumericalValue",
        f"{AS}startTime",  # the departure
        f"{AS}endTime",  # the expiry
        f"{AS}name",
    } <= found
    assert {
        f"{NAMESPACE}{term}"
        for term in ("listingKind", "rideFrom", "rideTo", "seats", "rideRecurrence")
    } <= found


def test_a_price_expands_to_valueflows_and_schema_org() -> None:
    found = iris(expand(EXAMPLES["sell"]))
    assert {
        f"{VF}reciprocal",
        f"{VF}resourceConformsTo",
        "http://schema.org/priceCurrency",
    } <= found
    assert {f"{AS}location", f"{AS}radius", f"{AS}units"} <= found


def test_an_offer_and_an_accept_expand_to_valueflows() -> None:
    assert {f"{VF}stipulates", f"{VF}stipulatesReciprocal", f"{VF}satisfies"} <= iris(
        expand(EXAMPLES["offer"])
    )
    assert {f"{AS}result", f"{VF}stipulates"} <= iris(expand(EXAMPLES["accept"]))


@pytest.mark.parametrize(
    "name",
    ["proposal_full.json", "offer_agreement.json", "accept_agreement.json", "reject_offer.json"],
)
def test_the_feps_own_examples_pass_the_same_check(name: str) -> None:
    """The FEP's examples define their terms as we do: what we check ours against is sound."""
    doc = json.loads((DATA / "payloads" / "listings" / "fep-0837" / name).read_text())
    assert undefined_terms(expand(doc)) == set()
