"""Our listings on the wire: each one a ``Note`` with the FEP-0837 terms (see
:mod:`activitypub.listings`), sent by its author and announced by the neighbourhood group.

What a listing's audience means here:

- ``node``: nothing leaves the node; its document is served to nobody outside it.
- ``partners``: the author's ``Create`` is addressed to the neighbourhood group, which
  announces it to the partner nodes only (deliveries marked partners-only, so a partnership
  ending stops what is still queued); the document is served to signed fetches from partners.
- ``public``: addressed to everyone too; the group also announces it to whoever follows it.

Edits and status changes go out as ``Update``, withdrawal as ``Delete``; an expiry needs
nothing (receivers drop a listing at its ``endTime``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from babel.dates import format_date

from activitypub import activities
from activitypub.errors import ListingError
from activitypub.listings import (
    ListingTerms,
    Photo,
    Place,
    Price,
    ProposalRef,
    accept_agreement,
    agreement_done,
    details_from_mapping,
    listing_activity,
    listing_object,
    offer_agreement,
    read_listing,
    read_offer,
    reject_offer,
)
from activitypub.uris import UriScheme
from federation.dereference import ActorResolver
from federation.errors import DereferenceError
from federation.outbound import publish
from moderation.domains import authority_of
from node.circles.models import Circle
from node.circles.service import CircleService
from node.config import CommunitySettings
from node.errors import NotFound
from node.groups.service import GroupService
from node.listings.categories import label
from node.listings.models import Audience, Listing, Response
from node.listings.money import format_price
from node.media.models import Media
from node.media.render import photo_urls
from node.rich_text import text_to_html

ActivityKind = Literal["Create", "Update", "Delete"]

KIND_LABELS = {
    "en": {
        "give": "Giving away",
        "lend": "To lend",
        "sell": "For sale",
        "service": "Service offered",
        "request": "Wanted",
        "carpool": "Ride offered",
    },
    "fr": {
        "give": "À donner",
        "lend": "À prêter",
        "sell": "À vendre",
        "service": "Service proposé",
        "request": "Recherche",
        "carpool": "Covoiturage",
    },
}
WORDS = {
    "en": {"free": "free", "until": "until {date}", "respond": "Reply to this post to respond."},
    "fr": {
        "free": "gratuit",
        "until": "jusqu'au {date}",
        "respond": "Répondez à ce message pour réagir.",
    },
}


class ListingFederation:
    """Builds our listings' documents and sends their activities."""

    def __init__(
        self,
        uris: UriScheme,
        groups: GroupService,
        community: CommunitySettings,
        resolver: ActorResolver,
    ) -> None:
        self._resolver = resolver
        self._uris = uris
        self._groups = groups
        self._community = community
        # the node's circles, through which a circle's listing goes (set at start-up)
        self.circles: CircleService | None = None
        self._language = community.languages[0].split("-")[0]
        if self._language not in KIND_LABELS:
            self._language = "en"

    def addressing(self, listing: Listing) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(to, cc) of a listing's Note and its activities: a circle's listing is a post to
        the circle (FEP-1b12), any other goes to the neighbourhood group (and Public)."""
        if listing.circle is not None:
            return (listing.circle,), ()
        group = self._groups.neighbourhood
        followers = self._groups.group_followers(group)
        if listing.audience is Audience.PUBLIC:
            return (activities.AS_PUBLIC,), (group, followers)
        return (group,), ()

    def document(self, listing: Listing, photos: list[Media]) -> dict[str, Any]:
        """The listing's Note, as it is served and sent."""
        return listing_object(self.terms(listing, photos))

    def terms(self, listing: Listing, photos: list[Media]) -> ListingTerms:
        """The plain values of one of our listings for the wire."""
        to, cc = self.addressing(listing)
        price = None
        if listing.price_minor is not None and listing.currency:
            price = Price.from_minor(listing.price_minor, listing.currency)
        place = None
        if listing.place_name or listing.latitude is not None:
            place = Place(
                name=listing.place_name,
                latitude=listing.latitude,
                longitude=listing.longitude,
                radius_m=listing.radius_m,
            )
        return ListingTerms(
            id=listing.ap_id,
            author=listing.author,
            kind=listing.kind.value,  # type: ignore[arg-type]
            title=listing.title,
            content_html=listing.description_html,
            published=listing.published_at,
            category=listing.category,
            details=details_from_mapping(listing.kind.value, listing.details),  # type: ignore[arg-type]
            summary=self.summary(listing),
            price=price,
            quantity=listing.quantity,
            available_quantity=listing.available_quantity,
            place=place,
            photos=tuple(self._photo(media) for media in photos),
            updated=listing.updated_at if listing.updated_at != listing.published_at else None,
            end_time=listing.expires_at,
            status=listing.status.value,  # type: ignore[arg-type]
            verified_responders=listing.verified_responders,
            url=listing.ap_id,
            audience=listing.circle or self._groups.neighbourhood,
            to=to,
            cc=cc,
            tag_base=self._uris.url("/tags/"),
            language=self._language,
        )

    def summary(self, listing: Listing) -> str:
        """The line that opens the post where listing terms are not read (Mastodon): kind,
        title, price or free, place, expiry, how to respond, in the community's language."""
        language = self._language
        words = WORDS[language]
        parts = [f"{KIND_LABELS[language][listing.kind.value]}: {listing.title}"]
        if listing.price_minor is not None and listing.currency:
            parts.append(format_price(listing.price_minor, listing.currency, language))
        elif listing.kind.value in ("give", "lend"):
            parts.append(words["free"])
        parts.append(label(listing.category, language))
        if listing.place_name:
            parts.append(listing.place_name)
        if listing.expires_at is not None:
            day = format_date(listing.expires_at, format="long", locale=language)
            parts.append(words["until"].format(date=day))
        return " · ".join(parts) + ". " + words["respond"]

    async def send(
        self, kind: ActivityKind, listing: Listing, photos: list[Media], now: datetime
    ) -> None:
        """Queue the author's activity about ``listing`` and the group's announcements of it
        (inside the transaction of the change it reports). A circle's listing goes through
        the circle, to its members on other nodes; nothing for any other node-only listing."""
        if listing.audience is Audience.NODE and listing.circle is None:
            return
        doc = self.document(listing, photos)
        activity = listing_activity(
            kind, f"{listing.ap_id}/activities/{uuid.uuid4().hex}", doc, published=now
        )
        if listing.circle is not None:
            slug = self._uris.group_slug_from_actor(listing.circle)
            circle = await Circle.get_or_none(slug=slug or "", deleted_at__isnull=True)
            if circle is not None and self.circles is not None:
                await self.circles.announce(circle, activity, public=False, now=now)
            return
        await self._groups.announce(activity, public=listing.audience is Audience.PUBLIC, now=now)

    # Answering other servers' listings, and answers to ours
    def offer(
        self, listing: Listing, responder: str, message: str, quantity: int, now: datetime
    ) -> dict[str, Any] | None:
        """The ``Offer(Agreement)`` answering a remote listing, or ``None`` when the listing
        does not speak FEP-0837 (then a direct reply answers it)."""
        doc = listing.received or {}
        if "publishes" not in doc:
            return None
        try:
            proposal = ProposalRef.of_listing(read_listing(doc))
        except ListingError:
            return None
        return offer_agreement(
            f"{responder}/offers/{uuid.uuid4().hex}",
            responder,
            proposal,
            quantity,
            message_html=text_to_html(message),
            published=now,
        )

    async def answer_offer(
        self, response: Response, listing: Listing, accept: bool, inbox: str | None, now: datetime
    ) -> None:
        """Queue the author's ``Accept`` (with the finalized Agreement) or ``Reject`` of a
        remote responder's Offer (inside the decision's transaction)."""
        if inbox is None or response.offer is None:
            return
        if accept and response.agreement_id:
            answer = accept_agreement(
                read_offer(response.offer),
                response.agreement_id,
                accept_id=f"{response.agreement_id}/accept",
                actor=listing.author,
                published=now,
            )
        else:
            answer = reject_offer(
                response.ap_id,
                response.responder,
                reject_id=f"{listing.ap_id}/rejections/{uuid.uuid4().hex}",
                actor=listing.author,
                published=now,
            )
        await self.deliver(
            answer, inbox, listing.author, now, partners_only=listing.audience is Audience.PARTNERS
        )

    async def send_done(
        self,
        response: Response,
        listing: Listing,
        actor: str,
        to: str,
        thanks: str,
        inbox: str,
        now: datetime,
    ) -> None:
        """Queue ``actor``'s ``Update`` telling the other side ``to`` that the agreement of
        ``response`` happened (inside the caller's transaction)."""
        assert response.agreement_id is not None
        update = agreement_done(
            response.agreement_id,
            update_id=self._uris.url(f"/activities/{uuid.uuid4().hex}"),
            actor=actor,
            to=to,
            thanks=thanks,
            published=now,
        )
        await self.deliver(
            update, inbox, actor, now, partners_only=listing.audience is Audience.PARTNERS
        )

    async def inbox_of(self, actor: str) -> str:
        """Where to deliver to ``actor`` (what we know of them serves while their server is
        down); 404 in words a member understands when they cannot be found."""
        try:
            remote = await self._resolver.actor(actor)
        except DereferenceError:
            raise NotFound(
                f"cannot reach {authority_of(actor)} to answer: try again later"
            ) from None
        return remote.shared_inbox or remote.inbox

    async def deliver(
        self,
        activity: dict[str, Any],
        inbox: str,
        signer: str,
        now: datetime,
        *,
        partners_only: bool = False,
    ) -> None:
        """Queue ``activity`` for one inbox (inside the caller's transaction)."""
        await publish(activity, [inbox], signer, now, partners_only=partners_only)

    def _photo(self, media: Media) -> Photo:
        url, _ = photo_urls(media, self._uris)
        return Photo(
            url=url,
            media_type=media.content_type,
            description=media.description,
            width=media.width or None,
            height=media.height or None,
        )
