"""Apps registered by clients, their authorization codes and their app-only tokens.

A member's access token is a ``LoginSession`` with an ``app`` and ``scopes``: authentication,
the sessions list and revocation are the ones login sessions already have. Only tokens that
belong to no member (``client_credentials``) live here.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from node.members.models import Member


class OAuthApp(Model):
    """A client app (``POST /api/v1/apps``). Only a hash of its secret is stored."""

    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=64, unique=True)
    client_secret_hash = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    website = fields.CharField(max_length=2000, null=True)
    # One URI a line, as Mastodon's deprecated ``redirect_uri`` field shows them.
    redirect_uris = fields.TextField()
    scopes = fields.CharField(max_length=2000)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "oauth_app"


class OAuthCode(Model):
    """An authorization code: single use, short-lived, bound to its redirect URI and PKCE."""

    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    app: fields.ForeignKeyRelation[OAuthApp] = fields.ForeignKeyField(
        "node.OAuthApp", related_name="codes", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name="oauth_codes", on_delete=fields.CASCADE
    )
    redirect_uri = fields.CharField(max_length=2000)
    scopes = fields.CharField(max_length=2000)
    code_challenge = fields.CharField(max_length=128, null=True)
    code_challenge_method = fields.CharField(max_length=10, null=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_code"


class OAuthAppToken(Model):
    """A token of the app itself (``client_credentials``): it acts for no member."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    app: fields.ForeignKeyRelation[OAuthApp] = fields.ForeignKeyField(
        "node.OAuthApp", related_name="tokens", on_delete=fields.CASCADE
    )
    scopes = fields.CharField(max_length=2000)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_app_token"
