"""Verification as the JSON API shows it."""

from __future__ import annotations

from typing import Any

from activitypub.properties import format_timestamp
from node.members.models import Member
from node.verification.models import ResidenceDocument, VerificationEvent
from node.verification.service import VerificationService


def document_to_api(document: ResidenceDocument) -> dict[str, Any]:
    """A proof of residence's record: its outcome, never its content."""
    return {
        "id": document.id,
        "state": document.state.value,
        "media_type": document.media_type,
        "size_bytes": document.size_bytes,
        "filename": document.filename or None,
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
        "documents": [document_to_api(document) for document in documents],
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
