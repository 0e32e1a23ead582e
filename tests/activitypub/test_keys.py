"""Actor key material: RSA-2048 for HTTP signatures and Ed25519 as a FEP-521a Multikey.

What matters to users: remote servers can verify what the node signs on a member's behalf with
the public forms it publishes, and private keys never leak through a log line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from activitypub.errors import KeyFormatError, ProtocolError
from activitypub.keys import (
    ActorKeys,
    ed25519_to_multibase,
    generate_actor_keys,
    load_private_key,
    multibase_to_ed25519,
)

MESSAGE = b"(request-target): post /users/bob/inbox\nhost: remote.example"


@pytest.fixture(scope="module")
def keys() -> ActorKeys:
    return generate_actor_keys()


def _public_rsa(keys: ActorKeys) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(keys.rsa_public_pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _raw(public_key: ed25519.Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _sign_rsa(private_key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    return private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())


# RSA


def test_rsa_key_is_2048_bits(keys):
    private = load_private_key(keys.rsa_private_pem)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert _public_rsa(keys).key_size == 2048


def test_rsa_public_pem_is_the_public_half_of_the_private_key(keys):
    private = load_private_key(keys.rsa_private_pem)
    assert private.public_key().public_numbers() == _public_rsa(keys).public_numbers()


def test_rsa_signature_verifies_with_the_published_public_key(keys):
    private = load_private_key(keys.rsa_private_pem)
    assert isinstance(private, rsa.RSAPrivateKey)
    signature = _sign_rsa(private, MESSAGE)
    _public_rsa(keys).verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        _public_rsa(keys).verify(signature, MESSAGE + b"!", padding.PKCS1v15(), hashes.SHA256())


def test_rsa_public_pem_is_a_spki_public_key(keys):
    assert keys.rsa_public_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_private_keys_are_pkcs8_pem(keys):
    for pem in (keys.rsa_private_pem, keys.ed25519_private_pem):
        assert pem.startswith("-----BEGIN PRIVATE KEY-----")


# Ed25519 Multikey


def test_ed25519_multibase_is_a_base58btc_ed25519_multikey(keys):
    assert keys.ed25519_multibase.startswith("z6Mk")


def test_ed25519_multibase_decodes_to_the_public_half_of_the_private_key(keys):
    private = load_private_key(keys.ed25519_private_pem)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    decoded = multibase_to_ed25519(keys.ed25519_multibase)
    assert _raw(decoded) == _raw(private.public_key())


def test_ed25519_signature_verifies_with_the_published_multikey(keys):
    private = load_private_key(keys.ed25519_private_pem)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    signature = private.sign(MESSAGE)
    public = multibase_to_ed25519(keys.ed25519_multibase)
    public.verify(signature, MESSAGE)
    with pytest.raises(InvalidSignature):
        public.verify(signature, MESSAGE + b"!")


def test_each_actor_gets_its_own_keys(keys):
    other = generate_actor_keys()
    assert other.rsa_public_pem != keys.rsa_public_pem
    assert other.ed25519_multibase != keys.ed25519_multibase


@pytest.mark.parametrize(
    "multibase",
    [
        pytest.param("", id="empty"),
        pytest.param("z", id="prefix-only"),
        pytest.param("not multibase", id="garbage"),
        pytest.param("m6MkAAAA", id="unknown-base"),
        pytest.param("z0OIl", id="not-base58"),
        pytest.param("z6Mk", id="truncated"),
    ],
)
def test_malformed_multibase_is_refused(multibase):
    with pytest.raises(KeyFormatError):
        multibase_to_ed25519(multibase)


def test_multibase_of_a_non_ed25519_key_is_refused():
    from bovine.crypto.multibase import encode_public_key_to_multibase

    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(KeyFormatError):
        multibase_to_ed25519(encode_public_key_to_multibase(p256))


# Redaction


def test_repr_and_str_never_show_private_keys(keys):
    for text in (repr(keys), str(keys), f"{keys}", repr([keys]), repr({"keys": keys})):
        assert "PRIVATE" not in text
        assert keys.rsa_private_pem not in text
        assert keys.ed25519_private_pem not in text


# load_private_key


def _pem(key, encryption=None):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    ).decode("ascii")


@pytest.mark.parametrize(
    "pem",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", id="bad-body"
        ),
        pytest.param("-----BEGIN PRIVATE KEY-----\n", id="truncated"),
        pytest.param("clé privée", id="non-ascii"),
    ],
)
def test_garbage_private_keys_are_refused(pem):
    with pytest.raises(KeyFormatError):
        load_private_key(pem)


def test_public_key_is_not_accepted_as_private_key(keys):
    with pytest.raises(KeyFormatError):
        load_private_key(keys.rsa_public_pem)


def test_encrypted_private_key_is_refused():
    private = ed25519.Ed25519PrivateKey.generate()
    encrypted = _pem(private, serialization.BestAvailableEncryption(b"passphrase"))
    with pytest.raises(KeyFormatError):
        load_private_key(encrypted)


def test_unsupported_key_type_is_refused():
    with pytest.raises(KeyFormatError, match="unsupported"):
        load_private_key(_pem(ec.generate_private_key(ec.SECP256R1())))


def test_key_format_error_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        load_private_key("garbage")


def test_multikey_encoding_reproduces_the_fep_521a_vector():
    vectors = json.loads((Path(__file__).parents[1] / "data" / "fep-proofs.json").read_text())
    vector = vectors["fep_521a"]
    public = ed25519.Ed25519PublicKey.from_public_bytes(
        bytes.fromhex(vector["ed25519_public_key_hex"])
    )
    assert ed25519_to_multibase(public) == vector["publicKeyMultibase"]
    decoded = multibase_to_ed25519(vector["publicKeyMultibase"])
    assert decoded.public_bytes_raw() == public.public_bytes_raw()
