"""FEP-8b32 integrity proofs (eddsa-jcs-2022) and the RFC 8785 canonical JSON under them.

What matters to users: a listing or attestation relayed by another node still proves who wrote
it, byte-compatible with other fediverse software (the FEP's own vectors), and no alteration of
the content, of the proof or of its @context goes unnoticed.
"""

from __future__ import annotations

import copy
import json
import random
import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import based58
import jcs
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from activitypub.errors import KeyFormatError, ProofError, ProofInvalid, ProofMalformed
from activitypub.keys import ed25519_to_multibase, multibase_to_ed25519
from activitypub.proofs import (
    VerifiedProof,
    _check_json_value,
    canonical_json,
    create_proof,
    multibase_to_ed25519_private,
    proof_verification_method,
    same_origin,
    verify_proof,
)

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "fep-proofs.json").read_text())
FEP_8B32 = VECTORS["fep_8b32"]
FEP_C390 = VECTORS["fep_c390"]
ALICE_KEY_ID = "https://server.example/users/alice#ed25519-key"
CREATED = "2023-02-24T23:36:38Z"


@pytest.fixture(scope="module")
def vector_key() -> ed25519.Ed25519PrivateKey:
    return multibase_to_ed25519_private(FEP_8B32["secret_key_multibase"])


@pytest.fixture(scope="module")
def key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _signed_vector() -> dict[str, Any]:
    return copy.deepcopy(FEP_8B32["signed_document"])


def _c390_document() -> dict[str, Any]:
    return {**copy.deepcopy(FEP_C390["statement"]), "proof": copy.deepcopy(FEP_C390["proof"])}


# Official vectors


def test_fep_8b32_vector_is_reproduced_byte_for_byte(vector_key):
    signed = create_proof(FEP_8B32["unsigned_document"], vector_key, ALICE_KEY_ID, CREATED)

    expected = FEP_8B32["signed_document"]
    assert signed["proof"]["proofValue"] == expected["proof"]["proofValue"]
    assert signed == expected
    # Same members in the same order: what we emit is what the FEP shows.
    assert json.dumps(signed) == json.dumps(expected)


def test_fep_8b32_vector_created_as_datetime_gives_the_same_proof(vector_key):
    created = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)

    signed = create_proof(FEP_8B32["unsigned_document"], vector_key, ALICE_KEY_ID, created)

    assert signed == FEP_8B32["signed_document"]


def test_fep_8b32_signed_vector_verifies(vector_key):
    verified = verify_proof(_signed_vector(), vector_key.public_key())

    assert verified == VerifiedProof(
        verification_method=ALICE_KEY_ID,
        proof_purpose="assertionMethod",
        created=CREATED,
        controller="https://server.example/users/alice",
        document_id="https://server.example/activities/1",
        actor="https://server.example/users/alice",
    )
    assert verified.created_at == datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)


def test_fep_c390_identity_proof_verifies_with_the_did_key_it_names():
    document = _c390_document()
    did_key = proof_verification_method(document)
    # did:key:<Multikey>: the verification method is the public key itself (FEP-521a form).
    public_key = multibase_to_ed25519(did_key.removeprefix("did:key:"))

    verified = verify_proof(document, public_key)

    assert verified.verification_method == FEP_C390["statement"]["subject"]
    assert verified.controller == did_key
    assert verified.actor is None


def test_fep_c390_identity_proof_is_reproduced(vector_key):
    proof = FEP_C390["proof"]

    signed = create_proof(
        FEP_C390["statement"], vector_key, proof["verificationMethod"], proof["created"]
    )

    # The statement has no @context, so neither has the proof.
    assert signed == _c390_document()


def test_vector_secret_key_is_the_private_half_of_the_c390_did_key(vector_key):
    did_key = FEP_C390["proof"]["verificationMethod"]
    assert "did:key:" + ed25519_to_multibase(vector_key.public_key()) == did_key


@pytest.mark.parametrize(
    "multibase",
    [
        pytest.param(FEP_8B32["secret_key_multibase"][1:], id="no-multibase-prefix"),
        pytest.param("z0OIl", id="not-base58btc"),
        pytest.param("zé", id="not-ascii"),
        pytest.param(VECTORS["fep_521a"]["publicKeyMultibase"], id="public-key"),
        pytest.param(
            "z" + based58.b58encode(b"\x80\x26" + bytes(31)).decode(), id="short-private-key"
        ),
    ],
)
def test_bad_secret_key_multibase_is_refused(multibase):
    with pytest.raises(KeyFormatError):
        multibase_to_ed25519_private(multibase)


# RFC 8785 canonical JSON, checked on the RFC's own samples

# Appendix B: IEEE-754 bit patterns and their canonical serialisation.
RFC8785_NUMBERS = [
    (0x0000000000000000, "0"),
    (0x8000000000000000, "0"),
    (0x0000000000000001, "5e-324"),
    (0x8000000000000001, "-5e-324"),
    (0x7FEFFFFFFFFFFFFF, "1.7976931348623157e+308"),
    (0xFFEFFFFFFFFFFFFF, "-1.7976931348623157e+308"),
    (0x4340000000000000, "9007199254740992"),
    (0xC340000000000000, "-9007199254740992"),
    (0x4430000000000000, "295147905179352830000"),
    (0x44B52D02C7E14AF5, "9.999999999999997e+22"),
    (0x44B52D02C7E14AF6, "1e+23"),
    (0x44B52D02C7E14AF7, "1.0000000000000001e+23"),
    (0x444B1AE4D6E2EF4E, "999999999999999700000"),
    (0x444B1AE4D6E2EF4F, "999999999999999900000"),
    (0x444B1AE4D6E2EF50, "1e+21"),
    (0x3EB0C6F7A0B5ED8C, "9.999999999999997e-7"),
    (0x3EB0C6F7A0B5ED8D, "0.000001"),
    (0x41B3DE4355555553, "333333333.3333332"),
    (0x41B3DE4355555554, "333333333.33333325"),
    (0x41B3DE4355555555, "333333333.3333333"),
    (0x41B3DE4355555556, "333333333.3333334"),
    (0x41B3DE4355555557, "333333333.33333343"),
    (0xBECBF647612F3696, "-0.0000033333333333333333"),
    (0x43143FF3C1CB0959, "1424953923781206.2"),
]


def _double(bits: int) -> float:
    value: float = struct.unpack(">d", bits.to_bytes(8, "big"))[0]
    return value


@pytest.mark.parametrize(("bits", "expected"), RFC8785_NUMBERS, ids=lambda v: f"{v}")
def test_rfc8785_appendix_b_number_serialisation(bits, expected):
    assert canonical_json(_double(bits)) == expected.encode("ascii")


@pytest.mark.parametrize("bits", [0x7FFFFFFFFFFFFFFF, 0x7FF0000000000000, 0xFFF0000000000000])
def test_rfc8785_non_finite_numbers_are_errors(bits):
    with pytest.raises(ValueError, match="JSON number"):
        canonical_json(_double(bits))


def test_rfc8785_section_3_2_2_example_gives_the_rfc_bytes():
    text = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    # Section 3.2.4 gives the UTF-8 bytes of the result.
    expected = bytes.fromhex(
        "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72"
        "75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a"
        "5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31"
        "65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37"
        "5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30"
        "30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d"
    )

    canonical = canonical_json(json.loads(text))

    assert canonical == expected
    assert canonical.decode("utf-8") == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


def test_rfc8785_section_3_2_3_sorts_members_by_utf16_code_units():
    text = r"""{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"""

    order = list(json.loads(canonical_json(json.loads(text))).values())

    assert order == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",  # U+1F600 is D83D DE00 in UTF-16: before U+FB33
        "Hebrew Letter Dalet With Dagesh",
    ]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(2**53, id="integer-past-i-json"),
        pytest.param(-(2**53), id="negative-integer-past-i-json"),
        pytest.param(10**400, id="integer-past-double"),
        pytest.param("\ud800", id="lone-surrogate"),
        pytest.param({"\udc00": 1}, id="lone-surrogate-key"),
        pytest.param({1: "numeric key"}, id="non-string-key"),
        pytest.param({"when": datetime(2026, 1, 1, tzinfo=UTC)}, id="not-json"),
        pytest.param([float("nan")], id="nan"),
    ],
)
def test_values_without_a_faithful_canonical_form_are_refused(value):
    with pytest.raises(ValueError, match=r"JSON|canonical|I-JSON|keys"):
        canonical_json(value)


def test_a_circular_value_is_refused_not_looped_over():
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="canonical"):
        canonical_json(cycle)


# The fast path: json.dumps where it is provably RFC 8785, jcs elsewhere

# Characters where JSON serialisers tend to differ: every escape, the last ASCII, C1 controls,
# the JavaScript line separators, both ends of the BMP's private use and specials, the Hebrew
# presentation form RFC 8785 sorts after emoji, astral characters (surrogate pairs in UTF-16).
TRICKY = [
    *"\x00\x01\x07\x08\t\n\x0b\x0c\r\x0e\x1f \"\\/'aZ0~\x7f\x80\x9f\xa0é€",
    *"\u2028\u2029\ud7ff\ue000\ufb33\ufeff\ufffd\uffff",
    *"\U00010000\U0001f600\U0010ffff",
]
SAFE_INTEGERS = [0, 1, -1, 9, 10, 2**31, -(2**31), 2**53 - 1, -(2**53 - 1), 10**15]


def _rfc8785_string(text: str) -> str:
    """RFC 8785 section 3.2.2.2 written out: the reference the fast path is held to."""
    short = {
        '"': '\\"',
        "\\": "\\\\",
        "\b": "\\b",
        "\t": "\\t",
        "\n": "\\n",
        "\f": "\\f",
        "\r": "\\r",
    }
    out = []
    for char in text:
        if char in short:
            out.append(short[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _random_string(rng: random.Random, astral: bool) -> str:
    pool = TRICKY if astral else [c for c in TRICKY if c <= "\uffff"]
    return "".join(rng.choice(pool) for _ in range(rng.randrange(0, 6)))


def _random_value(rng: random.Random, depth: int, plain: bool) -> Any:
    """A JSON value; ``plain`` ones have no floats and no astral member names."""
    kinds = ["null", "bool", "int", "str", "str"]
    if not plain:
        kinds.append("float")
    if depth < 4:
        kinds += ["list", "dict", "dict"]
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([*SAFE_INTEGERS, rng.randrange(-(2**53) + 1, 2**53)])
    if kind == "float":
        return rng.choice([0.1, -0.0, 1e21, 1e-7, 5e-324, 1.5, 3.0, rng.uniform(-1e6, 1e6)])
    if kind == "str":
        return _random_string(rng, astral=True)  # astral values are fine: only keys sort
    if kind == "list":
        return [_random_value(rng, depth + 1, plain) for _ in range(rng.randrange(0, 4))]
    return {
        _random_string(rng, astral=not plain): _random_value(rng, depth + 1, plain)
        for _ in range(rng.randrange(0, 5))
    }


def test_every_bmp_and_astral_character_is_escaped_as_rfc_8785_says():
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)

    assert canonical_json(text).decode("utf-8") == _rfc8785_string(text)
    assert canonical_json({text[:4000]: text}).decode("utf-8") == (
        "{" + _rfc8785_string(text[:4000]) + ":" + _rfc8785_string(text) + "}"
    )


def test_the_fast_path_gives_jcs_bytes_for_values_it_accepts():
    rng = random.Random(8785)
    values = [_random_value(rng, 0, plain=True) for _ in range(3000)]

    for value in values:
        assert _check_json_value(value), value  # the fast path is the one under test
        assert canonical_json(value) == jcs.canonicalize(value), value


def test_floats_and_astral_member_names_go_to_jcs_and_still_match_it():
    rng = random.Random(32)
    values = [_random_value(rng, 0, plain=False) for _ in range(3000)]
    slow = [value for value in values if not _check_json_value(value)]

    assert len(slow) > 500  # both kinds are well represented
    for value in values:
        assert canonical_json(value) == jcs.canonicalize(value), value


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        pytest.param({"a": [1, "x", None, True]}, True, id="plain"),
        pytest.param({"\ufb33": 1, "é": 2}, True, id="bmp-keys"),
        pytest.param({"\U0001f600": 1}, False, id="astral-key"),
        pytest.param({"k": ["\U0001f600"]}, True, id="astral-value"),
        pytest.param({"k": [1.0]}, False, id="integral-float"),
        pytest.param({"k": {"n": 0.5}}, False, id="nested-float"),
    ],
)
def test_which_values_take_the_fast_path(value, plain):
    assert _check_json_value(value) is plain
    assert canonical_json(value) == jcs.canonicalize(value)


# Round trips


def _note() -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"qt": "https://quartier.example/ns#"},
        ],
        "id": "https://quartier.example/listings/42",
        "type": "Note",
        "attributedTo": {"id": "https://quartier.example/users/marie", "type": "Person"},
        "content": "Perceuse à prêter",
    }


def test_round_trip_with_a_generated_key(key):
    signed = create_proof(_note(), key, "https://quartier.example/users/marie#ed25519-key", CREATED)

    verified = verify_proof(signed, key.public_key())

    assert verified.actor == "https://quartier.example/users/marie"
    assert verified.controller == "https://quartier.example/users/marie"
    assert verified.document_id == "https://quartier.example/listings/42"
    assert signed["proof"]["@context"] == _note()["@context"]


def test_created_datetime_is_written_in_utc_to_the_second(key):
    paris = timezone(timedelta(hours=1))
    created = datetime(2026, 3, 1, 10, 30, 15, 987654, tzinfo=paris)

    signed = create_proof(_note(), key, "https://q.example/k", created)

    assert signed["proof"]["created"] == "2026-03-01T09:30:15Z"


def test_create_proof_leaves_its_input_alone(key):
    note = _note()
    signed = create_proof(note, key, "https://q.example/k", CREATED)

    signed["attributedTo"]["id"] = "https://elsewhere.example/users/eve"
    signed["proof"]["@context"].append("https://example.org/more")

    assert note == _note()
    assert signed["@context"] == _note()["@context"]


def _reordered(value: Any) -> Any:
    """The same JSON value with every object's members in reverse order."""
    if isinstance(value, dict):
        return {k: _reordered(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def test_unicode_and_numbers_survive_reserialisation(key):
    document = {
        **_note(),
        "content": "€$\u000f\nA'B\"\\/ \u2028 \u0000 \u007f \ufeff",
        "name": "Ḍ̇ (not normalised) \U0001f600 עברית 日本語",
        "\U0001f600": "an astral key",
        "\ufb33": "a key sorted after it in UTF-16",
        "numbers": [
            333333333.3333333,
            1e30,
            4.5,
            0.002,
            1e-27,
            -0.0,
            5e-324,
            1.7976931348623157e308,
            2**53 - 1,
            -(2**53 - 1),
            0.1 + 0.2,
            1e21,
            1e-7,
            0,
        ],
        "literals": [None, True, False],
    }
    signed = create_proof(document, key, "https://q.example/k", CREATED)

    for wire in (
        json.dumps(_reordered(signed), indent=4, ensure_ascii=True),
        json.dumps(_reordered(signed), separators=(",", ":"), ensure_ascii=False),
        json.dumps(signed, indent="\t", sort_keys=True),
    ):
        assert wire.encode("utf-8") != canonical_json(signed)
        verify_proof(json.loads(wire), key.public_key())


def test_numbers_written_differently_on_the_wire_still_verify(key):
    signed = create_proof(
        {**_note(), "price": 4.5, "count": 3}, key, "https://q.example/k", CREATED
    )
    wire = (
        json.dumps(signed)
        .replace('"price": 4.5', '"price": 4.50e0')
        .replace('"count": 3', '"count": 3.0')
    )
    assert "4.50e0" in wire
    assert "3.0" in wire

    verify_proof(json.loads(wire), key.public_key())


def test_an_embedded_signed_object_keeps_its_own_proof(key):
    # A group Announce relays the member's signed listing: both proofs hold, the outer one
    # covering the inner object together with its proof.
    member_key = ed25519.Ed25519PrivateKey.generate()
    listing = create_proof(_note(), member_key, "https://quartier.example/users/marie#k", CREATED)
    announce = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://quartier.example/groups/rue-haute/announces/1",
        "type": "Announce",
        "actor": "https://quartier.example/groups/rue-haute",
        "object": listing,
    }
    relayed = json.loads(json.dumps(create_proof(announce, key, "https://q.example/g#k", CREATED)))

    assert verify_proof(relayed, key.public_key()).actor == announce["actor"]
    verify_proof(relayed["object"], member_key.public_key())
    relayed["object"]["proof"]["created"] = "2026-01-01T00:00:00Z"
    with pytest.raises(ProofInvalid):
        verify_proof(relayed, key.public_key())


def test_a_single_proof_in_a_list_verifies(key):
    signed = create_proof(_note(), key, "https://q.example/k", CREATED)
    signed["proof"] = [signed["proof"]]

    assert verify_proof(signed, key.public_key()).verification_method == "https://q.example/k"


def test_a_linked_data_signature_beside_the_proof_is_left_out(vector_key):
    # FEP-8b32: the proof is made first, the LD signature added after, removed before verifying.
    document = _signed_vector()
    document["signature"] = {"type": "RsaSignature2017", "signatureValue": "..."}

    verify_proof(document, vector_key.public_key())


def test_proof_purpose_can_be_chosen_and_checked(key):
    signed = create_proof(
        _note(), key, "https://q.example/k", CREATED, proof_purpose="authentication"
    )

    with pytest.raises(ProofMalformed, match="proofPurpose"):
        verify_proof(signed, key.public_key())
    verified = verify_proof(signed, key.public_key(), proof_purpose="authentication")
    assert verified.proof_purpose == "authentication"
    assert verify_proof(signed, key.public_key(), proof_purpose=None) == verified


# What create_proof refuses


@pytest.mark.parametrize(
    ("document", "created", "match"),
    [
        pytest.param({**_note(), "proof": {}}, CREATED, "already carries a proof", id="proof"),
        pytest.param({**_note(), "signature": {}}, CREATED, "linked data", id="ld-signature"),
        pytest.param(_note(), datetime(2026, 1, 1), "timezone-aware", id="naive-created"),
        pytest.param(_note(), "2026-01-01", "dateTimeStamp", id="date-only"),
        pytest.param(_note(), "2026-01-01T00:00:00", "dateTimeStamp", id="no-timezone"),
        pytest.param({**_note(), "n": 2**53}, CREATED, "I-JSON", id="large-integer"),
    ],
)
def test_create_proof_refuses(key, document, created, match):
    with pytest.raises(ValueError, match=match):
        create_proof(document, key, "https://q.example/k", created)


def test_create_and_verify_need_ed25519_keys(key):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(KeyFormatError):
        create_proof(_note(), rsa_key, "https://q.example/k", CREATED)  # type: ignore[arg-type]
    with pytest.raises(KeyFormatError):
        verify_proof(_signed_vector(), rsa_key.public_key())  # type: ignore[arg-type]


# Hostile and broken proofs: structural problems


def _with_proof(**changes: Any) -> dict[str, Any]:
    document = _signed_vector()
    for name, value in changes.items():
        if value is _DELETE:
            del document["proof"][name]
        else:
            document["proof"][name] = value
    return document


_DELETE = object()
_PROOF = FEP_8B32["signed_document"]["proof"]


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(FEP_8B32["unsigned_document"], id="no-proof"),
        pytest.param([FEP_8B32["signed_document"]], id="document-not-an-object"),
        pytest.param({**FEP_8B32["unsigned_document"], "proof": "z3sX"}, id="proof-a-string"),
        pytest.param({**FEP_8B32["unsigned_document"], "proof": None}, id="proof-null"),
        pytest.param({**FEP_8B32["unsigned_document"], "proof": []}, id="proof-empty-list"),
        pytest.param({**FEP_8B32["unsigned_document"], "proof": [_PROOF, _PROOF]}, id="two-proofs"),
        pytest.param(_with_proof(type="Ed25519Signature2020"), id="wrong-type"),
        pytest.param(_with_proof(type=["DataIntegrityProof"]), id="type-a-list"),
        pytest.param(_with_proof(type=_DELETE), id="no-type"),
        pytest.param(_with_proof(cryptosuite="eddsa-rdfc-2022"), id="wrong-cryptosuite"),
        pytest.param(_with_proof(cryptosuite="jcs-eddsa-2022"), id="old-cryptosuite-name"),
        pytest.param(_with_proof(cryptosuite=_DELETE), id="no-cryptosuite"),
        pytest.param(_with_proof(verificationMethod=_DELETE), id="no-verification-method"),
        pytest.param(
            _with_proof(verificationMethod={"id": ALICE_KEY_ID}), id="verification-method-object"
        ),
        pytest.param(_with_proof(verificationMethod=""), id="verification-method-empty"),
        pytest.param(_with_proof(proofPurpose=_DELETE), id="no-proof-purpose"),
        pytest.param(_with_proof(proofPurpose=["assertionMethod"]), id="proof-purpose-list"),
        pytest.param(_with_proof(proofPurpose="authentication"), id="unexpected-purpose"),
        pytest.param(_with_proof(created=_DELETE), id="no-created"),
        pytest.param(_with_proof(created=1677281798), id="created-a-number"),
        pytest.param(_with_proof(created="yesterday"), id="created-not-a-date"),
        pytest.param(_with_proof(created="2023-02-30T23:36:38Z"), id="created-impossible"),
        pytest.param(_with_proof(expires="soon"), id="expires-not-a-date"),
        pytest.param(_with_proof(proofValue=_DELETE), id="no-proof-value"),
        pytest.param(_with_proof(proofValue=42), id="proof-value-a-number"),
        pytest.param(_with_proof(proofValue=_PROOF["proofValue"][1:]), id="not-multibase"),
        pytest.param(
            _with_proof(proofValue="u" + "A" * 86), id="multibase-base64url-not-base58btc"
        ),
        pytest.param(_with_proof(proofValue="z0OIl" + "1" * 80), id="not-base58"),
        pytest.param(_with_proof(proofValue="zé"), id="not-ascii"),
        pytest.param(_with_proof(proofValue=_PROOF["proofValue"][:-8]), id="signature-short"),
        pytest.param(_with_proof(proofValue="z1" + _PROOF["proofValue"][1:]), id="sig-65-bytes"),
        pytest.param(
            {**_signed_vector(), "count": 2**53 + 1}, id="integer-beyond-i-json-in-document"
        ),
        pytest.param(json.loads('{"n": NaN, "proof": ' + json.dumps(_PROOF) + "}"), id="nan"),
    ],
)
def test_structural_problems_are_malformed(vector_key, document):
    with pytest.raises(ProofMalformed):
        verify_proof(document, vector_key.public_key())


def test_proof_verification_method_checks_structure_first():
    assert proof_verification_method(_signed_vector()) == ALICE_KEY_ID
    with pytest.raises(ProofMalformed, match="no proof"):
        proof_verification_method(FEP_8B32["unsigned_document"])
    with pytest.raises(ProofMalformed, match="cryptosuite"):
        proof_verification_method(_with_proof(cryptosuite="rsa-2017"))


# Hostile and broken proofs: the signature does not hold


def _edit(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split("/")
    target = document
    for name in parents:
        target = target[name]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("object/content", "Hello world!", id="content"),
        pytest.param("object/location/latitude", 25.273963, id="nested-number"),
        pytest.param("object/location/longitude", -71, id="number-truncated"),
        pytest.param("actor", "https://server.example/users/mallory", id="actor"),
        pytest.param("object/attributedTo", _DELETE, id="member-removed"),
        pytest.param("object/sensitive", True, id="member-added"),
        pytest.param("to", ["https://www.w3.org/ns/activitystreams#Public"], id="audience-added"),
        pytest.param("@context", ["https://www.w3.org/ns/activitystreams"], id="context-shortened"),
        pytest.param(
            "@context",
            [*FEP_8B32["signed_document"]["@context"], {"content": "https://evil.example/x"}],
            id="context-appended",
        ),
        pytest.param("@context", _DELETE, id="context-removed"),
        pytest.param("proof/created", "2023-02-24T23:36:39Z", id="proof-created"),
        pytest.param(
            "proof/verificationMethod", "https://server.example/users/bob#ed25519-key", id="vm"
        ),
        pytest.param("proof/@context", ["https://www.w3.org/ns/activitystreams"], id="proof-ctx"),
        pytest.param("proof/expires", "2099-01-01T00:00:00Z", id="proof-expires-added"),
        pytest.param("proof/nonce", "abc", id="proof-member-added"),
    ],
)
def test_any_alteration_is_invalid(vector_key, path, value):
    document = _edit(_signed_vector(), path, value)

    with pytest.raises(ProofInvalid):
        verify_proof(document, vector_key.public_key())


def test_the_proofs_copy_of_the_context_is_redundant(vector_key):
    # The proof config takes the document's @context when the proof has none, so the signed
    # bytes are the same: dropping the copy alters nothing that was signed.
    document = _signed_vector()
    del document["proof"]["@context"]

    verify_proof(document, vector_key.public_key())
    # ... and the document's @context is still covered by the hash.
    document["@context"] = ["https://www.w3.org/ns/activitystreams"]
    with pytest.raises(ProofInvalid):
        verify_proof(document, vector_key.public_key())


def test_context_changed_in_both_document_and_proof_is_invalid(vector_key):
    document = _signed_vector()
    changed = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    document["@context"] = changed
    document["proof"]["@context"] = changed

    with pytest.raises(ProofInvalid):
        verify_proof(document, vector_key.public_key())


def test_a_signature_for_another_purpose_does_not_verify_when_relabelled(key):
    signed = create_proof(
        _note(), key, "https://q.example/k", CREATED, proof_purpose="authentication"
    )
    signed["proof"]["proofPurpose"] = "assertionMethod"

    with pytest.raises(ProofInvalid):
        verify_proof(signed, key.public_key())


def test_another_key_does_not_verify(key):
    with pytest.raises(ProofInvalid):
        verify_proof(_signed_vector(), key.public_key())


def test_a_bit_flipped_signature_is_invalid(vector_key):
    signature = bytearray(based58.b58decode(_PROOF["proofValue"][1:].encode()))
    signature[10] ^= 0x01
    document = _with_proof(proofValue="z" + based58.b58encode(bytes(signature)).decode())

    with pytest.raises(ProofInvalid):
        verify_proof(document, vector_key.public_key())


def test_proof_errors_share_one_root():
    assert issubclass(ProofMalformed, ProofError)
    assert issubclass(ProofInvalid, ProofError)


# Origins, for the caller's policy


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://server.example/users/alice#key", "https://server.example/activities/1", True),
        ("https://Server.EXAMPLE/a", "https://server.example:443/b", True),
        ("http://server.example/a", "http://server.example:80/b", True),
        ("https://server.example/a", "http://server.example/a", False),
        ("https://server.example/a", "https://server.example:8443/a", False),
        ("https://server.example/a", "https://other.example/a", False),
        ("https://server.example/a", "https://sub.server.example/a", False),
        ("https://server.example@evil.example/a", "https://server.example/a", False),
        ("did:key:z6Mk", "did:key:z6Mk", False),
        ("https://server.example:99999/a", "https://server.example/a", False),
        ("/users/alice", "/users/alice", False),
        ("", "", False),
    ],
)
def test_same_origin(a, b, same):
    assert same_origin(a, b) is same
    assert same_origin(b, a) is same
