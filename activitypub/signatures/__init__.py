"""HTTP signatures: sign and verify draft-cavage-12 and RFC 9421.

Outgoing requests are signed either the way Mastodon and most of the fediverse expect:
draft-cavage-12, ``rsa-sha256`` over ``(request-target) host date digest`` with
``Digest: SHA-256=...`` (:func:`sign_request`), or, to peers known to take it, RFC 9421
``ed25519`` over ``@method @target-uri @authority content-digest``
(:func:`sign_request_rfc9421`); which one a peer gets is federation's choice. Incoming
requests are verified in two steps, so that the caller can fetch the signer's key (which may
take the network) in between:

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

The package is split by what each module owns, with no cycles: :mod:`.common` (the parsed
result, freshness policy, header, URL, date and digest helpers, and key-type/algorithm
verification), :mod:`.cavage` and :mod:`.rfc9421` (each scheme's parsing, signing string or
signature base, and signing), both built on :mod:`.common`. This module re-exports the public
names and dispatches :func:`parse_signature` between the two schemes.
"""

from __future__ import annotations

from datetime import datetime

from activitypub.errors import SignatureMalformed, SignatureMissing
from activitypub.signatures.cavage import (
    _parse_cavage,
    sign_cavage,
    sign_request,
    signing_string_cavage,
)
from activitypub.signatures.common import (
    DEFAULT_FRESHNESS,
    MAX_COVERED_COMPONENTS,
    MAX_SIGNATURE_HEADER_LENGTH,
    FreshnessPolicy,
    Headers,
    PrivateKey,
    PublicKey,
    SignatureToVerify,
    _collect_headers,
    _field_value,
    _received_target,
    digest_header,
    http_date,
    verify_signature,
)
from activitypub.signatures.rfc9421 import (
    OUTGOING_COMPONENTS,
    _parse_rfc9421,
    content_digest_header,
    sign_request_rfc9421,
    sign_rfc9421,
    signature_base_rfc9421,
)

__all__ = [
    "DEFAULT_FRESHNESS",
    "MAX_COVERED_COMPONENTS",
    "MAX_SIGNATURE_HEADER_LENGTH",
    "OUTGOING_COMPONENTS",
    "FreshnessPolicy",
    "Headers",
    "PrivateKey",
    "PublicKey",
    "SignatureToVerify",
    "content_digest_header",
    "digest_header",
    "http_date",
    "parse_signature",
    "sign_cavage",
    "sign_request",
    "sign_request_rfc9421",
    "sign_rfc9421",
    "signature_base_rfc9421",
    "signing_string_cavage",
    "verify_signature",
]


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
