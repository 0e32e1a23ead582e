"""Listings (local and from partner nodes), the responses to them and saved searches."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from node.media.models import Media

URI = 2048


class Kind(StrEnum):
    """What a listing offers or asks for."""

    GIVE = "give"
    LEND = "lend"
    SELL = "sell"
    SERVICE = "service"
    REQUEST = "request"
    CARPOOL = "carpool"


class Status(StrEnum):
    """Where a listing is in its life."""

    OPEN = "open"
    RESERVED = "reserved"  # an agreement holds it
    DONE = "done"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Audience(StrEnum):
    """Who may see a listing."""

    NODE = "node"  # this neighbourhood only: never leaves the node
    PARTNERS = "partners"  # also the partner neighbourhoods
    PUBLIC = "public"  # anyone, the wider fediverse too


class Listing(Model):
    """A listing: ours (``local``) or a copy of one a partner node (or any server) published.

    Kind-specific terms live in ``details``, and what search filters on has its own column.
    """

    id = fields.BigIntField(primary_key=True)
    ap_id = fields.CharField(max_length=URI, unique=True)
    local = fields.BooleanField()
    author = fields.CharField(max_length=URI, db_index=True)
    # the host it came from (ours for a local one): the "origin node" filter
    origin_host = fields.CharField(max_length=255)
    kind = fields.CharEnumField(Kind, max_length=16)
    status = fields.CharEnumField(Status, max_length=16, default=Status.OPEN)
    audience = fields.CharEnumField(Audience, max_length=16)
    # addressed to one of our circles (its actor id): only its members see it, and it stays
    # on this node (audience node)
    circle = fields.CharField(max_length=URI, null=True)
    category = fields.CharField(max_length=32)
    title = fields.CharField(max_length=200)
    # sanitised HTML (a safe subset) and the same as plain text
    description_html = fields.TextField(default="")
    description = fields.TextField(default="")
    # lend: {"return_by"} or {"duration_days"}; sell and service: {"paid"}; request:
    # {"need": "borrow" | "buy" | "help"}; carpool: {"from", "to", "departure", "seats",
    # "recurrence": "once" | "weekly"}
    details: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    # a price in the currency's minor unit (cents), for sell and paid services
    price_minor = fields.BigIntField(null=True)
    currency = fields.CharField(max_length=3, null=True)
    quantity = fields.IntField(default=1)
    available_quantity = fields.IntField(default=1)
    availability = fields.CharField(max_length=500, default="")
    # the author's rule: only verified neighbours (ours, or attested by a trusted node) respond
    verified_responders = fields.BooleanField(default=False)
    # the community's name and a point snapped to a grid, never the member's address
    place_name = fields.CharField(max_length=200, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    radius_m = fields.IntField(null=True)
    # title and description folded (lower case, accents removed) for search on every engine
    search_text = fields.TextField(default="")
    published_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)  # none: a standing offer
    reminded_at = fields.DatetimeField(null=True)
    # a remote copy: the document as received (kept to answer the questions we did not parse)
    received: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    photos: fields.ReverseRelation[Media]

    class Meta:
        table = "listing"
        # browse newest first, the expiry sweep, "mine", the origin filter
        indexes = (
            ("status", "published_at"),
            ("status", "expires_at"),
            ("author", "status"),
            ("origin_host", "status"),
        )


class ResponseState(StrEnum):
    """Where a response to a listing is."""

    PENDING = "pending"  # waiting for the author
    ACCEPTED = "accepted"  # an agreement: the listing is reserved for this responder
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the responder took it back
    DONE = "done"  # the exchange happened


class Response(Model):
    """A neighbour (local or on another node) answering a listing, and the agreement it becomes."""

    id = fields.BigIntField(primary_key=True)
    listing: fields.ForeignKeyRelation[Listing] = fields.ForeignKeyField(
        "node.Listing", related_name="responses", on_delete=fields.CASCADE
    )
    responder = fields.CharField(max_length=URI, db_index=True)
    # the Offer's id (FEP-0837) or the note replying to the listing
    ap_id = fields.CharField(max_length=URI, unique=True)
    # "offer" (Offer(Agreement)) or "reply" (a note inReplyTo the listing)
    form = fields.CharField(max_length=16)
    # the Agreement's id once there is one
    agreement_id = fields.CharField(max_length=URI, null=True)
    # the Offer(Agreement) as received, which our Accept answers (FEP-0837)
    offer: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    message = fields.TextField(default="")
    quantity = fields.IntField(default=1)
    state = fields.CharEnumField(ResponseState, max_length=16, default=ResponseState.PENDING)
    # the direct conversation between author and responder
    conversation: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "node.Conversation", related_name="listing_responses", null=True, on_delete=fields.SET_NULL
    )
    # short thank-yous once done, one per side
    thanks_from_author = fields.CharField(max_length=500, default="")
    thanks_from_responder = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "listing_response"
        indexes = (("listing_id", "state"),)


class SavedSearch(Model):
    """A member's search kept as an alert: new matching listings notify them."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "node.Member", related_name="saved_searches", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    # the search's parameters, as the search API takes them
    query: fields.Field[dict[str, object]] = fields.JSONField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "saved_search"
