"""Blocks and mutes: a member's own (of anyone, here or elsewhere), and the blocks other
servers' actors told us about (an inbound ``Block`` of one of our members)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

URI = 2048


class RelationKind(StrEnum):
    """A block refuses the other's follows, messages and responses (and tells their server);
    a mute only hides what they do from the member's own views."""

    BLOCK = "block"
    MUTE = "mute"


class MemberRelation(Model):
    """``owner`` blocks or mutes ``target`` (an actor id: a neighbour here or someone
    elsewhere)."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "node.Member", related_name="relations", on_delete=fields.CASCADE
    )
    target = fields.CharField(max_length=URI)
    kind = fields.CharEnumField(RelationKind, max_length=8)
    # the Block sent to the target's server (an Undo embeds it), for a block of a remote actor
    activity: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    # where that Block went (their shared inbox when they have one): the Undo goes there too
    target_inbox = fields.CharField(max_length=URI, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "member_relation"
        unique_together = (("owner", "target", "kind"),)
        indexes = (("target", "kind"),)


class RemoteBlock(Model):
    """``actor`` (on another server) blocked our ``member``: their ``Block`` activity."""

    id = fields.IntField(primary_key=True)
    actor = fields.CharField(max_length=URI)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "node.Member", related_name="blocked_by", on_delete=fields.CASCADE
    )
    activity_id = fields.CharField(max_length=URI, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "remote_block"
        unique_together = (("actor", "member"),)
