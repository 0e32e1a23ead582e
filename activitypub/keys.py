"""Actor key material: RSA-2048 (PEM, draft-cavage signatures) and Ed25519 (Multikey, FEP-521a).

Private keys are carried as PKCS#8 PEM strings so they can be stored as text; public keys are
derived from them, never stored apart, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from bovine.crypto import generate_rsa_public_private_key
from bovine.crypto.multibase import decode_multibase_public_key, encode_public_key_to_multibase
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


def generate_actor_keys() -> ActorKeys:
    """Generate a fresh RSA-2048 and Ed25519 key pair for an actor."""
    rsa_public_pem, rsa_private_pem = generate_rsa_public_private_key()
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
        ed25519_multibase=str(encode_public_key_to_multibase(ed_private.public_key())),
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


def multibase_to_ed25519(multibase: str) -> ed25519.Ed25519PublicKey:
    """Decode a Multikey ``publicKeyMultibase`` holding an Ed25519 public key."""
    try:
        key = decode_multibase_public_key(multibase)
    except Exception as exc:  # bovine raises bare ValueError/KeyError/IndexError on bad input
        raise KeyFormatError("publicKeyMultibase is not a valid multibase key") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyFormatError("publicKeyMultibase does not hold an Ed25519 key")
    return key
