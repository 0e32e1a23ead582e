"""Notices published here, and notices received from a partner municipality."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

URI = 2048


class NoticeAudience(StrEnum):
    """Who a notice is for."""

    NODE = "node"  # this node's members
    DISTRICTS = "districts"  # a municipality's: its members and every partner district's
    CIRCLE = "circle"  # the members of one circle (here, or another node's our members joined)


class Notice(Model):
    """One notice. Local ones are published by a manager or an admin, received ones come from
    a partner municipality's neighbourhood group and are shown to every member here."""

    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=URI, unique=True)
    local = fields.BooleanField()
    # the member who published it (an actor URI)
    author = fields.CharField(max_length=URI)
    # the node it comes from (its host), shown beside received notices
    origin_host = fields.CharField(max_length=255)
    kind = fields.CharField(max_length=16)
    title = fields.CharField(max_length=200)
    text = fields.TextField(default="")
    text_html = fields.TextField(default="")
    place_name = fields.CharField(max_length=200, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True, db_index=True)
    audience = fields.CharEnumField(NoticeAudience, max_length=16, default=NoticeAudience.NODE)
    # for a circle's notice: the circle's Group actor (ours or another node's)
    circle = fields.CharField(max_length=URI, null=True, db_index=True)
    # readable by anyone (its Note served publicly and boosted to the group's followers)
    public = fields.BooleanField(default=False)
    # a received notice's photos, linked where its node serves them
    remote_photos: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    published_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "notice"
        indexes = (("local", "published_at"),)


class DeletedNotice(Model):
    """A received notice its author deleted: a Create of it arriving late (a delivery retried
    after the Delete went through) must not bring it back and notify everyone again."""

    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=URI, unique=True)
    deleted_at = fields.DatetimeField()

    class Meta:
        table = "deleted_notice"
