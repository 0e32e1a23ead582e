"""What moderation keeps: domain blocks, restricted remote actors, reports, decisions, appeals,
keyword filters with the content they caught, and the audit log.

Members live in the node, above this layer: they are named here by plain values (a member's
id, a username, an actor URI), never by foreign keys into the node's tables.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from moderation.domains import MAX_DOMAIN_LENGTH

MAX_REASON_LENGTH = 1000
URI = 2048


class Severity(StrEnum):
    """What a block or a restriction does to a server or an actor.

    ``suspend``: nothing is accepted from it or sent to it, follows and conversations with it
    end. ``silence``: what it sends is accepted, but not shown in browse and search results,
    nor notified to members who do not follow it.
    """

    SUSPEND = "suspend"
    SILENCE = "silence"


class DomainBlock(Model):
    """A server the community suspends or silences, and every subdomain of it.

    The host is normalised (lower-case, IDNA, optional port) by moderation.domains before it
    is stored, so the unique constraint also catches spellings of the same host.
    """

    id = fields.IntField(primary_key=True)
    host = fields.CharField(max_length=MAX_DOMAIN_LENGTH, unique=True)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField()
    severity = fields.CharEnumField(
        Severity, max_length=16, default=Severity.SUSPEND, db_default=Severity.SUSPEND.value
    )

    class Meta:
        table = "domain_block"


class PolicyOverride(Model):
    """The governance settings admins changed through the API, over those of quartier.toml.

    One row (id 1). Values are stored as the API took them, validated, so a node reading them
    validates them again with the same rules.
    """

    id = fields.IntField(primary_key=True)
    values: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    changed_by = fields.CharField(max_length=100, default="")
    changed_at = fields.DatetimeField()

    class Meta:
        table = "policy_override"


class ActorRestriction(Model):
    """One remote actor the moderators suspended or silenced (the rest of its server is not)."""

    id = fields.IntField(primary_key=True)
    actor = fields.CharField(max_length=URI, unique=True)
    severity = fields.CharEnumField(Severity, max_length=16)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "actor_restriction"


class TargetKind(StrEnum):
    """What a report or a decision is about."""

    ACCOUNT = "account"  # a member here, or a remote actor
    LISTING = "listing"
    MESSAGE = "message"
    DOMAIN = "domain"  # a whole server (decisions only)


class Category(StrEnum):
    """Why a member reports something."""

    SPAM = "spam"
    FRAUD = "fraud"
    HARASSMENT = "harassment"
    ILLEGAL = "illegal"
    OTHER = "other"


class ReportState(StrEnum):
    """Where a report is in the moderators' queue."""

    OPEN = "open"
    RESOLVED = "resolved"  # a decision was taken on it
    DISMISSED = "dismissed"  # nothing to do


class Report(Model):
    """A report, made by a member here or received from another server as a Flag.

    Text is stored as plain text, exactly as given: whatever shows it escapes it.
    """

    id = fields.IntField(primary_key=True)
    # a member here (their id), or, for a Flag from elsewhere, the actor that sent it
    reporter_member_id = fields.IntField(null=True, db_index=True)
    reporter_actor = fields.CharField(max_length=URI, null=True)
    # the server a Flag came from (null for our members' reports)
    origin_host = fields.CharField(max_length=MAX_DOMAIN_LENGTH, null=True)
    # the Flag's id: received (dedupe) or the one we sent on to the content's server
    activity_id = fields.CharField(max_length=URI, null=True, unique=True)
    target_kind = fields.CharEnumField(TargetKind, max_length=16)
    target_uri = fields.CharField(max_length=URI)
    # the account the report is about (the author of the listing or message)
    target_actor = fields.CharField(max_length=URI)
    # every URI a Flag named that is ours, in its order
    objects: fields.Field[list[str]] = fields.JSONField(default=list)
    category = fields.CharEnumField(Category, max_length=16, default=Category.OTHER)
    comment = fields.TextField(default="")
    state = fields.CharEnumField(ReportState, max_length=16, default=ReportState.OPEN)
    # the server our Flag went to (remote content), and whether the reporter agreed to be named
    forwarded_to = fields.CharField(max_length=MAX_DOMAIN_LENGTH, null=True)
    identified = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    resolved_by = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "moderation_report"
        indexes = (("state", "created_at"),)


class Action(StrEnum):
    """What moderators do."""

    DISMISS = "dismiss"  # a report needs nothing
    HIDE = "hide"  # a listing or a message
    WARN = "warn"  # a member
    SUSPEND = "suspend"  # a member, a remote actor, a server
    UNSUSPEND = "unsuspend"
    SILENCE = "silence"  # a remote actor, a server
    UNSILENCE = "unsilence"


class Decision(Model):
    """A moderator's decision, final unless appealed (once) by the member it concerns."""

    id = fields.IntField(primary_key=True)
    action = fields.CharEnumField(Action, max_length=16)
    target_kind = fields.CharEnumField(TargetKind, max_length=16)
    # a URI, or a host for a server
    target = fields.CharField(max_length=URI)
    # the member here it concerns (who may appeal it), if any
    member_id = fields.IntField(null=True, db_index=True)
    report: fields.ForeignKeyNullableRelation[Report] = fields.ForeignKeyField(
        "moderation.Report", related_name="decisions", null=True, on_delete=fields.SET_NULL
    )
    moderator = fields.CharField(max_length=64)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField()
    # set when an appeal overturned it
    overturned_at = fields.DatetimeField(null=True)
    appeal: fields.BackwardOneToOneRelation[Appeal]

    class Meta:
        table = "moderation_decision"


class AppealState(StrEnum):
    """Where an appeal is."""

    PENDING = "pending"
    UPHELD = "upheld"  # the decision stands
    OVERTURNED = "overturned"  # the decision was reversed


class Appeal(Model):
    """A member's one appeal of a decision about them (one per decision, never of an appeal)."""

    id = fields.IntField(primary_key=True)
    decision: fields.OneToOneRelation[Decision] = fields.OneToOneField(
        "moderation.Decision", related_name="appeal", on_delete=fields.CASCADE
    )
    member_id = fields.IntField(db_index=True)
    text = fields.TextField()
    state = fields.CharEnumField(AppealState, max_length=16, default=AppealState.PENDING)
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    decided_by = fields.CharField(max_length=64, null=True)
    answer = fields.TextField(default="")

    class Meta:
        table = "moderation_appeal"


class FilterAction(StrEnum):
    """What a keyword filter does to what matches it.

    ``hide``: stored and shown to its author, but to nobody else. ``hold``: stored, neither
    shown nor sent to other servers until a moderator releases it.
    """

    HIDE = "hide"
    HOLD = "hold"


class KeywordFilter(Model):
    """A word or phrase the community's moderators filter (whole words, any case)."""

    id = fields.IntField(primary_key=True)
    # as the moderator wrote it, trimmed, its spaces collapsed
    phrase = fields.CharField(max_length=200, unique=True)
    action = fields.CharEnumField(FilterAction, max_length=8)
    created_by = fields.CharField(max_length=100)
    created_at = fields.DatetimeField()

    class Meta:
        table = "moderation_keyword_filter"


class HeldState(StrEnum):
    """Where filtered content is: waiting (held), or decided."""

    HELD = "held"  # hold: waiting for a moderator
    HIDDEN = "hidden"  # hide: shown to its author only, for good
    RELEASED = "released"  # a moderator let it through
    REJECTED = "rejected"  # a moderator refused it: never shown


class FilteredContent(Model):
    """A listing, message or response a keyword filter (or a limit on links and mentions)
    caught, named by its URI, with the author, the reason and what was decided."""

    id = fields.BigIntField(primary_key=True)
    # "listing", "message" or "response"
    kind = fields.CharField(max_length=16)
    target = fields.CharField(max_length=URI, unique=True)
    author = fields.CharField(max_length=URI)
    local = fields.BooleanField()
    state = fields.CharEnumField(HeldState, max_length=16)
    # the filter's phrase, or the limit exceeded
    reason = fields.CharField(max_length=300)
    # a short extract for the moderators' queue (plain text)
    excerpt = fields.TextField(default="")
    created_at = fields.DatetimeField()
    decided_by = fields.CharField(max_length=100, default="")
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "moderation_filtered_content"
        indexes = (("state", "created_at"),)


class AuditEntry(Model):
    """One line of the append-only audit log: who did what to what, why, and when.

    Written by moderation.audit only, never changed or deleted.
    """

    id = fields.BigIntField(primary_key=True)
    # a username here, or the server a Flag came from ("remote:host"), or "system"
    actor = fields.CharField(max_length=URI)
    action = fields.CharField(max_length=64)
    target = fields.CharField(max_length=URI)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "moderation_audit"

    async def save(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        """Insert only: an entry once written is never changed."""
        if self._saved_in_db:
            raise PermissionError("the audit log is append-only")
        await super().save(*args, **kwargs)  # type: ignore[arg-type]

    async def delete(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        """Never: the audit log is append-only."""
        raise PermissionError("the audit log is append-only")
