"""Errors raised by the protocol layer.

ProtocolError                 root: something about a protocol document is wrong
├── MalformedResource         a WebFinger resource or URI we cannot parse
├── KeyFormatError            key material that cannot be loaded or encoded
├── ActorDocumentError        a remote actor document lacks what we need or contradicts itself
├── SignatureError            an HTTP signature cannot be accepted
│   ├── SignatureMissing      no signature on a request that needs one
│   ├── SignatureMalformed    Signature / Signature-Input headers we cannot parse
│   ├── SignatureNotFresh     created/Date too far in the future, or expired
│   ├── DigestMismatch        Digest / Content-Digest absent where required, or wrong
│   ├── UnsupportedAlgorithm  an algorithm (or key type) we do not verify
│   ├── MissingComponents     the signature does not cover what we require
│   └── SignatureInvalid      the cryptographic check failed
├── ProofError                a FEP-8b32 integrity proof cannot be accepted
│   ├── ProofMalformed        the proof object is missing fields or has wrong types
│   └── ProofInvalid          the cryptographic check failed
├── CredentialRejected        a verifiable credential (attestation, status list) we do not accept;
│                             its ``reason`` (a CredentialRejection) says why, for logs and callers
├── FlagMalformed             a report (``Flag``) that names no actor or object we can read
└── ListingError              a listing or a response to one (FEP-0837) that we cannot read
    ├── NotAListing           the object carries no listing terms at all (a plain note)
    ├── ListingMalformed      a listing lacks what we need, or carries an impossible value
    │   └── InvalidPrice      not a non-negative amount in an ISO 4217 currency
    │       └── UnknownCurrency  a currency code that ISO 4217 does not list
    └── AgreementMalformed    an Offer, Accept or Reject of an agreement that we cannot read
"""

from __future__ import annotations

from enum import StrEnum


class ProtocolError(Exception):
    """Root of every error raised by :mod:`activitypub`."""


class MalformedResource(ProtocolError):
    """A resource identifier (``acct:`` URI, URL) is not well formed."""


class KeyFormatError(ProtocolError):
    """Key material is not in a format we can load."""


class ActorDocumentError(ProtocolError):
    """An actor document is missing what federation needs, or contradicts itself."""


class SignatureError(ProtocolError):
    """An HTTP signature cannot be accepted; the message says why."""


class SignatureMissing(SignatureError):
    """The request carries no signature."""


class SignatureMalformed(SignatureError):
    """The signature headers cannot be parsed."""


class SignatureNotFresh(SignatureError):
    """The signature was created too far in the future or has expired."""


class DigestMismatch(SignatureError):
    """The body digest is missing where required, or does not match the body."""


class UnsupportedAlgorithm(SignatureError):
    """The signature algorithm or key type is not one we verify."""


class MissingComponents(SignatureError):
    """The signature does not cover the components we require."""


class SignatureInvalid(SignatureError):
    """The signature does not verify with the key."""


class ProofError(ProtocolError):
    """An integrity proof cannot be accepted; the message says why."""


class ProofMalformed(ProofError):
    """The proof object is missing fields or has wrong types."""


class ProofInvalid(ProofError):
    """The proof does not verify with the key."""


class CredentialRejection(StrEnum):
    """Why a credential was refused: a small fixed set callers can log and count."""

    MALFORMED = "malformed"  # not the structure of the credential we asked for
    TOO_LARGE = "too_large"  # too big, too deep, too many members, or a list that inflates
    WRONG_TYPE = "wrong_type"  # another kind of credential than the one expected
    BAD_PROOF = "bad_proof"  # the signature does not verify with the key: altered or forged
    ISSUER_MISMATCH = "issuer_mismatch"  # signed by a key that is not the issuer's
    NOT_YET_VALID = "not_yet_valid"  # validFrom is in the future
    EXPIRED = "expired"  # validUntil (or the proof's expires) has passed
    SUBJECT_MISMATCH = "subject_mismatch"  # about someone else than the expected subject
    COMMUNITY_MISMATCH = "community_mismatch"  # outside the community its issuer is endorsed for
    BAD_STATUS_LIST = "bad_status_list"  # a status list we cannot read, or not the one referred
    REVOKED = "revoked"  # the issuer has revoked it


class CredentialRejected(ProtocolError):
    """A verifiable credential cannot be accepted; ``reason`` says why, the message in words."""

    def __init__(self, reason: CredentialRejection, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ListingError(ProtocolError):
    """A listing, or an activity answering one, cannot be read; the message says why."""


class NotAListing(ListingError):
    """The object carries none of the terms of a listing (FEP-0837, Flohmarkt or ours)."""


class ListingMalformed(ListingError):
    """A listing lacks what we need, or carries a value that cannot be right."""


class InvalidPrice(ListingMalformed, ValueError):
    """A price that is not a non-negative amount in an ISO 4217 currency, in its minor unit."""


class UnknownCurrency(InvalidPrice):
    """A currency code that ISO 4217 does not list (or lists as a fund or a metal)."""


class AgreementMalformed(ListingError):
    """An ``Offer``, ``Accept`` or ``Reject`` of a FEP-0837 agreement that we cannot read."""


class FlagMalformed(ProtocolError):
    """A ``Flag`` (a report from another server) names no actor or no object we can read."""
