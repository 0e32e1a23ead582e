"""Issuing: the unsigned credentials of a node, and their proof."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.attestations.claims import StatusEntry
from activitypub.attestations.status_lists import MIN_LENGTH, encode_status_list
from activitypub.attestations.vocabulary import (
    CREDENTIAL_CONTEXT,
    ENDORSEMENT_CREDENTIAL,
    MAX_NAME_LENGTH,
    RESIDENCY_CREDENTIAL,
    RESIDENCY_METHODS,
    REVOCATION,
    STATUS_LIST,
    STATUS_LIST_CONTEXT,
    STATUS_LIST_CREDENTIAL,
    STATUS_LIST_ENTRY,
    VERIFIABLE_CREDENTIAL,
)
from activitypub.proofs import create_proof, format_date_time_stamp


def residency_credential(
    *,
    credential_id: str,
    issuer: str,
    subject: str,
    community_name: str,
    community_area: str,
    method: str,
    valid_from: datetime,
    valid_until: datetime,
    status: StatusEntry,
) -> dict[str, Any]:
    """An unsigned ``ResidencyCredential``: ``issuer`` (the node's Application actor) attests
    that ``subject`` (a member's actor) lives in the community, known by ``method``.

    Raises ``ValueError`` for a method not in :data:`RESIDENCY_METHODS`, naive datetimes, an
    empty validity window, names that are empty or too long, or a status entry that is not a
    non-negative index in a revocation list.
    """
    if method not in RESIDENCY_METHODS:
        raise ValueError(f"method must be one of {sorted(RESIDENCY_METHODS)}, not {method!r}")
    claims = {
        "id": subject,
        "community": _community(community_name, community_area),
        "residencyMethod": method,
    }
    return _credential(
        credential_id, RESIDENCY_CREDENTIAL, issuer, claims, valid_from, valid_until, status
    )


def endorsement_credential(
    *,
    credential_id: str,
    issuer: str,
    subject_node: str,
    community_name: str,
    community_area: str,
    valid_from: datetime,
    valid_until: datetime,
    status: StatusEntry,
) -> dict[str, Any]:
    """An unsigned ``CommunityEndorsementCredential``: ``issuer`` (a municipality node) endorses
    ``subject_node`` (a district node's Application actor) as an issuer of residency
    credentials for the community named. Raises ``ValueError`` as
    :func:`residency_credential` does."""
    claims = {
        "id": subject_node,
        "community": _community(community_name, community_area),
        "endorsedFor": RESIDENCY_CREDENTIAL,
    }
    return _credential(
        credential_id, ENDORSEMENT_CREDENTIAL, issuer, claims, valid_from, valid_until, status
    )


def status_list_credential(
    *,
    list_id: str,
    issuer: str,
    revoked: Iterable[int],
    valid_from: datetime,
    valid_until: datetime | None = None,
    length: int = MIN_LENGTH,
) -> dict[str, Any]:
    """An unsigned ``BitstringStatusListCredential`` of ``length`` bits, the ``revoked`` ones
    set; published at ``list_id``, the ``statusListCredential`` of the entries it serves.

    ``valid_until``, when given, tells verifiers when to fetch it again. Raises ``ValueError``
    as :func:`~activitypub.attestations.status_lists.encode_status_list` does, and for naive
    datetimes.
    """
    document: dict[str, Any] = {
        "@context": list(STATUS_LIST_CONTEXT),
        "id": list_id,
        "type": [VERIFIABLE_CREDENTIAL, STATUS_LIST_CREDENTIAL],
        "issuer": issuer,
        "validFrom": format_date_time_stamp(valid_from, "valid_from"),
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise ValueError("valid_until must be after valid_from")
        document["validUntil"] = format_date_time_stamp(valid_until, "valid_until")
    document["credentialSubject"] = {
        "id": f"{list_id}#list",
        "type": STATUS_LIST,
        "statusPurpose": REVOCATION,
        "encodedList": encode_status_list(revoked, length),
    }
    return document


def sign_credential(
    document: dict[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str,
) -> dict[str, Any]:
    """A copy of ``document`` with its eddsa-jcs-2022 proof (``assertionMethod``).

    ``verification_method`` is the issuer's Ed25519 key (``<issuer>#ed25519-key``): readers
    refuse a credential signed by a key whose controller is not the issuer. Raises as
    :func:`~activitypub.proofs.create_proof` does.
    """
    return create_proof(document, private_key, verification_method, created)


def _credential(
    credential_id: str,
    credential_type: str,
    issuer: str,
    subject: dict[str, Any],
    valid_from: datetime,
    valid_until: datetime,
    status: StatusEntry,
) -> dict[str, Any]:
    valid_from_text = format_date_time_stamp(valid_from, "valid_from")  # refuses naive ones
    valid_until_text = format_date_time_stamp(valid_until, "valid_until")
    if valid_until <= valid_from:
        raise ValueError("valid_until must be after valid_from")
    if status.purpose != REVOCATION or isinstance(status.index, bool) or status.index < 0:
        raise ValueError("a status entry is a non-negative index in a revocation list")
    return {
        # A copy: the caller may edit what it gets without editing every later credential.
        "@context": copy.deepcopy(CREDENTIAL_CONTEXT),
        "id": credential_id,
        "type": [VERIFIABLE_CREDENTIAL, credential_type],
        "issuer": issuer,
        "validFrom": valid_from_text,
        "validUntil": valid_until_text,
        "credentialSubject": subject,
        "credentialStatus": {
            # The entry's own id; the specification forbids the list's URL itself here.
            "id": f"{status.list_url}#{status.index}",
            "type": STATUS_LIST_ENTRY,
            "statusPurpose": status.purpose,
            "statusListIndex": str(status.index),
            "statusListCredential": status.list_url,
        },
    }


def _community(name: str, area: str) -> dict[str, str]:
    """The community by name, and by area when it has one (a node may leave it unset)."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"community_name must be a non-empty string of at most {MAX_NAME_LENGTH}")
    if not isinstance(area, str) or len(area) > MAX_NAME_LENGTH:
        raise ValueError(f"community_area must be a string of at most {MAX_NAME_LENGTH}")
    return {"name": name, "area": area} if area.strip() else {"name": name}
