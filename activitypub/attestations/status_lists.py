"""W3C Bitstring Status List v1.0: the revocation bits of a node's credentials.

A status list is a string of bits, one per credential, set when that credential is revoked.
It travels GZIP-compressed (RFC 1952) and multibase-encoded: ``u`` followed by base64url
without padding (RFC 4648 section 5). Bit 0 is the most significant bit of the first byte,
the left-most bit of the bitstring, as the specification requires.

Lists are at least :data:`MIN_LENGTH` bits (16 KB): with fewer, a verifier fetching the list
learns too much about which credential it is checking (the specification's "herd privacy").

Decoding reads lists published by other nodes, so every refusal is a
:class:`~activitypub.errors.CredentialRejected`; a list that would inflate beyond a cap (a
"gzip bomb") is refused before it is held in memory.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib
from collections.abc import Iterable
from typing import Final

from activitypub.errors import CredentialRejected, CredentialRejection

MIN_LENGTH: Final = 131_072  # bits, 16 KB: the specification's minimum
# What we agree to inflate: 1 MiB holds 8,388,608 statuses, 64 times the minimum list. A list
# sent to make us allocate more is refused before more is allocated.
MAX_DECODED_BYTES: Final = 1 << 20

# Multibase base64url: the "u" prefix, then the URL-safe alphabet, never padded.
_BASE64URL = re.compile(r"u[A-Za-z0-9_-]*")


def encode_status_list(revoked: Iterable[int], length: int = MIN_LENGTH) -> str:
    """The ``encodedList`` of a list of ``length`` bits where the ``revoked`` indexes are set.

    Deterministic (no timestamp in the GZIP header), so the same revocations give the same
    string. Raises ``ValueError`` for a length below :data:`MIN_LENGTH` or not a whole number of
    bytes, and for an index outside the list.
    """
    if length < MIN_LENGTH or length % 8:
        raise ValueError(f"a status list has a multiple of 8 bits, at least {MIN_LENGTH}")
    bits = bytearray(length // 8)
    for index in revoked:
        if not 0 <= index < length:
            raise ValueError(f"index {index} is outside a list of {length} bits")
        bits[index >> 3] |= 0x80 >> (index & 7)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_status_list(
    encoded: object,
    *,
    max_bytes: int = MAX_DECODED_BYTES,
    min_bits: int = MIN_LENGTH,
) -> bytes:
    """The bits of an ``encodedList`` (any value read from a document), as bytes: bit 0 is the
    top bit of byte 0.

    Raises ``CredentialRejected``: ``too_large`` when the list would inflate beyond
    ``max_bytes`` (decompression stops there), ``bad_status_list`` when it is not multibase
    base64url, not one complete GZIP member, or shorter than ``min_bits``.
    """
    if not isinstance(encoded, str) or not _BASE64URL.fullmatch(encoded):
        raise _bad("encodedList must be multibase base64url without padding (start with 'u')")
    text = encoded[1:]
    try:
        # validate=True: characters outside the alphabet are an error, not silently skipped.
        compressed = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise _bad(f"encodedList is not valid base64url: {exc}") from exc
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
    try:
        # max_length bounds the output: a bomb stops one byte past the cap, whatever its ratio.
        bits = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as exc:
        raise _bad(f"encodedList is not GZIP data: {exc}") from exc
    if len(bits) > max_bytes:
        raise CredentialRejected(
            CredentialRejection.TOO_LARGE,
            f"encodedList inflates to more than {max_bytes} bytes",
        )
    if not inflater.eof or inflater.unused_data:
        # A truncated stream, or data after the first member (a second one, or garbage).
        raise _bad("encodedList is not exactly one complete GZIP member")
    if len(bits) * 8 < min_bits:
        raise _bad(f"the list has {len(bits) * 8} bits, fewer than the minimum {min_bits}")
    return bits


def status_bit(bits: bytes, index: int) -> bool:
    """Whether bit ``index`` of a decoded list is set.

    Raises ``CredentialRejected`` (``bad_status_list``) for an index outside the list: a
    credential pointing past the end of its list is not one the list speaks for.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(bits) * 8:
        raise _bad(f"index {index!r} is outside a list of {len(bits) * 8} bits")
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def _bad(message: str) -> CredentialRejected:
    return CredentialRejected(CredentialRejection.BAD_STATUS_LIST, message)
