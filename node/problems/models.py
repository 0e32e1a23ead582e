"""Problem reports, their comments, "me too"s, and the Open311 API keys."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

URI = 2048


class ProblemStatus(StrEnum):
    """Where a problem stands, as its handler says."""

    SUBMITTED = "submitted"  # reported, the handler has not acknowledged it yet
    RECEIVED = "received"  # acknowledged by the handler
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"  # with a reason

    @property
    def is_open(self) -> bool:
        """Whether the problem is still to be dealt with (Open311's ``open``)."""
        return self not in (ProblemStatus.RESOLVED, ProblemStatus.REJECTED)


class Problem(Model):
    """One problem report. Three kinds of rows share this table: a member's report handled
    here (``handled_here``, no ``handler_host``), a member's report sent to another node
    (``handler_host``), and a report received from another node or an Open311 client and
    handled here (``origin_host`` or ``open311_key`` set)."""

    id = fields.IntField(primary_key=True)
    # the object's id: ours for our members' reports, the sender's for a received one
    ap_id = fields.CharField(max_length=URI, unique=True)
    reporter: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Member", related_name="problems", null=True, on_delete=fields.SET_NULL
    )
    # who reported, as the handler learns it: a remote member's actor when their node shares
    # it, else the sending node's actor; empty for our own members' reports
    reporter_actor = fields.CharField(max_length=URI, default="")
    origin_host = fields.CharField(max_length=255, null=True)  # a received report's node
    open311_key = fields.IntField(null=True)  # the API key an Open311 client created it with
    handler_host = fields.CharField(max_length=255, null=True)  # where we sent it
    handled_here = fields.BooleanField(default=True)
    category = fields.CharField(max_length=32, db_index=True)
    text = fields.TextField()
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    address = fields.CharField(max_length=500, default="")
    public = fields.BooleanField(default=True)
    # a received report's photos: their URLs on the sending node
    photo_urls: fields.Field[list[str]] = fields.JSONField(default=list)
    status = fields.CharEnumField(ProblemStatus, max_length=16, default=ProblemStatus.SUBMITTED)
    status_reason = fields.TextField(default="")
    # "me too"s counted on the reporter's node (ours are rows in ProblemMeToo)
    remote_me_too = fields.IntField(default=0)
    # when the remote handler made the last change applied here: an older Update that
    # arrives late (a retried delivery) does not take the status back
    handler_updated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "problem"
        indexes = (("handled_here", "status"), ("public", "category", "status"))


class ProblemComment(Model):
    """A handler's comment on a problem (kept on both nodes)."""

    id = fields.IntField(primary_key=True)
    problem: fields.ForeignKeyRelation[Problem] = fields.ForeignKeyField(
        "node.Problem", related_name="comments", on_delete=fields.CASCADE
    )
    author_name = fields.CharField(max_length=200, default="")
    text = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "problem_comment"


class ProblemMeToo(Model):
    """A member of this node has the same problem."""

    id = fields.IntField(primary_key=True)
    problem: fields.ForeignKeyRelation[Problem] = fields.ForeignKeyField(
        "node.Problem", related_name="me_toos", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "node.Member", related_name="problem_me_toos", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "problem_me_too"
        unique_together = (("problem", "member"),)


class Open311Key(Model):
    """An Open311 client's API key: only its SHA-256 is kept (the key is a random 32-byte
    token, shown once when made)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "open311_key"
