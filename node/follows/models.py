"""Who follows whom. Either side may be local or remote; actors are identified by their ids."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class FollowState(StrEnum):
    """A follow is requested, then accepted (members approve their followers)."""

    PENDING = "pending"
    ACCEPTED = "accepted"


class Follow(Model):
    """``follower`` follows (or asked to follow) ``followee``."""

    id = fields.IntField(primary_key=True)
    follower = fields.CharField(max_length=2048)
    followee = fields.CharField(max_length=2048, db_index=True)
    # the Follow activity, as sent or received, answered by Accept/Reject/Undo
    activity_id = fields.CharField(max_length=2048, unique=True)
    activity: fields.Field[dict[str, object]] = fields.JSONField()
    # the follower's inbox (their shared inbox when they have one), for deliveries to followers
    follower_inbox = fields.CharField(max_length=2048, null=True)
    state = fields.CharEnumField(FollowState, max_length=16, default=FollowState.PENDING)
    created_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "follow"
        unique_together = (("follower", "followee"),)


class FollowAlias(Model):
    """An earlier id of a Follow the follower sent again under a new id.

    Mastodon re-sends a Follow with a new id when its side lost track of it. The follow keeps
    the newest id in ``Follow.activity_id``, the earlier ones here, so an Undo naming any of
    them still ends it.
    """

    id = fields.IntField(primary_key=True)
    follow: fields.ForeignKeyRelation[Follow] = fields.ForeignKeyField(
        "node.Follow", related_name="aliases", on_delete=fields.CASCADE
    )
    activity_id = fields.CharField(max_length=2048, unique=True)

    class Meta:
        table = "follow_alias"
