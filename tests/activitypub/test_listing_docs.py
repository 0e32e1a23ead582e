"""docs/listings.md shows exactly what the builders send: every example there is the JSON of
tests/activitypub/listing_examples.py, and its context is ours, so the documentation cannot
drift from the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from activitypub.listings import CONTEXT, NAMESPACE
from tests.activitypub.listing_examples import examples

DOC = (Path(__file__).parent.parent.parent / "docs" / "listings.md").read_text()
# A marker comment, then the JSON block it names.
BLOCK = re.compile(r"<!-- (context|example: (\w+)) -->\n```json\n(.*?)\n```", re.DOTALL)
EXAMPLES = examples()


def documented() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for marker, name, text in BLOCK.findall(DOC):
        key = "context" if marker == "context" else name
        assert key not in found, f"{key} is documented twice"
        found[key] = json.loads(text)
    return found


DOCUMENTED = documented()


def test_every_example_is_documented_once() -> None:
    assert set(DOCUMENTED) == {"context", *EXAMPLES}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_documented_json_is_what_we_send(name: str) -> None:
    sent = {key: value for key, value in EXAMPLES[name].items() if key != "@context"}
    assert DOCUMENTED[name] == sent
    assert EXAMPLES[name]["@context"] == CONTEXT


def test_the_documented_context_and_namespace_are_ours() -> None:
    assert DOCUMENTED["context"] == CONTEXT
    assert f"`{NAMESPACE}`" in DOC
    ours = [term for term, mapping in CONTEXT[1].items() if NAMESPACE in str(mapping)]
    assert len(ours) == 15
    for term in ours:
        assert f"`{term}`" in DOC, f"our term {term} is not documented"
