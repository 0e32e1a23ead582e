"""HTTP signatures: official vectors, round trips, and hostile input.

Vectors live in tests/data/signatures/ (see the README there for where each value comes from):
draft-cavage-http-signatures-12 Appendix C and RFC 9421 Appendix B.2.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from multidict import CIMultiDict

from activitypub.errors import (
    DigestMismatch,
    MissingComponents,
    SignatureError,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
    SignatureNotFresh,
    UnsupportedAlgorithm,
)
from activitypub.signatures import (
    MAX_COVERED_COMPONENTS,
    MAX_SIGNATURE_HEADER_LENGTH,
    FreshnessPolicy,
    SignatureToVerify,
    digest_header,
    http_date,
    parse_signature,
    sign_cavage,
    sign_request,
    sign_request_rfc9421,
    sign_rfc9421,
    signature_base_rfc9421,
    signing_string_cavage,
    verify_signature,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "signatures"
CAVAGE = json.loads((DATA / "cavage-appendix-c.json").read_text())
RFC9421 = json.loads((DATA / "rfc9421-appendix-b2.json").read_text())
RFC_VECTORS = {vector["section"]: vector for vector in RFC9421["vectors"]}


def _private(name: str) -> Any:
    return serialization.load_pem_private_key((DATA / name).read_bytes(), password=None)


def _public(name: str) -> Any:
    return serialization.load_pem_public_key((DATA / name).read_bytes())


CAVAGE_PRIVATE = _private("cavage-test-key-private.pem")
CAVAGE_PUBLIC = _public("cavage-test-key-public.pem")
SHARED_SECRET = base64.b64decode((DATA / "rfc9421-test-shared-secret.b64").read_text().strip())
RFC_PUBLIC = {
    "test-key-rsa-pss": _public("rfc9421-test-key-rsa-pss-public.pem"),
    "test-key-ecc-p256": _public("rfc9421-test-key-ecc-p256-public.pem"),
    "test-key-ed25519": _public("rfc9421-test-key-ed25519-public.pem"),
    "test-shared-secret": SHARED_SECRET,
}
RFC_PRIVATE = {
    "test-key-rsa-pss": _private("rfc9421-test-key-rsa-pss-private.pem"),
    "test-key-ecc-p256": _private("rfc9421-test-key-ecc-p256-private.pem"),
    "test-key-ed25519": _private("rfc9421-test-key-ed25519-private.pem"),
    "test-shared-secret": SHARED_SECRET,
}
# 1618884473 is the created parameter of every RFC 9421 Appendix B.2 signature.
RFC_NOW = datetime.fromtimestamp(1618884473, UTC) + timedelta(seconds=30)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ALICE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
MALLORY_PUBLIC = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
ALICE_ED = ed25519.Ed25519PrivateKey.generate()
KEY_ID = "https://a.example/users/alice#main-key"
INBOX = "https://b.example/users/bob/inbox"
BODY = b'{"type": "Follow", "actor": "https://a.example/users/alice"}'


def _cavage_request() -> tuple[str, str, list[tuple[str, str]], bytes]:
    request = CAVAGE["request"]
    headers = [(name, value) for name, value in request["headers"]]
    return request["method"], request["url"], headers, request["body"].encode()


def _rfc_message(vector: dict[str, Any]) -> dict[str, Any]:
    message = RFC9421[vector["message"]]
    headers = [(name, value) for name, value in message["headers"]]
    return {**message, "headers": headers}


def _rfc_signed_request(*sections: str) -> tuple[list[tuple[str, str]], bytes]:
    """The RFC 9421 test-request carrying the given B.2 signatures, as one header pair."""
    request = RFC9421["request"]
    headers = [(name, value) for name, value in request["headers"]]
    vectors = [RFC_VECTORS[section] for section in sections]
    headers.append(("Signature-Input", ", ".join(v["signature_input"] for v in vectors)))
    headers.append(("Signature", ", ".join(v["signature"] for v in vectors)))
    return headers, request["body"].encode()


def _signed_post(
    url: str = INBOX, body: bytes | None = BODY, now: datetime = NOW
) -> list[tuple[str, str]]:
    return list(sign_request("POST", url, body, KEY_ID, ALICE_KEY, now).items())


def _with(headers: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    """Headers with every ``name`` line replaced by one ``value`` line (or removed)."""
    kept = [(n, v) for n, v in headers if n.lower() != name.lower()]
    return kept if value is None else [*kept, (name, value)]


# ---------------------------------------------------------------------------------------------
# draft-cavage-http-signatures-12, Appendix C


@pytest.mark.parametrize("vector", CAVAGE["vectors"], ids=lambda v: v["section"])
def test_cavage_appendix_c_is_reproduced_byte_for_byte(vector: dict[str, Any]) -> None:
    method, url, headers, _ = _cavage_request()
    base = signing_string_cavage(method, url, headers, vector["headers"])
    assert base == vector["signing_string"].encode()
    header = sign_cavage(method, url, headers, vector["headers"], CAVAGE["key_id"], CAVAGE_PRIVATE)
    assert header.endswith(f'signature="{vector["signature"]}"')
    assert header.startswith('keyId="Test",algorithm="rsa-sha256",')
    to_verify = SignatureToVerify(
        scheme="cavage",
        key_id="Test",
        algorithm="rsa-sha256",
        base=base,
        signature=base64.b64decode(vector["signature"]),
        components=tuple(vector["headers"]),
    )
    verify_signature(to_verify, CAVAGE_PUBLIC)


def test_cavage_all_headers_test_passes_the_whole_pipeline() -> None:
    method, url, headers, body = _cavage_request()
    vector = CAVAGE["vectors"][2]
    signature = (
        f'keyId="Test",algorithm="rsa-sha256",headers="{" ".join(vector["headers"])}",'
        f'signature="{vector["signature"]}"'
    )
    when = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
    to_verify = parse_signature(method, url, [*headers, ("Signature", signature)], body, when)
    assert to_verify.base == vector["signing_string"].encode()
    assert to_verify.created == when
    verify_signature(to_verify, CAVAGE_PUBLIC)


@pytest.mark.parametrize("index", [0, 1], ids=["C.1", "C.2"])
def test_cavage_default_and_basic_tests_cover_too_little_for_our_policy(index: int) -> None:
    method, url, headers, body = _cavage_request()
    vector = CAVAGE["vectors"][index]
    signature = sign_cavage(method, url, headers, vector["headers"], "Test", CAVAGE_PRIVATE)
    when = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
    with pytest.raises(MissingComponents):
        parse_signature(method, url, [*headers, ("Signature", signature)], body, when)


def test_cavage_all_headers_test_as_printed_is_refused() -> None:
    # The draft prints (created) and (expires) with rsa-sha256, which its own section 2.3 makes
    # an error; the printed signature is over the signing string without them.
    method, url, headers, body = _cavage_request()
    signature = (
        'keyId="Test",algorithm="rsa-sha256",created=1402170695, expires=1402170699,'
        'headers="(request-target) (created) (expires) host date content-type digest '
        f'content-length",signature="{CAVAGE["vectors"][2]["signature"]}"'
    )
    when = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
    with pytest.raises(SignatureMalformed, match="rsa-sha256"):
        parse_signature(method, url, [*headers, ("Signature", signature)], body, when)


# ---------------------------------------------------------------------------------------------
# RFC 9421, Appendix B.2


def _raw_public(key: Any) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize("name", ["test-key-rsa-pss", "test-key-ecc-p256", "test-key-ed25519"])
def test_rfc9421_test_keys_are_pairs(name: str) -> None:
    assert _raw_public(RFC_PRIVATE[name].public_key()) == _raw_public(RFC_PUBLIC[name])


def test_cavage_test_key_is_a_pair() -> None:
    assert _raw_public(CAVAGE_PRIVATE.public_key()) == _raw_public(CAVAGE_PUBLIC)


@pytest.mark.parametrize("section", sorted(RFC_VECTORS))
def test_rfc9421_signature_bases_are_reproduced_byte_for_byte(section: str) -> None:
    vector = RFC_VECTORS[section]
    message = _rfc_message(vector)
    if vector["message"] == "request":
        base = signature_base_rfc9421(
            vector["signature_input"],
            vector["label"],
            method=message["method"],
            url=message["url"],
            headers=message["headers"],
        )
    else:
        base = signature_base_rfc9421(
            vector["signature_input"],
            vector["label"],
            headers=message["headers"],
            status=message["status"],
        )
    assert base == vector["signature_base"].encode()


@pytest.mark.parametrize("section", sorted(RFC_VECTORS))
def test_rfc9421_signatures_verify(section: str) -> None:
    vector = RFC_VECTORS[section]
    encoded = vector["signature"].split("=:", 1)[1].rstrip(":")
    to_verify = SignatureToVerify(
        scheme="rfc9421",
        key_id=vector["key"],
        algorithm=None,  # none of the B.2 signatures names its alg: the key decides
        base=vector["signature_base"].encode(),
        signature=base64.b64decode(encoded),
        components=(),
    )
    verify_signature(to_verify, RFC_PUBLIC[vector["key"]])
    verify_signature(replace(to_verify, algorithm=vector["algorithm"]), RFC_PUBLIC[vector["key"]])
    with pytest.raises(SignatureInvalid):
        verify_signature(replace(to_verify, base=to_verify.base + b" "), RFC_PUBLIC[vector["key"]])


@pytest.mark.parametrize("section", ["B.2.5", "B.2.6"])
def test_rfc9421_deterministic_signatures_are_reproduced_byte_for_byte(section: str) -> None:
    vector = RFC_VECTORS[section]
    request = _rfc_message(vector)
    covered = [c.strip('"') for c in vector["signature_input"].split("(")[1].split(")")[0].split()]
    signed = sign_rfc9421(
        request["method"],
        request["url"],
        request["headers"],
        covered,
        vector["key"],
        RFC_PRIVATE[vector["key"]],
        datetime.fromtimestamp(1618884473, UTC),
        label=vector["label"],
    )
    assert signed == {
        "Signature-Input": vector["signature_input"],
        "Signature": vector["signature"],
    }


def test_our_outgoing_rfc9421_signature_of_the_rfc_test_request() -> None:
    # What we send peers that take RFC 9421, over the RFC's test request with its Ed25519 key
    # (B.2.6 itself, signed the same way, is reproduced byte for byte above).
    request = RFC9421["request"]
    created = datetime.fromtimestamp(1618884473, UTC)
    key = RFC_PRIVATE["test-key-ed25519"]
    body = request["body"].encode()
    headers = sign_request_rfc9421("POST", request["url"], body, "test-key-ed25519", key, created)
    # RFC 9530 section 2's example: the sha-256 Content-Digest of this very body.
    assert headers["Content-Digest"] == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert headers["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "@authority" "content-digest")'
        ';created=1618884473;keyid="test-key-ed25519"'
    )
    base = signature_base_rfc9421(
        headers["Signature-Input"], "sig1", method="POST", url=request["url"], headers=headers
    )
    assert base == (
        b'"@method": POST\n'
        b'"@target-uri": https://example.com/foo?param=Value&Pet=dog\n'
        b'"@authority": example.com\n'
        b'"content-digest": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n'
        b'"@signature-params": ("@method" "@target-uri" "@authority" "content-digest")'
        b';created=1618884473;keyid="test-key-ed25519"'
    )
    to_verify = parse_signature("POST", request["url"], headers, body, RFC_NOW)
    assert to_verify.base == base
    verify_signature(to_verify, RFC_PUBLIC["test-key-ed25519"])
    # A GET has no body, so no Content-Digest, and the signature does not cover one.
    get = sign_request_rfc9421("GET", request["url"], None, "test-key-ed25519", key, created)
    assert "Content-Digest" not in get
    assert get["Signature-Input"].startswith('sig1=("@method" "@target-uri" "@authority");')


def test_rfc9421_full_coverage_passes_the_whole_pipeline() -> None:
    headers, body = _rfc_signed_request("B.2.3")
    request = RFC9421["request"]
    to_verify = parse_signature(request["method"], request["url"], headers, body, RFC_NOW)
    assert to_verify.scheme == "rfc9421"
    assert to_verify.label == "sig-b23"
    assert to_verify.key_id == "test-key-rsa-pss"
    assert to_verify.base == RFC_VECTORS["B.2.3"]["signature_base"].encode()
    assert to_verify.created == datetime.fromtimestamp(1618884473, UTC)
    verify_signature(to_verify, RFC_PUBLIC["test-key-rsa-pss"])
    with pytest.raises(SignatureInvalid):
        verify_signature(to_verify, MALLORY_PUBLIC)


def test_rfc9421_several_signatures_first_label_or_the_chosen_one() -> None:
    headers, body = _rfc_signed_request("B.2.6", "B.2.3", "B.2.5")
    request = RFC9421["request"]
    # The first one (B.2.6) does not cover the body digest.
    with pytest.raises(MissingComponents, match="content-digest"):
        parse_signature(request["method"], request["url"], headers, body, RFC_NOW)
    chosen = parse_signature(
        request["method"], request["url"], headers, body, RFC_NOW, label="sig-b23"
    )
    verify_signature(chosen, RFC_PUBLIC["test-key-rsa-pss"])
    with pytest.raises(SignatureMissing):
        parse_signature(request["method"], request["url"], headers, body, RFC_NOW, label="nope")


@pytest.mark.parametrize(
    ("section", "missing"),
    [("B.2.1", "@method"), ("B.2.2", "@method"), ("B.2.5", "@path"), ("B.2.6", "content-digest")],
)
def test_rfc9421_vectors_that_cover_too_little_are_refused(section: str, missing: str) -> None:
    headers, body = _rfc_signed_request(section)
    request = RFC9421["request"]
    with pytest.raises(MissingComponents, match=missing):
        parse_signature(request["method"], request["url"], headers, body, RFC_NOW)


# ---------------------------------------------------------------------------------------------
# Round trips


def test_signed_post_with_query_round_trips() -> None:
    url = "https://b.example/users/bob/inbox?page=2&sort=new"
    headers = sign_request("POST", url, BODY, KEY_ID, ALICE_KEY, NOW)
    assert headers["Host"] == "b.example"
    assert headers["Date"] == "Thu, 26 Nov 2026 12:00:00 GMT"
    assert headers["Digest"] == digest_header(BODY)
    assert headers["Digest"].startswith("SHA-256=")
    assert 'headers="(request-target) host date digest"' in headers["Signature"]
    to_verify = parse_signature("POST", url, headers, BODY, NOW + timedelta(seconds=3))
    assert to_verify.base.startswith(b"(request-target): post /users/bob/inbox?page=2&sort=new\n")
    assert to_verify.key_id == KEY_ID
    assert to_verify.components == ("(request-target)", "host", "date", "digest")
    verify_signature(to_verify, ALICE_KEY.public_key())


def test_signed_get_without_body_round_trips() -> None:
    url = "https://b.example/users/bob/outbox?page=true"
    headers = sign_request("GET", url, None, KEY_ID, ALICE_KEY, NOW)
    assert "Digest" not in headers
    assert 'headers="(request-target) host date"' in headers["Signature"]
    to_verify = parse_signature("GET", url, headers, None, NOW)
    verify_signature(to_verify, ALICE_KEY.public_key())
    verify_signature(parse_signature("GET", url, headers, b"", NOW), ALICE_KEY.public_key())


def test_host_with_a_non_default_port_is_signed_with_its_port() -> None:
    headers = sign_request("GET", "http://LOCALHOST:8080/inbox", None, KEY_ID, ALICE_KEY, NOW)
    assert headers["Host"] == "localhost:8080"
    assert sign_request("GET", "https://h.example:443/", None, KEY_ID, ALICE_KEY, NOW)["Host"] == (
        "h.example"
    )


def test_header_names_are_case_insensitive_and_repeated_values_combine() -> None:
    base_headers = [("HOST", "b.example"), ("date", http_date(NOW)), ("X-Tag", "a"), ("x-tag", "b")]
    covered = ["(request-target)", "host", "date", "x-tag"]
    signature = sign_cavage("GET", INBOX, base_headers, covered, KEY_ID, ALICE_KEY)
    received = CIMultiDict([*base_headers, ("SIGNATURE", signature)])
    to_verify = parse_signature("GET", INBOX, received, None, NOW)
    assert to_verify.base.endswith(b"\nx-tag: a, b")
    verify_signature(to_verify, ALICE_KEY.public_key())


def test_hs2019_with_ed25519_and_created_round_trips() -> None:
    created = int(NOW.timestamp())
    headers = {"Host": "b.example", "Digest": digest_header(BODY)}
    covered = ["(request-target)", "(created)", "host", "digest"]
    signature = sign_cavage(
        "POST", INBOX, headers, covered, KEY_ID, ALICE_ED, algorithm="hs2019", created=created
    )
    to_verify = parse_signature("POST", INBOX, {**headers, "Signature": signature}, BODY, NOW)
    assert to_verify.created == NOW
    verify_signature(to_verify, ALICE_ED.public_key())
    with pytest.raises(UnsupportedAlgorithm):
        verify_signature(replace(to_verify, algorithm="rsa-sha256"), ALICE_ED.public_key())


def test_hs2019_with_rsa_pss_sha512_verifies() -> None:
    headers = {"Host": "b.example", "Date": http_date(NOW), "Digest": digest_header(BODY)}
    covered = ("(request-target)", "host", "date", "digest")
    base = signing_string_cavage("POST", INBOX, headers, covered)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=padding.PSS.MAX_LENGTH)
    raw = ALICE_KEY.sign(base, pss, hashes.SHA512())
    signature = (
        f'keyId="{KEY_ID}",algorithm="hs2019",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(raw).decode()}"'
    )
    to_verify = parse_signature("POST", INBOX, {**headers, "Signature": signature}, BODY, NOW)
    verify_signature(to_verify, ALICE_KEY.public_key())
    # rsa-sha256 means PKCS#1 v1.5 only: the same PSS signature must not pass under that name.
    with pytest.raises(SignatureInvalid):
        verify_signature(replace(to_verify, algorithm="rsa-sha256"), ALICE_KEY.public_key())


RFC_COMPONENTS = ["@method", "@target-uri", "content-digest", "content-type"]


def _rfc_post(
    key: Any,
    alg: str | None = None,
    components: list[str] = RFC_COMPONENTS,
    expires: datetime | None = None,
) -> list[tuple[str, str]]:
    """A POST to Bob's inbox signed with RFC 9421 at NOW."""
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(BODY).digest()).decode() + ":"
    headers = [("Content-Digest", digest), ("Content-Type", "application/activity+json")]
    signed = sign_rfc9421(
        "POST", INBOX, headers, components, KEY_ID, key, NOW, alg=alg, expires=expires
    )
    return [*headers, *signed.items()]


def _rfc_input(*components: str) -> str:
    """A hand-written Signature-Input member sig1, created at NOW."""
    listed = " ".join(f'"{c}"' for c in components)
    return f'sig1=({listed});created={int(NOW.timestamp())};keyid="{KEY_ID}"'


@pytest.mark.parametrize(
    ("private", "public", "alg"),
    [
        (ALICE_KEY, ALICE_KEY.public_key(), None),
        (ALICE_KEY, ALICE_KEY.public_key(), "rsa-v1_5-sha256"),
        (ALICE_KEY, ALICE_KEY.public_key(), "rsa-pss-sha512"),
        (RFC_PRIVATE["test-key-ecc-p256"], RFC_PUBLIC["test-key-ecc-p256"], None),
        (ALICE_ED, ALICE_ED.public_key(), "ed25519"),
        (SHARED_SECRET, SHARED_SECRET, "hmac-sha256"),
    ],
    ids=["rsa", "rsa-v1_5", "rsa-pss", "ecdsa", "ed25519", "hmac"],
)
def test_rfc9421_round_trips(private: Any, public: Any, alg: str | None) -> None:
    headers = _rfc_post(private, alg)
    to_verify = parse_signature("POST", INBOX, headers, BODY, NOW)
    assert to_verify.algorithm == alg
    assert to_verify.components == tuple(RFC_COMPONENTS)
    verify_signature(to_verify, public)


def test_rfc9421_path_and_authority_instead_of_target_uri() -> None:
    components = ["@method", "@path", "@authority", "content-digest"]
    to_verify = parse_signature(
        "POST", INBOX, _rfc_post(ALICE_KEY, components=components), BODY, NOW
    )
    verify_signature(to_verify, ALICE_KEY.public_key())


# ---------------------------------------------------------------------------------------------
# The base is built from the request as received


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "https://b.example/users/carol/inbox"),
        ("POST", "https://b.example/users/bob/inbox?extra=1"),
        ("PUT", INBOX),
    ],
    ids=["other-path", "added-query", "other-method"],
)
def test_cavage_signature_for_another_request_fails(method: str, url: str) -> None:
    to_verify = parse_signature(method, url, _signed_post(), BODY, NOW)
    with pytest.raises(SignatureInvalid):
        verify_signature(to_verify, ALICE_KEY.public_key())


def test_cavage_signature_with_changed_host_fails() -> None:
    headers = _with(_signed_post(), "Host", "c.example")
    to_verify = parse_signature("POST", "https://c.example/users/bob/inbox", headers, BODY, NOW)
    with pytest.raises(SignatureInvalid):
        verify_signature(to_verify, ALICE_KEY.public_key())


@pytest.mark.parametrize(
    "url",
    ["https://b.example/users/carol/inbox", "https://c.example/users/bob/inbox"],
    ids=["other-path", "other-authority"],
)
def test_rfc9421_signature_for_another_request_fails(url: str) -> None:
    headers = _rfc_post(ALICE_KEY, components=["@method", "@path", "@authority", "content-digest"])
    to_verify = parse_signature("POST", url, headers, BODY, NOW)
    with pytest.raises(SignatureInvalid):
        verify_signature(to_verify, ALICE_KEY.public_key())


def test_rfc9421_query_must_be_covered_when_present() -> None:
    url = INBOX + "?q=1"
    headers = [("Content-Digest", "sha-256=:" + digest_header(BODY)[8:] + ":")]
    components = ["@method", "@path", "@authority", "content-digest"]
    signed = sign_rfc9421("POST", url, headers, components, KEY_ID, ALICE_KEY, NOW)
    with pytest.raises(MissingComponents, match="@query"):
        parse_signature("POST", url, [*headers, *signed.items()], BODY, NOW)


# ---------------------------------------------------------------------------------------------
# Hostile input


def test_no_signature_header() -> None:
    with pytest.raises(SignatureMissing):
        parse_signature("POST", INBOX, [("Host", "b.example")], BODY, NOW)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "garbage",
        'keyId="unterminated',
        'keyId="a",,signature="AAAA"',
        'keyId="a" signature="AAAA"',
        'keyId="a",keyId="b",headers="date",signature="AAAA"',
        'keyId="a",headers="(request-target) host date digest",signature="not base64!"',
        'keyId="a",headers="(request-target) host host date digest",signature="AAAA"',
        'keyId="a",headers="(request-target) host da:te digest",signature="AAAA"',
        'keyId="a",headers="(request-target) host date digest x-absent",signature="AAAA"',
        'keyId="a",headers="",signature="AAAA"',
    ],
)
def test_garbage_cavage_headers_are_malformed(signature: str) -> None:
    headers = _with(_signed_post(), "Signature", signature)
    with pytest.raises(SignatureMalformed):
        parse_signature("POST", INBOX, headers, BODY, NOW)


@pytest.mark.parametrize(
    ("signature_input", "signature"),
    [
        ("sig1=", "sig1=:AAAA:"),
        ("sig1=(@method);created=1", "sig1=:AAAA:"),
        ('sig1=("@method" "@method");created=1;keyid="k"', "sig1=:AAAA:"),
        ('sig1=("@method" "@target-uri" "Content-Digest");created=1;keyid="k"', "sig1=:AAAA:"),
        ('sig1=("@method");created=1;keyid="k", sig1=("@path")', "sig1=:AAAA:"),
        ('sig1=("@method" "@target-uri" "content-digest");created=1;keyid="k"', "sig1=AAAA"),
        ('sig1=("@method" "@target-uri" "content-digest");created=1;keyid="k"', "sig2=:AAAA:"),
        ('sig1=("@method" "@target-uri" "content-digest");created="1";keyid="k"', "sig1=:AA:"),
        ('sig1=("@method" "@target-uri" "content-digest" "@status");created=1;keyid="k"', ""),
        ('sig1=("@method" "@target-uri" "content-digest" "@signature-params");created=1', ""),
        ('sig1=("@method" "@target-uri" "content-digest" "@bogus");created=1;keyid="k"', ""),
        (
            'sig1=("@method" "@target-uri" "content-digest" "content-type";sf);created=1;keyid="k"',
            "",
        ),
        ("sig1=ünïcode", "sig1=:AAAA:"),
    ],
)
def test_garbage_rfc9421_headers_are_malformed(signature_input: str, signature: str) -> None:
    created = str(int(NOW.timestamp()))
    headers = _rfc_post(ALICE_KEY)
    headers = _with(
        headers, "Signature-Input", signature_input.replace("created=1", f"created={created}")
    )
    headers = _with(headers, "Signature", signature or "sig1=:AAAA:")
    with pytest.raises(SignatureMalformed):
        parse_signature("POST", INBOX, headers, BODY, NOW)


def test_signature_input_without_signature_is_malformed() -> None:
    headers = _with(_rfc_post(ALICE_KEY), "Signature", None)
    with pytest.raises(SignatureMalformed):
        parse_signature("POST", INBOX, headers, BODY, NOW)


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "ecdsa-sha256", "rot13"])
def test_unknown_cavage_algorithm(algorithm: str) -> None:
    signature = dict(_signed_post())["Signature"].replace("rsa-sha256", algorithm)
    with pytest.raises(UnsupportedAlgorithm):
        parse_signature("POST", INBOX, _with(_signed_post(), "Signature", signature), BODY, NOW)


def test_unknown_rfc9421_algorithm() -> None:
    headers = _rfc_post(ALICE_KEY, alg="rsa-pss-sha512")
    value = dict(headers)["Signature-Input"].replace("rsa-pss-sha512", "rsa-sha1")
    with pytest.raises(UnsupportedAlgorithm):
        parse_signature("POST", INBOX, _with(headers, "Signature-Input", value), BODY, NOW)


def test_key_id_missing() -> None:
    signature = dict(_signed_post())["Signature"].replace(f'keyId="{KEY_ID}",', "")
    with pytest.raises(SignatureMalformed, match="keyId"):
        parse_signature("POST", INBOX, _with(_signed_post(), "Signature", signature), BODY, NOW)
    headers = _rfc_post(ALICE_KEY)
    value = dict(headers)["Signature-Input"].replace(f';keyid="{KEY_ID}"', "")
    with pytest.raises(SignatureMalformed, match="keyid"):
        parse_signature("POST", INBOX, _with(headers, "Signature-Input", value), BODY, NOW)


def test_digest_missing_with_a_body() -> None:
    headers = {"Host": "b.example", "Date": http_date(NOW)}
    covered = ["(request-target)", "host", "date"]
    signature = sign_cavage("POST", INBOX, headers, covered, KEY_ID, ALICE_KEY)
    with pytest.raises(DigestMismatch):
        parse_signature("POST", INBOX, {**headers, "Signature": signature}, BODY, NOW)
    rfc_headers = _with(_rfc_post(ALICE_KEY), "Content-Digest", None)
    with pytest.raises(DigestMismatch):
        parse_signature("POST", INBOX, rfc_headers, BODY, NOW)


@pytest.mark.parametrize(
    "digest",
    [
        digest_header(b"something else"),
        "SHA-256=not base64!",
        "MD5=rL0Y20zC+Fzt72VPzMSk2A==",
        "SHA-256="
        + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
        + ",SHA-512="
        + base64.b64encode(hashlib.sha512(b"x").digest()).decode(),
    ],
    ids=["other-body", "not-base64", "only-md5", "one-of-two-wrong"],
)
def test_digest_wrong(digest: str) -> None:
    with pytest.raises(DigestMismatch):
        parse_signature("POST", INBOX, _with(_signed_post(), "Digest", digest), BODY, NOW)


def test_sha512_digest_is_accepted() -> None:
    digest = "sha-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    headers = {"Host": "b.example", "Date": http_date(NOW), "Digest": digest}
    covered = ["(request-target)", "host", "date", "digest"]
    signature = sign_cavage("POST", INBOX, headers, covered, KEY_ID, ALICE_KEY)
    to_verify = parse_signature("POST", INBOX, {**headers, "Signature": signature}, BODY, NOW)
    verify_signature(to_verify, ALICE_KEY.public_key())


@pytest.mark.parametrize(
    "content_digest",
    [
        "sha-256=:" + base64.b64encode(hashlib.sha256(b"x").digest()).decode() + ":",
        "sha-256=AAAA",
        "md5=:rL0Y20zC+Fzt72VPzMSk2A==:",
        "not a dictionary!",
    ],
    ids=["other-body", "not-bytes", "only-md5", "garbage"],
)
def test_content_digest_wrong(content_digest: str) -> None:
    headers = _with(_rfc_post(ALICE_KEY), "Content-Digest", content_digest)
    with pytest.raises(DigestMismatch):
        parse_signature("POST", INBOX, headers, BODY, NOW)


def test_body_altered_after_signing() -> None:
    altered = BODY.replace(b"Follow", b"Delete")
    with pytest.raises(DigestMismatch):
        parse_signature("POST", INBOX, _signed_post(), altered, NOW)
    with pytest.raises(DigestMismatch):
        parse_signature("POST", INBOX, _rfc_post(ALICE_KEY), altered, NOW)


def test_body_digest_not_covered() -> None:
    headers = {"Host": "b.example", "Date": http_date(NOW), "Digest": digest_header(BODY)}
    covered = ["(request-target)", "host", "date"]
    signature = sign_cavage("POST", INBOX, headers, covered, KEY_ID, ALICE_KEY)
    with pytest.raises(MissingComponents, match="digest"):
        parse_signature("POST", INBOX, {**headers, "Signature": signature}, BODY, NOW)
    rfc = _rfc_post(ALICE_KEY, components=["@method", "@target-uri", "content-type"])
    with pytest.raises(MissingComponents, match="content-digest"):
        parse_signature("POST", INBOX, rfc, BODY, NOW)


@pytest.mark.parametrize(
    ("signed_at", "error"),
    [
        (NOW + timedelta(hours=2), SignatureNotFresh),
        (NOW - timedelta(hours=2), SignatureNotFresh),
        (NOW + timedelta(minutes=50), None),
        (NOW - timedelta(minutes=64), None),
    ],
    ids=["2h-future", "2h-old", "50min-future", "64min-old"],
)
def test_date_freshness(signed_at: datetime, error: type[Exception] | None) -> None:
    headers = _signed_post(now=signed_at)
    if error is None:
        verify_signature(parse_signature("POST", INBOX, headers, BODY, NOW), ALICE_KEY.public_key())
    else:
        with pytest.raises(error):
            parse_signature("POST", INBOX, headers, BODY, NOW)


def test_unparseable_date_is_malformed() -> None:
    date = "yesterday-ish"
    headers = {"Host": "b.example", "Date": date, "Digest": digest_header(BODY)}
    covered = ["(request-target)", "host", "date", "digest"]
    signature = sign_cavage("POST", INBOX, headers, covered, KEY_ID, ALICE_KEY)
    with pytest.raises(SignatureMalformed):
        parse_signature("POST", INBOX, {**headers, "Signature": signature}, BODY, NOW)


def _signed_with_date(date: str) -> list[tuple[str, str]]:
    headers = {"Host": "b.example", "Date": date, "Digest": digest_header(BODY)}
    covered = ["(request-target)", "host", "date", "digest"]
    signature = sign_cavage("POST", INBOX, headers, covered, KEY_ID, ALICE_KEY)
    return [*headers.items(), ("Signature", signature)]


# RFC 9110 section 5.6.7: the preferred form and the two obsolete ones a recipient MUST accept.
RFC9110_DATES = [
    "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
    "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850 format
    "Sun Nov  6 08:49:37 1994",  # ANSI C's asctime() format
]


@pytest.mark.parametrize("date", RFC9110_DATES, ids=["imf-fixdate", "rfc850", "asctime"])
def test_every_http_date_form_of_rfc9110_is_read(date: str) -> None:
    signed_at = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    to_verify = parse_signature("POST", INBOX, _signed_with_date(date), BODY, signed_at)
    assert to_verify.created == signed_at
    verify_signature(to_verify, ALICE_KEY.public_key())


def test_an_imf_fixdate_is_read_as_any_http_date_reader_reads_it() -> None:
    rng = random.Random(9110)
    for _ in range(200):
        moment = datetime.fromtimestamp(rng.randrange(0, 4_000_000_000), UTC)
        to_verify = parse_signature(
            "POST", INBOX, _signed_with_date(http_date(moment)), BODY, moment
        )
        assert to_verify.created == moment


@pytest.mark.parametrize(
    "date",
    [
        "Sun, 31 Feb 1994 08:49:37 GMT",  # no such day
        "Sun, 06 Nov 1994 24:00:00 GMT",  # no such hour
        "Sun, 06 Nov 1994 08:49:60 GMT",  # leap seconds are not HTTP dates
        "Sun, 06 Xyz 1994 08:49:37 GMT",
        "Sun, \u0660\u0666 Nov 1994 08:49:37 GMT",  # Arabic-Indic digits
        "1994-11-06T08:49:37Z",  # ISO 8601 is not an HTTP date
        "784111777",
        "",
    ],
)
def test_a_malformed_date_is_refused_as_malformed(date: str) -> None:
    with pytest.raises(SignatureMalformed, match="the Date header is not an HTTP date"):
        parse_signature("POST", INBOX, _signed_with_date(date), BODY, NOW)


def test_rfc9421_without_created() -> None:
    headers = _rfc_post(ALICE_KEY)
    value = dict(headers)["Signature-Input"].replace(f";created={int(NOW.timestamp())}", "")
    with pytest.raises(MissingComponents, match="created"):
        parse_signature("POST", INBOX, _with(headers, "Signature-Input", value), BODY, NOW)


def test_expires_passed() -> None:
    strict = FreshnessPolicy(clock_skew=timedelta(0))
    headers = _rfc_post(ALICE_KEY, expires=NOW + timedelta(minutes=1))
    parse_signature("POST", INBOX, headers, BODY, NOW + timedelta(seconds=30), strict)
    with pytest.raises(SignatureNotFresh):
        parse_signature("POST", INBOX, headers, BODY, NOW + timedelta(minutes=2), strict)
    # With the default hour of skew, an expiry three hours gone is still refused.
    with pytest.raises(SignatureNotFresh):
        parse_signature("POST", INBOX, headers, BODY, NOW + timedelta(hours=3))


def test_expires_extends_the_window_up_to_the_cap() -> None:
    headers = _rfc_post(ALICE_KEY, expires=NOW + timedelta(hours=20))
    later = NOW + timedelta(hours=3)
    to_verify = parse_signature("POST", INBOX, headers, BODY, later)
    assert to_verify.expires == NOW + timedelta(hours=20)
    with pytest.raises(SignatureNotFresh):  # capped at 12 h after creation, plus 1 h of skew
        parse_signature("POST", INBOX, headers, BODY, NOW + timedelta(hours=13, minutes=1))
    # Without expires the window is 5 minutes plus the skew.
    with pytest.raises(SignatureNotFresh):
        parse_signature("POST", INBOX, _rfc_post(ALICE_KEY), BODY, later)


def test_created_in_the_future() -> None:
    headers = _rfc_post(ALICE_KEY)
    with pytest.raises(SignatureNotFresh):
        parse_signature("POST", INBOX, headers, BODY, NOW - timedelta(hours=2))


def test_header_over_the_cap() -> None:
    padding_value = "x" * MAX_SIGNATURE_HEADER_LENGTH
    signature = dict(_signed_post())["Signature"] + f',padding="{padding_value}"'
    with pytest.raises(SignatureMalformed, match="too long"):
        parse_signature("POST", INBOX, _with(_signed_post(), "Signature", signature), BODY, NOW)
    headers = _rfc_post(ALICE_KEY)
    value = dict(headers)["Signature-Input"] + f';tag="{padding_value}"'
    with pytest.raises(SignatureMalformed, match="too long"):
        parse_signature("POST", INBOX, _with(headers, "Signature-Input", value), BODY, NOW)


def test_too_many_components() -> None:
    names = [f"x-h{i}" for i in range(MAX_COVERED_COMPONENTS)]
    signature = (
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
        f'headers="(request-target) host date digest {" ".join(names)}",signature="AAAA"'
    )
    with pytest.raises(SignatureMalformed, match="too many"):
        parse_signature("POST", INBOX, _with(_signed_post(), "Signature", signature), BODY, NOW)
    value = _rfc_input(*RFC_COMPONENTS, *names)
    headers = _with(_rfc_post(ALICE_KEY), "Signature-Input", value)
    with pytest.raises(SignatureMalformed, match="too many"):
        parse_signature("POST", INBOX, headers, BODY, NOW)


def test_duplicated_components() -> None:
    signature = dict(_signed_post())["Signature"].replace(
        'headers="(request-target) host date digest"',
        'headers="(request-target) host date digest Host"',
    )
    with pytest.raises(SignatureMalformed, match="twice"):
        parse_signature("POST", INBOX, _with(_signed_post(), "Signature", signature), BODY, NOW)
    headers = _with(_rfc_post(ALICE_KEY), "Signature-Input", _rfc_input(*RFC_COMPONENTS, "@method"))
    with pytest.raises(SignatureMalformed, match="twice"):
        parse_signature("POST", INBOX, headers, BODY, NOW)
    with pytest.raises(ValueError, match="twice"):
        sign_rfc9421("GET", INBOX, {}, ["@method", "@method"], KEY_ID, ALICE_KEY, NOW)


def test_created_pseudo_header_with_rsa_sha256_is_malformed() -> None:
    created = int(NOW.timestamp())
    signature = (
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",created={created},'
        'headers="(request-target) (created) host digest",signature="AAAA"'
    )
    with pytest.raises(SignatureMalformed):
        parse_signature("POST", INBOX, _with(_signed_post(), "Signature", signature), BODY, NOW)


def test_signature_from_another_key() -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(parse_signature("POST", INBOX, _signed_post(), BODY, NOW), MALLORY_PUBLIC)
    with pytest.raises(SignatureInvalid):
        verify_signature(
            parse_signature("POST", INBOX, _rfc_post(ALICE_KEY), BODY, NOW), MALLORY_PUBLIC
        )
    other_ed = ed25519.Ed25519PrivateKey.generate().public_key()
    to_verify = parse_signature("POST", INBOX, _rfc_post(ALICE_ED), BODY, NOW)
    with pytest.raises(SignatureInvalid):
        verify_signature(to_verify, other_ed)


def test_wrong_key_type_for_algorithm() -> None:
    cavage = parse_signature("POST", INBOX, _signed_post(), BODY, NOW)
    for key in (ALICE_ED.public_key(), SHARED_SECRET, RFC_PUBLIC["test-key-ecc-p256"]):
        with pytest.raises(UnsupportedAlgorithm):
            verify_signature(cavage, key)
    rfc = parse_signature("POST", INBOX, _rfc_post(ALICE_ED, "ed25519"), BODY, NOW)
    for key in (ALICE_KEY.public_key(), SHARED_SECRET, RFC_PUBLIC["test-key-ecc-p256"]):
        with pytest.raises(UnsupportedAlgorithm):
            verify_signature(rfc, key)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(UnsupportedAlgorithm):
        verify_signature(replace(rfc, algorithm=None), p384)


@pytest.mark.parametrize(
    "url", ["", "/relative/inbox", "http://[::1/inbox", "https://h.example:99999/", "mailto:x"]
)
def test_unparseable_request_url_is_malformed(url: str) -> None:
    with pytest.raises(SignatureMalformed):
        parse_signature("POST", url, _signed_post(), BODY, NOW)


def test_signers_refuse_programming_errors() -> None:
    with pytest.raises(ValueError, match="timezone"):
        sign_request("GET", INBOX, None, KEY_ID, ALICE_KEY, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="rsa-sha256"):
        sign_cavage("GET", INBOX, {"Host": "b.example"}, ["host"], KEY_ID, ALICE_ED)
    with pytest.raises(ValueError, match="keyId"):
        sign_cavage("GET", INBOX, {"Host": "b"}, ["host"], 'a",evil="1', ALICE_KEY)
    with pytest.raises(ValueError, match="lacks"):
        sign_cavage("GET", INBOX, {}, ["host"], KEY_ID, ALICE_KEY)
    with pytest.raises(ValueError, match="cannot sign"):
        sign_rfc9421("GET", INBOX, {}, ["@method"], KEY_ID, ALICE_KEY, NOW, alg="ed25519")


# ---------------------------------------------------------------------------------------------
# Fuzzing: hypothesis is not installed, so a seeded generator mutates real headers.

_SPECIALS = ' ,;=:"\\()@*?&%+-_./0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP\t\r\n\x00'


def _random_text(rng: random.Random) -> str:
    kind = rng.randrange(4)
    size = rng.randrange(0, 160)
    if kind == 0:
        return rng.randbytes(size).decode("latin-1")
    if kind == 1:
        return "".join(rng.choice(_SPECIALS) for _ in range(size))
    if kind == 2:  # any code point, lone surrogates included
        return "".join(chr(rng.randrange(0, 0x110000)) for _ in range(size // 4))
    return str(rng.randrange(-(10**20), 10**20))


def _mutate(value: str, rng: random.Random) -> str:
    for _ in range(rng.randrange(1, 4)):
        position = rng.randrange(0, len(value) + 1)
        operation = rng.randrange(4)
        if operation == 0:
            value = value[:position] + value[position + 1 :]
        elif operation == 1:
            value = value[:position] + rng.choice(_SPECIALS) + value[position:]
        elif operation == 2:
            value = value[:position] + _random_text(rng) + value[position:]
        else:
            value = value[:position]
    return value


def test_fuzzed_headers_only_raise_signature_errors() -> None:
    rng = random.Random(20261126)
    templates = [_signed_post(), _rfc_post(ALICE_KEY), _rfc_post(ALICE_ED, "ed25519")]
    keys = [ALICE_KEY.public_key(), ALICE_ED.public_key(), SHARED_SECRET]
    names = ["Signature", "Signature-Input", "Digest", "Content-Digest", "Date", "Host"]
    outcomes: dict[str, int] = {}
    for _ in range(1500):
        headers = list(rng.choice(templates))
        for _ in range(rng.randrange(1, 3)):
            name = rng.choice(names)
            current = dict(headers).get(name, "")
            value = _mutate(current, rng) if current and rng.random() < 0.7 else _random_text(rng)
            headers = _with(headers, name, value)
        if rng.random() < 0.1:
            headers.append((_random_text(rng), _random_text(rng)))
        body = BODY if rng.random() < 0.8 else rng.randbytes(rng.randrange(0, 40))
        try:
            to_verify = parse_signature("POST", INBOX, headers, body, NOW)
            verify_signature(to_verify, rng.choice(keys))
        except SignatureError as exc:
            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
        else:
            outcomes["accepted"] = outcomes.get("accepted", 0) + 1
    # The mutations reach past the parser into every later check.
    assert {"SignatureMalformed", "DigestMismatch", "SignatureInvalid"} <= set(outcomes)


def test_random_bytes_as_every_header_only_raise_signature_errors() -> None:
    rng = random.Random(9421)
    for _ in range(500):
        headers = [(name, _random_text(rng)) for name in ("Signature", "Date", "Host", "Digest")]
        if rng.random() < 0.5:
            headers.append(("Signature-Input", _random_text(rng)))
        body = _random_text(rng).encode("utf-8", "surrogatepass")
        method = _random_text(rng) or "GET"
        with pytest.raises(SignatureError):
            parse_signature(method, INBOX, headers, body, NOW)
