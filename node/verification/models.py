"""What verification keeps: proofs of residence under review, vouches, the audit trail of both,
and the residency credentials this node issued."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from node.members.models import Member

URI_LENGTH = 2048


class DocumentState(StrEnum):
    """Where a proof of residence is in its review."""

    PENDING = "pending"  # waiting for a manager; the only state in which the file exists
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # nobody decided within verification.document_max_days
    WITHDRAWN = "withdrawn"  # the member took it back before a decision


class ResidenceDocument(Model):
    """A proof of residence. The file itself is encrypted on disk while it waits for a
    decision, and this row outlives it with the outcome only (no file name, no content)."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name="residence_documents", on_delete=fields.CASCADE
    )
    state = fields.CharEnumField(DocumentState, max_length=16, default=DocumentState.PENDING)
    media_type = fields.CharField(max_length=32)
    size_bytes = fields.IntField()
    # (The member's name for the file is sealed inside the file, never in the database.)
    # The encrypted file's name under <data_dir>/documents; null once it is deleted.
    storage_name = fields.CharField(max_length=64, null=True, unique=True)
    uploaded_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    decided_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    reason = fields.CharField(max_length=500, default="")
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "residence_document"
        indexes = (("state", "uploaded_at"),)


class Vouch(Model):
    """A verified member's word that a neighbour lives here. One row per pair: a withdrawn or
    discredited vouch keeps its row (the trail) and stops counting."""

    # (No semicolon in model docstrings: tortoise turns them into SQL comments on SQLite and
    # splits its schema script on semicolons.)

    id = fields.IntField(primary_key=True)
    voucher: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name="vouches_given", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name="vouches_received", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()
    withdrawn_at = fields.DatetimeField(null=True)
    # The voucher was suspended or their own verification found false.
    discredited_at = fields.DatetimeField(null=True)

    class Meta:
        table = "vouch"
        unique_together = (("voucher", "member"),)


class VerificationEvent(Model):
    """The audit trail of verification: who viewed which document, who decided what, which
    vouches changed, what an import verified. Append-only."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    action = fields.CharField(max_length=32)
    # who acted (null: the node itself, or a member since deleted)
    by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    subject: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    document_id = fields.IntField(null=True)
    detail = fields.CharField(max_length=500, default="")

    class Meta:
        table = "verification_event"


class CredentialKind(StrEnum):
    """What a credential this node issued attests."""

    RESIDENCY = "residency"  # one of our members lives here
    ENDORSEMENT = "endorsement"  # a district node may attest residency (we are its anchor)


class IssuedCredential(Model):
    """A verifiable credential this node signed, served at its own URL until revoked."""

    id = fields.IntField(primary_key=True)
    token = fields.CharField(max_length=32, unique=True)  # the URL segment, random
    kind = fields.CharEnumField(CredentialKind, max_length=16)
    member: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "node.Member", related_name="credentials", null=True, on_delete=fields.SET_NULL
    )
    subject = fields.CharField(max_length=URI_LENGTH)  # the actor it is about
    # Position in the node's revocation list; random, so an index says nothing about who.
    status_index = fields.IntField(unique=True)
    issued_at = fields.DatetimeField()
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField(db_index=True)
    revoked_at = fields.DatetimeField(null=True)
    document: fields.Field[dict[str, object]] = fields.JSONField()

    class Meta:
        table = "issued_credential"
        indexes = (("kind", "subject"),)
