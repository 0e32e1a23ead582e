"""Conversations, their participants, and their messages."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Conversation(Model):
    """A private exchange between a set of actors (local or remote)."""

    id = fields.IntField(primary_key=True)
    # The ActivityStreams ``context`` shared by its messages (ours, or the remote server's).
    context = fields.CharField(max_length=2048, unique=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "conversation"


class Participant(Model):
    """An actor in a conversation, and for our members how far they have read."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "node.Conversation", related_name="participants", on_delete=fields.CASCADE
    )
    actor = fields.CharField(max_length=2048)
    local = fields.BooleanField(default=False)
    # the last message they have read (ids grow with arrival, timestamps may tie)
    last_read_id = fields.IntField(default=0)

    class Meta:
        table = "conversation_participant"
        unique_together = (("conversation", "actor"),)


class Message(Model):
    """One message: plain text, whatever HTML it arrived in."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "node.Conversation", related_name="messages", on_delete=fields.CASCADE
    )
    ap_id = fields.CharField(max_length=2048, unique=True)
    author = fields.CharField(max_length=2048)
    text = fields.TextField()
    created_at = fields.DatetimeField()
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "conversation_message"
