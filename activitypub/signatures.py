"""HTTP signatures: sign with draft-cavage-12; verify draft-cavage-12 and RFC 9421.

Outgoing requests are signed the way Mastodon and most of the fediverse expect: draft-cavage-12,
``rsa-sha256`` over ``(request-target) host date digest`` with ``Digest: SHA-256=...``
(:func:`sign_request`). Incoming requests are verified in two steps, so that the caller can
fetch the signer's key (which may take the network) in between:

1. :func:`parse_signature` reads the headers and checks syntax, required coverage, the body
   digest and freshness, then returns a :class:`SignatureToVerify` holding the exact signature
   base, built from the request as received;
2. :func:`verify_signature` checks the signature over that base with the key named by
   ``SignatureToVerify.key_id``.

On hostile input both raise only :class:`~activitypub.errors.SignatureError` subclasses. The
signing functions raise :class:`ValueError` for programming errors (a naive datetime, a key the
algorithm cannot use), which never come from a remote party.

Built on ``cryptography`` and ``http_sf`` directly, not on bovine: its RFC 9421 path crashes with
current http-sf, checks no freshness and accepts signatures that do not cover the body, its
signer and verifier disagree on query strings, and importing it costs 12 MiB.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal
from urllib.parse import quote, unquote_plus, urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from http_sf.innerlist import ser_innerlist

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

__all__ = [
    "DEFAULT_FRESHNESS",
    "MAX_COVERED_COMPONENTS",
    "MAX_SIGNATURE_HEADER_LENGTH",
    "FreshnessPolicy",
    "Headers",
    "PrivateKey",
    "PublicKey",
    "SignatureToVerify",
    "digest_header",
    "http_date",
    "parse_signature",
    "sign_cavage",
    "sign_request",
    "sign_rfc9421",
    "signature_base_rfc9421",
    "signing_string_cavage",
    "verify_signature",
]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
"""Request headers: a mapping (a multidict yields every value) or (name, value) pairs."""
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | bytes
"""A verification key; ``bytes`` is an HMAC shared secret (RFC 9421 ``hmac-sha256`` only)."""
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | bytes

# A Signature header of a few covered headers is ~700 bytes with a 4096-bit RSA key; 8 KiB leaves
# room for honest signers while bounding the parsing work an attacker can ask for.
MAX_SIGNATURE_HEADER_LENGTH = 8 * 1024
MAX_COVERED_COMPONENTS = 50

_CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
_RFC9421_ALGORITHMS = frozenset(
    {"rsa-v1_5-sha256", "rsa-pss-sha512", "ecdsa-p256-sha256", "ed25519", "hmac-sha256"}
)
# Digest algorithm names (lower-cased) of RFC 3230 / RFC 9530 that we check, to hashlib's names.
_DIGESTS = {"sha-256": "sha256", "sha-512": "sha512"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 9110 token: header names, methods.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_LOWER_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")
_OBS_FOLD = re.compile(r"\r?\n[ \t]+")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DECIMAL_TIMESTAMP = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
# One auth-param of a draft-cavage Signature header: name=token or name="quoted string".
_CAVAGE_PARAM = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s",]*))[ \t]*(?:,|\Z)'
)


@dataclass(frozen=True)
class FreshnessPolicy:
    """When a signature counts as fresh; the defaults are Mastodon's window.

    A signature is rejected when its creation time (``created``, else the signed Date) lies more
    than ``max_future`` ahead of now, or when now is past its expiry plus ``clock_skew``. The
    expiry is ``expires`` when signed, else creation plus ``default_validity``, and never later
    than creation plus ``max_validity``.
    """

    max_future: timedelta = timedelta(hours=1)
    default_validity: timedelta = timedelta(minutes=5)
    max_validity: timedelta = timedelta(hours=12)
    clock_skew: timedelta = timedelta(hours=1)


DEFAULT_FRESHNESS = FreshnessPolicy()


@dataclass(frozen=True)
class SignatureToVerify:
    """A parsed, policy-checked signature waiting for its key.

    ``base`` is the exact byte string the signer signed, rebuilt from the request as received, so
    a signature made for another path, query or host cannot verify. ``components`` lists what the
    signature covers (cavage header names, or RFC 9421 component identifiers).
    """

    scheme: Literal["cavage", "rfc9421"]
    key_id: str
    algorithm: str | None
    base: bytes
    signature: bytes
    components: tuple[str, ...]
    created: datetime | None = None
    expires: datetime | None = None
    label: str | None = None


@dataclass(frozen=True)
class _Target:
    uri: str
    scheme: str
    authority: str
    path: str
    query: str

    @property
    def request_target(self) -> str:
        # Path and query together: bovine drops the query here, so signer and verifier disagree.
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True)
class _Message:
    method: str | None
    target: _Target | None
    fields: dict[str, list[str]]
    status: int | None


# ---------------------------------------------------------------------------------------------
# Shared helpers: headers, URLs, dates, digests


def _parse_target(url: str) -> _Target:
    """Split an absolute URL; raises ValueError when it is not one."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port  # .port raises ValueError for a bad port
    scheme = parts.scheme.lower()
    if not scheme or not host:
        raise ValueError(f"not an absolute URL: {url!r}")
    if ":" in host:  # urlsplit strips the brackets of an IPv6 literal
        host = f"[{host}]"
    authority = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return _Target(url, scheme, authority, parts.path or "/", parts.query)


def _received_target(url: str) -> _Target:
    try:
        return _parse_target(url)
    except (ValueError, TypeError, AttributeError) as exc:
        raise SignatureMalformed("the request URL cannot be parsed") from exc


def _collect_headers(headers: Headers) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    fields: dict[str, list[str]] = {}
    try:
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str):
                raise SignatureMalformed("header names and values must be text")
            fields.setdefault(name.lower(), []).append(value)
    except (TypeError, ValueError) as exc:
        raise SignatureMalformed("headers are not name/value pairs") from exc
    return fields


def _field_value(fields: dict[str, list[str]], name: str) -> str | None:
    """The value of a header, several lines combined as RFC 9421 section 2.1 says."""
    values = fields.get(name)
    if values is None:
        return None
    cleaned = []
    for value in values:
        value = _OBS_FOLD.sub(" ", value).strip(" \t")
        # A line break left in a value could forge extra lines of the signature base.
        if "\r" in value or "\n" in value or "\0" in value:
            raise SignatureMalformed(f"header {name!r} contains a line break")
        cleaned.append(value)
    return ", ".join(cleaned)


def _encode_base(text: str) -> bytes:
    # surrogateescape gives back the raw bytes of a header that was not valid UTF-8.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise SignatureMalformed("a signed value cannot be encoded") from exc


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(UTC)


def http_date(moment: datetime) -> str:
    """Format a timezone-aware datetime as an RFC 7231 IMF-fixdate (``Sun, 06 Nov 1994 ...``)."""
    return format_datetime(_utc(moment).replace(microsecond=0), usegmt=True)


def _parse_http_date(value: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:  # "-0000" means UTC without saying so
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise SignatureMalformed("the Date header is not an HTTP date") from exc


def _from_timestamp(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureMalformed("a signature timestamp is out of range") from exc


def digest_header(body: bytes) -> str:
    """The ``Digest`` header for a body: ``SHA-256=<base64>``, upper-case as servers expect."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def _check_digest_value(algorithm: str, expected: bytes, body: bytes, header: str) -> None:
    actual = hashlib.new(_DIGESTS[algorithm], body).digest()
    if not hmac.compare_digest(expected, actual):
        raise DigestMismatch(f"the {header} {algorithm} value does not match the body")


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


def _check_content_digest(fields: dict[str, list[str]], body: bytes | None) -> None:
    value = _field_value(fields, "content-digest")
    if value is None:
        if body:
            raise DigestMismatch("the request has a body but no Content-Digest header")
        return
    checked = False
    for algorithm, member in _parse_sf_dictionary(value, "Content-Digest", DigestMismatch).items():
        if algorithm not in _DIGESTS:
            continue  # RFC 9530: unknown algorithms are ignored
        expected = member[0] if isinstance(member, tuple) else None
        if not isinstance(expected, bytes):
            raise DigestMismatch("a Content-Digest value is not a byte sequence")
        _check_digest_value(algorithm, expected, body or b"", "Content-Digest")
        checked = True
    if not checked:
        raise DigestMismatch("the Content-Digest header holds no sha-256 or sha-512 value")


def _parse_sf_dictionary(
    value: str, what: str, error: type[SignatureError] = SignatureMalformed
) -> http_sf.DictionaryType:
    def refuse_duplicate(key: str, context: str) -> None:
        # RFC 8941 keeps the last duplicate silently; two readings of one header are an attack.
        raise error(f"{what} repeats the {context} key {key!r}")

    try:
        parsed = http_sf.parse(
            value.encode("ascii"), tltype="dictionary", on_duplicate_key=refuse_duplicate
        )
    except SignatureError:
        raise
    except Exception as exc:
        # http_sf raises StructuredFieldError, but hostile input must never surface anything
        # but a SignatureError, whatever a parser helper lets escape.
        raise error(f"{what} is not a structured-field dictionary") from exc
    if not isinstance(parsed, dict):
        raise error(f"{what} is not a structured-field dictionary")
    return parsed


def _check_freshness(
    created: datetime, expires: datetime | None, now: datetime, policy: FreshnessPolicy
) -> None:
    now = _utc(now)
    if created > now + policy.max_future:
        raise SignatureNotFresh("the signature was created in the future")
    expiry = expires if expires is not None else created + policy.default_validity
    expiry = min(expiry, created + policy.max_validity)
    if now > expiry + policy.clock_skew:
        raise SignatureNotFresh("the signature has expired")


def _b64decode_signature(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureMalformed("the signature is not base64") from exc


# ---------------------------------------------------------------------------------------------
# draft-cavage-http-signatures-12


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
        param = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(3)
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


# ---------------------------------------------------------------------------------------------
# RFC 9421 HTTP Message Signatures


@dataclass(frozen=True)
class _Component:
    name: str
    params: dict[str, object]
    identifier: str  # serialised as it appears in the signature base, e.g. "@path"

    @property
    def label(self) -> str:
        return self.name if not self.params else self.identifier


def _signature_input_member(member: object) -> tuple[list[_Component], dict[str, object]]:
    """Check one Signature-Input member: an inner list of distinct string identifiers."""
    if not (
        isinstance(member, tuple)
        and len(member) == 2
        and isinstance(member[0], list)
        and isinstance(member[1], dict)
    ):
        raise SignatureMalformed("a Signature-Input member is not an inner list")
    items, params = member
    if len(items) > MAX_COVERED_COMPONENTS:
        raise SignatureMalformed("the signature covers too many components")
    components: list[_Component] = []
    seen: set[str] = set()
    for item in items:
        name, item_params = item if isinstance(item, tuple) else (item, {})
        if type(name) is not str or not isinstance(item_params, dict):
            raise SignatureMalformed("component identifiers must be strings")
        if name != name.lower():
            # RFC 9421 section 2.1: field names are lower-cased in identifiers; an upper-case
            # one would build a base line the signer cannot have meant.
            raise SignatureMalformed(f"component identifier {name[:40]!r} is not lower-case")
        identifier = http_sf.ser_item((name, item_params))
        if identifier in seen:
            raise SignatureMalformed(f"the signature covers {identifier[:60]} twice")
        seen.add(identifier)
        components.append(_Component(name, item_params, identifier))
    return components, params


def _form_reencode(text: str) -> str:
    # RFC 9421 section 2.2.8: decode as application/x-www-form-urlencoded, then percent-encode
    # with that set (which, unlike urllib's quote, also encodes "~").
    return quote(unquote_plus(text), safe="*-._").replace("~", "%7E")


def _query_param(query: str, wanted: str) -> str:
    values = []
    for pair in query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            if _form_reencode(name) == wanted:
                values.append(_form_reencode(value))
    if len(values) != 1:
        # A parameter given twice is ambiguous; RFC 9421 section 2.2.8 forbids covering it.
        raise SignatureMalformed(f"query parameter {wanted[:40]!r} is not present exactly once")
    return values[0]


def _component_value(component: _Component, message: _Message) -> str:
    name, params, target = component.name, component.params, message.target
    if not name.startswith("@"):
        if params:
            raise SignatureMalformed(f"parameters on {name[:40]!r} are not supported")
        if not _LOWER_TOKEN.fullmatch(name):
            raise SignatureMalformed(f"{name[:40]!r} is not a field name")
        value = _field_value(message.fields, name)
        if value is None:
            raise SignatureMalformed(f"the signature covers {name!r}, which the message lacks")
        return value
    if name == "@query-param":
        wanted = params.get("name")
        if set(params) != {"name"} or not isinstance(wanted, str) or target is None:
            raise SignatureMalformed("@query-param needs exactly a name parameter and a request")
        return _query_param(target.query, wanted)
    if params:
        raise SignatureMalformed(f"parameters on {name[:40]!r} are not supported")
    if name == "@status":
        if message.status is None:
            raise SignatureMalformed("@status is only defined for responses")
        return str(message.status)
    if name == "@method":
        if message.method is None or not _TOKEN.fullmatch(message.method):
            raise SignatureMalformed("@method needs a request with a valid method")
        return message.method
    derived: dict[str, Callable[[_Target], str]] = {
        "@target-uri": lambda t: t.uri,
        "@authority": lambda t: t.authority,
        "@scheme": lambda t: t.scheme,
        "@request-target": lambda t: t.request_target,
        "@path": lambda t: t.path,
        "@query": lambda t: "?" + t.query,
    }
    if name not in derived:
        raise SignatureMalformed(f"unknown or forbidden derived component {name[:40]!r}")
    if target is None:
        raise SignatureMalformed(f"{name} is only defined for requests")
    return derived[name](target)


def _rfc9421_base(components: list[_Component], member: object, message: _Message) -> bytes:
    lines = [f"{c.identifier}: {_component_value(c, message)}" for c in components]
    # The last line is the Signature-Input member serialised canonically (section 2.3).
    lines.append(f'"@signature-params": {ser_innerlist(member)}')  # type: ignore[arg-type]
    return _encode_base("\n".join(lines))


def signature_base_rfc9421(
    signature_input: str,
    label: str,
    *,
    method: str | None = None,
    url: str | None = None,
    headers: Headers = (),
    status: int | None = None,
) -> bytes:
    """The RFC 9421 signature base of the member ``label`` of a Signature-Input header.

    Give ``method`` and ``url`` for a request, ``status`` for a response. Raises
    :class:`SignatureMalformed` when the input cannot be parsed or covers what the message lacks.
    """
    if len(signature_input) > MAX_SIGNATURE_HEADER_LENGTH:
        raise SignatureMalformed("the Signature-Input header is too long")
    member = _parse_sf_dictionary(signature_input, "Signature-Input").get(label)
    if member is None:
        raise SignatureMalformed(f"Signature-Input has no member {label[:40]!r}")
    components, _ = _signature_input_member(member)
    target = _received_target(url) if url is not None else None
    return _rfc9421_base(
        components, member, _Message(method, target, _collect_headers(headers), status)
    )


def _algorithm_for_key(key: PrivateKey | PublicKey) -> list[str]:
    """RFC 9421 algorithms a key can mean when the signature names none (section 3.2)."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        # Actor documents do not say which RSA padding a key is for; accept both registered ones.
        return ["rsa-v1_5-sha256", "rsa-pss-sha512"]
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return ["ecdsa-p256-sha256"]
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return ["ed25519"]
    if isinstance(key, bytes):
        return ["hmac-sha256"]
    raise UnsupportedAlgorithm(f"no signature algorithm for a {type(key).__name__}")


def _key_fits(algorithm: str, key: PrivateKey | PublicKey) -> bool:
    if algorithm in ("rsa-v1_5-sha256", "rsa-pss-sha512", "hs2019-rsa-pss"):
        return isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey)
    if algorithm == "ecdsa-p256-sha256":
        return isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and (
            isinstance(key.curve, ec.SECP256R1)
        )
    if algorithm == "ed25519":
        return isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey)
    return algorithm == "hmac-sha256" and isinstance(key, bytes)


def sign_rfc9421(
    method: str,
    url: str,
    headers: Headers,
    components: Sequence[str],
    key_id: str,
    private_key: PrivateKey,
    created: datetime,
    *,
    label: str = "sig1",
    expires: datetime | None = None,
    nonce: str | None = None,
    tag: str | None = None,
    alg: str | None = None,
) -> dict[str, str]:
    """Sign a request with RFC 9421; returns its ``Signature-Input`` and ``Signature`` headers.

    ``components`` are plain identifiers (``"@method"``, ``"content-digest"``). Without ``alg``
    the algorithm follows the key (RSA signs ``rsa-v1_5-sha256``) and no ``alg`` parameter is
    sent, as in the RFC's examples; ``bytes`` is an ``hmac-sha256`` shared secret.
    """
    algorithm = alg if alg is not None else _algorithm_for_key(private_key)[0]
    if algorithm not in _RFC9421_ALGORITHMS or not _key_fits(algorithm, private_key):
        raise ValueError(f"cannot sign {algorithm!r} with {type(private_key).__name__}")
    params: dict[str, object] = {"created": int(_utc(created).timestamp())}
    if expires is not None:
        params["expires"] = int(_utc(expires).timestamp())
    params["keyid"] = key_id
    for name, value in (("alg", alg), ("nonce", nonce), ("tag", tag)):
        if value is not None:
            params[name] = value
    member: tuple[list[tuple[str, dict[str, object]]], dict[str, object]]
    member = ([(name, {}) for name in components], params)
    try:
        parsed, _ = _signature_input_member(member)
        message = _Message(method, _received_target(url), _collect_headers(headers), None)
        base = _rfc9421_base(parsed, member, message)
    except SignatureError as exc:
        raise ValueError(str(exc)) from exc
    signature = _sign_bytes(algorithm, private_key, base)
    return {
        "Signature-Input": http_sf.ser({label: member}),  # type: ignore[dict-item]
        "Signature": http_sf.ser({label: (signature, {})}),
    }


def _sign_bytes(algorithm: str, key: PrivateKey, base: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        if algorithm == "rsa-pss-sha512":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
            return key.sign(base, pss, hashes.SHA512())
        return key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(base, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 9421 3.3.4: raw r || s
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(base)
    return hmac.new(key, base, hashlib.sha256).digest()


def _parse_rfc9421(
    method: str,
    target: _Target,
    fields: dict[str, list[str]],
    signature_input: str,
    signature_header: str | None,
    body: bytes | None,
    now: datetime,
    policy: FreshnessPolicy,
    label: str | None,
) -> SignatureToVerify:
    if signature_header is None:
        raise SignatureMalformed("Signature-Input comes without a Signature header")
    inputs = _parse_sf_dictionary(signature_input, "Signature-Input")
    signatures = _parse_sf_dictionary(signature_header, "Signature")
    if label is None:
        if not inputs:
            raise SignatureMalformed("the Signature-Input header is empty")
        label = next(iter(inputs))  # several signatures: the first one, unless asked otherwise
    member = inputs.get(label)
    if member is None:
        raise SignatureMissing(f"no signature labelled {label[:40]!r}")
    signature_member = signatures.get(label)
    signature = signature_member[0] if isinstance(signature_member, tuple) else None
    if not isinstance(signature, bytes):
        raise SignatureMalformed(f"the Signature header has no byte sequence for {label!r}")
    components, params = _signature_input_member(member)
    key_id, alg = params.get("keyid"), params.get("alg")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureMalformed("the signature has no keyid")
    if alg is not None and not isinstance(alg, str):
        raise SignatureMalformed("the alg parameter is not a string")
    if alg is not None and alg not in _RFC9421_ALGORITHMS:
        raise UnsupportedAlgorithm(f"unsupported RFC 9421 algorithm {alg[:40]!r}")
    created_at, expires_at = params.get("created"), params.get("expires")
    if created_at is None:
        raise MissingComponents("the signature has no created parameter")
    if type(created_at) is not int or (expires_at is not None and type(expires_at) is not int):
        raise SignatureMalformed("created and expires must be integers")

    _check_content_digest(fields, body)
    names = {c.name for c in components if not c.params}
    missing = [] if "@method" in names else ["@method"]
    if "@target-uri" not in names:
        wanted = ["@path", "@authority"] + (["@query"] if target.query else [])
        missing += [f"{name} (or @target-uri)" for name in wanted if name not in names]
    if body and "content-digest" not in names:
        missing.append("content-digest")
    if missing:
        raise MissingComponents("the signature does not cover " + ", ".join(missing))

    base = _rfc9421_base(components, member, _Message(method, target, fields, None))
    created = _from_timestamp(created_at)
    expires = _from_timestamp(expires_at) if isinstance(expires_at, int) else None
    _check_freshness(created, expires, now, policy)
    return SignatureToVerify(
        scheme="rfc9421",
        key_id=key_id,
        algorithm=alg,
        base=base,
        signature=signature,
        components=tuple(c.label for c in components),
        created=created,
        expires=expires,
        label=label,
    )


# ---------------------------------------------------------------------------------------------
# Entry points


def parse_signature(
    method: str,
    url: str,
    headers: Headers,
    body: bytes | None,
    now: datetime,
    policy: FreshnessPolicy = DEFAULT_FRESHNESS,
    *,
    label: str | None = None,
) -> SignatureToVerify:
    """Parse and check the signature of an incoming request, before its key is known.

    ``url`` is the absolute URL as the sender addressed it (scheme, Host, raw path and query);
    ``body`` the raw body. A ``Signature-Input`` header selects RFC 9421 (the member ``label``,
    else the first), otherwise a ``Signature`` header is read as draft-cavage-12. Checks, in
    order: presence, syntax and size, algorithm, body digest, required coverage, freshness.

    Raises a :class:`SignatureError` subclass, and nothing else, for any request.
    """
    fields = _collect_headers(headers)
    signature_input = _field_value(fields, "signature-input")
    signature = _field_value(fields, "signature")
    if signature_input is None and signature is None:
        raise SignatureMissing("the request carries no Signature header")
    if any(len(v) > MAX_SIGNATURE_HEADER_LENGTH for v in (signature_input or "", signature or "")):
        raise SignatureMalformed("a signature header is too long")
    target = _received_target(url)
    if signature_input is not None:
        return _parse_rfc9421(
            method, target, fields, signature_input, signature, body, now, policy, label
        )
    assert signature is not None
    return _parse_cavage(method, target, fields, signature, body, now, policy)


def verify_signature(to_verify: SignatureToVerify, public_key: PublicKey) -> None:
    """Check a parsed signature with the signer's key; returns quietly when it holds.

    draft-cavage: ``rsa-sha256`` needs an RSA key (PKCS#1 v1.5, SHA-256); ``hs2019`` or no
    algorithm takes RSA (PKCS#1 v1.5 SHA-256, or RSA-PSS SHA-512 as the draft allows) or
    Ed25519. RFC 9421: the ``alg`` parameter, else the key type, decides. Raises
    :class:`UnsupportedAlgorithm` when the key cannot serve the algorithm and
    :class:`SignatureInvalid` when the check fails.
    """
    if to_verify.scheme == "cavage":
        if isinstance(public_key, rsa.RSAPublicKey):
            candidates = ["rsa-v1_5-sha256"]
            if to_verify.algorithm != "rsa-sha256":
                candidates.append("hs2019-rsa-pss")
        elif (
            isinstance(public_key, ed25519.Ed25519PublicKey) and to_verify.algorithm != "rsa-sha256"
        ):
            candidates = ["ed25519"]
        else:
            raise UnsupportedAlgorithm(
                f"cannot verify {to_verify.algorithm or 'hs2019'} with {type(public_key).__name__}"
            )
    elif to_verify.algorithm is not None:
        candidates = [to_verify.algorithm]
    else:
        candidates = _algorithm_for_key(public_key)
    for algorithm in candidates:
        if not _key_fits(algorithm, public_key):
            raise UnsupportedAlgorithm(
                f"cannot verify {algorithm} with {type(public_key).__name__}"
            )
        if _verifies(algorithm, public_key, to_verify.base, to_verify.signature):
            return
    raise SignatureInvalid("the signature does not verify with the key")


def _verifies(algorithm: str, key: PublicKey, base: bytes, signature: bytes) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if algorithm == "rsa-v1_5-sha256":
                key.verify(signature, base, padding.PKCS1v15(), hashes.SHA256())
            else:
                # RFC 9421 fixes a 64-byte salt; draft-cavage's hs2019 leaves it open.
                salt = 64 if algorithm == "rsa-pss-sha512" else padding.PSS.AUTO
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=salt)
                key.verify(signature, base, pss, hashes.SHA512())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) != 64:
                return False
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), base, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, base)
        else:
            expected = hmac.new(key, base, hashlib.sha256).digest()
            return hmac.compare_digest(expected, signature)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
