"""The node's password hashing: argon2id with RFC 9106's second recommended profile.

The rest of the suite hashes at the smallest cost argon2 allows (tests/conftest.py); these
tests check the parameters the node itself uses, and that a hash made at another cost is
still verified and flagged for rehashing at the next login."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from node.members import passwords
from tests.conftest import PRODUCTION_HASHER


def test_the_node_hashes_with_argon2id_64_mib_three_passes():
    digest = PRODUCTION_HASHER.hash("correct horse battery staple")
    params = extract_parameters(digest)
    assert digest.startswith("$argon2id$")
    assert (params.memory_cost, params.time_cost, params.parallelism) == (65536, 3, 4)
    assert PRODUCTION_HASHER.verify(digest, "correct horse battery staple")


async def test_a_weaker_hash_still_verifies_and_asks_for_a_rehash(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("s3cret phrase")
    assert await passwords.verify_password(weak, "s3cret phrase")
    assert not await passwords.verify_password(weak, "wrong phrase")
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(await passwords.hash_password("s3cret phrase"))
