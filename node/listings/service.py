"""Listings of one node: publishing, changing, closing and answering them.

Rules live here once for every surface (JSON API, web pages, Mastodon client API): who may
change what, when a listing may be answered, how responses become agreements, when listings
expire. The places are blurred before anything is stored (see :mod:`node.listings.places`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from activitypub.listings.agreements import MAX_THANKS
from activitypub.uris import UriScheme
from moderation import filters
from moderation.content import FilterHit, hrefs_of
from node.circles.models import JOINED, Circle, CircleMember, MembershipState
from node.circles.service import circles_of
from node.clock import Clock
from node.config import CommunitySettings, ListingSettings
from node.conversations.models import Message
from node.conversations.service import ConversationService
from node.errors import Conflict, Forbidden, NodeError, NotFound, TooManyRequests, ValidationFailed
from node.listings.federation import ActivityKind, ListingFederation
from node.listings.forms import ListingChanges, ListingForm, PriceForm, check_kind, parse_details
from node.listings.models import Audience, Kind, Listing, Response, ResponseState, Status
from node.listings.money import from_minor, to_minor
from node.listings.places import snap
from node.listings.query import VISITOR_STATUSES
from node.listings.search import (
    ListingQuery,
    Page,
    check_member_search,
    index_fields,
    optimize_index,
    search,
    visitor_cursor,
    visitor_query,
)
from node.media.models import Media
from node.media.service import MediaService
from node.members.models import Member, Verification
from node.members.service import verified_actors
from node.moderation.safety import ContentGuard
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService
from node.relations.checks import block_between, hidden_from
from node.rich_text import rich_text

log = logging.getLogger(__name__)
OPEN_STATES = (Status.OPEN, Status.RESERVED)
REPLY = {
    "en": "I am interested in “{title}”.",
    "fr": "Je suis intéressé·e par « {title} ».",
}
AGREED = {
    "en": "I accepted your response to “{title}”. Let's arrange the details here.",
    "fr": "J'ai accepté votre réponse à « {title} ». Organisons les détails ici.",
}
DONE = {
    "en": ("I marked our agreement done.", "I marked our agreement done. {thanks}"),
    "fr": ("J'ai marqué notre accord comme fait.", "J'ai marqué notre accord comme fait. {thanks}"),
}
ACTIVE_RESPONSES = (ResponseState.PENDING, ResponseState.ACCEPTED)
MAX_MESSAGE = 2000

# Why an answer is refused when the listing's author asked for verified neighbours only.
VERIFIED_ONLY = "the author accepts answers from verified neighbours only"


# What is told of each new listing (saved searches): called in the transaction storing it.
Alerts = Callable[[Listing], Awaitable[object]]

# How often the search index is merged and the planner's statistics refreshed (SQLite).
INDEX_UPKEEP = timedelta(days=1)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        "the listing is not valid", details=[{"field": field, "message": message}]
    )


class ListingService:
    """The marketplace of one node, for its members."""

    def __init__(
        self,
        uris: UriScheme,
        clock: Clock,
        settings: ListingSettings,
        community: CommunitySettings,
        notifications: NotificationService,
        conversations: ConversationService | None = None,
        media: MediaService | None = None,
        federation: ListingFederation | None = None,
        queued: Callable[[], None] = lambda: None,
        alerts: Alerts | None = None,
        silenced: Callable[[], Awaitable[tuple[frozenset[str], frozenset[str]]]] | None = None,
        guard: ContentGuard | None = None,
    ) -> None:
        # limits on links and mentions, and the community's keyword filters
        self._guard = guard
        self._alerts = alerts
        # servers and actors the moderators silenced: kept out of searches
        self._silenced = silenced
        self._conversations = conversations
        self._media = media
        self._federation = federation
        self._queued = queued
        self._language = community.languages[0].split("-")[0]
        self._uris = uris
        self._clock = clock
        self._settings = settings
        self._community = community
        self._notifications = notifications
        self._index_kept_at: datetime | None = None
        # weak: a member's lock goes once nothing of theirs holds it
        self._member_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # Publishing
    async def create(self, member: Member, form: ListingForm) -> Listing:
        """Publish a listing for ``member``: 422 for what the form cannot say (an expiry in
        the past, an unknown currency), 429 past the hourly limit, 409 past the open cap."""
        me = self._uris.actor(member.username)
        async with self._one_at_a_time(me):
            return await self._create(me, form)

    async def _create(self, me: str, form: ListingForm) -> Listing:
        now = self._clock()
        # Every field of a new listing counts as given, but for expiry: left out, the default.
        given = set(ListingForm.model_fields) - ({"expires_at"} - form.model_fields_set)
        values = self._columns(form, given, now, form.kind)
        hour_ago = now - timedelta(hours=1)
        if await Listing.filter(author=me, published_at__gte=hour_ago).count() >= (
            self._settings.creations_per_hour
        ):
            raise TooManyRequests(
                f"at most {self._settings.creations_per_hour} new listings an hour: try later",
                retry_after=3600,
            )
        if await Listing.filter(author=me, status__in=OPEN_STATES).count() >= (
            self._settings.max_open_per_member
        ):
            raise Conflict(
                f"you already have {self._settings.max_open_per_member} open listings: "
                "close or withdraw one first"
            )
        circle = await self._circle_for(me, form)
        hit = await self._screen(values)
        photos = await self._claim(me, form.photos, None)
        async with in_transaction():
            listing = await Listing.create(
                ap_id=self._uris.url(f"/listings/{uuid.uuid4().hex}"),
                local=True,
                author=me,
                origin_host=self._uris.domain,
                kind=form.kind,
                audience=form.audience,
                circle=circle,
                status=Status.OPEN,
                # to the second: search orders and pages by it (node/listings/search.py);
                # updated the same moment, or every new listing would read as edited
                published_at=now.replace(microsecond=0),
                updated_at=now.replace(microsecond=0),
                search_text=index_fields(values["title"], values["description"]),
                **values,
            )
            if photos and self._media is not None:
                await self._media.attach(photos, listing.id)
            if hit is not None:
                await self._caught(listing, hit)
            await self._send("Create", listing)
            # Saved searches alert anyone on the node: not for what is meant for a circle.
            if self._alerts is not None and hit is None and circle is None:
                await self._alerts(listing)
        self._queued()
        return await self._with_photos(listing)

    async def edit(self, member: Member, listing_id: int, changes: ListingChanges) -> Listing:
        """Change the given fields of one of the member's open (or reserved) listings."""
        listing = await self._own(member, listing_id)
        if listing.status not in OPEN_STATES:
            raise Conflict(f"this listing is {listing.status.value}: it can no longer be edited")
        given = changes.model_fields_set - {"format"}
        if not given:
            raise _invalid("(body)", "nothing to change")
        # The kind's rules hold for the listing as it will be, not for the edit alone.
        details = changes.details if "details" in given else listing.details
        price = changes.price if "price" in given else _price_form(listing)
        try:
            check_kind(listing.kind, dict(details or {}), price)
        except ValueError as exc:
            raise _invalid("details" if "details" in given else "price", str(exc)) from None
        values = self._columns(changes, given, self._clock(), listing.kind)
        if "quantity" in values:
            taken = listing.quantity - listing.available_quantity
            if values["quantity"] < taken:
                raise _invalid("quantity", f"{taken} already promised: cannot go below")
            values["available_quantity"] = values["quantity"] - taken
            if values["available_quantity"] == 0 and listing.status is Status.OPEN:
                values["status"] = Status.RESERVED  # all of it promised, as an acceptance does
        if "title" in values or "description" in values:
            values["search_text"] = index_fields(
                values.get("title", listing.title), values.get("description", listing.description)
            )
        values["updated_at"] = self._clock()
        hit = await self._screen(values)
        photos = None
        if "photos" in given:
            photos = await self._claim(listing.author, changes.photos or [], listing.id)
        async with in_transaction():
            await Listing.filter(id=listing.id).update(**values)
            if photos is not None and self._media is not None:
                await self._media.attach(photos, listing.id)
            await listing.refresh_from_db()
            if hit is not None:
                await self._caught(listing, hit)
            if "quantity" in values:
                # all of it promised, and every agreement already done: nothing left to wait for
                await self._settle_quietly(listing)
            await self._send("Update", listing)
        self._queued()
        return await self._with_photos(listing)

    async def withdraw(self, member: Member, listing_id: int) -> Listing:
        """Take a listing back: it closes, pending responses are declined."""
        listing = await self._own(member, listing_id)
        if listing.status is Status.WITHDRAWN:
            return listing
        now = self._clock()
        async with in_transaction():
            await self._set_status(listing, Status.WITHDRAWN, now)
            await Response.filter(listing=listing, state=ResponseState.PENDING).update(
                state=ResponseState.DECLINED, updated_at=now
            )
            await self._send("Delete", listing)
        self._queued()
        return await self._with_photos(listing)

    async def take_down(self, listing_id: int) -> Listing:
        """Moderators hide a listing: ours is withdrawn (partners and followers get
        ``Delete``, pending responses are declined); another node's copy is forgotten here."""
        listing = await Listing.get_or_none(id=listing_id)
        if listing is None or listing.status is Status.WITHDRAWN:
            raise NotFound("no such listing")
        now = self._clock()
        async with in_transaction():
            if listing.local:
                await self._set_status(listing, Status.WITHDRAWN, now)
                await Response.filter(listing=listing, state=ResponseState.PENDING).update(
                    state=ResponseState.DECLINED, updated_at=now
                )
                await self._send("Delete", listing)
            else:
                await drop_copy(listing, self._media, Status.WITHDRAWN)
        self._queued()
        return listing

    async def restore(self, ap_id: str) -> bool:
        """Publish again one of our listings moderators had hidden (an appeal overturned
        it): open, and sent to partners and followers anew. Whether it was restored."""
        listing = await Listing.get_or_none(ap_id=ap_id, local=True, status=Status.WITHDRAWN)
        if listing is None:
            return False
        async with in_transaction():
            await self._set_status(listing, Status.OPEN, self._clock())
            await self._send("Create", listing)
        self._queued()
        return True

    async def set_status(self, member: Member, listing_id: int, status: Status) -> Listing:
        """Mark a listing reserved, done, or open again (from reserved or done)."""
        listing = await self._own(member, listing_id)
        if listing.status in (Status.WITHDRAWN, Status.EXPIRED):
            raise Conflict(f"this listing is {listing.status.value}: publish a new one")
        if listing.status is status:
            return listing
        async with in_transaction():
            await self._set_status(listing, status, self._clock())
            await self._send("Update", listing)
        self._queued()
        return await self._with_photos(listing)

    # Reading
    async def get(self, member: Member, listing_id: int) -> Listing:
        """A listing the member may see: every listing held here (its audience is this
        node's members at the least), withdrawn ones only to their author."""
        listing = await Listing.get_or_none(id=listing_id).prefetch_related("photos")
        me = self._uris.actor(member.username)
        if listing is None or (listing.status is Status.WITHDRAWN and listing.author != me):
            raise NotFound("no such listing")
        if listing.author != me and await filters.not_shown("listing", [listing.ap_id]):
            raise NotFound("no such listing")  # held or hidden by a filter: its author's only
        if (
            listing.circle is not None
            and listing.author != me
            and listing.circle not in await circles_of(self._uris, me)
        ):
            raise NotFound("no such listing")  # for a circle's members only
        return listing

    async def get_public(self, listing_id: int) -> Listing:
        """A listing a visitor may see (the community's policy letting listings reach the
        public: the caller checks that): one of this node's, with the audience ``public``,
        open or reserved, not for a circle, not held or hidden by a filter. Anything else is
        404, its existence not revealed."""
        listing = await Listing.get_or_none(id=listing_id).prefetch_related("photos")
        if (
            listing is None
            or not listing.local
            or listing.audience is not Audience.PUBLIC
            or listing.status not in VISITOR_STATUSES
            or listing.circle is not None
            or await filters.not_shown("listing", [listing.ap_id])
        ):
            raise NotFound("no such listing")
        return listing

    async def _circle_for(self, me: str, form: ListingForm) -> str | None:
        """The circle a new listing is addressed to (its actor id), which ``me`` must be a
        member of; such a listing has the audience ``node`` (the circle, not the
        neighbourhood group, sends it to its members on other nodes)."""
        if form.circle is None:
            return None
        circle = await Circle.get_or_none(slug=form.circle, deleted_at__isnull=True)
        if circle is None:
            raise _invalid("circle", "no such circle")
        if form.audience is not Audience.NODE:
            raise _invalid("audience", "a listing for a circle has the audience node")
        if not await CircleMember.exists(
            circle=circle, actor=me, state=MembershipState.ACCEPTED, role__in=JOINED
        ):
            raise Forbidden("only the circle's members address listings to it")
        return self._uris.group(circle.slug)

    async def mine(self, member: Member, statuses: Iterable[Status] | None = None) -> list[Listing]:
        """The member's listings, newest first."""
        query = Listing.filter(author=self._uris.actor(member.username))
        if statuses:
            query = query.filter(status__in=list(statuses))
        return await query.order_by("-published_at", "-id").prefetch_related("photos")

    async def search(self, query: ListingQuery, viewer: Member | None = None) -> Page:
        """The listings held here that match ``query``, this node's and partners' copies
        together, photos fetched. Withdrawn listings are their author's business
        (:meth:`mine`), never a search's; those of people the ``viewer`` blocked or muted
        are not shown to them.

        With no ``viewer`` (a visitor, whom the community's policy lets see public
        listings: the caller checks that), only this node's listings with the audience
        ``public``, open or reserved, are searched (:func:`visitor_query`)."""
        check_member_search(query)
        if viewer is None:
            narrowed = visitor_query(query)
            if narrowed is None:
                return Page([], None)
            page = await self._search(narrowed, viewer)
            following = visitor_cursor(query, narrowed, page.next_cursor)
            return dataclasses.replace(page, next_cursor=following)
        return await self._search(query, viewer)

    async def _search(self, query: ListingQuery, viewer: Member | None) -> Page:
        if query.verified_only:
            verified = await verified_actors(self._uris, self._clock())
            query = dataclasses.replace(query, verified_authors=verified)
        if self._silenced is not None:
            hosts, actors = await self._silenced()
            query = dataclasses.replace(query, muted_hosts=hosts, muted_authors=actors)
        if viewer is not None and (hidden := await hidden_from(viewer)):
            query = dataclasses.replace(query, muted_authors=query.muted_authors | hidden)
        if viewer is not None:
            circles = await circles_of(self._uris, self._uris.actor(viewer.username))
            query = dataclasses.replace(query, circles=circles)
        page = await search(query)
        await Listing.fetch_for_list(page.listings, "photos")
        return page

    # Responses and agreements
    async def respond(
        self, member: Member, listing_id: int, message: str, quantity: int = 1
    ) -> Response:
        """Answer a listing: the author is notified and accepts or declines."""
        me = self._uris.actor(member.username)
        async with self._one_at_a_time(me):
            return await self._respond(member, me, listing_id, message, quantity)

    async def _respond(
        self, member: Member, me: str, listing_id: int, message: str, quantity: int
    ) -> Response:
        listing = await self.get(member, listing_id)
        if listing.author == me:
            raise Conflict("this is your own listing")
        if (refusal := await block_between(self._uris, me, listing.author)) is not None:
            raise Forbidden(f"you cannot answer this listing: {refusal}")
        if listing.verified_responders and member.verification is not Verification.VERIFIED:
            raise Forbidden(VERIFIED_ONLY)
        self._check_answerable(listing, quantity)
        if await Response.exists(listing=listing, responder=me, state__in=ACTIVE_RESPONSES):
            raise Conflict("you already answered this listing")
        message = _checked(message, "message", MAX_MESSAGE)
        hit = None
        if self._guard is not None:
            self._guard.check_post("message", message)
            hit = await self._guard.screen(message) if message else None
        if not listing.local:
            return await self._respond_remote(member, listing, message, quantity, hit)
        return await record_response(
            self._notifications,
            listing,
            me,
            self._clock(),
            hit=hit,
            ap_id=f"{listing.ap_id}/responses/{uuid.uuid4().hex}",
            form="offer",
            message=message,
            quantity=quantity,
        )

    async def _respond_remote(
        self, member: Member, listing: Listing, message: str, quantity: int, hit: FilterHit | None
    ) -> Response:
        """Answer another server's listing: an ``Offer(Agreement)`` where the listing speaks
        FEP-0837 (Quartier, Mitra), else a direct message replying to it (what Mastodon and
        Flohmarkt read)."""
        me = self._uris.actor(member.username)
        now = self._clock()
        if self._federation is None or self._conversations is None:
            raise Conflict("this node does not answer other nodes' listings")
        offer = self._federation.offer(listing, me, message, quantity, now)
        if offer is None:
            if quantity != 1:
                raise _invalid("quantity", "this listing's server takes answers of one")
            text = message or reply_message(self._language, listing.title)
            conversation = await self._conversations.start(
                member, [listing.author], text, in_reply_to=listing.ap_id
            )
            first = await Message.filter(conversation=conversation).order_by("id").first()
            return await Response.create(
                listing=listing,
                responder=me,
                ap_id=first.ap_id if first else f"{conversation.context}#first",
                form="reply",
                message=message,
                quantity=quantity,
                conversation=conversation,
                created_at=now,
                updated_at=now,
            )
        inbox = await self._federation.inbox_of(listing.author)
        async with in_transaction():
            response = await Response.create(
                listing=listing,
                responder=me,
                ap_id=offer["id"],
                form="offer",
                message=message,
                quantity=quantity,
                offer=offer,
                created_at=now,
                updated_at=now,
            )
            if hit is not None:
                # held or hidden: the Offer goes nowhere (a release sends it)
                await filters.caught(
                    "response",
                    response.ap_id,
                    me,
                    local=True,
                    action=hit.action,
                    reason=hit.reason,
                    excerpt=message,
                    at=now,
                )
            else:
                await self._federation.deliver(
                    offer, inbox, me, now, partners_only=listing.audience is Audience.PARTNERS
                )
        self._queued()
        return response

    async def decide(self, member: Member, response_id: int, *, accept: bool) -> Response:
        """The author accepts (an agreement: the listing is reserved for the responder) or
        declines a pending response."""
        response = await self._response(member, response_id, as_author=True)
        listing: Listing = response.listing
        if response.state is not ResponseState.PENDING:
            raise Conflict(f"this response is already {response.state.value}")
        inbox = None
        if response.form == "offer" and response.offer and self._federation is not None:
            inbox = await self._federation.inbox_of(response.responder)
        now = self._clock()
        async with in_transaction():
            # Conditional: of two decisions racing (accept and decline, two accepts of one
            # response) one wins, the other is a 409 and changes nothing.
            state = ResponseState.ACCEPTED if accept else ResponseState.DECLINED
            if not await Response.filter(id=response.id, state=ResponseState.PENDING).update(
                state=state, updated_at=now
            ):
                raise Conflict("this response was decided meanwhile")
            if accept:
                self._check_answerable(listing, response.quantity)
                # Relative and conditional: acceptances racing for the last items cannot take
                # more than is left, whatever each read before.
                taken = await Listing.filter(
                    id=listing.id,
                    status=Status.OPEN,
                    available_quantity__gte=response.quantity,
                ).update(
                    available_quantity=F("available_quantity") - response.quantity,
                    updated_at=now,
                )
                if not taken:
                    raise Conflict("not enough left for this response")
                await Listing.filter(id=listing.id, available_quantity=0).update(
                    status=Status.RESERVED
                )
                await listing.refresh_from_db()
                await self._send("Update", listing)  # what is left changed
                response.agreement_id = self._uris.url(f"/agreements/{uuid.uuid4().hex}")
                await Response.filter(id=response.id).update(agreement_id=response.agreement_id)
            response.state, response.updated_at = state, now
            if response.form == "offer" and response.offer and self._federation is not None:
                # A remote responder's server hears the answer (FEP-0837 Accept or Reject).
                await self._federation.answer_offer(response, listing, accept, inbox, now)
            await self._notifications.notify_actor(
                response.responder,
                NotificationType.AGREEMENT,
                by=listing.author,
                listing_id=listing.id,
                response_id=response.id,
            )
        if accept:
            # Accepting opens the direct conversation between the two, or continues the one
            # the response came in.
            await self._say_in_conversation(
                member, response, agreement_message(self._language, listing.title)
            )
        return response

    async def _say_in_conversation(self, member: Member, response: Response, text: str) -> None:
        """A message from ``member`` to the other side of a response, in the conversation it
        came in or opened, or a new one (what a Mastodon user who answered by direct message
        sees of the agreement). What it says stands if the message cannot be sent."""
        if self._conversations is None:
            return
        listing: Listing = response.listing
        me = self._uris.actor(member.username)
        other = response.responder if listing.author == me else listing.author
        try:
            if response.conversation_id is None:  # type: ignore[attr-defined]
                # the one the other side opened, when they accepted ours
                response.conversation_id = await self._conversations.between(me, other)  # type: ignore[attr-defined]
            if response.conversation_id is not None:  # type: ignore[attr-defined]
                await self._conversations.reply(member, response.conversation_id, text)  # type: ignore[attr-defined]
                await Response.filter(id=response.id).update(
                    conversation_id=response.conversation_id  # type: ignore[attr-defined]
                )
            else:
                conversation = await self._conversations.start(member, [other], text)
                response.conversation_id = conversation.id  # type: ignore[attr-defined]
                await Response.filter(id=response.id).update(conversation_id=conversation.id)
        except NodeError as exc:
            log.warning("response %s: no message to %s: %s", response.id, other, exc.safe)

    async def withdraw_response(self, member: Member, response_id: int) -> Response:
        """The responder takes back a response (an accepted one frees what it reserved)."""
        response = await self._response(member, response_id, as_author=False)
        if response.state not in ACTIVE_RESPONSES:
            raise Conflict(f"this response is already {response.state.value}")
        now = self._clock()
        listing: Listing = response.listing
        async with in_transaction():
            if not await Response.filter(id=response.id, state=response.state).update(
                state=ResponseState.WITHDRAWN, updated_at=now
            ):
                raise Conflict("this response changed meanwhile")
            # Only our own listings' quantities are ours to give back; another node's copy
            # changes when its author's Update comes.
            if response.state is ResponseState.ACCEPTED and listing.local:
                await self._release(listing, response.quantity, now)
                await listing.refresh_from_db()
                await self._send("Update", listing)
            response.state, response.updated_at = ResponseState.WITHDRAWN, now
            await self._notifications.notify_actor(
                listing.author,
                NotificationType.AGREEMENT,
                by=response.responder,
                listing_id=listing.id,
                response_id=response.id,
            )
        return response

    async def complete(self, member: Member, response_id: int, thanks: str = "") -> Response:
        """Either side marks an agreement done, with an optional short thank-you; the listing
        is done once nothing of it is left to agree on. The other side hears of it: in the
        app here, by a message in their conversation elsewhere, and, when their server
        speaks FEP-0837, by an ``Update`` of the agreement that marks it done there too."""
        response = await self._response(member, response_id, as_author=None)
        me = self._uris.actor(member.username)
        listing: Listing = response.listing
        if response.state not in (ResponseState.ACCEPTED, ResponseState.DONE):
            raise Conflict("only an accepted agreement can be marked done")
        thanks = _checked(thanks, "thanks", MAX_THANKS)
        by_author = listing.author == me
        said = response.thanks_from_author if by_author else response.thanks_from_responder
        if response.state is ResponseState.DONE and said == (thanks or said):
            return response  # done already, nothing new to say: nobody is told twice
        other = response.responder if by_author else listing.author
        remote = self._uris.username_from_actor(other) is None
        inbox = await self._completion_inbox(response, other) if remote else None
        now = self._clock()
        async with in_transaction():
            if not await mark_done(response, by_author=by_author, thanks=thanks, now=now):
                raise Conflict("this agreement was withdrawn meanwhile")
            await self.settle(listing)
            await self._notifications.notify_actor(
                other,
                NotificationType.AGREEMENT,
                by=me,
                listing_id=listing.id,
                response_id=response.id,
            )
            if inbox is not None and self._federation is not None:
                await self._federation.send_done(response, listing, me, other, thanks, inbox, now)
        if remote:
            await self._say_in_conversation(member, response, done_message(self._language, thanks))
        self._queued()
        return await self._response(member, response_id, as_author=None)

    async def settle(self, listing: Listing) -> None:
        """Close one of our listings once all of it was agreed on and every agreement
        happened: ``done``, and partners told (inside the caller's transaction)."""
        if await self._settle_quietly(listing):
            await self._send("Update", listing)
            self._queued()

    async def _settle_quietly(self, listing: Listing) -> bool:
        """:meth:`settle` without telling anyone; whether the listing is done now."""
        if not listing.local:
            return False
        # Locked (PostgreSQL) so that two agreements marked done at once cannot each see the
        # other still accepted and both leave the listing reserved.
        locked = await Listing.filter(id=listing.id).select_for_update().first()
        if locked is None or locked.status is not Status.RESERVED or locked.available_quantity:
            return False
        if await Response.exists(listing_id=listing.id, state=ResponseState.ACCEPTED):
            return False
        await self._set_status(listing, Status.DONE, self._clock())
        await listing.refresh_from_db()
        return True

    async def _completion_inbox(self, response: Response, other: str) -> str | None:
        """Where the ``Update`` marking an agreement done goes: the other side's inbox when
        the exchange spoke FEP-0837 (a reply by direct message gets the message alone)."""
        if response.form != "offer" or not response.agreement_id or self._federation is None:
            return None
        try:
            return await self._federation.inbox_of(other)
        except NodeError as exc:
            log.warning("agreement %s: %s is not told it is done: %s", response.id, other, exc.safe)
            return None

    async def responses(self, member: Member, listing_id: int) -> list[Response]:
        """The responses to a listing: all of them for its author, one's own for others."""
        listing = await self.get(member, listing_id)
        me = self._uris.actor(member.username)
        query = Response.filter(listing=listing)
        if listing.author != me:
            query = query.filter(responder=me)
        rows = await query.order_by("id").prefetch_related("listing")
        return await _without_kept_back(rows, me)

    async def agreements(self, member: Member) -> list[Response]:
        """Responses the member is part of (as author or responder), newest first."""
        me = self._uris.actor(member.username)
        mine = await Response.filter(responder=me).prefetch_related("listing")
        theirs = await Response.filter(listing__author=me).prefetch_related("listing")
        shown = await _without_kept_back([*mine, *theirs], me)
        return sorted(shown, key=lambda r: r.id, reverse=True)

    # Time
    async def sweep(self) -> int:
        """What the clock does to listings: expiry, then reminders (run every minute), and
        once a day the search index's upkeep."""
        done = await self.expire_due() + await self.remind_due()
        now = self._clock()
        if self._index_kept_at is None or now - self._index_kept_at >= INDEX_UPKEEP:
            self._index_kept_at = now
            await optimize_index()
        return done

    async def expire_due(self) -> int:
        """Close every open or reserved listing of ours whose expiry has passed, drop the
        copies of other nodes' listings past theirs; how many."""
        now = self._clock()
        # Counted by their ids: on SQLite tortoise reports the search index's trigger writes
        # as updated rows too.
        due = await Listing.filter(
            local=True, status__in=OPEN_STATES, expires_at__lte=now
        ).values_list("id", flat=True)
        if due:
            await Listing.filter(id__in=due, status__in=OPEN_STATES).update(
                status=Status.EXPIRED, updated_at=now
            )
        # Copies of other nodes' listings go at their expiry, photos first (files and rows).
        gone = await Listing.filter(local=False, expires_at__lte=now, status__in=OPEN_STATES).only(
            "id"
        )
        for listing in gone:
            await drop_copy(listing, self._media, Status.EXPIRED)
        return len(due) + len(gone)

    async def remind_due(self) -> int:
        """Notify the authors of local listings expiring within the reminder window, once."""
        now = self._clock()
        soon = now + timedelta(hours=self._settings.reminder_hours)
        due = await Listing.filter(
            local=True,
            status__in=OPEN_STATES,
            expires_at__gt=now,
            expires_at__lte=soon,
            reminded_at__isnull=True,
        )
        sent = 0
        for listing in due:
            async with in_transaction():
                # Conditional, so two processes sweeping at once remind once.
                if await Listing.filter(id=listing.id, reminded_at__isnull=True).update(
                    reminded_at=now
                ):
                    await self._notifications.notify_actor(
                        listing.author,
                        NotificationType.EXPIRING,
                        by=None,
                        listing_id=listing.id,
                        response_id=None,
                    )
                    sent += 1
        return sent

    def document(self, listing: Listing, photos: list[Media]) -> dict[str, Any]:
        """The ActivityPub document of one of our listings."""
        if self._federation is None:
            raise LookupError("this node does not federate listings")
        return self._federation.document(listing, photos)

    # Helpers
    def _one_at_a_time(self, actor: str) -> asyncio.Lock:
        """The member's lock. Creating a listing and answering one check limits, then write
        (the open cap, one active response per listing): two requests at once would both
        pass the check. A lock in the process serialises a member's requests to it; with
        ``serve --processes N`` two requests reaching two processes at the same instant are
        not (docs/operations.md, "Several serve processes")."""
        lock = self._member_locks.get(actor)
        if lock is None:
            lock = self._member_locks[actor] = asyncio.Lock()
        return lock

    async def _claim(self, owner: str, ids: list[str], listing_id: int | None) -> list[Media]:
        """The photos a listing may take (checked before any transaction)."""
        if not ids:
            return []
        if self._media is None:
            raise _invalid("photos", "this node takes no photos")
        return await self._media.claim(owner, ids, listing_id=listing_id)

    async def _with_photos(self, listing: Listing) -> Listing:
        await listing.fetch_related("photos")
        return listing

    async def _send(self, kind: ActivityKind, listing: Listing) -> None:
        """Tell partner nodes and followers (inside the change's transaction), as the
        listing's audience allows."""
        # Never a copy of another node's listing: it is not ours to announce.
        node_only = listing.audience is Audience.NODE and listing.circle is None
        if self._federation is None or node_only or not listing.local:
            return
        # Held or hidden by a keyword filter: it goes nowhere (a release sends it).
        if kind != "Delete" and await filters.not_shown("listing", [listing.ap_id]):
            return
        photos = await Media.filter(listing_id=listing.id).order_by("position")
        await self._federation.send(kind, listing, list(photos), self._clock())

    async def _screen(self, values: dict[str, Any]) -> FilterHit | None:
        """422 when a new or edited listing's text carries too many links or mentions; else
        the keyword filter its title or description matches, if any."""
        if self._guard is None or not {"title", "description"} & set(values):
            return None
        title, text = values.get("title", ""), values.get("description", "")
        self._guard.check_post(
            "description", f"{title}\n{text}", hrefs_of(values.get("description_html", ""))
        )
        return await self._guard.screen(title, text)

    async def _caught(self, listing: Listing, hit: FilterHit) -> None:
        await filters.caught(
            "listing",
            listing.ap_id,
            listing.author,
            local=listing.local,
            action=hit.action,
            reason=hit.reason,
            excerpt=f"{listing.title}\n{listing.description}",
            at=self._clock(),
        )

    async def release_response(self, ap_id: str) -> None:
        """A held response a moderator released: the listing's author is told; our member's
        Offer to another server's listing is sent."""
        response = await Response.get_or_none(ap_id=ap_id).prefetch_related("listing")
        if response is None or response.state is not ResponseState.PENDING:
            return
        listing: Listing = response.listing
        if listing.local:
            await self._notifications.notify_actor(
                listing.author,
                NotificationType.RESPONSE,
                by=response.responder,
                listing_id=listing.id,
                response_id=response.id,
            )
        elif response.offer and self._federation is not None:
            inbox = await self._federation.inbox_of(listing.author)
            await self._federation.deliver(
                dict(response.offer),
                inbox,
                response.responder,
                self._clock(),
                partners_only=listing.audience is Audience.PARTNERS,
            )
            self._queued()

    async def reject_response(self, ap_id: str) -> None:
        """A held response a moderator rejected: declined, never shown to the author."""
        await Response.filter(ap_id=ap_id, state=ResponseState.PENDING).update(
            state=ResponseState.DECLINED, updated_at=self._clock()
        )

    async def release(self, ap_id: str) -> None:
        """A held listing a moderator released: ours is sent now as it was held back (in the
        caller's transaction, after the release is recorded); saved searches are told."""
        listing = await Listing.get_or_none(ap_id=ap_id)
        if listing is None or listing.status not in OPEN_STATES:
            return
        await self._send("Create", listing)  # nothing for another server's copy
        if self._alerts is not None:
            await self._alerts(listing)  # the saved searches it was kept from

    async def reject(self, ap_id: str) -> None:
        """A held listing a moderator rejected: withdrawn (never sent; a copy of another
        server's listing is forgotten here)."""
        listing = await Listing.get_or_none(ap_id=ap_id)
        if listing is None:
            return
        if listing.local:
            await self._set_status(listing, Status.WITHDRAWN, self._clock())
        else:
            await drop_copy(listing, self._media, Status.WITHDRAWN)

    def _columns(
        self, form: ListingForm | ListingChanges, given: set[str], now: datetime, kind: Kind
    ) -> dict[str, Any]:
        """The columns a form sets: every field of a new listing, the given ones of an edit."""
        values: dict[str, Any] = {}
        if "title" in given and form.title is not None:
            values["title"] = form.title
        if "description" in given and form.description is not None:
            html, text = rich_text(form.description, is_html=form.format == "html")
            values["description_html"], values["description"] = html, text
        if "category" in given and form.category is not None:
            values["category"] = form.category
        if "details" in given:
            try:
                values["details"] = parse_details(kind, dict(form.details or {}))
            except ValueError as exc:
                raise _invalid("details", str(exc)) from None
        if "price" in given:
            values["price_minor"], values["currency"] = None, None
            if form.price is not None:
                try:
                    values["price_minor"] = to_minor(form.price.amount, form.price.currency)
                except ValueError as exc:
                    raise _invalid("price", str(exc)) from None
                values["currency"] = form.price.currency
        if "quantity" in given and form.quantity is not None:
            values["quantity"] = values["available_quantity"] = form.quantity
        if "availability" in given and form.availability is not None:
            values["availability"] = form.availability
        if isinstance(form, ListingForm) or form.verified_responders is not None:
            values["verified_responders"] = bool(form.verified_responders)
        if "location" in given:
            values.update(self._place(form.location))
        if "expires_at" in given or isinstance(form, ListingForm):
            values["expires_at"] = self._expiry(form.expires_at, "expires_at" in given, now)
            values["reminded_at"] = None
        return values

    def _place(self, point: Any) -> dict[str, Any]:
        """The community's name and a blurred point: the member's, or the community's."""
        cell = self._settings.place_radius_m
        lat, lon = (
            (point.latitude, point.longitude)
            if point
            else (
                self._community.latitude,
                self._community.longitude,
            )
        )
        place: dict[str, Any] = {"place_name": self._community.name}
        if lat is not None and lon is not None:
            place["latitude"], place["longitude"] = snap(lat, lon, cell)
            place["radius_m"] = cell
        else:
            place["latitude"] = place["longitude"] = place["radius_m"] = None
        return place

    def _expiry(self, wanted: datetime | None, given: bool, now: datetime) -> datetime | None:
        if not given:
            return now + timedelta(days=self._settings.default_expiry_days)
        if wanted is None:
            return None  # a standing offer
        if wanted <= now:
            raise _invalid("expires_at", "the expiry is in the past")
        if wanted > now + timedelta(days=self._settings.max_expiry_days):
            raise _invalid("expires_at", f"at most {self._settings.max_expiry_days} days from now")
        return wanted

    async def _own(self, member: Member, listing_id: int) -> Listing:
        listing = await self.get(member, listing_id)
        if listing.author != self._uris.actor(member.username):
            raise Forbidden("only its author may change a listing")
        return listing

    def _check_answerable(self, listing: Listing, quantity: int) -> None:
        refusal = why_unanswerable(listing, quantity, self._clock())
        if refusal is not None:
            raise Conflict(refusal)

    async def _response(
        self, member: Member, response_id: int, *, as_author: bool | None
    ) -> Response:
        """A response the member is part of: as the listing's author (True), as the responder
        (False) or either (None). Others get 404: responses are private to the two sides."""
        me = self._uris.actor(member.username)
        response = await Response.get_or_none(id=response_id).prefetch_related("listing")
        if response is None:
            raise NotFound("no such response")
        is_author, is_responder = response.listing.author == me, response.responder == me
        if not (is_author or is_responder):
            raise NotFound("no such response")
        if not is_responder and await filters.not_shown(None, [response.ap_id]):
            raise NotFound("no such response")  # held or hidden by a keyword filter
        if as_author is True and not is_author:
            raise Forbidden("only the listing's author decides on responses")
        if as_author is False and not is_responder:
            raise Forbidden("only the responder may withdraw a response")
        return response

    async def _set_status(self, listing: Listing, status: Status, now: datetime) -> None:
        listing.status, listing.updated_at = status, now
        await Listing.filter(id=listing.id).update(status=status, updated_at=now)

    async def _release(self, listing: Listing, quantity: int, now: datetime) -> None:
        """Give back what an agreement had reserved (reopening the listing if it was full)."""
        # Relative, so a concurrent acceptance is not overwritten by what was read before it.
        await Listing.filter(id=listing.id).update(
            available_quantity=F("available_quantity") + quantity, updated_at=now
        )
        await Listing.filter(id=listing.id, available_quantity__gt=F("quantity")).update(
            available_quantity=F("quantity")
        )
        await Listing.filter(
            id=listing.id, status=Status.RESERVED, available_quantity__gt=0
        ).update(status=Status.OPEN)


async def drop_copy(listing: Listing, media: MediaService | None, status: Status) -> None:
    """Forget another node's listing (withdrawn, or past its expiry) with its photos, but
    keep the row, closed, while our members have agreements on it: their records (thank-yous,
    the conversation) are theirs, whatever the other node does."""
    if media is not None:
        await media.forget_listing(listing.id)
    kept = ResponseState.ACCEPTED, ResponseState.DONE
    if await Response.exists(listing_id=listing.id, state__in=kept):
        await Listing.filter(id=listing.id).update(status=status, received=None)
    else:
        await Listing.filter(id=listing.id).delete()


async def mark_done(response: Response, *, by_author: bool, thanks: str, now: datetime) -> bool:
    """An agreement happened, said by one side (their thank-you kept when they leave one);
    whether it was still accepted or done (conditional: a withdrawal in between wins)."""
    changes: dict[str, Any] = {"state": ResponseState.DONE, "updated_at": now}
    if thanks:
        changes["thanks_from_author" if by_author else "thanks_from_responder"] = thanks
    kept = (ResponseState.ACCEPTED, ResponseState.DONE)
    return bool(await Response.filter(id=response.id, state__in=kept).update(**changes))


async def record_response(
    notifications: NotificationService,
    listing: Listing,
    responder: str,
    now: datetime,
    *,
    hit: FilterHit | None = None,
    local: bool = True,
    **fields: Any,
) -> Response:
    """Store a response to ``listing`` and notify its author, in one transaction (an
    ``IntegrityError`` means this response, by its id, is stored already). Caught by a
    keyword filter or a limit (``hit``): stored and recorded, the author not told (a release
    tells them)."""
    async with in_transaction():
        response = await Response.create(
            listing=listing, responder=responder, created_at=now, updated_at=now, **fields
        )
        if hit is not None:
            await filters.caught(
                "response",
                response.ap_id,
                responder,
                local=local,
                action=hit.action,
                reason=hit.reason,
                excerpt=response.message,
                at=now,
            )
            return response
        await notifications.notify_actor(
            listing.author,
            NotificationType.RESPONSE,
            by=responder,
            listing_id=listing.id,
            response_id=response.id,
        )
    return response


async def _without_kept_back(rows: list[Response], me: str) -> list[Response]:
    """``rows`` without the responses by others a keyword filter keeps back."""
    kept = await filters.not_shown(None, [r.ap_id for r in rows if r.responder != me])
    return [r for r in rows if r.ap_id not in kept]


def reply_message(language: str, title: str) -> str:
    """What a response without a message says, in the community's language."""
    return REPLY.get(language, REPLY["en"]).format(title=title)


def done_message(language: str, thanks: str) -> str:
    """What the other side reads when an agreement is marked done, with the thank-you."""
    bare, with_thanks = DONE.get(language, DONE["en"])
    return with_thanks.format(thanks=thanks) if thanks else bare


def agreement_message(language: str, title: str) -> str:
    """The message that opens an agreement's conversation, in the community's language."""
    return AGREED.get(language, AGREED["en"]).format(title=title)


def why_unanswerable(listing: Listing, quantity: int, now: datetime) -> str | None:
    """Why ``listing`` cannot take a response for ``quantity`` now, or ``None``."""
    if listing.status is not Status.OPEN or (
        listing.expires_at is not None and listing.expires_at <= now
    ):
        state = "expired" if listing.status is Status.OPEN else listing.status.value
        return f"this listing is {state}: it no longer takes responses"
    if quantity > listing.available_quantity:
        return f"only {listing.available_quantity} left"
    return None


def _price_form(listing: Listing) -> PriceForm | None:
    if listing.price_minor is None or listing.currency is None:
        return None
    return PriceForm(
        amount=from_minor(listing.price_minor, listing.currency), currency=listing.currency
    )


def _checked(text: str, field: str, limit: int) -> str:
    text = text.strip()
    if len(text) > limit:
        raise _invalid(field, f"at most {limit} characters")
    if "\x00" in text:
        raise _invalid(field, "must not contain NUL characters")
    return text
