"""Responses to our listings from other servers.

A direct message answering a listing (``inReplyTo`` the listing, addressed to its author) is
what Mastodon, GoToSocial and Flohmarkt users send: it is a message in the conversation
between the two (the conversation handlers store it) and, here, a response the author may
accept or decline. Who may answer follows the listing's audience: anyone for a public listing,
members of partner nodes for a partners listing, nobody from elsewhere for a node listing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from activitypub import activities
from activitypub.actor_documents import same_host
from activitypub.errors import ListingError
from activitypub.listings import (
    ReceivedListing,
    details_to_mapping,
    looks_like_listing,
    read_accept,
    read_completion,
    read_listing,
    read_offer,
    read_reject,
)
from activitypub.notes import PUBLIC, read_note
from activitypub.uris import UriScheme
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import NotActedOn
from federation.trust import is_trusted_resident
from moderation import filters
from moderation.content import FilterHit, hrefs_of, mentioned
from moderation.domains import authority_of
from moderation.models import Action, Decision
from node.conversations.models import Message
from node.follows.models import Follow, FollowState
from node.groups.models import NEIGHBOURHOOD
from node.listings.categories import CATEGORIES
from node.listings.models import Audience, Kind, Listing, Response, ResponseState, Status
from node.listings.search import index_fields
from node.listings.service import (
    ACTIVE_RESPONSES,
    MAX_MESSAGE,
    VERIFIED_ONLY,
    Alerts,
    drop_copy,
    mark_done,
    record_response,
    why_unanswerable,
)
from node.media.remote import RemotePhoto
from node.media.service import MediaService
from node.moderation.safety import ContentGuard
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService
from node.relations.checks import blocks
from node.rich_text import sanitize_html

Clock = Callable[[], datetime]
LISTING_TYPES = ("Note", "Proposal", "Page", "Article", "Document")
IsPartner = Callable[[str], Awaitable[bool]]


async def may_answer(listing: Listing, responder: str, is_partner: IsPartner) -> str | None:
    """Why a remote ``responder`` may not answer ``listing`` (its audience), or ``None``."""
    if listing.audience is Audience.PUBLIC:
        return None
    if listing.audience is Audience.PARTNERS and await is_partner(authority_of(responder)):
        return None
    if listing.audience is Audience.PARTNERS:
        return "the listing is for partner neighbourhoods only"
    return "the listing is for this neighbourhood only"


class ReceivedResponses:
    """Inbound handlers that turn answers from other servers into responses."""

    def __init__(
        self,
        uris: UriScheme,
        clock: Clock,
        notifications: NotificationService,
        is_partner: IsPartner,
        settle: Callable[[Listing], Awaitable[None]] | None = None,
        is_verified: Callable[[str], Awaitable[bool]] | None = None,
        guard: ContentGuard | None = None,
    ) -> None:
        # limits on links and mentions, and the keyword filters: over one, held or hidden
        self._guard = guard
        self._uris = uris
        self._clock = clock
        self._notifications = notifications
        self._is_partner = is_partner
        self._settle = settle
        # whether a remote actor is a verified resident we trust (checked on the spot)
        self._is_verified = is_verified

    def register(self, dispatcher: Dispatcher) -> None:
        """After the conversation handlers (so the message exists to link to)."""
        dispatcher.register("Create", self.on_reply, object_type="Note")
        dispatcher.register("Offer", self.on_offer)
        dispatcher.register("Accept", self.on_accept)
        dispatcher.register("Reject", self.on_reject)
        dispatcher.register("Update", self.on_completion, object_type="Agreement")

    async def on_offer(self, activity: InboundActivity) -> None:
        """An ``Offer(Agreement)`` answering one of our listings (FEP-0837): a response."""
        try:
            offer = read_offer(activity.body)
        except ListingError as exc:
            raise NotActedOn(f"the Offer cannot be read: {exc}") from None
        if offer.actor != activity.actor:
            raise NotActedOn("an Offer is its sender's own")
        listing = await Listing.get_or_none(ap_id=offer.proposal, local=True)
        if listing is None:
            raise NotActedOn("the Offer answers none of our listings")
        quantity = offer.quantity
        if quantity is None or quantity < 1:
            raise NotActedOn("the Offer is not for a whole number of items")
        await self._check_answer(listing, activity.actor, quantity)
        hit = None
        if self._guard is not None and offer.message:
            hit = await self._guard.screen_inbound([offer.message])
        await self._record(
            listing,
            activity.actor,
            hit=hit,
            ap_id=offer.id,
            form="offer",
            message=offer.message,
            quantity=quantity,
            offer=activity.body,
        )

    async def on_accept(self, activity: InboundActivity) -> None:
        """The author of a listing on another server accepted one of our members' Offers."""
        try:
            accepted = read_accept(activity.body)
        except ListingError as exc:
            raise NotActedOn(f"not an Accept of an Offer: {exc}") from None
        response = await self._our_offer(accepted.offer, activity.actor)
        if response.state is not ResponseState.PENDING:
            raise NotActedOn(f"the response is {response.state.value} already")
        await self._answered(response, ResponseState.ACCEPTED, accepted.agreement_id)

    async def on_reject(self, activity: InboundActivity) -> None:
        """The author of a listing on another server declined one of our members' Offers."""
        try:
            rejected = read_reject(activity.body)
        except ListingError as exc:
            raise NotActedOn(f"not a Reject of an Offer: {exc}") from None
        response = await self._our_offer(rejected.offer, activity.actor)
        if response.state not in ACTIVE_RESPONSES:
            raise NotActedOn(f"the response is {response.state.value} already")
        await self._answered(response, ResponseState.DECLINED, None)

    async def on_completion(self, activity: InboundActivity) -> None:
        """The other side of an agreement says it happened (our ``Update`` of the Agreement
        to ``agreementStatus`` ``done``): done here too, with their thank-you."""
        try:
            done = read_completion(activity.body)
        except ListingError as exc:
            raise NotActedOn(f"not an agreement marked done: {exc}") from None
        if done.actor != activity.actor:
            raise NotActedOn("an agreement is marked done by its sender only")
        # Both parties filter: an agreement id chosen by another server need not be unique here.
        response = (
            await Response.filter(agreement_id=done.agreement_id)
            .filter(Q(responder=activity.actor) | Q(listing__author=activity.actor))
            .prefetch_related("listing")
            .first()
        )
        if response is None:
            # a stranger to it learns nothing: not even that it exists
            raise NotActedOn("no agreement of the sender here has that id")
        listing: Listing = response.listing
        by_author = activity.actor == listing.author
        ours = response.responder if by_author else listing.author
        if self._uris.username_from_actor(ours) is None:
            raise NotActedOn("neither side of that agreement is a member here")
        if response.state not in (ResponseState.ACCEPTED, ResponseState.DONE):
            raise NotActedOn(f"the agreement is {response.state.value}")
        said = response.thanks_from_author if by_author else response.thanks_from_responder
        if response.state is ResponseState.DONE and said == (done.thanks or said):
            # the same news again (a retry, or a second Update saying nothing new)
            raise NotActedOn("the agreement is done already")
        async with in_transaction():
            if not await mark_done(
                response, by_author=by_author, thanks=done.thanks, now=self._clock()
            ):
                raise NotActedOn("the agreement was withdrawn meanwhile")
            if self._settle is not None:
                await self._settle(listing)
            await self._notifications.notify_actor(
                ours,
                NotificationType.AGREEMENT,
                by=activity.actor,
                listing_id=listing.id,
                response_id=response.id,
            )

    async def _our_offer(self, offer_id: str | None, actor: str) -> Response:
        response = None
        if offer_id is not None:
            response = await Response.get_or_none(ap_id=offer_id, form="offer").prefetch_related(
                "listing"
            )
        if response is None or self._uris.username_from_actor(response.responder) is None:
            raise NotActedOn("no Offer of our members has that id")
        if response.listing.author != actor:
            raise NotActedOn("only the listing's author answers an Offer to it")
        return response

    async def _answered(
        self, response: Response, state: ResponseState, agreement_id: str | None
    ) -> None:
        now = self._clock()
        async with in_transaction():
            changed = await Response.filter(id=response.id, state=response.state).update(
                state=state, agreement_id=agreement_id, updated_at=now
            )
            if changed:
                await self._notifications.notify_actor(
                    response.responder,
                    NotificationType.AGREEMENT,
                    by=response.listing.author,
                    listing_id=response.listing.id,
                    response_id=response.id,
                )

    async def on_reply(self, activity: InboundActivity) -> None:
        """A direct reply to one of our listings: a response, the author notified."""
        body = activity.body.get("object")
        if not isinstance(body, dict):
            raise NotActedOn("the Create does not embed its note")
        note = read_note(body)
        if note.in_reply_to is None or note.id is None:
            raise NotActedOn("the note answers no listing")
        if not same_host(note.id, activity.actor):
            raise NotActedOn("a reply's id is on its sender's server")
        listing = await Listing.get_or_none(ap_id=note.in_reply_to, local=True)
        if listing is None:
            raise NotActedOn("the note answers none of our listings")
        if activity.actor not in note.authors or listing.author not in note.addressees:
            raise NotActedOn("the reply is not its sender's, to the listing's author")
        await self._check_answer(listing, activity.actor, 1)
        message = await Message.get_or_none(ap_id=note.id)
        # A reply is a message first: kept back as one, the author is not told of it either.
        kept_back = await filters.not_shown("message", [note.id])
        await self._record(
            listing,
            activity.actor,
            quiet=bool(kept_back),
            ap_id=note.id,
            form="reply",
            message=note.text[:MAX_MESSAGE],
            conversation_id=message.conversation_id if message else None,  # type: ignore[attr-defined]
        )

    async def _check_answer(self, listing: Listing, responder: str, quantity: int) -> None:
        """``NotActedOn`` with the reason when ``responder`` may not answer ``listing`` now."""
        refusal = await may_answer(listing, responder, self._is_partner)
        if refusal is None and await blocks(self._uris, listing.author, responder):
            refusal = "the listing's author blocks its sender"
        if refusal is None and listing.verified_responders:
            verified = (
                await self._is_verified(responder)
                if self._is_verified is not None
                else await is_trusted_resident(responder, self._clock())
            )
            refusal = None if verified else VERIFIED_ONLY
        refusal = refusal or why_unanswerable(listing, quantity, self._clock())
        if refusal is None and await Response.exists(
            listing=listing, responder=responder, state__in=ACTIVE_RESPONSES
        ):
            refusal = "its sender answered this listing already"
        if refusal is not None:
            raise NotActedOn(refusal)

    async def _record(
        self,
        listing: Listing,
        responder: str,
        *,
        hit: FilterHit | None = None,
        quiet: bool = False,
        **fields: Any,
    ) -> None:
        try:
            if quiet:  # stored, nobody told: a moderator decides about the message it is
                now = self._clock()
                await Response.create(
                    listing=listing, responder=responder, created_at=now, updated_at=now, **fields
                )
                return
            await record_response(
                self._notifications,
                listing,
                responder,
                self._clock(),
                hit=hit,
                local=False,
                **fields,
            )
        except IntegrityError:
            return  # stored by an earlier attempt of this activity


class ReceivedListings:
    """Listings from other servers: stored as remote copies, kept in step, dropped.

    A listing is taken when it comes from a partner node (announced by its neighbourhood
    group, FEP-1b12, or sent by one of its members), in the scope it was addressed in
    (``public`` or ``partners``), or when it is public and comes from someone our members
    follow (a Mitra or Flohmarkt account, a neighbourhood group). An announced activity is
    trusted as embedded only when the group and the listing's author are of one host: the
    group speaks for its own node's members, never for anyone else's.
    """

    def __init__(
        self,
        uris: UriScheme,
        clock: Clock,
        is_partner: IsPartner,
        media: MediaService,
        alerts: Alerts | None = None,
        max_days: int = 365,
        guard: ContentGuard | None = None,
    ) -> None:
        # limits on links and mentions, and the keyword filters: over one, held or hidden
        self._guard = guard
        self._alerts = alerts
        self._max_days = max_days
        self._uris = uris
        self._clock = clock
        self._is_partner = is_partner
        self._media = media

    def register(self, dispatcher: Dispatcher) -> None:
        """Announce (of Create, Update, Delete), and those three sent directly."""
        dispatcher.register("Announce", self.on_announce)
        # The types listings come as (FEP-0837 allows any object; these are the ones seen):
        # an Update of an actor or a Create of a Question never reaches these handlers.
        for object_type in LISTING_TYPES:
            dispatcher.register("Create", self.on_create, object_type=object_type)
            dispatcher.register("Update", self.on_update, object_type=object_type)
        dispatcher.register("Delete", self.on_delete)

    async def on_announce(self, activity: InboundActivity) -> None:
        """A group announcing one of its members' listing activities."""
        inner = activity.body.get("object")
        if not isinstance(inner, dict):
            raise NotActedOn("an announced listing must be embedded (not fetched by reference)")
        kind, actor = inner.get("type"), activities.object_id(inner.get("actor"))
        if kind not in ("Create", "Update", "Delete") or actor is None:
            raise NotActedOn("the Announce does not carry a listing's Create, Update or Delete")
        if not same_host(actor, activity.actor):
            raise NotActedOn("a group announces listings of its own node's members only")
        if kind == "Delete":
            await self._delete(activities.object_id(inner.get("object")), actor)
            return
        await self._take(inner.get("object"), actor, via=activity.actor, update=kind == "Update")

    async def on_create(self, activity: InboundActivity) -> None:
        """A listing sent by its author (a partner's member, someone a member follows)."""
        await self._take(activity.body.get("object"), activity.actor, via=None, update=False)

    async def on_update(self, activity: InboundActivity) -> None:
        """Its author changed a listing we hold."""
        await self._take(activity.body.get("object"), activity.actor, via=None, update=True)

    async def on_delete(self, activity: InboundActivity) -> None:
        """Its author withdrew a listing we hold; or an account was deleted, with the
        listings we hold of it."""
        target = activities.object_id(activity.body.get("object"))
        if target is not None and target == activity.actor:
            await self._delete_all(activity.actor)
            return
        await self._delete(target, activity.actor)

    async def _delete_all(self, actor: str) -> None:
        copies = await Listing.filter(author=actor, local=False).exclude(status=Status.WITHDRAWN)
        if not copies:
            raise NotActedOn("no listing of that account is held here")
        for listing in copies:
            await drop_copy(listing, self._media, Status.WITHDRAWN)

    async def _take(self, obj: Any, actor: str, *, via: str | None, update: bool) -> None:
        if not looks_like_listing(obj):
            raise NotActedOn("the object is not a listing")
        try:
            received = read_listing(obj)
        except ListingError as exc:
            raise NotActedOn(f"the listing cannot be read: {exc}") from None
        if received.author != actor:
            raise NotActedOn("a listing is sent by its author only")
        if not same_host(received.id, actor):
            raise NotActedOn("a listing's id is on its author's server")
        existing = await Listing.get_or_none(ap_id=received.id)
        if existing is not None and (existing.local or existing.author != actor):
            raise NotActedOn("the listing belongs to someone else")
        if update and existing is None:
            raise NotActedOn("an Update of a listing we do not hold")  # its Create was not ours
        if existing is not None and existing.status is Status.WITHDRAWN:
            # kept only for our members' agreements: what was withdrawn stays withdrawn
            raise NotActedOn("the listing was withdrawn")
        if await Decision.filter(
            action=Action.HIDE, target=received.id, overturned_at__isnull=True
        ).exists():
            # the copy was forgotten when hidden: its author sending it again does not undo that
            raise NotActedOn("the listing was hidden by this node's moderators")
        audience = await self._admitted(received, actor, via)
        values = self._columns(received, audience, obj)
        values["circle"] = await self._circle(received, via)
        if existing is not None and values["updated_at"] < existing.updated_at:
            # deliveries overtake one another: an older version never replaces a newer one
            raise NotActedOn("an older version of a listing we hold")
        hit = None
        if self._guard is not None:
            hit = await self._guard.screen_inbound(
                [values["title"], values["description"]],
                hrefs_of(values["description_html"]),
                mentioned(obj),
            )
        async with in_transaction():
            if existing is None:
                try:
                    listing = await Listing.create(ap_id=received.id, local=False, **values)
                except IntegrityError:
                    raise NotActedOn("the listing was stored meanwhile") from None
                # saved searches alert anyone here: not about a circle's listing
                if hit is None and self._alerts is not None and values["circle"] is None:
                    await self._alerts(listing)
            else:
                await Listing.filter(id=existing.id).update(**values)
                listing = existing
            if hit is not None:
                await filters.caught(
                    "listing",
                    received.id,
                    actor,
                    local=False,
                    action=hit.action,
                    reason=hit.reason,
                    excerpt=f"{values['title']}\n{values['description']}",
                    at=self._clock(),
                )
        photos = [RemotePhoto(p.url, p.media_type, p.description) for p in received.photos]
        # After the commit: fetching photos takes a while and may fail, the listing stays.
        await self._media.sync_remote(listing.id, photos)

    async def _admitted(self, received: ReceivedListing, actor: str, via: str | None) -> Audience:
        public = any(address in PUBLIC for address in (*received.to, *received.cc))
        if await self._is_partner(authority_of(actor)):
            if public:
                return Audience.PUBLIC
            if not self._to_neighbourhoods(received, actor, via):
                # followers-only or a few people: shown to every member here, it would reach
                # more people than its author addressed
                raise NotActedOn(
                    "a listing that is not public is taken when addressed to a neighbourhood"
                )
            return Audience.PARTNERS
        followed = [a for a in (actor, via) if a is not None]
        if public and await Follow.exists(
            followee__in=followed,
            follower__startswith=self._uris.url("/users/"),
            state=FollowState.ACCEPTED,
        ):
            return Audience.PUBLIC
        raise NotActedOn(
            "listings are taken from partner nodes, and public ones from whom members follow"
        )

    async def _circle(self, received: ReceivedListing, via: str | None) -> str | None:
        """The circle of another node a copy is for, shown to our members who joined it
        only: a listing whose ``audience`` (FEP-1b12) is the group that announced it, that
        group not being its node's neighbourhood (Quartier names it so)."""
        if via is None or received.audience != via or via.endswith(f"/groups/{NEIGHBOURHOOD}"):
            return None
        if not await Follow.exists(
            followee=via,
            state=FollowState.ACCEPTED,
            follower__startswith=self._uris.url("/users/"),
        ):
            raise NotActedOn("a circle's listing is kept for the members who joined the circle")
        return via

    def _to_neighbourhoods(self, received: ReceivedListing, actor: str, via: str | None) -> bool:
        """Whether a listing is addressed to neighbourhoods: announced by its node's group,
        addressed (FEP-1b12 ``audience``) to a group of its author's node, or to ours."""
        if via is not None:
            return True
        addressed = {*received.to, *received.cc}
        if received.audience is not None:
            if same_host(received.audience, actor) and not received.audience.startswith(actor):
                return True
            addressed.add(received.audience)
        return self._uris.group(NEIGHBOURHOOD) in addressed

    def _columns(
        self, received: ReceivedListing, audience: Audience, doc: dict[str, Any]
    ) -> dict[str, Any]:
        now = self._clock()
        far = now + timedelta(days=self._max_days)
        # UTC, to the second: search orders and pages by it (node/listings/search.py)
        published = min(received.published or now, now).astimezone(UTC).replace(microsecond=0)
        description_html = sanitize_html(received.description_html)
        price = received.price
        place = received.place
        return {
            "author": received.author,
            "origin_host": authority_of(received.author),
            "kind": Kind(received.kind),
            "status": Status(received.status),
            "audience": audience,
            "category": received.category if received.category in CATEGORIES else "other",
            "title": received.title[:200],
            "search_text": index_fields(received.title[:200], received.description_text),
            "description_html": description_html,
            "description": received.description_text,
            "details": details_to_mapping(received.details),
            "price_minor": price.minor if price is not None else None,
            "currency": price.currency if price is not None else None,
            "quantity": received.quantity,
            "available_quantity": received.available_quantity,
            "verified_responders": received.verified_responders,
            "place_name": (place.name if place else "")[:200],
            "latitude": place.latitude if place else None,
            "longitude": place.longitude if place else None,
            "radius_m": place.radius_m if place else None,
            "published_at": published,
            "updated_at": min(received.updated or published, now),
            # A copy lasts at most as long as one of ours may: a standing offer elsewhere is
            # kept here until then, or until its author updates it.
            "expires_at": min(received.end_time or far, far),
            "received": doc,
        }

    async def _delete(self, listing_id: str | None, actor: str) -> None:
        listing = await Listing.get_or_none(ap_id=listing_id, local=False) if listing_id else None
        if listing is None:
            raise NotActedOn("no listing here has that id")
        if listing.author != actor:
            raise NotActedOn("only its author may withdraw a listing")
        await drop_copy(listing, self._media, Status.WITHDRAWN)
