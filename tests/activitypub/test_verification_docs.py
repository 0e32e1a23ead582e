"""docs/verification.md shows exactly what the builders emit, and every credential there
verifies with the demo key it names: another implementer can test their verifier on it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activitypub.attestations import (
    ENDORSEMENT_CREDENTIAL,
    RESIDENCY_CREDENTIAL,
    verify_credential,
    verify_status_list,
)
from activitypub.keys import multibase_to_ed25519
from tests.activitypub.attestation_examples import DEMO_PUBLIC_MULTIBASE, examples

DOC = (Path(__file__).parent.parent.parent / "docs" / "verification.md").read_text()
BLOCK = re.compile(r"<!-- example: (\w+) -->\n```json\n(.*?)\n```", re.DOTALL)
DOCUMENTED: dict[str, Any] = {name: json.loads(text) for name, text in BLOCK.findall(DOC)}
WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = multibase_to_ed25519(DEMO_PUBLIC_MULTIBASE)


def test_every_example_is_documented_as_emitted() -> None:
    assert examples() == DOCUMENTED
    assert f"`{DEMO_PUBLIC_MULTIBASE}`" in DOC


@pytest.mark.parametrize(
    ("name", "kind"),
    [("residency", RESIDENCY_CREDENTIAL), ("endorsement", ENDORSEMENT_CREDENTIAL)],
)
def test_the_documented_credentials_verify_with_the_demo_key(name: str, kind: str) -> None:
    claims = verify_credential(DOCUMENTED[name], KEY, now=WHEN, expected_type=kind)
    assert claims.community_name == "Les Tilleuls"


def test_the_documented_status_list_verifies_and_has_the_documented_bit() -> None:
    issuer = DOCUMENTED["status_list"]["issuer"]
    status_list = verify_status_list(DOCUMENTED["status_list"], KEY, now=WHEN, issuer=issuer)
    assert [i for i in (1233, 1234, 1235, 94567) if status_list.is_set(i)] == [1234]
    assert "bit 1234 is set" in DOC
