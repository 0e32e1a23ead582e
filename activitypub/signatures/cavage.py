"""draft-cavage-http-signatures-12: the signing string, signing, and parsing incoming signatures.

Outgoing requests are signed ``rsa-sha256`` over ``(request-target) host date digest`` with
``Digest: SHA-256=...`` (:func:`sign_request`), the form Mastodon and most of the fediverse expect.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from activitypub.errors import (
    DigestMismatch,
    MissingComponents,
    SignatureError,
    SignatureMalformed,
    UnsupportedAlgorithm,
)
from activitypub.signatures.common import (
    _DIGESTS,
    _LOWER_TOKEN,
    _TOKEN,
    MAX_COVERED_COMPONENTS,
    FreshnessPolicy,
    Headers,
    SignatureToVerify,
    _b64decode_signature,
    _check_digest_value,
    _check_freshness,
    _collect_headers,
    _encode_base,
    _field_value,
    _from_timestamp,
    _parse_http_date,
    _parse_target,
    _plain_request,
    _received_target,
    _Target,
    digest_header,
    http_date,
)

_CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DECIMAL_TIMESTAMP = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
# One auth-param of a draft-cavage Signature header: name=token or name="quoted string".
_CAVAGE_PARAM = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s",]*))[ \t]*(?:,|\Z)'
)
_ESCAPED = re.compile(r"\\(.)")  # a quoted-pair inside a quoted string
# A keyId sign_cavage takes, written between quotes as it is: not empty, no quote, backslash or
# line break (the same test as its own, in one regex).
_CAVAGE_KEY_ID = re.compile(r'[^"\\\r\n]+')


def _check_cavage_digest(fields: dict[str, list[str]], body: bytes | None) -> None:
    value = _field_value(fields, "digest")
    if value is None:
        if body:
            raise DigestMismatch("the request has a body but no Digest header")
        return
    checked = False
    for part in value.split(","):
        algorithm, _, encoded = part.strip().partition("=")
        algorithm = algorithm.strip().lower()
        if algorithm not in _DIGESTS:
            continue  # RFC 3230 allows several digests; we check those we know
        try:
            expected = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DigestMismatch("the Digest header is not base64") from exc
        _check_digest_value(algorithm, expected, body or b"", "Digest")
        checked = True
    if not checked:
        raise DigestMismatch("the Digest header holds no SHA-256 or SHA-512 value")


def signing_string_cavage(
    method: str,
    url: str,
    headers: Headers,
    covered: Sequence[str],
    *,
    created: int | None = None,
    expires: str | int | None = None,
) -> bytes:
    """The draft-cavage-12 signing string of a request over the ``covered`` header names.

    ``url`` is the absolute URL of the request; its path and query form ``(request-target)``.
    Raises :class:`SignatureMalformed` when a covered header is absent.
    """
    return _cavage_signing_string(
        method,
        _received_target(url),
        _collect_headers(headers),
        covered,
        str(created) if created is not None else None,
        str(expires) if expires is not None else None,
    )


def _cavage_signing_string(
    method: str,
    target: _Target,
    fields: dict[str, list[str]],
    covered: Sequence[str],
    created: str | None,
    expires: str | None,
) -> bytes:
    if not _TOKEN.fullmatch(method):
        raise SignatureMalformed("the request method is not a token")
    lines = []
    for name in covered:
        if name == "(request-target)":
            value: str | None = f"{method.lower()} {target.request_target}"
        elif name == "(created)":
            value = created
        elif name == "(expires)":
            value = expires
        else:
            value = _field_value(fields, name)
        if value is None:
            raise SignatureMalformed(f"the signature covers {name!r}, which the request lacks")
        lines.append(f"{name}: {value}")
    return _encode_base("\n".join(lines))


def sign_cavage(
    method: str,
    url: str,
    headers: Headers,
    covered: Sequence[str],
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    *,
    algorithm: Literal["rsa-sha256", "hs2019"] = "rsa-sha256",
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """The draft-cavage-12 ``Signature`` header value for a request.

    RSA keys sign RSASSA-PKCS1-v1_5 with SHA-256 under either algorithm name (what Mastodon
    verifies for ``hs2019`` too); Ed25519 keys sign only as ``hs2019``, because labelling them
    ``rsa-sha256`` (as bovine does) makes every verifier reject them.
    """
    if algorithm not in _CAVAGE_ALGORITHMS:
        raise ValueError(f"unsupported draft-cavage algorithm {algorithm!r}")
    covered = [name.lower() for name in covered]  # verifiers lower-case them too
    if not key_id or any(c in key_id for c in '"\\\r\n'):
        raise ValueError("keyId must be non-empty and free of quotes, backslashes and newlines")
    if algorithm == "rsa-sha256" and any(n in ("(created)", "(expires)") for n in covered):
        raise ValueError("draft-cavage forbids (created) and (expires) with rsa-sha256")
    try:
        base = signing_string_cavage(
            method, url, headers, covered, created=created, expires=expires
        )
    except SignatureError as exc:
        raise ValueError(str(exc)) from exc
    if isinstance(private_key, rsa.RSAPrivateKey):
        signature = private_key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(private_key, ed25519.Ed25519PrivateKey) and algorithm == "hs2019":
        signature = private_key.sign(base)
    else:
        raise ValueError(f"cannot sign {algorithm} with {type(private_key).__name__}")
    params = [f'keyId="{key_id}"', f'algorithm="{algorithm}"']
    if created is not None:
        params.append(f"created={created}")
    if expires is not None:
        params.append(f"expires={expires}")
    params.append(f'headers="{" ".join(covered)}"')
    params.append(f'signature="{base64.b64encode(signature).decode("ascii")}"')
    return ",".join(params)


def sign_request(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
) -> dict[str, str]:
    """Sign an outgoing request with draft-cavage-12 ``rsa-sha256``, the fediverse's common form.

    Returns the headers to add: Host, Date, Digest (when there is a body) and Signature, which
    covers ``(request-target) host date`` and ``digest`` when there is a body.
    """
    # Every delivery to a peer outside Quartier is signed here, so the usual request (an RSA
    # key, a plain URL, see _sending_target, and a keyId sign_cavage takes) has its signing
    # string and headers written directly, byte for byte what sign_cavage writes: 7 us of Python
    # around the key's ~280 instead of 20 (the URL read twice, the headers collected back).
    # Anything else takes the general path, which gives the same headers or the same error.
    target = _plain_request(method, url, key_id, _CAVAGE_KEY_ID, now)
    if target is None or not isinstance(private_key, rsa.RSAPrivateKey):
        return _sign_request_general(method, url, body, key_id, private_key, now)
    date = http_date(now)
    headers = {"Host": target.authority, "Date": date}
    base = (
        f"(request-target): {method.lower()} {target.request_target}\n"
        f"host: {target.authority}\ndate: {date}"
    )
    covered = "(request-target) host date"
    if body is not None:
        digest = headers["Digest"] = digest_header(body)
        base += f"\ndigest: {digest}"
        covered += " digest"
    signature = private_key.sign(base.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{covered}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return headers


def _sign_request_general(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
) -> dict[str, str]:
    target = _parse_target(url)
    headers = {"Host": target.authority, "Date": http_date(now)}
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = digest_header(body)
        covered.append("digest")
    headers["Signature"] = sign_cavage(method, url, headers, covered, key_id, private_key)
    return headers


def _parse_cavage_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _CAVAGE_PARAM.match(value, position)
        if match is None or match.end() == position:
            raise SignatureMalformed("the Signature header is not a list of name=value pairs")
        name = match.group(1).lower()
        quoted = match.group(2)
        if quoted is None:
            param = match.group(3)
        else:  # unescape only when there is something to unescape (almost never)
            param = _ESCAPED.sub(r"\1", quoted) if "\\" in quoted else quoted
        if name in params:  # draft-cavage section 2.2: ambiguous, must not be processed
            raise SignatureMalformed(f"the Signature header repeats {name!r}")
        params[name] = param
        position = match.end()
    return params


def _cavage_covered(headers_param: str | None) -> tuple[str, ...]:
    # draft-cavage-12 section 2.1.6: without a headers parameter only (created) is covered;
    # an empty one must not be used (it would sign the empty string).
    covered = tuple(("(created)" if headers_param is None else headers_param).lower().split())
    if not covered:
        raise SignatureMalformed("the signature covers no headers")
    if len(covered) > MAX_COVERED_COMPONENTS:
        raise SignatureMalformed("the signature covers too many headers")
    if len(set(covered)) != len(covered):
        raise SignatureMalformed("the signature covers a header twice")
    for name in covered:
        if name not in ("(request-target)", "(created)", "(expires)") and not (
            _LOWER_TOKEN.fullmatch(name)
        ):
            raise SignatureMalformed(f"{name!r} is not a header name")
    return covered


def _parse_cavage(
    method: str,
    target: _Target,
    fields: dict[str, list[str]],
    raw: str,
    body: bytes | None,
    now: datetime,
    policy: FreshnessPolicy,
) -> SignatureToVerify:
    params = _parse_cavage_params(raw)
    key_id = params.get("keyid")
    if not key_id:
        raise SignatureMalformed("the signature has no keyId")
    encoded = params.get("signature")
    if not encoded:
        raise SignatureMalformed("the signature has no signature value")
    signature = _b64decode_signature(encoded)
    algorithm = params.get("algorithm")
    if algorithm is not None:
        algorithm = algorithm.lower()
        if algorithm not in _CAVAGE_ALGORITHMS:
            raise UnsupportedAlgorithm(f"unsupported draft-cavage algorithm {algorithm[:40]!r}")
    covered = _cavage_covered(params.get("headers"))

    _check_cavage_digest(fields, body)
    missing = [name for name in ("(request-target)", "host") if name not in covered]
    if "date" not in covered and "(created)" not in covered:
        missing.append("date or (created)")
    if body and "digest" not in covered:
        missing.append("digest")
    if missing:
        raise MissingComponents("the signature does not cover " + ", ".join(missing))

    created_param, expires_param = params.get("created"), params.get("expires")
    if ("(created)" in covered or "(expires)" in covered) and algorithm == "rsa-sha256":
        # draft-cavage-12 section 2.3: these pseudo-headers are an error with rsa-* algorithms.
        raise SignatureMalformed("(created) and (expires) are not allowed with rsa-sha256")
    if "(created)" in covered and not _TIMESTAMP.fullmatch(created_param or ""):
        raise SignatureMalformed("(created) is covered but created is not an integer")
    if "(expires)" in covered and not _DECIMAL_TIMESTAMP.fullmatch(expires_param or ""):
        raise SignatureMalformed("(expires) is covered but expires is not a number")
    base = _cavage_signing_string(method, target, fields, covered, created_param, expires_param)

    # Only covered values are trusted: an unsigned created or expires could stretch the window.
    if "(created)" in covered:
        created = _from_timestamp(int(created_param or "0"))
    else:
        created = _parse_http_date(_field_value(fields, "date") or "")
    expires = _from_timestamp(float(expires_param or "0")) if "(expires)" in covered else None
    _check_freshness(created, expires, now, policy)
    return SignatureToVerify(
        scheme="cavage",
        key_id=key_id,
        algorithm=algorithm,
        base=base,
        signature=signature,
        components=covered,
        created=created,
        expires=expires,
    )
