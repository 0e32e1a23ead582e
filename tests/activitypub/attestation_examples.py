"""The credentials docs/verification.md shows, built by our code with a fixed demo key.

Ed25519 signatures are deterministic, so the same key and inputs give the same proof: the
documentation shows exactly these documents (tests/activitypub/test_verification_docs.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.attestations import (
    StatusEntry,
    endorsement_credential,
    residency_credential,
    sign_credential,
    status_list_credential,
)
from activitypub.keys import ed25519_to_multibase

# A demo key, never used by any node: 32 bytes of 0x2a.
DEMO_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes([0x2A]) * 32)
DEMO_PUBLIC_MULTIBASE = ed25519_to_multibase(DEMO_KEY.public_key())
NODE = "https://tilleuls.example"
TOWN = "https://ville.example"
ISSUED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
STATUS_LIST = f"{NODE}/credentials/status/revocation"


def examples() -> dict[str, dict[str, Any]]:
    """Every documented credential, by name."""
    residency = residency_credential(
        credential_id=f"{NODE}/credentials/5d41402abc4b2a76b9719d911017c592",
        issuer=f"{NODE}/actor",
        subject=f"{NODE}/users/bea",
        community_name="Les Tilleuls",
        community_area="Lyon 4e",
        method="document",
        valid_from=ISSUED,
        valid_until=ISSUED + timedelta(days=365),
        status=StatusEntry(list_url=STATUS_LIST, index=94567),
    )
    status_list = status_list_credential(
        list_id=STATUS_LIST,
        issuer=f"{NODE}/actor",
        revoked=[1234],
        valid_from=ISSUED,
        valid_until=ISSUED + timedelta(days=1),
    )
    endorsement = endorsement_credential(
        credential_id=f"{TOWN}/credentials/7d793037a0760186574b0282f2f435e7",
        issuer=f"{TOWN}/actor",
        subject_node=f"{NODE}/actor",
        community_name="Les Tilleuls",
        community_area="Lyon 4e",
        valid_from=ISSUED,
        valid_until=ISSUED + timedelta(days=365),
        status=StatusEntry(list_url=f"{TOWN}/credentials/status/revocation", index=5021),
    )
    return {
        "residency": sign_credential(residency, DEMO_KEY, f"{NODE}/actor#ed25519-key", ISSUED),
        "status_list": sign_credential(status_list, DEMO_KEY, f"{NODE}/actor#ed25519-key", ISSUED),
        "endorsement": sign_credential(endorsement, DEMO_KEY, f"{TOWN}/actor#ed25519-key", ISSUED),
    }
