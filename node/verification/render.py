"""Verification as the JSON API shows it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from activitypub.properties import format_timestamp
from activitypub.uris import UriScheme
from federation.trust import CredentialChecker
from node.members.models import Member, Verification
from node.verification.models import IssuedCredential, ResidenceDocument, VerificationEvent
from node.verification.service import VerificationService


def document_to_api(document: ResidenceDocument, filename: str | None = None) -> dict[str, Any]:
    """A proof of residence's record: its outcome, never its content. ``filename``, the
    member's name for it, exists only while it waits (it is sealed in the file)."""
    return {
        "id": document.id,
        "state": document.state.value,
        "media_type": document.media_type,
        "size_bytes": document.size_bytes,
        "filename": filename,
        "uploaded_at": format_timestamp(document.uploaded_at),
        "decided_at": format_timestamp(document.decided_at),
        "reason": document.reason or None,
        "deleted": document.storage_name is None,
    }


async def verification_to_api(member: Member, service: VerificationService) -> dict[str, Any]:
    """Where a member stands, as they see it themselves."""
    vouchers = await service.vouchers_of(member)
    vouching_for = await service.vouched_by(member)
    documents = await service.documents_of(member)
    return {
        "level": member.verification.value,
        "method": member.verification_method.value if member.verification_method else None,
        "verified_at": format_timestamp(member.verified_at),
        "vouches_needed": service.settings.vouches_needed,
        "vouched_by": [voucher.username for voucher in vouchers],
        "vouching_for": [vouchee.username for vouchee in vouching_for],
        "documents": [
            document_to_api(document, await service.filename_of(document)) for document in documents
        ],
    }


async def verifications_of(
    actors: Iterable[str], uris: UriScheme, community_name: str, checker: CredentialChecker
) -> dict[str, dict[str, Any]]:
    """How each of ``actors`` is verified, by actor, for those who are: this node's verified
    members, and other nodes' members whose residency credential this node checked and
    trusts ("verified resident of Les Tilleuls, attested by tilleuls.example")."""
    wanted = set(actors)
    local = {name: actor for actor in wanted if (name := uris.username_from_actor(actor))}
    shown: dict[str, dict[str, Any]] = {}
    if local:
        for member in await Member.filter(
            username__in=list(local), verification=Verification.VERIFIED
        ):
            shown[local[member.username]] = {
                "level": Verification.VERIFIED.value,
                "method": member.verification_method.value if member.verification_method else None,
                "community": community_name,
                "attested_by": uris.domain,
                "trusted_through": None,
                "valid_until": None,
            }
    remote = wanted - set(local.values())
    for actor, residency in (await checker.residencies(remote)).items():
        shown[actor] = {
            "level": Verification.VERIFIED.value,
            "method": residency.method or None,
            "community": residency.community,
            "attested_by": residency.attested_by,
            "trusted_through": residency.trusted_through,
            "valid_until": format_timestamp(residency.valid_until),
        }
    return shown


def endorsement_to_api(credential: IssuedCredential) -> dict[str, Any]:
    """An endorsement this node gave, with the credential itself."""
    return {
        "node": credential.subject,
        "valid_from": format_timestamp(credential.valid_from),
        "valid_until": format_timestamp(credential.valid_until),
        "credential": credential.document,
    }


def event_to_api(event: VerificationEvent) -> dict[str, Any]:
    """One entry of the audit trail."""
    return {
        "id": event.id,
        "at": format_timestamp(event.at),
        "action": event.action,
        "by": event.by.username if event.by is not None else None,
        "member": event.subject.username if event.subject is not None else None,
        "document_id": event.document_id,
        "detail": event.detail,
    }
