"""Notifications shown to a member in the app."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

URI = 2048


class NotificationType(StrEnum):
    """What happened."""

    RESPONSE = "listing.response"  # someone answered your listing
    AGREEMENT = "listing.agreement"  # an agreement you are part of changed
    EXPIRING = "listing.expiring"  # your listing expires soon
    MATCH = "saved_search.match"  # a new listing matches a saved search
    VERIFIED = "verification.verified"  # you are now a verified neighbour
    VOUCHED = "verification.vouched"  # a neighbour vouched for you (not yet enough)
    DOCUMENT_REJECTED = "verification.rejected"  # your proof of residence was refused
    VERIFICATION_LOST = "verification.lost"  # your verification was taken back or lapsed
    VERIFICATION_REVIEW = "verification.review"  # staff: a verification needs a look
    REPORT = "moderation.report"  # moderators: a new report in the queue
    WARNING = "moderation.warning"  # a moderator warned you (the reason in detail)
    DECISION = "moderation.decision"  # moderators hid something of yours, or answered an appeal
    ENDED = "moderation.ended"  # your follows and conversations with a suspended server ended
    NOTICE = "notice.published"  # a manager, landlord or town hall published a notice
    URGENT_NOTICE = "notice.urgent"  # the same, urgent: shown before everything else
    # problem reports: its handler changed the status, or commented (yours or a "me too")
    PROBLEM_STATUS = "problem.status"
    PROBLEM_COMMENT = "problem.comment"
    PROBLEM_NEW = "problem.new"  # handlers: a problem to handle arrived
    # people: someone asks to follow you; a post (here or elsewhere) mentions you
    FOLLOW_REQUEST = "follow.request"
    MENTION = "status.mention"


class Notification(Model):
    """One thing a member should see, until they mark it read."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "node.Member", related_name="notifications", on_delete=fields.CASCADE
    )
    type = fields.CharEnumField(NotificationType, max_length=32)
    # who caused it (an actor URI), if anyone
    actor = fields.CharField(max_length=URI, null=True)
    # what it is about (a notification about a listing gone from the node goes with it)
    listing: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Listing", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    response: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Response", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    saved_search: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.SavedSearch", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    notice: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Notice", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    problem: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Problem", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    status: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Status", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    # a short text that goes with it (the reason a proof of residence was refused)
    detail = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("member_id", "id"), ("member_id", "read_at"))
