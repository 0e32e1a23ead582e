"""Reports, decisions, appeals and audit entries as the JSON API shows them.

Every text (comments, reasons, appeals) is plain text as it was given, returned as a JSON
string: nothing here is HTML, and whatever shows it must escape it.
"""

from __future__ import annotations

from typing import Any

from activitypub.properties import format_timestamp
from moderation.models import Appeal, AuditEntry, Decision, Report


def report_to_api(report: Report, *, reporter: str | None = None) -> dict[str, Any]:
    """A report; with ``reporter`` (a username here, for moderators) who made it."""
    body: dict[str, Any] = {
        "id": report.id,
        "target": {
            "kind": report.target_kind.value,
            "uri": report.target_uri,
            "account": report.target_actor,
        },
        "category": report.category.value,
        "comment": report.comment,
        "state": report.state.value,
        "forwarded_to": report.forwarded_to,
        "created_at": format_timestamp(report.created_at),
    }
    if reporter is not None or report.origin_host is not None:
        body["reporter"] = (
            {"member": reporter}
            if report.origin_host is None
            else {"server": report.origin_host, "actor": report.reporter_actor}
        )
        body["objects"] = report.objects
        body["identified"] = report.identified
        body["resolved_at"] = format_timestamp(report.resolved_at)
        body["resolved_by"] = report.resolved_by
    return body


def decision_to_api(decision: Decision, appeal: Appeal | None = None) -> dict[str, Any]:
    """A decision, with its appeal when there is one."""
    return {
        "id": decision.id,
        "action": decision.action.value,
        "target": {"kind": decision.target_kind.value, "uri": decision.target},
        "reason": decision.reason,
        "report_id": decision.report_id,  # type: ignore[attr-defined]
        "moderator": decision.moderator,
        "created_at": format_timestamp(decision.created_at),
        "overturned_at": format_timestamp(decision.overturned_at),
        "appeal": None if appeal is None else appeal_to_api(appeal),
    }


def appeal_to_api(appeal: Appeal) -> dict[str, Any]:
    """An appeal and, once answered, the answer."""
    return {
        "id": appeal.id,
        "decision_id": appeal.decision_id,  # type: ignore[attr-defined]
        "text": appeal.text,
        "state": appeal.state.value,
        "created_at": format_timestamp(appeal.created_at),
        "decided_at": format_timestamp(appeal.decided_at),
        "decided_by": appeal.decided_by,
        "answer": appeal.answer,
    }


def audit_to_api(entry: AuditEntry) -> dict[str, Any]:
    """One line of the audit log."""
    return {
        "id": entry.id,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "reason": entry.reason,
        "created_at": format_timestamp(entry.created_at),
    }
