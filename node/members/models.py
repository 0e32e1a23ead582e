"""Members, invites and login sessions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from node.actors.models import KeyedActor


class Role(StrEnum):
    """What a member may do on the node."""

    ADMIN = "admin"  # runs the node: invites, roles, configuration
    MODERATOR = "moderator"  # handles reports and blocks
    MANAGER = "manager"  # reviews proofs of residence, publishes notices
    RESIDENT = "resident"  # a neighbour

    @property
    def is_staff(self) -> bool:
        """Whether the role runs part of the node (and may see members' real names)."""
        return self is not Role.RESIDENT


class Verification(StrEnum):
    """How sure the node is that a member lives there."""

    UNVERIFIED = "unverified"
    VOUCHED = "vouched"  # vouched for, by fewer members than verification needs
    VERIFIED = "verified"


class VerificationMethod(StrEnum):
    """How a member was verified."""

    DOCUMENT = "document"  # a proof of residence, reviewed by a manager
    VOUCHING = "vouching"  # enough verified members vouched for them
    MANAGER = "manager"  # a manager who knows them, or the landlord's or town hall's list


class Member(KeyedActor):
    """A local member, published as a ``Person`` actor."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=30, unique=True)
    real_name = fields.CharField(max_length=100)
    display_name = fields.CharField(max_length=100)
    bio = fields.TextField(default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16, default=Role.RESIDENT)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_active_at = fields.DatetimeField(null=True)
    verification = fields.CharEnumField(
        Verification, max_length=16, default=Verification.UNVERIFIED, db_index=True
    )
    verification_method = fields.CharEnumField(VerificationMethod, max_length=16, null=True)
    verified_at = fields.DatetimeField(null=True)
    # the manager who verified them (by manager), kept for the review trail
    verified_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # Where in the community they live (flat, building, street) and an e-mail address: both
    # optional, seen by staff only, used to match a landlord's or town hall's list of residents.
    unit = fields.CharField(max_length=100, default="")
    email = fields.CharField(max_length=254, default="")
    # Set when their verification needs a manager's look (a voucher was discredited).
    review_reason = fields.CharField(max_length=200, default="")
    review_since = fields.DatetimeField(null=True, db_index=True)
    # Suspended by a moderator: cannot log in (sessions revoked) until unsuspended.
    suspended_at = fields.DatetimeField(null=True)
    # The language of their pages (one of node.languages.PAGE_LANGUAGES); "" follows the
    # browser's Accept-Language.
    language = fields.CharField(max_length=8, default="", db_default="")

    class Meta:
        table = "member"

    def __str__(self) -> str:
        return self.username


class Invite(Model):
    """A single-use, expiring invitation to register. Only a hash of the code is stored."""

    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    role = fields.CharEnumField(Role, max_length=16, default=Role.RESIDENT)
    note = fields.CharField(max_length=200, default="")
    created_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name="invites_created", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name="invite_used", null=True, on_delete=fields.SET_NULL
    )
    revoked_at = fields.DatetimeField(null=True)
    # The verified member who sent it vouches for whoever registers with it.
    vouch = fields.BooleanField(default=False)

    class Meta:
        table = "invite"


class LoginSession(Model):
    """A login: a bearer token or a browser cookie. Only a hash of the secret is stored."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    label = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # An OAuth access token is a session of the app it was granted to, limited to ``scopes``
    # (space-separated); a login of our own (no app) has every right.
    app: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "node.OAuthApp", related_name="sessions", null=True, on_delete=fields.CASCADE
    )
    scopes = fields.CharField(max_length=2000, null=True)

    class Meta:
        table = "login_session"


class ErasedAccount(Model):
    """What stays of an account its member erased: the username, never given to anyone else
    (other servers know the actor by it), and the keys that sign the Deletes telling them.

    Nothing else: no name, no e-mail, no content.
    """

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=30, unique=True)
    rsa_private_pem = fields.TextField()
    erased_at = fields.DatetimeField()

    class Meta:
        table = "erased_account"
