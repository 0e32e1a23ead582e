"""Local Group actors."""

from __future__ import annotations

from tortoise import fields

from node.actors.models import KeyedActor

NEIGHBOURHOOD = "neighbourhood"


class LocalGroup(KeyedActor):
    """A ``Group`` actor of this node. The neighbourhood group announces what members publish
    to partner nodes and to whoever follows it, as FEP-1b12 groups do."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=30, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "local_group"
