"""What federation keeps: remote actors we know, and inbound activities waiting for the worker."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

URI_LENGTH = 2048


class RemoteActor(Model):
    """A cached remote actor document and the keys it vouches for."""

    id = fields.IntField(primary_key=True)
    uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    host = fields.CharField(max_length=255, db_index=True)
    actor_type = fields.CharField(max_length=32)
    inbox = fields.CharField(max_length=URI_LENGTH)
    shared_inbox = fields.CharField(max_length=URI_LENGTH, null=True)
    preferred_username = fields.CharField(max_length=255, null=True)
    # key id -> PEM (RSA, EC) or Multikey (Ed25519), as published
    keys: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    # our terms on Quartier actors: a member's residency credential, a node's endorsements
    residency_credential = fields.CharField(max_length=URI_LENGTH, null=True)
    endorsements = fields.CharField(max_length=URI_LENGTH, null=True)
    # the profile apps show (activitypub.actor_documents.Profile); the bio as published
    name = fields.CharField(max_length=200, null=True)
    summary = fields.TextField(null=True)
    icon = fields.CharField(max_length=URI_LENGTH, null=True)
    image = fields.CharField(max_length=URI_LENGTH, null=True)
    url = fields.CharField(max_length=URI_LENGTH, null=True)
    published = fields.DatetimeField(null=True)
    manually_approves_followers = fields.BooleanField(default=False)
    followers = fields.CharField(max_length=URI_LENGTH, null=True)
    fetched_at = fields.DatetimeField()

    class Meta:
        table = "remote_actor"


class InboundState(StrEnum):
    """Where an accepted activity is in its processing."""

    PENDING = "pending"
    DONE = "done"
    # not acted upon, last_error says why: no handler for its type in this version (kept for a
    # later one), no handler found it concerned us (NotActedOn), or its sender was blocked
    # after it arrived
    IGNORED = "ignored"
    FAILED = "failed"  # the handler failed max_attempts times


class InboundMessage(Model):
    """An accepted, verified activity: stored before we answer 202, processed by the worker."""

    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(max_length=URI_LENGTH, unique=True)
    actor = fields.CharField(max_length=URI_LENGTH)
    activity_type = fields.CharField(max_length=64)
    # the local recipient the sender addressed (personal inbox), or None for a shared inbox
    recipient = fields.CharField(max_length=URI_LENGTH, null=True)
    body: fields.Field[dict[str, object]] = fields.JSONField()
    received_at = fields.DatetimeField()
    state = fields.CharEnumField(InboundState, max_length=16, default=InboundState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    # a worker holds the row until then (several workers on PostgreSQL, crash recovery)
    lease_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")

    class Meta:
        table = "inbound_message"
        # the claim walks pending rows in id order; without it, a scan of the kept history.
        # (state, lease_until): the actors other workers hold, asked at every claim
        indexes = (("state", "id"), ("state", "lease_until"))


class DeliveryState(StrEnum):
    """Where an outbound delivery is."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up (horizon passed, permanent refusal, or the recipient is gone)


class Delivery(Model):
    """One activity to POST to one inbox, written in the transaction of the change it reports.

    (No semicolons in model docstrings: tortoise copies them into the schema SQL, where a
    semicolon splits the statement.)
    """

    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(max_length=URI_LENGTH, db_index=True)
    inbox = fields.CharField(max_length=URI_LENGTH)
    host = fields.CharField(max_length=255, db_index=True)
    # the local actor whose key signs the request
    signer = fields.CharField(max_length=URI_LENGTH)
    body = fields.TextField()
    state = fields.CharEnumField(DeliveryState, max_length=16, default=DeliveryState.PENDING)
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    next_attempt_at = fields.DatetimeField(db_index=True)
    # a worker holds the row until then; another may take it over after (crash recovery)
    lease_until = fields.DatetimeField(null=True)
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(default="")
    delivered_at = fields.DatetimeField(null=True)
    # meant for partner nodes only: never sent once the host is no longer a partner
    partners_only = fields.BooleanField(default=False)
    # What member content it carries (moderation.governance.content_kind: messages, listings,
    # profiles), read from the activity when queued, empty for plumbing and withdrawals. The
    # community's policy decides from it whether the delivery may go.
    kind = fields.CharField(max_length=16, default="")
    # whose content: the sharing ledger records the delivery for them (empty when not content)
    owner = fields.CharField(max_length=URI_LENGTH, default="")
    # the object shared (a listing, a message), and how (Create, Update), as the ledger says
    subject = fields.CharField(max_length=URI_LENGTH, default="")
    activity_type = fields.CharField(max_length=32, default="")

    class Meta:
        table = "delivery"
        unique_together = (("activity_id", "inbox"),)
        # the claim walks pending rows in (attempts, id) order: new work before backlog
        indexes = (("state", "attempts", "id"),)


class PartnershipState(StrEnum):
    """A partnership between two nodes, seen from this node."""

    PROPOSED = "proposed"  # we asked, they have not answered
    REQUESTED = "requested"  # they asked, our admins have not answered
    ACTIVE = "active"
    REFUSED = "refused"
    ENDED = "ended"


class Partnership(Model):
    """A partnership with another node, carried by a Follow between the nodes' actors."""

    id = fields.IntField(primary_key=True)
    peer_actor = fields.CharField(max_length=URI_LENGTH, unique=True)
    peer_host = fields.CharField(max_length=255, db_index=True)
    peer_inbox = fields.CharField(max_length=URI_LENGTH)
    initiated_by_us = fields.BooleanField()
    message = fields.TextField(default="")
    state = fields.CharEnumField(PartnershipState, max_length=16)
    follow_activity_id = fields.CharField(max_length=URI_LENGTH, unique=True)
    follow_activity: fields.Field[dict[str, object]] = fields.JSONField()
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "partnership"


class CredentialCheck(StrEnum):
    """The outcome of checking another node's credential."""

    PENDING = "pending"  # linked from the actor, not checked yet
    VALID = "valid"  # proof, issuer trusted, window, subject, status: all good
    UNTRUSTED = "untrusted"  # well formed and signed, but by an issuer we do not trust
    REJECTED = "rejected"  # forged, altered, expired, not yet valid, revoked or unreadable


class RemoteCredential(Model):
    """What this node concluded about a credential another node issued about one of its
    members (one row per member: the credential their actor links now)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=16)  # "residency"
    subject = fields.CharField(max_length=URI_LENGTH)  # the member's actor
    url = fields.CharField(max_length=URI_LENGTH)
    issuer = fields.CharField(max_length=URI_LENGTH, default="")  # once read
    # the anchor whose endorsement made the issuer trusted, when not trusted directly
    trusted_through = fields.CharField(max_length=URI_LENGTH, null=True)
    community_name = fields.CharField(max_length=200, default="")
    community_area = fields.CharField(max_length=200, default="")
    method = fields.CharField(max_length=16, default="")
    valid_from = fields.DatetimeField(null=True)
    valid_until = fields.DatetimeField(null=True)
    status_list = fields.CharField(max_length=URI_LENGTH, null=True)
    status_index = fields.IntField(null=True)
    outcome = fields.CharEnumField(CredentialCheck, max_length=16)
    reason = fields.CharField(max_length=500, default="")
    checked_at = fields.DatetimeField()
    next_check_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "remote_credential"
        unique_together = (("kind", "subject"),)


class StatusListCopy(Model):
    """Another node's revocation list, as last fetched and verified."""

    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=URI_LENGTH, unique=True)
    issuer = fields.CharField(max_length=URI_LENGTH, default="")  # once read
    encoded = fields.TextField()  # encodedList as received (its proof was verified)
    digest = fields.CharField(max_length=64)  # SHA-256 of encoded: tells when it changed
    fetched_at = fields.DatetimeField()

    class Meta:
        table = "status_list_copy"


class SharedItem(Model):
    """One delivery of a member's own content to another server: the sharing ledger a member
    reads ("what of mine went where"), and the list erasure sends its Deletes to."""

    id = fields.BigIntField(primary_key=True)
    owner = fields.CharField(max_length=URI_LENGTH)  # the member's actor
    kind = fields.CharField(max_length=16)  # messages, listings, profiles
    subject = fields.CharField(max_length=URI_LENGTH)  # the object shared
    activity_type = fields.CharField(max_length=32)
    host = fields.CharField(max_length=255)
    inbox = fields.CharField(max_length=URI_LENGTH)
    shared_at = fields.DatetimeField()

    class Meta:
        table = "shared_item"
        indexes = (("owner", "id"),)


class SignatureScheme(StrEnum):
    """How we sign requests to a peer."""

    RFC9421 = "rfc9421"  # RFC 9421, ed25519, with the actor's Multikey
    CAVAGE = "cavage"  # draft-cavage-12, rsa-sha256, with the actor's main key


class PeerSignatureScheme(Model):
    """The signature scheme a peer host takes, as last learnt (see federation/signing.py)."""

    id = fields.IntField(primary_key=True)
    host = fields.CharField(max_length=255, unique=True)  # host[:port], lower case
    scheme = fields.CharEnumField(SignatureScheme, max_length=16)
    learnt_at = fields.DatetimeField()

    class Meta:
        table = "peer_signature_scheme"
