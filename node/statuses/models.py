"""Statuses: what apps show in timelines, one row for each thing a member can read there.

A status is a member's own post, a post of an account a member follows (from any server), a
listing (this node's or a partner's) or a direct message. Listings and messages keep living in
their own tables with their own rules; their status row is the index the client API pages
through (one id space, time-ordered, as Mastodon's), pointing back to them.

Home timelines are written when a status arrives (fan-out on write, as Mastodon does): one
``TimelineEntry`` per member who should see it, so reading a home timeline is one indexed
range scan whatever the number of follows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

URI = 2048


class Visibility(StrEnum):
    """Mastodon's four audiences."""

    PUBLIC = "public"  # everyone, and public timelines
    UNLISTED = "unlisted"  # everyone, but not public timelines
    PRIVATE = "private"  # followers (and the accounts it mentions)
    DIRECT = "direct"  # the accounts it mentions only


class StatusKind(StrEnum):
    """What a status stands for."""

    NOTE = "note"  # a post (ActivityStreams Note)
    QUESTION = "question"  # a poll, shown read-only
    ARTICLE = "article"  # Article, Page and Event: shown as Mastodon does, title and link
    PAGE = "page"
    EVENT = "event"
    LISTING = "listing"  # a listing (``listing`` points to it)
    MESSAGE = "message"  # a direct message (``message`` points to it)


class Status(Model):
    """One status, local or remote."""

    id = fields.BigIntField(primary_key=True)
    # The object's ActivityPub id (for a boost: the Announce's id).
    ap_id = fields.CharField(max_length=URI, unique=True)
    url = fields.CharField(max_length=URI, null=True)  # the page a person opens
    author = fields.CharField(max_length=URI, db_index=True)  # actor id
    local = fields.BooleanField()
    kind = fields.CharEnumField(StatusKind, max_length=16)
    visibility = fields.CharEnumField(Visibility, max_length=16)
    content = fields.TextField(default="")  # sanitised HTML, as apps show it
    text = fields.TextField(null=True)  # the author's source text (our own statuses)
    title = fields.CharField(max_length=500, default="")  # Article, Page, Event
    spoiler_text = fields.CharField(max_length=1000, default="")  # content warning
    sensitive = fields.BooleanField(default=False)
    language = fields.CharField(max_length=16, null=True)
    in_reply_to = fields.CharField(max_length=URI, null=True, db_index=True)  # AP id
    in_reply_to_author = fields.CharField(max_length=URI, null=True)
    reblog_of: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "node.Status", null=True, on_delete=fields.CASCADE, related_name="reblogs"
    )
    listing: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "node.Listing", null=True, on_delete=fields.CASCADE, related_name="statuses"
    )
    message: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "node.Message", null=True, on_delete=fields.CASCADE, related_name="statuses"
    )
    # Actor ids it mentions, hashtags (lower case, no '#'), and its attachments: for our own
    # statuses {"media": <Media id>}, for remote ones the attachment as received, reduced to
    # {"url", "media_type", "type", "description", "width", "height", "blurhash"}.
    mentions: fields.Field[list[str]] = fields.JSONField(default=list)
    tags: fields.Field[list[str]] = fields.JSONField(default=list)
    attachments: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    # Whether it shows media (attachments, or a listing's photos): ``only_media`` filters.
    has_media = fields.BooleanField(default=False)
    # A poll we received (Question): {"options": [{"title", "votes_count"}], "multiple",
    # "expires_at", "voters_count"}; read-only here.
    poll: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    application = fields.CharField(max_length=200, null=True)  # the app that posted it
    created_at = fields.DatetimeField(db_index=True)
    edited_at = fields.DatetimeField(null=True)

    class Meta:
        table = "status"
        indexes = (("visibility", "local", "id"),)

    def __str__(self) -> str:
        return self.ap_id


class TimelineEntry(Model):
    """A status in a member's home timeline."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "node.Member", on_delete=fields.CASCADE, related_name=False
    )
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "node.Status", on_delete=fields.CASCADE, related_name="timeline_entries"
    )

    class Meta:
        table = "timeline_entry"
        unique_together = (("member", "status"),)


class IdempotentPost(Model):
    """A status posted with an ``Idempotency-Key``: the same key within an hour gets the same
    status back instead of a second one (apps retry when a connection drops)."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "node.Member", on_delete=fields.CASCADE, related_name=False
    )
    key = fields.CharField(max_length=64)  # sha256 of the client's key
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "node.Status", on_delete=fields.CASCADE, related_name=False
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotent_post"
        unique_together = (("member", "key"),)


class AccountRef(Model):
    """The client API's number for an account (a member here or an actor elsewhere): apps
    want one id space for accounts, numeric strings, stable for as long as the node lives."""

    id = fields.BigIntField(primary_key=True)
    actor = fields.CharField(max_length=URI, unique=True)

    class Meta:
        table = "account_ref"


class StatusTag(Model):
    """A status filed under one of its hashtags (tag timelines read this index)."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=100)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "node.Status", on_delete=fields.CASCADE, related_name="tag_index"
    )

    class Meta:
        table = "status_tag"
        unique_together = (("name", "status"),)


class Marker(Model):
    """Where a member stopped reading a timeline (``home`` or ``notifications``), shared by
    their apps (Mastodon's markers)."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "node.Member", on_delete=fields.CASCADE, related_name=False
    )
    timeline = fields.CharField(max_length=16)
    last_read_id = fields.CharField(max_length=32)
    version = fields.IntField(default=1)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "timeline_marker"
        unique_together = (("member", "timeline"),)
