"""What moderation keeps: the community's domain blocks."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from moderation.domains import MAX_DOMAIN_LENGTH

MAX_REASON_LENGTH = 1000


class DomainBlock(Model):
    """A server the community refuses to federate with, and every subdomain of it.

    The host is normalised (lower-case, IDNA, optional port) by moderation.domains before it
    is stored, so the unique constraint also catches spellings of the same host.
    """

    id = fields.IntField(primary_key=True)
    host = fields.CharField(max_length=MAX_DOMAIN_LENGTH, unique=True)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "domain_block"


class PolicyOverride(Model):
    """The governance settings admins changed through the API, over those of quartier.toml.

    One row (id 1). Values are stored as the API took them, validated, so a node reading them
    validates them again with the same rules.
    """

    id = fields.IntField(primary_key=True)
    values: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    changed_by = fields.CharField(max_length=100, default="")
    changed_at = fields.DatetimeField()

    class Meta:
        table = "policy_override"
