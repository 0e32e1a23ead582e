"""Circles, their members and followers, and the posts addressed to them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from node.groups.models import LocalGroup


class CircleKind(StrEnum):
    """What gathers a circle's members."""

    BUILDING = "building"
    STREET = "street"
    RESIDENCE = "residence"
    ASSOCIATION = "association"
    INTEREST = "interest"


class JoinPolicy(StrEnum):
    """How one becomes a member."""

    OPEN = "open"  # whoever may join is a member at once
    REQUEST = "request"  # a circle moderator approves
    MANAGED = "managed"  # a manager (or the circle's moderators) adds members


class CircleRole(StrEnum):
    """What someone is to a circle."""

    MODERATOR = "moderator"  # removes posts and members, approves requests
    MEMBER = "member"  # posts, reads every post
    FOLLOWER = "follower"  # a plain fediverse account: reads public posts only


# the roles of those who belong to a circle (a follower only reads its public posts)
JOINED = (CircleRole.MEMBER, CircleRole.MODERATOR)


class MembershipState(StrEnum):
    """Where a membership stands."""

    PENDING = "pending"  # asked to join a request circle, waits for a moderator
    INVITED = "invited"  # added to a managed circle before their Follow arrived
    ACCEPTED = "accepted"


class Circle(Model):
    """A circle of this node, speaking through its ``Group`` actor (the linked group)."""

    id = fields.IntField(primary_key=True)
    group: fields.OneToOneRelation[LocalGroup] = fields.OneToOneField(
        "node.LocalGroup", related_name="circle", on_delete=fields.CASCADE
    )
    slug = fields.CharField(max_length=30, unique=True)
    name = fields.CharField(max_length=100)
    summary = fields.TextField(default="")
    kind = fields.CharEnumField(CircleKind, max_length=16)
    join_policy = fields.CharEnumField(JoinPolicy, max_length=16, default=JoinPolicy.OPEN)
    # members of active partner nodes may join (else only this node's members)
    partners_may_join = fields.BooleanField(default=False)
    # anyone may follow it and read its public posts
    public = fields.BooleanField(default=True)
    created_by = fields.CharField(max_length=2048)
    created_at = fields.DatetimeField()
    # deleted: its actor answers 410 and its slug is never given again, but its group (and
    # keys) stay, so the Delete that tells remote members can be signed
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "circle"


class CircleMember(Model):
    """An actor (ours or another server's) who belongs to, asked to join or follows a circle.

    A remote actor joins by ``Follow`` of the circle's actor: its inbox and that Follow are
    kept to answer it (Accept, Reject) and to deliver the circle's announces.
    """

    id = fields.IntField(primary_key=True)
    circle: fields.ForeignKeyRelation[Circle] = fields.ForeignKeyField(
        "node.Circle", related_name="members", on_delete=fields.CASCADE
    )
    actor = fields.CharField(max_length=2048)
    role = fields.CharEnumField(CircleRole, max_length=16, default=CircleRole.MEMBER)
    state = fields.CharEnumField(MembershipState, max_length=16, default=MembershipState.ACCEPTED)
    # the remote actor's (shared) inbox, null for our own members
    inbox = fields.CharField(max_length=2048, null=True)
    follow_id = fields.CharField(max_length=2048, null=True)
    follow: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "circle_member"
        unique_together = (("circle", "actor"),)


class CirclePost(Model):
    """A post addressed to a circle: ours, or a copy announced by another node's circle.

    ``circle`` is the circle's actor id (ours or a remote group) and ``activity`` the Create
    as its author sent it, which the circle announces unaltered.
    """

    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=2048, unique=True)
    circle = fields.CharField(max_length=2048, db_index=True)
    author = fields.CharField(max_length=2048)
    content_html = fields.TextField()
    text = fields.TextField()
    public = fields.BooleanField(default=False)
    local = fields.BooleanField(default=False)
    activity: fields.Field[dict[str, object]] = fields.JSONField()
    published_at = fields.DatetimeField()
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "circle_post"
