"""Residency attestations: W3C Verifiable Credentials 2.0 signed with eddsa-jcs-2022.

Three kinds of credential, all issued by a node's Application actor and signed with its Ed25519
key (FEP-8b32 ``DataIntegrityProof``, :mod:`activitypub.proofs`):

* ``ResidencyCredential``: the node vouches that a member (the subject, their actor) lives in
  its community, and says how it knows (``residencyMethod``: ``document``, ``vouching`` or
  ``manager``);
* ``CommunityEndorsementCredential``: a municipality node endorses a district node (the
  subject, its Application actor) as an issuer of residency credentials for a community: one
  level of delegation, checked by :func:`check_endorsement`;
* ``BitstringStatusListCredential`` (W3C Bitstring Status List v1.0): the revocation bits of
  the node's credentials; each credential points at its bit with a ``credentialStatus`` entry.

Our terms are defined inline in ``@context`` (:data:`CREDENTIAL_CONTEXT`), in our namespace,
so nothing is fetched to read them; none redefines a term of the VC context, whose terms are
protected. Status lists use only VC terms.

Reading is split so the federation layer can fetch keys in between: :func:`read_credential`
checks the structure and names the key (``verification_method``), :func:`verify_credential`
checks the proof with that key, the issuer, the validity window and the subject. Whether the
issuer is trusted (a partner, or endorsed by a trusted municipality) is the caller's policy.
Every refusal is a :class:`~activitypub.errors.CredentialRejected` with a ``reason``.
"""

from __future__ import annotations

from activitypub.attestations.build import (
    endorsement_credential,
    residency_credential,
    sign_credential,
    status_list_credential,
)
from activitypub.attestations.claims import CredentialClaims, StatusEntry, StatusList
from activitypub.attestations.read import (
    check_endorsement,
    check_status,
    read_credential,
    verify_credential,
    verify_status_list,
)
from activitypub.attestations.status_lists import (
    MIN_LENGTH,
    decode_status_list,
    encode_status_list,
    status_bit,
)
from activitypub.attestations.vocabulary import (
    CREDENTIAL_CONTEXT,
    ENDORSEMENT_CREDENTIAL,
    RESIDENCY_CREDENTIAL,
    RESIDENCY_METHODS,
    VC_CONTEXT,
)

__all__ = [
    "CREDENTIAL_CONTEXT",
    "ENDORSEMENT_CREDENTIAL",
    "MIN_LENGTH",
    "RESIDENCY_CREDENTIAL",
    "RESIDENCY_METHODS",
    "VC_CONTEXT",
    "CredentialClaims",
    "StatusEntry",
    "StatusList",
    "check_endorsement",
    "check_status",
    "decode_status_list",
    "encode_status_list",
    "endorsement_credential",
    "read_credential",
    "residency_credential",
    "sign_credential",
    "status_bit",
    "status_list_credential",
    "verify_credential",
    "verify_status_list",
]
