"""The values attestations are made of and read into: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from activitypub.attestations.status_lists import status_bit
from activitypub.attestations.vocabulary import REVOCATION


@dataclass(frozen=True)
class StatusEntry:
    """Where a credential's revocation bit is: bit ``index`` of the list at ``list_url``."""

    list_url: str
    index: int
    purpose: str = REVOCATION


@dataclass(frozen=True)
class CredentialClaims:
    """What a residency or endorsement credential states, once read (and, from
    :func:`verify_credential`, verified).

    ``subject`` is the member's actor (residency) or the endorsed node's Application actor
    (endorsement); ``method`` is set for residency, ``endorsed_for`` for endorsements.
    """

    credential_type: str
    credential_id: str | None
    issuer: str
    subject: str
    community_name: str
    community_area: str
    valid_from: datetime
    valid_until: datetime
    verification_method: str
    status: StatusEntry | None = None
    method: str | None = None
    endorsed_for: str | None = None


@dataclass(frozen=True)
class StatusList:
    """A verified status list: its bits, decoded, and what it says about itself."""

    list_id: str
    issuer: str
    purpose: str
    bits: bytes
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    @property
    def length(self) -> int:
        """How many statuses the list holds."""
        return len(self.bits) * 8

    def is_set(self, index: int) -> bool:
        """Whether status ``index`` is set (the credential revoked); ``bad_status_list`` for an
        index outside the list."""
        return status_bit(self.bits, index)
