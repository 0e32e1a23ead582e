"""Residency attestations: W3C Verifiable Credentials, Bitstring Status Lists, eddsa-jcs-2022.

What matters to users: a neighbour whose node attests their residence is believed by other
nodes, with software that follows the W3C specifications (their own test vectors); the same
attestation altered, forged, expired, revoked, sent by someone else or endorsed for another
community is refused, with a reason an administrator can read in the logs; and a hostile
document (huge, deep, a list that inflates) cannot exhaust the node that reads it.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import based58
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.attestations import (
    CREDENTIAL_CONTEXT,
    ENDORSEMENT_CREDENTIAL,
    MIN_LENGTH,
    RESIDENCY_CREDENTIAL,
    VC_CONTEXT,
    CredentialClaims,
    StatusEntry,
    check_endorsement,
    check_status,
    decode_status_list,
    encode_status_list,
    endorsement_credential,
    read_credential,
    residency_credential,
    sign_credential,
    status_bit,
    status_list_credential,
    verify_credential,
    verify_status_list,
)
from activitypub.errors import CredentialRejected, CredentialRejection, ProtocolError
from activitypub.keys import ed25519_to_multibase, multibase_to_ed25519
from activitypub.listings.vocabulary import NAMESPACE
from activitypub.proofs import canonical_json, multibase_to_ed25519_private, verify_proof

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "vc-vectors.json").read_text())
JCS_VECTOR = VECTORS["eddsa_jcs_2022"]
STATUS_VECTOR = VECTORS["bitstring_status_list"]

NODE = "https://croix-rousse.example/actor"
NODE_KEY_ID = f"{NODE}#ed25519-key"
MARIE = "https://croix-rousse.example/users/marie"
LIST_URL = "https://croix-rousse.example/credentials/status/1"
CITY = "https://lyon.example/actor"
ISSUED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
UNTIL = datetime(2027, 12, 1, 9, 30, tzinfo=UTC)
NOW = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)

Reason = CredentialRejection


@pytest.fixture(scope="module")
def node_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def city_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _residency(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "credential_id": "https://croix-rousse.example/credentials/residency/8f14e45f",
        "issuer": NODE,
        "subject": MARIE,
        "community_name": "Croix-Rousse",
        "community_area": "Lyon 4e arrondissement",
        "method": "document",
        "valid_from": ISSUED,
        "valid_until": UNTIL,
        "status": StatusEntry(LIST_URL, 94567),
    }
    return residency_credential(**{**arguments, **changes})


def _signed(key: ed25519.Ed25519PrivateKey, document: dict[str, Any]) -> dict[str, Any]:
    """Signed, then through JSON and back, as a remote node would receive it."""
    return json.loads(json.dumps(sign_credential(document, key, NODE_KEY_ID, ISSUED)))


def _rejected(reason: CredentialRejection, call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(CredentialRejected) as caught:
        call(*args, **kwargs)
    assert caught.value.reason == reason, str(caught.value)
    return str(caught.value)


def _verify(document: Any, key: ed25519.Ed25519PrivateKey, **options: Any) -> CredentialClaims:
    arguments = {"now": NOW, "expected_type": RESIDENCY_CREDENTIAL, **options}
    return verify_credential(document, key.public_key(), **arguments)


# Official vectors


@pytest.fixture(scope="module")
def vector_key() -> ed25519.Ed25519PrivateKey:
    return multibase_to_ed25519_private(JCS_VECTOR["secretKeyMultibase"])


def test_vc_di_eddsa_jcs_vector_is_reproduced_byte_for_byte(vector_key):
    options = JCS_VECTOR["proof_options"]

    signed = sign_credential(
        JCS_VECTOR["unsigned_credential"],
        vector_key,
        options["verificationMethod"],
        options["created"],
    )

    # Every intermediate value of the specification's appendix, then the result.
    proof_config = {key: value for key, value in signed["proof"].items() if key != "proofValue"}
    canonical_document = canonical_json(JCS_VECTOR["unsigned_credential"])
    canonical_options = canonical_json(proof_config)
    assert canonical_document == JCS_VECTOR["canonical_credential"].encode("utf-8")
    assert canonical_options == JCS_VECTOR["canonical_proof_options"].encode("utf-8")
    assert hashlib.sha256(canonical_document).hexdigest() == JCS_VECTOR["credential_hash"]
    assert hashlib.sha256(canonical_options).hexdigest() == JCS_VECTOR["proof_options_hash"]
    combined = (
        hashlib.sha256(canonical_options).digest() + hashlib.sha256(canonical_document).digest()
    )
    assert combined.hex() == JCS_VECTOR["combined_hash"]
    assert vector_key.sign(combined).hex() == JCS_VECTOR["signature_hex"]
    assert signed["proof"]["proofValue"] == JCS_VECTOR["proofValue"]
    assert proof_config == options
    # The same members with the same values; the spec lists the proof's members in another
    # order, which JSON does not give a meaning to: the canonical bytes are identical.
    assert signed == JCS_VECTOR["signed_credential"]
    assert canonical_json(signed) == canonical_json(JCS_VECTOR["signed_credential"])


def test_vc_di_eddsa_signed_vector_verifies_with_its_public_key(vector_key):
    public_key = multibase_to_ed25519(JCS_VECTOR["publicKeyMultibase"])
    assert ed25519_to_multibase(vector_key.public_key()) == JCS_VECTOR["publicKeyMultibase"]

    verified = verify_proof(copy.deepcopy(JCS_VECTOR["signed_credential"]), public_key)

    assert verified.controller == "did:key:" + JCS_VECTOR["publicKeyMultibase"]


def test_the_specifications_empty_status_list_is_131072_zero_bits():
    example = STATUS_VECTOR["status_list_credential"]["credentialSubject"]["encodedList"]

    bits = decode_status_list(example)

    assert len(bits) * 8 == STATUS_VECTOR["length"] == MIN_LENGTH
    assert bits == bytes(MIN_LENGTH // 8)
    # Ours for a list with nothing revoked holds the same bits (our GZIP header may differ).
    assert decode_status_list(encode_status_list([])) == bits


def test_our_empty_status_list_credential_has_the_specifications_shape():
    example = STATUS_VECTOR["status_list_credential"]

    ours = status_list_credential(
        list_id=example["id"],
        issuer=example["issuer"],
        revoked=[],
        valid_from=datetime(2021, 4, 5, 14, 27, 40, tzinfo=UTC),
    )

    ours_subject = ours["credentialSubject"]
    example_subject = example["credentialSubject"]
    assert {**ours, "credentialSubject": None} == {**example, "credentialSubject": None}
    # The list's own id is ours to choose (the example's is on another path).
    assert ours_subject["id"] == f"{example['id']}#list"
    assert {**ours_subject, "id": None, "encodedList": None} == {
        **example_subject,
        "id": None,
        "encodedList": None,
    }
    assert decode_status_list(ours_subject["encodedList"]) == decode_status_list(
        example_subject["encodedList"]
    )


# What we emit


def test_residency_credential_has_the_vc_shape_others_expect():
    credential = _residency()

    assert credential["@context"] == CREDENTIAL_CONTEXT
    assert credential["@context"][0] == VC_CONTEXT
    assert credential["type"] == ["VerifiableCredential", "ResidencyCredential"]
    assert credential["issuer"] == NODE
    assert credential["validFrom"] == "2026-12-01T09:30:00Z"
    assert credential["validUntil"] == "2027-12-01T09:30:00Z"
    assert credential["credentialSubject"] == {
        "id": MARIE,
        "community": {"name": "Croix-Rousse", "area": "Lyon 4e arrondissement"},
        "residencyMethod": "document",
    }
    assert credential["credentialStatus"] == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }


# The protected terms of https://www.w3.org/ns/credentials/v2 (top level, and in the scoped
# contexts of VerifiableCredential, BitstringStatusList(Entry) and DataIntegrityProof): a JSON-LD
# processor refuses a context that redefines one of them.
VC_PROTECTED_TERMS = {
    "id", "type", "description", "digestMultibase", "digestSRI", "mediaType", "name",
    "confidenceMethod", "credentialSchema", "credentialStatus", "credentialSubject", "evidence",
    "issuer", "proof", "refreshService", "relatedResource", "renderMethod", "termsOfUse",
    "validFrom", "validUntil", "holder", "verifiableCredential", "encodedList", "statusMessage",
    "statusPurpose", "statusReference", "statusSize", "ttl", "statusListCredential",
    "statusListIndex", "challenge", "created", "cryptosuite", "domain", "expires", "nonce",
    "previousProof", "proofPurpose", "proofValue", "verificationMethod", "assertionMethod",
    "authentication", "VerifiableCredential", "VerifiablePresentation",
    "BitstringStatusListCredential", "BitstringStatusList", "BitstringStatusListEntry",
    "DataIntegrityProof", "JsonSchema", "JsonSchemaCredential",
}  # fmt: skip


def test_our_context_defines_every_term_we_use_in_our_namespace_and_redefines_no_vc_term():
    terms = CREDENTIAL_CONTEXT[1]
    residency, endorsement = _residency(), _endorsement()
    used = {residency["type"][1], endorsement["type"][1]}
    for credential in (residency, endorsement):
        used |= set(credential["credentialSubject"]) | set(
            credential["credentialSubject"]["community"]
        )

    assert not set(terms) & VC_PROTECTED_TERMS
    assert used - {"id", "name"} == set(terms)  # id and name are the VC context's own
    for definition in terms.values():
        iri = definition["@id"] if isinstance(definition, dict) else definition
        assert iri.startswith(NAMESPACE)


# Round trips


def test_a_signed_residency_credential_verifies_and_says_what_was_issued(node_key):
    signed = _signed(node_key, _residency())

    claims = _verify(signed, node_key, expected_subject=MARIE)

    assert claims == CredentialClaims(
        credential_type=RESIDENCY_CREDENTIAL,
        credential_id="https://croix-rousse.example/credentials/residency/8f14e45f",
        issuer=NODE,
        subject=MARIE,
        community_name="Croix-Rousse",
        community_area="Lyon 4e arrondissement",
        valid_from=ISSUED,
        valid_until=UNTIL,
        verification_method=NODE_KEY_ID,
        status=StatusEntry(LIST_URL, 94567, "revocation"),
        method="document",
    )


def test_reading_names_the_issuers_key_before_any_key_is_fetched(node_key):
    claims = read_credential(_signed(node_key, _residency()), expected_type=RESIDENCY_CREDENTIAL)

    assert claims.verification_method == NODE_KEY_ID
    assert claims.issuer == NODE


@pytest.mark.parametrize("method", ["document", "vouching", "manager"])
def test_every_residency_method_round_trips(node_key, method):
    claims = _verify(_signed(node_key, _residency(method=method)), node_key)

    assert claims.method == method


def test_the_validity_window_is_inclusive_of_valid_from_and_exclusive_of_valid_until(node_key):
    signed = _signed(node_key, _residency())

    assert _verify(signed, node_key, now=ISSUED).subject == MARIE
    assert _verify(signed, node_key, now=UNTIL - timedelta(seconds=1)).subject == MARIE
    _rejected(Reason.EXPIRED, _verify, signed, node_key, now=UNTIL)
    _rejected(Reason.NOT_YET_VALID, _verify, signed, node_key, now=ISSUED - timedelta(seconds=1))


def _endorsement(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "credential_id": "https://lyon.example/credentials/endorsement/1",
        "issuer": CITY,
        "subject_node": NODE,
        "community_name": "Croix-Rousse",
        "community_area": "Lyon 4e arrondissement",
        "valid_from": ISSUED,
        "valid_until": UNTIL,
        "status": StatusEntry("https://lyon.example/credentials/status/1", 7),
    }
    return endorsement_credential(**{**arguments, **changes})


def _verified_endorsement(city_key: ed25519.Ed25519PrivateKey, **changes: Any) -> CredentialClaims:
    signed = json.loads(
        json.dumps(sign_credential(_endorsement(**changes), city_key, f"{CITY}#k", ISSUED))
    )
    return verify_credential(
        signed, city_key.public_key(), now=NOW, expected_type=ENDORSEMENT_CREDENTIAL
    )


def test_a_municipality_endorses_a_district_node_for_its_community(node_key, city_key):
    residency = _verify(_signed(node_key, _residency()), node_key)
    endorsement = _verified_endorsement(city_key)

    check_endorsement(residency, endorsement)

    assert endorsement.subject == NODE
    assert endorsement.issuer == CITY
    assert endorsement.endorsed_for == RESIDENCY_CREDENTIAL
    assert endorsement.method is None


def test_an_endorsement_for_another_community_does_not_cover_a_residency(node_key, city_key):
    residency = _verify(_signed(node_key, _residency(community_name="Guillotière")), node_key)

    _rejected(
        Reason.COMMUNITY_MISMATCH, check_endorsement, residency, _verified_endorsement(city_key)
    )


def test_an_endorsement_of_another_node_does_not_cover_a_residency(node_key, city_key):
    residency = _verify(_signed(node_key, _residency()), node_key)
    other = _verified_endorsement(city_key, subject_node="https://guillotiere.example/actor")

    _rejected(Reason.SUBJECT_MISMATCH, check_endorsement, residency, other)
    # ... nor does a residency credential stand for an endorsement.
    _rejected(Reason.WRONG_TYPE, check_endorsement, residency, residency)


def _signed_list(
    key: ed25519.Ed25519PrivateKey, revoked: list[int], **changes: Any
) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "list_id": LIST_URL,
        "issuer": NODE,
        "revoked": revoked,
        "valid_from": ISSUED,
        "valid_until": ISSUED + timedelta(days=400),
    }
    document = status_list_credential(**{**arguments, **changes})
    return json.loads(json.dumps(sign_credential(document, key, NODE_KEY_ID, ISSUED)))


def test_a_revoked_credential_is_refused_and_the_others_are_not(node_key):
    status_list = verify_status_list(
        _signed_list(node_key, [94567]), node_key.public_key(), now=NOW, issuer=NODE
    )
    revoked = _verify(_signed(node_key, _residency()), node_key)
    kept = _verify(_signed(node_key, _residency(status=StatusEntry(LIST_URL, 94568))), node_key)

    assert revoked.status is not None
    assert kept.status is not None
    check_status(kept.status, status_list)
    _rejected(Reason.REVOKED, check_status, revoked.status, status_list)
    assert status_list.list_id == LIST_URL
    assert status_list.length == MIN_LENGTH


@pytest.mark.parametrize("index", [0, 7, 8, 131071])
def test_a_revoked_bit_is_read_where_it_was_set(node_key, index):
    status_list = verify_status_list(
        _signed_list(node_key, [index]), node_key.public_key(), now=NOW, issuer=NODE
    )

    assert status_list.is_set(index)
    neighbours = {index - 1, index + 1} & set(range(MIN_LENGTH))
    assert not any(status_list.is_set(n) for n in neighbours)
    assert sum(bin(byte).count("1") for byte in status_list.bits) == 1


def test_index_zero_is_the_most_significant_bit_of_the_first_byte():
    # The specification: the first index is the left-most bit of the bitstring.
    bits = decode_status_list(encode_status_list([0, 7, 8, 131071]))

    assert bits[0] == 0b1000_0001
    assert bits[1] == 0b1000_0000
    assert bits[-1] == 0b0000_0001
    assert set(bits[2:-1]) == {0}


def test_a_longer_list_keeps_every_bit(node_key):
    revoked = [3, 1000, 131072, 262143]
    status_list = verify_status_list(
        _signed_list(node_key, revoked, length=2 * MIN_LENGTH),
        node_key.public_key(),
        now=NOW,
        issuer=NODE,
    )

    assert status_list.length == 2 * MIN_LENGTH
    assert [i for i in range(status_list.length) if status_list.is_set(i)] == revoked


# Refusals: the signature does not hold


def test_another_key_is_refused(node_key):
    _rejected(
        Reason.BAD_PROOF,
        _verify,
        _signed(node_key, _residency()),
        ed25519.Ed25519PrivateKey.generate(),
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(
            ("credentialSubject", "id"), "https://croix-rousse.example/users/eve", id="subject"
        ),
        pytest.param(("validUntil",), "2099-12-01T09:30:00Z", id="validUntil"),
        pytest.param(("credentialSubject", "community", "name"), "Presqu'île", id="community-name"),
        pytest.param(("credentialSubject", "community", "area"), "Lyon 1er", id="community-area"),
        pytest.param(("credentialSubject", "residencyMethod"), "manager", id="method"),
        pytest.param(("credentialStatus", "statusListIndex"), "94568", id="status-index"),
        pytest.param(("proof", "created"), "2026-12-02T09:30:00Z", id="proof-created"),
    ],
)
def test_one_changed_field_is_refused(node_key, path, value):
    signed = _signed(node_key, _residency())
    target = signed
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value

    _rejected(Reason.BAD_PROOF, _verify, signed, node_key)


def test_a_changed_issuer_is_refused(node_key):
    signed = _signed(node_key, _residency())
    signed["issuer"] = "https://evil.example/actor"

    # The key that signed is no longer the issuer's ...
    _rejected(Reason.ISSUER_MISMATCH, _verify, signed, node_key)
    # ... and naming the new issuer's key instead breaks the signature, which covers it.
    signed["proof"]["verificationMethod"] = "https://evil.example/actor#ed25519-key"
    _rejected(Reason.BAD_PROOF, _verify, signed, node_key)


def test_a_key_of_someone_else_than_the_issuer_is_refused_before_any_fetch(node_key):
    document = _residency()
    signed = json.loads(
        json.dumps(sign_credential(document, node_key, f"{MARIE}#ed25519-key", ISSUED))
    )

    message = _rejected(
        Reason.ISSUER_MISMATCH, read_credential, signed, expected_type=RESIDENCY_CREDENTIAL
    )
    assert MARIE in message


def test_a_proof_taken_from_another_credential_is_refused(node_key):
    marie = _signed(node_key, _residency())
    eve = _signed(node_key, _residency(subject="https://croix-rousse.example/users/eve"))
    eve["proof"] = marie["proof"]

    _rejected(Reason.BAD_PROOF, _verify, eve, node_key)


def test_a_credential_about_someone_else_than_the_sender_is_refused(node_key):
    signed = _signed(node_key, _residency())

    _rejected(
        Reason.SUBJECT_MISMATCH,
        _verify,
        signed,
        node_key,
        expected_subject="https://croix-rousse.example/users/eve",
    )


def test_an_expired_credential_is_refused(node_key):
    signed = _signed(node_key, _residency())

    message = _rejected(Reason.EXPIRED, _verify, signed, node_key, now=UNTIL + timedelta(days=30))
    assert "2027-12-01" in message


def test_a_credential_not_yet_valid_is_refused(node_key):
    signed = _signed(node_key, _residency(valid_from=NOW + timedelta(days=1)))

    _rejected(Reason.NOT_YET_VALID, _verify, signed, node_key)


def test_a_proof_past_its_own_expiry_is_refused(node_key):
    # create_proof sets no ``expires``; another implementation may, and it is signed with the
    # rest of the proof options.
    document = _residency()
    options = {
        "@context": document["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": NODE_KEY_ID,
        "proofPurpose": "assertionMethod",
        "created": "2026-12-01T09:30:00Z",
        "expires": "2027-01-01T00:00:00Z",
    }
    hash_data = (
        hashlib.sha256(canonical_json(options)).digest()
        + hashlib.sha256(canonical_json(document)).digest()
    )
    signature = "z" + based58.b58encode(node_key.sign(hash_data)).decode()
    signed = {**document, "proof": {**options, "proofValue": signature}}

    assert _verify(signed, node_key, now=datetime(2026, 12, 31, tzinfo=UTC)).subject == MARIE
    _rejected(Reason.EXPIRED, _verify, signed, node_key, now=datetime(2027, 1, 1, tzinfo=UTC))


# Refusals: not the credential asked for


def test_another_kind_of_credential_is_refused_as_the_wrong_type(node_key, city_key):
    endorsement = json.loads(
        json.dumps(sign_credential(_endorsement(), city_key, f"{CITY}#k", ISSUED))
    )
    status_list = _signed_list(node_key, [])

    _rejected(Reason.WRONG_TYPE, read_credential, endorsement, expected_type=RESIDENCY_CREDENTIAL)
    _rejected(Reason.WRONG_TYPE, read_credential, status_list, expected_type=RESIDENCY_CREDENTIAL)
    _rejected(
        Reason.WRONG_TYPE,
        read_credential,
        _signed(node_key, _residency()),
        expected_type=ENDORSEMENT_CREDENTIAL,
    )
    _rejected(
        Reason.WRONG_TYPE,
        verify_status_list,
        _signed(node_key, _residency()),
        node_key.public_key(),
        now=NOW,
        issuer=NODE,
    )
    # Without "VerifiableCredential" it is not a W3C credential at all.
    untyped = {**_signed(node_key, _residency()), "type": "ResidencyCredential"}
    _rejected(Reason.WRONG_TYPE, read_credential, untyped, expected_type=RESIDENCY_CREDENTIAL)


def _edited(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    *parents, last = path.split("/")
    target: Any = document
    for name in parents:
        target = target[int(name)] if isinstance(target, list) else target[name]
    if value is _DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return document


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("@context", _DELETE, id="no-context"),
        pytest.param(
            "@context",
            ["https://www.w3.org/2018/credentials/v1", CREDENTIAL_CONTEXT[1]],
            id="vc-1.1-context",
        ),
        pytest.param(
            "@context",
            [VC_CONTEXT, "https://evil.example/ctx", CREDENTIAL_CONTEXT[1]],
            id="unseen-context",
        ),
        pytest.param("@context", [VC_CONTEXT], id="our-terms-undefined"),
        pytest.param("@context/1/residencyMethod", "https://schema.org/knows", id="term-redefined"),
        pytest.param("issuer", _DELETE, id="no-issuer"),
        pytest.param("issuer", "croix-rousse.example", id="issuer-not-a-url"),
        pytest.param("issuer", "did:key:z6MkrJVnaZkeFzdQ", id="issuer-not-an-actor"),
        pytest.param("issuer", f"{NODE[:8]}croix-rousse.example@evil.example/actor", id="userinfo"),
        pytest.param("issuer", {"name": "Croix-Rousse"}, id="issuer-object-without-id"),
        pytest.param("credentialSubject", [], id="subject-a-list"),
        pytest.param("credentialSubject/id", _DELETE, id="no-subject-id"),
        pytest.param("credentialSubject/id", "marie", id="subject-id-not-a-url"),
        pytest.param("credentialSubject/community", "Croix-Rousse", id="community-a-string"),
        pytest.param("credentialSubject/community/name", "", id="community-name-empty"),
        pytest.param("credentialSubject/community/area", "x" * 201, id="community-area-too-long"),
        pytest.param("credentialSubject/residencyMethod", "rumour", id="unknown-method"),
        pytest.param("type", [1, 2], id="type-not-strings"),
        pytest.param("validFrom", _DELETE, id="no-valid-from"),
        pytest.param("validUntil", _DELETE, id="no-valid-until"),
        pytest.param("validFrom", "2026-12-01", id="valid-from-a-date"),
        pytest.param("validUntil", "2027-12-01T09:30:00", id="valid-until-without-timezone"),
        pytest.param("validUntil", "2025-01-01T00:00:00Z", id="valid-until-before-valid-from"),
        pytest.param("validUntil", 1796117400, id="valid-until-a-number"),
        pytest.param("credentialStatus/type", "StatusList2021Entry", id="status-old-type"),
        pytest.param("credentialStatus/statusPurpose", "suspension", id="status-suspension"),
        pytest.param("credentialStatus/statusListIndex", 94567, id="status-index-a-number"),
        pytest.param("credentialStatus/statusListIndex", "-1", id="status-index-negative"),
        pytest.param("credentialStatus/statusListIndex", "1e3", id="status-index-exponent"),
        pytest.param("credentialStatus/statusListIndex", "٣", id="status-index-arabic-digit"),
        pytest.param("credentialStatus/statusListIndex", "", id="status-index-empty"),
        pytest.param("credentialStatus/statusListIndex", "9" * 40, id="status-index-huge"),
        pytest.param(
            "credentialStatus/statusListCredential", "status/1", id="status-list-relative"
        ),
        pytest.param("credentialStatus/statusSize", 2, id="status-two-bits"),
        pytest.param("credentialStatus/id", LIST_URL, id="status-entry-id-is-the-list"),
        pytest.param("credentialStatus", [], id="status-empty-list"),
        pytest.param("proof", _DELETE, id="unsigned"),
        pytest.param("proof/cryptosuite", "eddsa-rdfc-2022", id="proof-other-suite"),
    ],
)
def test_structural_problems_are_malformed(node_key, path, value):
    document = _edited(_signed(node_key, _residency()), path, value)

    _rejected(Reason.MALFORMED, read_credential, document, expected_type=RESIDENCY_CREDENTIAL)
    _rejected(Reason.MALFORMED, _verify, document, node_key)


@pytest.mark.parametrize("document", [None, "credential", [], 42])
def test_a_credential_that_is_not_an_object_is_malformed(node_key, document):
    _rejected(Reason.MALFORMED, _verify, document, node_key)


def test_an_issuer_object_with_its_id_is_read(node_key):
    document = _residency()
    document["issuer"] = {"id": NODE, "name": "Croix-Rousse"}

    assert _verify(_signed(node_key, document), node_key).issuer == NODE


# Refusals: hostile sizes


def test_a_5_mb_credential_is_refused_unread(node_key):
    signed = _signed(node_key, _residency())
    signed["credentialSubject"]["community"]["name"] = "x" * 5_000_000

    _rejected(Reason.TOO_LARGE, _verify, signed, node_key)


def test_a_credential_nested_1000_deep_is_refused_without_recursion(node_key):
    nested: dict[str, Any] = {}
    inner = nested
    for _ in range(1000):
        inner["x"] = {}
        inner = inner["x"]
    signed = _signed(node_key, _residency())
    signed["credentialSubject"]["community"]["name"] = nested

    message = _rejected(Reason.TOO_LARGE, _verify, signed, node_key)
    assert "deeper" in message
    _rejected(
        Reason.TOO_LARGE,
        verify_status_list,
        {**_signed_list(node_key, []), "extra": nested},
        node_key.public_key(),
        now=NOW,
        issuer=NODE,
    )


def test_a_credential_with_too_many_members_is_refused(node_key):
    signed = _signed(node_key, _residency())
    signed["credentialSubject"]["community"]["tags"] = [[] for _ in range(2000)]

    _rejected(Reason.TOO_LARGE, _verify, signed, node_key)


# Status lists: refusals


def test_a_status_list_with_a_bad_proof_is_refused(node_key):
    # Someone serving the list un-revokes a credential: the signature no longer holds.
    signed = _signed_list(node_key, [94567])
    signed["credentialSubject"]["encodedList"] = encode_status_list([])

    _rejected(
        Reason.BAD_PROOF, verify_status_list, signed, node_key.public_key(), now=NOW, issuer=NODE
    )
    _rejected(
        Reason.BAD_PROOF,
        verify_status_list,
        _signed_list(node_key, []),
        ed25519.Ed25519PrivateKey.generate().public_key(),
        now=NOW,
        issuer=NODE,
    )


def test_a_status_list_of_another_issuer_is_refused(node_key):
    _rejected(
        Reason.ISSUER_MISMATCH,
        verify_status_list,
        _signed_list(node_key, []),
        node_key.public_key(),
        now=NOW,
        issuer=CITY,
    )


def test_an_expired_status_list_is_refused(node_key):
    signed = _signed_list(node_key, [], valid_until=ISSUED + timedelta(days=1))

    _rejected(
        Reason.EXPIRED, verify_status_list, signed, node_key.public_key(), now=NOW, issuer=NODE
    )


def test_a_status_list_without_a_validity_end_is_read(node_key):
    signed = _signed_list(node_key, [5], valid_until=None)

    status_list = verify_status_list(signed, node_key.public_key(), now=NOW, issuer=NODE)

    assert status_list.valid_until is None
    assert status_list.is_set(5)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("credentialSubject/type", "StatusList2021", id="subject-type"),
        pytest.param("credentialSubject/statusPurpose", "suspension", id="suspension-list"),
        pytest.param("credentialSubject/encodedList", _DELETE, id="no-encoded-list"),
    ],
)
def test_a_status_list_that_is_not_a_revocation_bitstring_is_refused(node_key, path, value):
    document = status_list_credential(list_id=LIST_URL, issuer=NODE, revoked=[], valid_from=ISSUED)
    signed = json.loads(
        json.dumps(sign_credential(_edited(document, path, value), node_key, NODE_KEY_ID, ISSUED))
    )

    _rejected(
        Reason.BAD_STATUS_LIST,
        verify_status_list,
        signed,
        node_key.public_key(),
        now=NOW,
        issuer=NODE,
    )


def _multibase(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_gzip_bomb_is_refused_before_it_is_inflated(node_key):
    bomb = _multibase(gzip.compress(bytes(64 << 20)))  # 64 MiB of zeros in about 64 KB
    assert len(bomb) < 100_000

    _rejected(Reason.TOO_LARGE, decode_status_list, bomb)
    document = status_list_credential(list_id=LIST_URL, issuer=NODE, revoked=[], valid_from=ISSUED)
    document["credentialSubject"]["encodedList"] = bomb
    signed = json.loads(json.dumps(sign_credential(document, node_key, NODE_KEY_ID, ISSUED)))
    _rejected(
        Reason.TOO_LARGE, verify_status_list, signed, node_key.public_key(), now=NOW, issuer=NODE
    )


def test_the_inflation_cap_is_exact():
    exactly = _multibase(gzip.compress(bytes(32768)))

    assert len(decode_status_list(exactly, max_bytes=32768)) == 32768
    _rejected(Reason.TOO_LARGE, decode_status_list, exactly, max_bytes=32767)


EMPTY = encode_status_list([])


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param("z" + EMPTY[1:], id="multibase-base58btc-prefix"),
        pytest.param(EMPTY[1:], id="no-multibase-prefix"),
        pytest.param(EMPTY + "==", id="padded"),
        pytest.param(
            "u" + base64.b64encode(gzip.compress(bytes(16384), mtime=0)).decode(),
            id="base64-not-url",
        ),
        pytest.param(EMPTY[:10] + "!" + EMPTY[11:], id="not-base64"),
        pytest.param(EMPTY + "A", id="impossible-length"),
        pytest.param(_multibase(bytes(16384)), id="not-gzip"),
        pytest.param(_multibase(gzip.compress(bytes(16384))[:-6]), id="truncated"),
        pytest.param(_multibase(gzip.compress(bytes(16384)) * 2), id="two-gzip-members"),
        pytest.param(_multibase(gzip.compress(bytes(16384)) + b"junk"), id="trailing-garbage"),
        pytest.param(_multibase(gzip.compress(bytes(16383))), id="shorter-than-16-kb"),
        pytest.param("", id="empty"),
        pytest.param("u", id="prefix-only"),
        pytest.param(None, id="null"),
        pytest.param(["u"], id="a-list"),
    ],
)
def test_an_encoded_list_we_cannot_read_is_refused(encoded):
    _rejected(Reason.BAD_STATUS_LIST, decode_status_list, encoded)


@pytest.mark.parametrize("index", [-1, MIN_LENGTH, MIN_LENGTH + 8, 2**40])
def test_an_index_outside_the_list_is_refused(node_key, index):
    bits = decode_status_list(EMPTY)

    _rejected(Reason.BAD_STATUS_LIST, status_bit, bits, index)
    status_list = verify_status_list(
        _signed_list(node_key, []), node_key.public_key(), now=NOW, issuer=NODE
    )
    _rejected(Reason.BAD_STATUS_LIST, status_list.is_set, index)
    if index >= 0:
        _rejected(Reason.BAD_STATUS_LIST, check_status, StatusEntry(LIST_URL, index), status_list)


def test_a_status_entry_is_only_checked_against_the_list_it_names(node_key):
    status_list = verify_status_list(
        _signed_list(node_key, []), node_key.public_key(), now=NOW, issuer=NODE
    )

    _rejected(Reason.BAD_STATUS_LIST, check_status, StatusEntry(f"{LIST_URL}0", 3), status_list)


def test_a_5_mb_status_list_is_refused_unread(node_key):
    signed = _signed_list(node_key, [])
    signed["credentialSubject"]["encodedList"] = "u" + "A" * 5_000_000

    _rejected(
        Reason.TOO_LARGE, verify_status_list, signed, node_key.public_key(), now=NOW, issuer=NODE
    )


# What we refuse to issue


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"method": "rumour"}, "method", id="unknown-method"),
        pytest.param({"valid_until": ISSUED}, "after", id="empty-window"),
        pytest.param({"valid_from": datetime(2026, 12, 1)}, "timezone-aware", id="naive-date"),
        pytest.param({"community_name": " "}, "community_name", id="blank-name"),
        pytest.param({"community_area": "x" * 201}, "community_area", id="area-too-long"),
    ],
)
def test_issuing_refuses_what_readers_would_refuse(changes, match):
    with pytest.raises(ValueError, match=match):
        _residency(**changes)


@pytest.mark.parametrize(
    ("revoked", "length"),
    [([MIN_LENGTH], MIN_LENGTH), ([-1], MIN_LENGTH), ([], MIN_LENGTH - 8), ([], MIN_LENGTH + 1)],
)
def test_encoding_refuses_lists_readers_would_refuse(revoked, length):
    with pytest.raises(ValueError, match=r"index|bits"):
        encode_status_list(revoked, length)


def test_the_same_revocations_encode_to_the_same_string_at_any_time():
    # Republishing an unchanged list changes nothing for caches: no timestamp in the header.
    encoded = encode_status_list([94567, 5])
    compressed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))

    assert compressed[4:8] == bytes(4)  # GZIP MTIME (RFC 1952 section 2.3)
    assert encoded == encode_status_list([5, 94567, 5])


# Errors


def test_every_refusal_is_one_protocol_error_with_a_stable_reason():
    assert issubclass(CredentialRejected, ProtocolError)
    # Callers log and count these strings: renaming one breaks their dashboards.
    assert {reason.value for reason in CredentialRejection} == {
        "malformed",
        "too_large",
        "wrong_type",
        "bad_proof",
        "issuer_mismatch",
        "not_yet_valid",
        "expired",
        "subject_mismatch",
        "community_mismatch",
        "bad_status_list",
        "revoked",
    }
    error = CredentialRejected(CredentialRejection.EXPIRED, "expired 2027-12-01")
    assert error.reason == "expired"
    assert str(error) == "expired 2027-12-01"
