"""RFC 9421 HTTP Message Signatures: structured fields, the signature base, signing, parsing.

Covers structured-field parsing (RFC 8941, with duplicate keys refused), the ``Content-Digest``
check (RFC 9530), the signature base of a Signature-Input member, signing (as the RFC's test
vectors do) and parsing incoming signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote_plus

import http_sf
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from http_sf.innerlist import ser_innerlist

from activitypub.errors import (
    DigestMismatch,
    MissingComponents,
    SignatureError,
    SignatureMalformed,
    SignatureMissing,
    UnsupportedAlgorithm,
)
from activitypub.signatures.common import (
    _DIGESTS,
    _LOWER_TOKEN,
    _TOKEN,
    MAX_COVERED_COMPONENTS,
    MAX_SIGNATURE_HEADER_LENGTH,
    FreshnessPolicy,
    Headers,
    PrivateKey,
    SignatureToVerify,
    _algorithm_for_key,
    _check_digest_value,
    _check_freshness,
    _collect_headers,
    _encode_base,
    _field_value,
    _from_timestamp,
    _key_fits,
    _plain_request,
    _received_target,
    _Target,
    _utc,
)

_RFC9421_ALGORITHMS = frozenset(
    {"rsa-v1_5-sha256", "rsa-pss-sha512", "ecdsa-p256-sha256", "ed25519", "hmac-sha256"}
)


@dataclass(frozen=True)
class _Message:
    method: str | None
    target: _Target | None
    fields: dict[str, list[str]]
    status: int | None


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


# What our outgoing requests cover: the method and the whole target URI (path, query and host;
# @authority again on its own for verifiers that want it named), and the body through
# Content-Digest (added when there is one).
OUTGOING_COMPONENTS = ("@method", "@target-uri", "@authority")


def content_digest_header(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` header for a body: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


# The outgoing Signature-Input members, without and with a body, up to their parameters.
_OUTGOING_COVERED = '("@method" "@target-uri" "@authority")'
_OUTGOING_COVERED_DIGEST = '("@method" "@target-uri" "@authority" "content-digest")'
# An sf-string (RFC 8941 section 3.3.3) that serialises as itself between quotes: printable
# ASCII but the quote and the backslash. Any other keyid takes the general path, which escapes or
# refuses it.
_PLAIN_SF_STRING = re.compile(r"[ !#-\[\]-~]*")


def sign_request_rfc9421(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: ed25519.Ed25519PrivateKey,
    now: datetime,
) -> dict[str, str]:
    """Sign an outgoing request with RFC 9421 ``ed25519``; returns the headers to add.

    ``Content-Digest`` (when there is a body), ``Signature-Input`` and ``Signature``, label
    ``sig1``, covering ``@method @target-uri @authority`` and ``content-digest`` when there is a
    body, with the parameters ``created`` and ``keyid`` (the actor's Multikey id). No ``alg``:
    the key implies it (RFC 9421 section 3.2), as in the RFC's own Ed25519 example.
    """
    # Every delivery to a Quartier peer is signed here, so the usual request (an Ed25519 key, a
    # plain URL and keyid, see _sending_target and _PLAIN_SF_STRING) has its signature base and
    # headers written directly, byte for byte what sign_rfc9421 writes through http_sf: 6 us of
    # Python around the key's ~35 instead of 54 (most of it http_sf serialising, then parsing
    # back what it built). Anything else takes the general path, which gives the same headers or
    # the same error.
    target = _plain_request(method, url, key_id, _PLAIN_SF_STRING, now)
    if target is None or not isinstance(private_key, ed25519.Ed25519PrivateKey):
        return _sign_request_rfc9421_general(method, url, body, key_id, private_key, now)
    params = f';created={int(_utc(now).timestamp())};keyid="{key_id}"'
    lines = f'"@method": {method}\n"@target-uri": {url}\n"@authority": {target.authority}\n'
    headers: dict[str, str] = {}
    if body is None:
        signature_params = _OUTGOING_COVERED + params
    else:
        digest = headers["Content-Digest"] = content_digest_header(body)
        lines += f'"content-digest": {digest}\n'
        signature_params = _OUTGOING_COVERED_DIGEST + params
    base = f'{lines}"@signature-params": {signature_params}'.encode("ascii")
    signature = base64.b64encode(private_key.sign(base)).decode("ascii")
    headers["Signature-Input"] = "sig1=" + signature_params
    headers["Signature"] = f"sig1=:{signature}:"
    return headers


def _sign_request_rfc9421_general(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: ed25519.Ed25519PrivateKey,
    now: datetime,
) -> dict[str, str]:
    headers: dict[str, str] = {}
    components = list(OUTGOING_COMPONENTS)
    if body is not None:
        headers["Content-Digest"] = content_digest_header(body)
        components.append("content-digest")
    headers.update(sign_rfc9421(method, url, headers, components, key_id, private_key, now))
    return headers


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
