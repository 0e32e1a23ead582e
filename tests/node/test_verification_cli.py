"""The verification commands an admin runs on the node's machine: a member verified by hand
(and its credential issued), taken back as found false, the review list, and a
municipality's endorsements, with clear errors for what cannot be done."""

from __future__ import annotations

import json

import pytest

from tests.api import PASSWORD


def with_alice(quartier) -> None:
    """alice, an admin, created with the CLI (on a ``migrated`` database)."""
    created = quartier(
        "admin", "create", "alice", "--real-name", "Alice A", "--password-stdin", stdin=PASSWORD
    )
    assert created.returncode == 0, created.stderr


@pytest.mark.usefixtures("migrated")
def test_an_admin_verifies_a_member_by_hand_and_takes_it_back(quartier):
    with_alice(quartier)
    done = quartier("verification", "set", "alice", "--verified", "--reason", "I know her")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "alice: verified (manager)"
    shown = json.loads(quartier("members", "show", "alice").stdout)
    assert shown["verification"]["level"] == "verified"
    refused = quartier("verification", "set", "alice", "--unverified", "--found-false")
    assert refused.returncode == 1
    assert "reason" in refused.stderr  # found false needs a reason
    undone = quartier(
        "verification", "set", "alice", "--unverified", "--found-false", "--reason", "moved"
    )
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.strip() == "alice: unverified (-)"
    assert quartier("verification", "review").stdout.strip() == "nobody is waiting for a review"
    missing = quartier("verification", "set", "nobody", "--verified")
    assert missing.returncode == 1
    assert "no such member" in missing.stderr
    usage = quartier("verification", "set", "alice")
    assert usage.returncode == 2  # --verified or --unverified is required


@pytest.mark.usefixtures("migrated")
def test_a_municipality_endorses_a_district_and_revokes_it(quartier):
    district = "https://tilleuls.example/actor"
    assert quartier("verification", "endorsements").stdout.strip() == (
        "this node endorses no other node"
    )
    done = quartier("verification", "endorse", district, "--name", "Les Tilleuls")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"endorsed {district} for 'Les Tilleuls' until ")
    listed = quartier("verification", "endorsements").stdout
    assert listed.startswith(f"{district}\tuntil ")
    assert quartier("verification", "unendorse", district).returncode == 0
    again = quartier("verification", "unendorse", district)
    assert again.returncode == 1
    assert "not endorsed" in again.stderr
