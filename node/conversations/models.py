"""Conversations, their participants, and their messages."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Conversation(Model):
    """A private exchange between a set of actors (local or remote)."""

    id = fields.IntField(primary_key=True)
    # The ActivityStreams ``context`` shared by its messages (ours, or the remote server's).
    context = fields.CharField(max_length=2048, unique=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    # Started by a remote note answering one we have not received yet (out of order after an
    # outage): when that note arrives, this conversation joins the one it is in.
    awaiting_parent = fields.CharField(max_length=2048, null=True, db_index=True)

    class Meta:
        table = "conversation"


class ThreadKey(Model):
    """Another key naming a conversation: a server that calls our thread by its own
    ``context`` or ``conversation`` (Mastodon's OStatus tag), or the key of a conversation that
    was merged into this one once the note it answered arrived."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=2048, unique=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "node.Conversation", related_name="keys", on_delete=fields.CASCADE
    )

    class Meta:
        table = "conversation_thread_key"


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
    """One message: plain text, whatever HTML it arrived in, with its content warning and the
    links of its attachments."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "node.Conversation", related_name="messages", on_delete=fields.CASCADE
    )
    ap_id = fields.CharField(max_length=2048, unique=True)
    author = fields.CharField(max_length=2048)
    text = fields.TextField()
    # A content warning (ActivityStreams ``summary``), shown before the text.
    # (Database defaults too: the columns are added to tables that already hold messages.)
    summary = fields.TextField(default="", db_default="")
    # [{"url", "media_type", "description"}], and for received ones also "type" (Mastodon's),
    # "width", "height", "blurhash": links to files, never the files themselves
    attachments: fields.Field[list[dict[str, Any]]] = fields.JSONField(
        default=list, db_default="[]"
    )
    # the note this one answers (``inReplyTo``)
    in_reply_to = fields.CharField(max_length=2048, null=True)
    # when its author wrote it (``published``, never later than its arrival): the order in
    # which a conversation is read, whatever order its notes arrived in
    created_at = fields.DatetimeField()
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    # participants this message was not sent to, and why: [{"actor", "reason"}]
    not_sent_to: fields.Field[list[dict[str, str]]] = fields.JSONField(
        default=list, db_default="[]"
    )

    class Meta:
        table = "conversation_message"
        indexes = (("conversation_id", "created_at"),)
