"""Actor key material: RSA-2048 (PEM, draft-cavage signatures) and Ed25519 (Multikey, FEP-521a).

Private keys are carried as PKCS#8 PEM strings so they can be stored as text.

Built on ``cryptography`` and ``based58`` directly rather than bovine's wrappers of the same:
importing any part of bovine loads all of it (pyld, requests, lxml, bs4), about 12 MiB of
resident memory and 0.15 s of start-up, which a node that only needs keys should not pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import based58
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from activitypub.errors import KeyFormatError


@dataclass(frozen=True, repr=False)
class ActorKeys:
    """The key material of one actor: private keys as PKCS#8 PEM, public forms derived once.

    The public forms are computed when the keys are generated and stored beside them, because
    loading an RSA private key costs milliseconds and actor documents are fetched constantly.
    ``repr`` is redacted so a stray log line or traceback can never print a private key.
    """

    rsa_private_pem: str
    rsa_public_pem: str
    ed25519_private_pem: str
    ed25519_multibase: str

    def __repr__(self) -> str:
        return "ActorKeys(<redacted>)"


# Multicodec prefix of an Ed25519 public key (varint of 0xed), per the Multikey format.
ED25519_PUB_MULTICODEC = b"\xed\x01"
# ... and of an Ed25519 private key (varint of 0x1300).
ED25519_PRIV_MULTICODEC = b"\x80\x26"


def generate_actor_keys() -> ActorKeys:
    """Generate a fresh RSA-2048 and Ed25519 key pair for an actor."""
    rsa_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_private_pem = rsa_private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    rsa_public_pem = (
        rsa_private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    ed_private = ed25519.Ed25519PrivateKey.generate()
    ed_pem = ed_private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return ActorKeys(
        rsa_private_pem=rsa_private_pem,
        rsa_public_pem=rsa_public_pem,
        ed25519_private_pem=ed_pem,
        ed25519_multibase=ed25519_to_multibase(ed_private.public_key()),
    )


def load_private_key(pem: str) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """Load an RSA or Ed25519 private key from PKCS#8 PEM text."""
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise KeyFormatError("private key is not valid PKCS#8 PEM") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFormatError(f"unsupported private key type {type(key).__name__}")
    return key


def ed25519_to_multibase(key: ed25519.Ed25519PublicKey) -> str:
    """Multikey ``publicKeyMultibase`` of an Ed25519 public key: base58btc, ``z`` prefix."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + based58.b58encode(ED25519_PUB_MULTICODEC + raw).decode("ascii")


def multibase_to_ed25519(multibase: str) -> ed25519.Ed25519PublicKey:
    """Decode a Multikey ``publicKeyMultibase`` holding an Ed25519 public key."""
    raw = _multicodec_payload(multibase, ED25519_PUB_MULTICODEC, "publicKeyMultibase")
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise KeyFormatError("publicKeyMultibase has the wrong length for Ed25519") from exc


def multibase_to_ed25519_private(multibase: str) -> ed25519.Ed25519PrivateKey:
    """Decode a multibase Ed25519 secret key (``z`` + base58btc of 0x8026 + 32 bytes), the form
    of the secret keys in the FEP test vectors."""
    raw = _multicodec_payload(multibase, ED25519_PRIV_MULTICODEC, "secret key multibase")
    try:
        return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise KeyFormatError("secret key multibase has the wrong length for Ed25519") from exc


def _multicodec_payload(multibase: Any, prefix: bytes, what: str) -> bytes:
    """The bytes after the multicodec ``prefix`` of a base58btc multibase string."""
    if not isinstance(multibase, str) or not multibase.startswith("z"):
        raise KeyFormatError(f"{what} must be base58btc (start with 'z')")
    try:
        data = based58.b58decode(multibase[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeyFormatError(f"{what} is not valid base58btc") from exc
    if not data.startswith(prefix):
        raise KeyFormatError(f"{what} does not hold an Ed25519 key of the expected kind")
    return data[len(prefix) :]
