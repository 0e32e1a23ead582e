"""FEP-8b32 object integrity proofs: ``DataIntegrityProof`` with the ``eddsa-jcs-2022`` suite.

How a proof is made (W3C vc-di-eddsa, eddsa-jcs-2022, as FEP-8b32 uses it)::

    proof options = type, cryptosuite, verificationMethod, proofPurpose, created
    proof config  = proof options + the document's "@context" (when the document has one)
    hash data     = SHA-256(JCS(proof config)) || SHA-256(JCS(document without "proof"))
    proofValue    = "z" + base58btc(Ed25519 signature of hash data)

The emitted proof is the proof config plus ``proofValue``. JCS is RFC 8785 canonical JSON,
computed by :func:`canonical_json`, which first refuses values that RFC 8785 cannot represent
faithfully, then uses the standard library's C encoder where its output is provably RFC 8785's
(no floats, no astral characters in member names: nearly every document) and the ``jcs``
package otherwise.

Verification is split so the federation layer can do its part in between:
:func:`proof_verification_method` names the key to fetch, :func:`verify_proof` checks the
signature with it. Whether that key may speak for the document (its controller is the document's
owner, it is listed in the actor's ``assertionMethod``, same origin as ``id``) is the caller's
policy; :func:`same_origin` helps with it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import based58
import jcs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.errors import KeyFormatError, ProofInvalid, ProofMalformed
from activitypub.keys import multibase_to_ed25519_private

__all__ = [  # the vectors' secret keys are decoded with keys.multibase_to_ed25519_private
    "VerifiedProof",
    "canonical_json",
    "create_proof",
    "format_date_time_stamp",
    "multibase_to_ed25519_private",
    "parse_date_time_stamp",
    "proof_verification_method",
    "same_origin",
    "verify_proof",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
ASSERTION_METHOD = "assertionMethod"

# RFC 8785 serialises every number as an IEEE-754 double. Beyond I-JSON's range (RFC 7493 2.2)
# two different integers share one canonical form, hence one signature: a relay could change such
# a number and the proof would still verify. We refuse them instead of signing something ambiguous.
MAX_SAFE_INTEGER = 2**53 - 1

# XML Schema dateTimeStamp (a timezone is required), as Data Integrity requires for ``created``.
_DATE_TIME_STAMP = re.compile(
    r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)

_DEFAULT_PORTS = {"http": 80, "https": 443}

# json.dumps with these arguments, built once: dumps would build an encoder on every call.
_PLAIN_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class VerifiedProof:
    """What a verified proof states, as plain strings; the caller decides whether to trust it.

    ``controller`` is the verification method without its fragment (the actor or DID document
    that should list the key); ``document_id`` and ``actor`` are the document's own claims of
    identity and ownership (``actor``, else ``attributedTo``, else ``issuer``), for the caller's
    origin and ownership checks.
    """

    verification_method: str
    proof_purpose: str
    created: str
    controller: str
    document_id: str | None = None
    actor: str | None = None
    expires: str | None = None

    @property
    def created_at(self) -> datetime:
        """``created`` as an aware datetime (validated when the proof was parsed)."""
        return datetime.fromisoformat(self.created)


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 (JCS) canonical UTF-8 form of a JSON value.

    Raises ``ValueError`` for what has no faithful canonical form: NaN and infinities, integers
    outside the I-JSON range, strings with lone surrogates, non-string object keys, cycles and
    anything that is not a JSON type.
    """
    plain = _check_json_value(value)
    try:
        if plain:
            # The standard library's C encoder, three times faster than jcs (pure Python) on a
            # credential; for values without floats or astral member names its output is
            # RFC 8785's, byte for byte (see _check_json_value; test_proofs.py compares them).
            return _PLAIN_ENCODER.encode(value).encode("utf-8")
        result: bytes = jcs.canonicalize(value)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # ValueError covers NaN/Infinity, cycles and UnicodeEncodeError (lone surrogates);
        # RecursionError a nesting deeper than the interpreter allows.
        raise ValueError(f"value has no RFC 8785 canonical form: {exc}") from exc
    return result


def create_proof(
    document: dict[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """A copy of ``document`` with an eddsa-jcs-2022 ``proof`` signed by ``private_key``.

    ``created`` is an aware datetime (written in UTC, to the second) or an XML Schema
    dateTimeStamp string used as given. The input is not modified. Raises ``ValueError`` for a
    document that already has a ``proof`` (proof sets are not supported) or a linked data
    ``signature`` (FEP-8b32: the proof comes first), or that is not canonicalisable JSON;
    ``KeyFormatError`` for a key that is not Ed25519.
    """
    if not isinstance(private_key, ed25519.Ed25519PrivateKey):
        raise KeyFormatError("integrity proofs are signed with an Ed25519 private key")
    if not isinstance(document, dict):
        raise ValueError("only a JSON object can carry a proof")
    if "proof" in document:
        raise ValueError("document already carries a proof; proof sets are not supported")
    if "signature" in document:
        raise ValueError("add the integrity proof before the linked data signature (FEP-8b32)")
    for name, text in (
        ("verification_method", verification_method),
        ("proof_purpose", proof_purpose),
    ):
        if not isinstance(text, str) or not text:
            raise ValueError(f"{name} must be a non-empty string")
    unsecured = copy.deepcopy(document)
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
        "created": _format_created(created),
    }
    config = _proof_config(options, unsecured)
    signature = private_key.sign(_hash_data(config, unsecured))
    # The proof repeats the @context it was computed with, as the FEP-8b32 vector does; a copy,
    # so that editing one never silently edits the other.
    proof = copy.deepcopy(config)
    proof["proofValue"] = "z" + based58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": proof}


def proof_verification_method(document: Any) -> str:
    """The ``verificationMethod`` of the document's proof, so the caller can fetch that key.

    Checks the proof's structure as :func:`verify_proof` does; raises ``ProofMalformed``.
    """
    proof, _ = _parse_proof(document)
    verification_method: str = proof["verificationMethod"]
    return verification_method


def verify_proof(
    document: Any,
    public_key: ed25519.Ed25519PublicKey,
    *,
    proof_purpose: str | None = ASSERTION_METHOD,
) -> VerifiedProof:
    """Verify the eddsa-jcs-2022 proof of ``document`` with ``public_key``.

    ``proof_purpose`` is the purpose the proof must state (FEP-8b32 requires
    ``assertionMethod``); ``None`` accepts any. A linked data ``signature`` beside the proof is
    left out of the check, as FEP-8b32 prescribes. Raises ``ProofMalformed`` when the proof or
    document is structurally unacceptable, ``ProofInvalid`` when the signature does not verify
    (document or proof altered, another key), ``KeyFormatError`` for a key that is not Ed25519.
    """
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise KeyFormatError("integrity proofs are verified with an Ed25519 public key")
    proof, signature = _parse_proof(document)
    if proof_purpose is not None and proof["proofPurpose"] != proof_purpose:
        raise ProofMalformed(f"proofPurpose is {proof['proofPurpose']!r}, not {proof_purpose!r}")
    unsecured = {key: value for key, value in document.items() if key not in ("proof", "signature")}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    try:
        hash_data = _hash_data(_proof_config(options, unsecured), unsecured)
        context_signed = "@context" not in options or (
            "@context" in unsecured
            and _same_canonical_form(options["@context"], unsecured["@context"])
        )
    except ValueError as exc:
        raise ProofMalformed(f"document cannot be canonicalised: {exc}") from exc
    if not context_signed:
        # vc-di-eddsa only asks that the document's @context *start with* the proof's, then
        # hashes the document with the proof's @context: contexts appended after signing would
        # go unsigned. We hash the document's whole @context and require the two to be equal.
        raise ProofInvalid("the document's @context is not the one the proof was made for")
    try:
        public_key.verify(signature, hash_data)
    except InvalidSignature as exc:
        raise ProofInvalid("the proof does not verify with this key") from exc
    verification_method: str = proof["verificationMethod"]
    return VerifiedProof(
        verification_method=verification_method,
        proof_purpose=proof["proofPurpose"],
        created=proof["created"],
        controller=verification_method.split("#", 1)[0],
        document_id=_id_of(document.get("id")),
        actor=_owner_of(document),
        expires=proof.get("expires"),
    )


def same_origin(a: str, b: str) -> bool:
    """Whether two http(s) URLs have the same origin (scheme, host, port; RFC 6454).

    False for anything that is not an http(s) URL with a host, such as a ``did:`` URL: those
    have no origin to share.
    """
    origin_a = _origin(a)
    return origin_a is not None and origin_a == _origin(b)


def format_date_time_stamp(moment: datetime, name: str = "created") -> str:
    """An aware datetime as an XML Schema dateTimeStamp: UTC, whole seconds, ``Z``.

    The form of the FEP and W3C examples and of most implementations. Raises ``ValueError`` for
    a naive datetime (``name`` says which argument it was).
    """
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date_time_stamp(value: Any) -> datetime | None:
    """An XML Schema dateTimeStamp (timezone required) as an aware datetime; ``None`` for
    anything else, a well-formed but impossible date (month 13) included."""
    if not isinstance(value, str) or not _DATE_TIME_STAMP.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # well-formed but out of range, such as month 13
        return None


def _check_json_value(value: Any) -> bool:
    """Raise ``ValueError`` unless ``value`` is plain JSON that jcs serialises faithfully;
    return whether ``json.dumps`` gives its canonical form too.

    jcs itself rejects NaN, infinities and lone surrogates, but silently rounds large integers
    and turns numeric or boolean keys into strings; those are refused here.

    ``json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` is RFC 8785 when
    the value has:

    * no floats: Python writes ``1e-07`` and ``1.0`` where RFC 8785 (ECMAScript) writes
      ``1e-7`` and ``1``. Integers are written alike within the I-JSON range checked here;
    * no member name with a character above U+FFFF: Python sorts names by code point, RFC 8785
      by UTF-16 code unit, and the two orders differ only where a surrogate pair (U+10000 and
      up) meets a character from U+E000 to U+FFFF.

    Strings need no condition: both escape exactly ``"``, ``\\`` and U+0000 to U+001F (the
    short forms for \\b \\t \\n \\f \\r, else ``\\u00xx`` in lower-case hex) and write
    everything else as is, U+007F and U+2028 included (jcs calls the same C function).
    """
    plain = True
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list | tuple):
            if id(item) in seen:  # a shared or circular container: checked already
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise ValueError("object keys must be strings")
                    if plain and not key.isascii() and max(key) > "\uffff":
                        plain = False
                children: Iterable[Any] = item.values()
            else:
                children = item
            # Strings, most of any document, are checked here rather than stacked: this walk
            # is on the path of every proof verified.
            stack.extend(child for child in children if type(child) is not str)
        elif item is None or isinstance(item, bool | str):
            continue
        elif isinstance(item, int):
            if abs(item) > MAX_SAFE_INTEGER:
                raise ValueError(f"integer {item} is outside the I-JSON range of ±(2**53 - 1)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{item} is not a JSON number")
            plain = False
        else:
            raise ValueError(f"{type(item).__name__} is not a JSON value")
    return plain


def _same_canonical_form(a: Any, b: Any) -> bool:
    """Whether two values that :func:`canonical_json` accepted have the same canonical form.

    The same ``json.dumps`` output means the same JSON value, hence the same canonical form,
    without a second walk of either; different output may still canonicalise alike (``1`` and
    ``1.0``), so only then are both canonicalised.
    """
    return _PLAIN_ENCODER.encode(a) == _PLAIN_ENCODER.encode(b) or (
        canonical_json(a) == canonical_json(b)
    )


def _proof_config(options: dict[str, Any], unsecured: dict[str, Any]) -> dict[str, Any]:
    """Proof options plus the document's @context when the options do not carry one."""
    if "@context" in options or "@context" not in unsecured:
        return dict(options)
    return {"@context": unsecured["@context"], **options}


def _hash_data(config: dict[str, Any], unsecured: dict[str, Any]) -> bytes:
    return (
        hashlib.sha256(canonical_json(config)).digest()
        + hashlib.sha256(canonical_json(unsecured)).digest()
    )


def _parse_proof(document: Any) -> tuple[dict[str, Any], bytes]:
    """The proof object of ``document`` and its decoded signature; raises ``ProofMalformed``."""
    if not isinstance(document, dict):
        raise ProofMalformed("only a JSON object can carry a proof")
    if "proof" not in document:
        raise ProofMalformed("the document has no proof")
    proof = document["proof"]
    if isinstance(proof, list):
        # A list is a proof set or chain; FEP-8b32 says objects SHOULD carry at most one proof,
        # and we do not verify sets, so only a list of exactly one is accepted.
        if len(proof) != 1:
            raise ProofMalformed(f"a list of {len(proof)} proofs; exactly one is supported")
        proof = proof[0]
    if not isinstance(proof, dict):
        raise ProofMalformed("proof must be a JSON object")
    if proof.get("type") != PROOF_TYPE:
        raise ProofMalformed(f"proof type must be {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofMalformed(f"cryptosuite must be {CRYPTOSUITE!r}")
    for name in ("verificationMethod", "proofPurpose", "created", "proofValue"):
        if not isinstance(proof.get(name), str) or not proof[name]:
            raise ProofMalformed(f"proof {name} must be a non-empty string")
    for name in ("created", "expires"):
        if name in proof and parse_date_time_stamp(proof[name]) is None:
            raise ProofMalformed(f"proof {name} is not an XML Schema dateTimeStamp")
    return proof, _decode_proof_value(proof["proofValue"])


def _decode_proof_value(value: str) -> bytes:
    if not value.startswith("z"):
        raise ProofMalformed("proofValue must be base58btc multibase (start with 'z')")
    try:
        signature = based58.b58decode(value[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ProofMalformed("proofValue is not valid base58btc") from exc
    if len(signature) != 64:
        raise ProofMalformed(f"proofValue holds {len(signature)} bytes, not an Ed25519 signature")
    return signature


def _format_created(created: datetime | str) -> str:
    if isinstance(created, datetime):
        return format_date_time_stamp(created)
    if parse_date_time_stamp(created) is None:
        raise ValueError("created must be an XML Schema dateTimeStamp, e.g. 2023-02-24T23:36:38Z")
    return created


def _id_of(value: Any) -> str | None:
    """The id of a reference: a string, or an object with a string ``id``."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _owner_of(document: dict[str, Any]) -> str | None:
    for name in ("actor", "attributedTo", "issuer"):
        owner = _id_of(document.get(name))
        if owner is not None:
            return owner
    return None


def _origin(url: Any) -> tuple[str, str, int] | None:
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an invalid port or IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]
