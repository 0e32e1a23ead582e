"""The audit log: every moderation action and decision, append-only.

Only :func:`record` writes it and :func:`page` reads it; there is no way to change or remove
an entry (``AuditEntry`` refuses updates and deletes too).
"""

from __future__ import annotations

from datetime import datetime

from moderation.models import AuditEntry

MAX_PAGE = 100
SYSTEM = "system"


async def record(actor: str, action: str, target: str, reason: str, at: datetime) -> AuditEntry:
    """Append one entry (inside the caller's transaction, so it stands or falls with the
    action it records)."""
    return await AuditEntry.create(
        actor=actor[:2048], action=action[:64], target=target[:2048], reason=reason, created_at=at
    )


async def page(*, before: int | None = None, limit: int = 50) -> list[AuditEntry]:
    """Up to ``limit`` entries older than the id ``before``, newest first."""
    query = AuditEntry.all()
    if before is not None:
        query = query.filter(id__lt=before)
    return await query.order_by("-id").limit(max(1, min(limit, MAX_PAGE)))


async def purge_before(cutoff: datetime) -> int:
    """Remove the entries older than ``cutoff``: the one removal there is, by the retention
    the community set (``keep_audit_days``); the retention job records that it ran."""
    return await AuditEntry.filter(created_at__lt=cutoff).delete()
