"""Reading and verifying credentials from other nodes; every refusal is a
:class:`~activitypub.errors.CredentialRejected` with its ``reason``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.attestations.claims import CredentialClaims, StatusEntry, StatusList
from activitypub.attestations.status_lists import decode_status_list
from activitypub.attestations.vocabulary import (
    CREDENTIAL_TERMS,
    ENDORSEMENT_CREDENTIAL,
    MAX_NAME_LENGTH,
    RESIDENCY_CREDENTIAL,
    RESIDENCY_METHODS,
    REVOCATION,
    STATUS_LIST,
    STATUS_LIST_CREDENTIAL,
    STATUS_LIST_ENTRY,
    VC_CONTEXT,
    VERIFIABLE_CREDENTIAL,
)
from activitypub.errors import (
    CredentialRejected,
    CredentialRejection,
    KeyFormatError,
    ProofInvalid,
    ProofMalformed,
)
from activitypub.proofs import (
    VerifiedProof,
    parse_date_time_stamp,
    proof_verification_method,
    verify_proof,
)

# statusListIndex digits: more than any list we accept holds (MAX_DECODED_BYTES * 8 < 10**8).
_MAX_INDEX_DIGITS = 8


@dataclass(frozen=True)
class DocumentLimits:
    """How big a remote document may be before it is refused unread (``too_large``).

    Checked by an iterative walk, before anything recursive (canonical JSON) touches it.
    """

    max_depth: int  # nesting of objects and arrays, the document itself being 1
    max_members: int  # object members and array items, in total
    max_text: int  # characters of every string and member name, in total


# A signed residency credential is about 2 KB (its proof repeats the @context), with 48 members
# and items, nested 5 deep.
CREDENTIAL_LIMITS: Final = DocumentLimits(max_depth=32, max_members=1_000, max_text=64 * 1024)
# A status list carries its encodedList: base64 of up to 1 MiB of GZIP output.
STATUS_LIST_LIMITS: Final = DocumentLimits(max_depth=32, max_members=1_000, max_text=2 << 20)


def read_credential(document: Any, *, expected_type: str) -> CredentialClaims:
    """The claims of a residency or endorsement credential, checked for structure only.

    No cryptography: this names the key to fetch (``verification_method``, a key of the
    issuer) before :func:`verify_credential` checks the proof with it. ``expected_type`` is
    :data:`RESIDENCY_CREDENTIAL` or :data:`ENDORSEMENT_CREDENTIAL`. Raises
    ``CredentialRejected``: ``too_large``, ``malformed``, ``wrong_type``, ``issuer_mismatch``
    (the proof's key is not the issuer's).
    """
    if expected_type not in (RESIDENCY_CREDENTIAL, ENDORSEMENT_CREDENTIAL):
        raise ValueError(f"cannot read credentials of type {expected_type!r}")
    _check_limits(document, CREDENTIAL_LIMITS)
    _check_type(document, expected_type)
    _check_context(document, (expected_type, *_SUBJECT_TERMS[expected_type]))
    issuer = _issuer(document)
    verification_method = _verification_method(document, issuer)
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise _malformed("credentialSubject must be one object")
    community = subject.get("community")
    if not isinstance(community, dict):
        raise _malformed("credentialSubject.community must be an object")
    method = endorsed_for = None
    if expected_type == RESIDENCY_CREDENTIAL:
        method = subject.get("residencyMethod")
        if method not in RESIDENCY_METHODS:
            raise _malformed(f"residencyMethod must be one of {sorted(RESIDENCY_METHODS)}")
    else:
        endorsed_for = subject.get("endorsedFor")
        if endorsed_for != RESIDENCY_CREDENTIAL:
            raise CredentialRejected(
                CredentialRejection.WRONG_TYPE,
                f"the endorsement is not for issuing {RESIDENCY_CREDENTIAL}",
            )
    valid_from, valid_until = _moment(document, "validFrom"), _moment(document, "validUntil")
    if valid_until < valid_from:
        raise _malformed("validUntil is before validFrom")
    status = document.get("credentialStatus")
    return CredentialClaims(
        credential_type=expected_type,
        credential_id=None if document.get("id") is None else _url(document["id"], "id"),
        issuer=issuer,
        subject=_url(subject.get("id"), "credentialSubject.id"),
        community_name=_name(community.get("name"), "community.name"),
        community_area=_optional_name(community.get("area"), "community.area"),
        valid_from=valid_from,
        valid_until=valid_until,
        verification_method=verification_method,
        status=None if status is None else _status_entry(status),
        method=method,
        endorsed_for=endorsed_for,
    )


def verify_credential(
    document: Any,
    public_key: ed25519.Ed25519PublicKey,
    *,
    now: datetime,
    expected_type: str,
    expected_subject: str | None = None,
) -> CredentialClaims:
    """The claims of a credential whose proof verifies with ``public_key`` (a key of the
    issuer, fetched for ``read_credential(...).verification_method``), valid at ``now``
    (``validFrom <= now < validUntil``) and, when ``expected_subject`` is given, about them.

    The proof is checked before the dates and the subject, so that every later reason is
    about what the issuer signed. Raises ``CredentialRejected`` with any reason of
    :func:`read_credential`, or ``bad_proof``, ``expired``, ``not_yet_valid``,
    ``subject_mismatch``.
    """
    claims = read_credential(document, expected_type=expected_type)
    proof = _verify_proof(document, public_key)
    _check_window(claims.valid_from, claims.valid_until, now, proof)
    if expected_subject is not None and claims.subject != expected_subject:
        raise CredentialRejected(
            CredentialRejection.SUBJECT_MISMATCH,
            f"the credential is about {claims.subject}, not {expected_subject}",
        )
    return claims


def verify_status_list(
    document: Any,
    public_key: ed25519.Ed25519PublicKey,
    *,
    now: datetime,
    issuer: str,
) -> StatusList:
    """A status list credential issued by ``issuer`` (the issuer of the credentials it
    serves), its proof verified with ``public_key``, valid at ``now`` when it says when it is
    valid, and its bits decoded.

    Raises ``CredentialRejected``: ``too_large`` (document, or bits that inflate too far),
    ``malformed``, ``wrong_type``, ``issuer_mismatch``, ``bad_proof``, ``expired``,
    ``not_yet_valid``, ``bad_status_list`` (not a revocation list, or bits we cannot read).
    """
    _check_limits(document, STATUS_LIST_LIMITS)
    _check_type(document, STATUS_LIST_CREDENTIAL)
    _check_context(document, ())
    list_id = _url(document.get("id"), "id")
    list_issuer = _issuer(document)
    if list_issuer != issuer:
        raise CredentialRejected(
            CredentialRejection.ISSUER_MISMATCH,
            f"the status list is issued by {list_issuer}, not {issuer}",
        )
    _verification_method(document, list_issuer)
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise _malformed("credentialSubject must be one object")
    valid_from = _optional_moment(document, "validFrom")
    valid_until = _optional_moment(document, "validUntil")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise _malformed("validUntil is before validFrom")
    proof = _verify_proof(document, public_key)
    _check_window(valid_from, valid_until, now, proof)
    if subject.get("type") != STATUS_LIST:
        raise _bad_list(f"credentialSubject.type must be {STATUS_LIST!r}")
    if subject.get("statusPurpose") != REVOCATION:
        raise _bad_list(f"statusPurpose must be {REVOCATION!r}")
    return StatusList(
        list_id=list_id,
        issuer=list_issuer,
        purpose=REVOCATION,
        bits=decode_status_list(subject.get("encodedList")),
        valid_from=valid_from,
        valid_until=valid_until,
    )


def check_status(status: StatusEntry, status_list: StatusList) -> None:
    """Raise ``CredentialRejected`` unless the credential's bit in its list is clear.

    ``bad_status_list`` when the list is not the one the entry names (another URL, another
    purpose) or the index is outside it; ``revoked`` when the bit is set.
    """
    if status.list_url != status_list.list_id:
        raise _bad_list(f"the entry names the list {status.list_url}, not {status_list.list_id}")
    if status.purpose != status_list.purpose:
        raise _bad_list(f"a {status.purpose} entry read in a {status_list.purpose} list")
    if status_list.is_set(status.index):
        raise CredentialRejected(
            CredentialRejection.REVOKED, f"bit {status.index} of {status.list_url} is set"
        )


def check_endorsement(residency: CredentialClaims, endorsement: CredentialClaims) -> None:
    """Raise ``CredentialRejected`` unless ``endorsement`` (verified, from a trusted
    municipality) endorses the issuer of ``residency`` for the community it attests.

    ``subject_mismatch`` when the endorsement is about another node, ``wrong_type`` when it is
    not for residency credentials, ``community_mismatch`` when the names differ: a district
    node endorsed for one community cannot attest residence in another.
    """
    if endorsement.credential_type != ENDORSEMENT_CREDENTIAL:
        raise CredentialRejected(CredentialRejection.WRONG_TYPE, "not an endorsement")
    if endorsement.endorsed_for != residency.credential_type:
        raise CredentialRejected(
            CredentialRejection.WRONG_TYPE,
            f"the endorsement is for {endorsement.endorsed_for}, not {residency.credential_type}",
        )
    if endorsement.subject != residency.issuer:
        raise CredentialRejected(
            CredentialRejection.SUBJECT_MISMATCH,
            f"the endorsement is of {endorsement.subject}, not of {residency.issuer}",
        )
    endorsed = (endorsement.community_name, endorsement.community_area)
    if (residency.community_name, residency.community_area) != endorsed:
        raise CredentialRejected(
            CredentialRejection.COMMUNITY_MISMATCH,
            f"{residency.issuer} is endorsed for {endorsed}, not for "
            f"{(residency.community_name, residency.community_area)}",
        )


# The terms of our context each kind of credential uses; they must mean what we mean.
_SUBJECT_TERMS: Final[dict[str, tuple[str, ...]]] = {
    RESIDENCY_CREDENTIAL: ("community", "area", "residencyMethod"),
    ENDORSEMENT_CREDENTIAL: ("community", "area", "endorsedFor"),
}


def _check_limits(document: Any, limits: DocumentLimits) -> None:
    """Refuse a document too deep, too long or with too many members; iterative, so a
    thousand levels are refused here instead of overflowing the stack of a recursive reader."""
    if not isinstance(document, dict):
        raise _malformed("a credential is a JSON object")
    members = text = 0
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(document, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > limits.max_depth:
            raise _too_large(f"nested deeper than {limits.max_depth} levels")
        members += len(container)
        if isinstance(container, dict):
            for key, item in container.items():
                if not isinstance(key, str):
                    raise _malformed("object keys must be strings")
                text += len(key)
                if isinstance(item, str):
                    text += len(item)
                elif isinstance(item, dict | list):
                    stack.append((item, depth + 1))
        else:
            for item in container:
                if isinstance(item, str):
                    text += len(item)
                elif isinstance(item, dict | list):
                    stack.append((item, depth + 1))
        if members > limits.max_members:
            raise _too_large(f"more than {limits.max_members} members and items")
        if text > limits.max_text:
            raise _too_large(f"more than {limits.max_text} characters of text")


def _check_context(document: dict[str, Any], terms: tuple[str, ...]) -> None:
    """``@context`` must start with the VC context and define ``terms`` as ours.

    We read members by their names and fetch no context, so a context we cannot see (another
    URL) or one that maps our names elsewhere is refused.
    """
    context = document.get("@context")
    if context == VC_CONTEXT:
        context = [VC_CONTEXT]
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise _malformed(f"@context must start with {VC_CONTEXT}")
    defined: dict[str, Any] = {}
    for item in context[1:]:
        if not isinstance(item, dict):
            raise _malformed("@context may only add inline definitions to the VC context")
        defined.update(item)
    for term in terms:
        if defined.get(term) != CREDENTIAL_TERMS[term]:
            raise _malformed(f"@context does not define {term!r} as {CREDENTIAL_TERMS[term]}")


def _check_type(document: dict[str, Any], expected_type: str) -> None:
    types = document.get("type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise _malformed("type must be a string or a list of strings")
    if VERIFIABLE_CREDENTIAL not in types or expected_type not in types:
        raise CredentialRejected(
            CredentialRejection.WRONG_TYPE,
            f"type is {types}, not [{VERIFIABLE_CREDENTIAL!r}, {expected_type!r}]",
        )


def _issuer(document: dict[str, Any]) -> str:
    return _url(_id_of(document.get("issuer")), "issuer")


def _verification_method(document: dict[str, Any], issuer: str) -> str:
    """The proof's key, which must be one of the issuer's (its controller is the issuer)."""
    try:
        verification_method = proof_verification_method(document)
    except ProofMalformed as exc:
        raise _malformed(str(exc)) from exc
    if verification_method.split("#", 1)[0] != issuer:
        raise CredentialRejected(
            CredentialRejection.ISSUER_MISMATCH,
            f"signed with {verification_method}, not a key of the issuer {issuer}",
        )
    return verification_method


def _verify_proof(document: dict[str, Any], public_key: ed25519.Ed25519PublicKey) -> VerifiedProof:
    try:
        return verify_proof(document, public_key)
    except ProofInvalid as exc:
        raise CredentialRejected(CredentialRejection.BAD_PROOF, str(exc)) from exc
    except ProofMalformed as exc:
        raise _malformed(str(exc)) from exc
    except KeyFormatError as exc:  # a key of another type cannot have made the proof
        raise CredentialRejected(CredentialRejection.BAD_PROOF, str(exc)) from exc


def _moment(document: dict[str, Any], name: str) -> datetime:
    moment = parse_date_time_stamp(document.get(name))
    if moment is None:
        raise _malformed(f"{name} must be an XML Schema dateTimeStamp")
    return moment


def _optional_moment(document: dict[str, Any], name: str) -> datetime | None:
    return None if document.get(name) is None else _moment(document, name)


def _check_window(
    valid_from: datetime | None, valid_until: datetime | None, now: datetime, proof: VerifiedProof
) -> None:
    if now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if valid_from is not None and now < valid_from:
        raise CredentialRejected(
            CredentialRejection.NOT_YET_VALID, f"valid from {valid_from.isoformat()}"
        )
    if valid_until is not None and now >= valid_until:
        raise CredentialRejected(CredentialRejection.EXPIRED, f"expired {valid_until.isoformat()}")
    expires = parse_date_time_stamp(proof.expires) if proof.expires is not None else None
    if expires is not None and now >= expires:
        raise CredentialRejected(CredentialRejection.EXPIRED, f"proof expired {proof.expires}")


def _status_entry(value: Any) -> StatusEntry:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        raise _malformed("credentialStatus must be one BitstringStatusListEntry")
    if value.get("type") != STATUS_LIST_ENTRY:
        raise _malformed(f"credentialStatus type must be {STATUS_LIST_ENTRY!r}")
    if value.get("statusPurpose") != REVOCATION:
        raise _malformed(f"credentialStatus statusPurpose must be {REVOCATION!r}")
    if value.get("statusSize", 1) != 1:
        raise _malformed("only one-bit statuses are read")
    index = value.get("statusListIndex")
    # ASCII digits only: str.isdigit() would take other scripts' digits and superscripts.
    if (
        not isinstance(index, str)
        or not 0 < len(index) <= _MAX_INDEX_DIGITS
        or not all("0" <= c <= "9" for c in index)
    ):
        raise _malformed("statusListIndex must be a base-10 integer as a string")
    list_url = _url(value.get("statusListCredential"), "statusListCredential")
    if value.get("id", None) == list_url:
        raise _malformed("the status entry's id must not be the list's URL")
    return StatusEntry(list_url=list_url, index=int(index), purpose=REVOCATION)


def _url(value: Any, name: str) -> str:
    """An absolute http(s) URL: our issuers, subjects and lists are ActivityPub resources."""
    if isinstance(value, str) and len(value) <= 2048:
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        # No user@ part: it would show one host to a reader and connect to another.
        if (
            parts
            and parts.scheme in ("https", "http")
            and parts.hostname
            and "@" not in parts.netloc
        ):
            return value
    raise _malformed(f"{name} must be an http(s) URL")


def _name(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
        raise _malformed(f"{name} must be a non-empty string of at most {MAX_NAME_LENGTH}")
    return value


def _optional_name(value: Any, name: str) -> str:
    """A name a credential may leave out (a community's area): "" when absent."""
    return "" if value is None else _name(value, name)


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _malformed(message: str) -> CredentialRejected:
    return CredentialRejected(CredentialRejection.MALFORMED, message)


def _too_large(message: str) -> CredentialRejected:
    return CredentialRejected(CredentialRejection.TOO_LARGE, message)


def _bad_list(message: str) -> CredentialRejected:
    return CredentialRejected(CredentialRejection.BAD_STATUS_LIST, message)
