"""Photos: uploaded by members, or cached copies of a partner listing's photos."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

URI = 2048


class Media(Model):
    """One stored image (re-encoded, metadata stripped) and its thumbnail.

    Uploaded first, then attached to a listing. A cached copy of a remote photo is attached
    from the start and goes with its listing.
    """

    id = fields.CharField(max_length=32, primary_key=True)  # random, unguessable
    # the member who uploaded it (an actor URI); a remote photo's listing author
    owner = fields.CharField(max_length=URI, db_index=True)
    listing: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Listing", related_name="photos", null=True, on_delete=fields.CASCADE
    )
    # or attached to a notice (its photo)
    notice: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Notice", related_name="photos", null=True, on_delete=fields.CASCADE
    )
    # or the problem report it shows (never both)
    problem: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Problem", related_name="photos", null=True, on_delete=fields.CASCADE
    )
    # or a member's status, posted from an app (docs/client-api.md)
    status: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Status", related_name="media", null=True, on_delete=fields.CASCADE
    )
    position = fields.IntField(default=0)
    # where an app should centre a crop: "x,y", each -1.0 to 1.0 (Mastodon's focal point)
    focus = fields.CharField(max_length=32, default="", db_default="")
    description = fields.CharField(max_length=1500, default="")  # alt text
    content_type = fields.CharField(max_length=32)
    width = fields.IntField()
    height = fields.IntField()
    size = fields.IntField()
    # file names under the data directory's media folder
    file = fields.CharField(max_length=255)
    thumbnail = fields.CharField(max_length=255)
    # a cached copy: where the origin serves it
    remote_url = fields.CharField(max_length=URI, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "media"
