"""Password hashing with argon2id (memory-hard), off the event loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, 64 MiB, t=3).
_hasher = PasswordHasher()
# Each hash or verification takes 64 MiB for ~0.1 s: a burst of logins must queue, not run
# thirty at once in the default thread pool (measured: 464 MB peak for 40 concurrent logins).
_ARGON2_WORKERS = 2
_pool = ThreadPoolExecutor(max_workers=_ARGON2_WORKERS, thread_name_prefix="argon2")


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths cost the same time.

    Made on first use, not at import: it costs 0.1 s and a 64 MiB allocation at start-up.
    """
    return _hasher.hash("quartier-dummy-password")


async def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a ``None`` hash costs as much and returns False."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, _verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
