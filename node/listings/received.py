"""Responses to our listings from other servers.

A direct message answering a listing (``inReplyTo`` the listing, addressed to its author) is
what Mastodon, GoToSocial and Flohmarkt users send: it is a message in the conversation
between the two (the conversation handlers store it) and, here, a response the author may
accept or decline. Who may answer follows the listing's audience: anyone for a public listing,
members of partner nodes for a partners listing, nobody from elsewhere for a node listing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.notes import read_note
from activitypub.uris import UriScheme
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import NotActedOn
from moderation.domains import authority_of
from node.conversations.models import Message
from node.listings.models import Audience, Listing, Response, ResponseState
from node.listings.service import ACTIVE_RESPONSES, MAX_MESSAGE, why_unanswerable
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService

Clock = Callable[[], datetime]
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
    ) -> None:
        self._uris = uris
        self._clock = clock
        self._notifications = notifications
        self._is_partner = is_partner

    def register(self, dispatcher: Dispatcher) -> None:
        """After the conversation handlers (so the message exists to link to)."""
        dispatcher.register("Create", self.on_reply, object_type="Note")

    async def on_reply(self, activity: InboundActivity) -> None:
        """A direct reply to one of our listings: a response, the author notified."""
        body = activity.body.get("object")
        if not isinstance(body, dict):
            raise NotActedOn("the Create does not embed its note")
        note = read_note(body)
        if note.in_reply_to is None or note.id is None:
            raise NotActedOn("the note answers no listing")
        listing = await Listing.get_or_none(ap_id=note.in_reply_to, local=True)
        if listing is None:
            raise NotActedOn("the note answers none of our listings")
        if activity.actor not in note.authors or listing.author not in note.addressees:
            raise NotActedOn("the reply is not its sender's, to the listing's author")
        refusal = await may_answer(listing, activity.actor, self._is_partner)
        refusal = refusal or why_unanswerable(listing, 1, self._clock())
        if refusal is None and await Response.exists(
            listing=listing, responder=activity.actor, state__in=ACTIVE_RESPONSES
        ):
            refusal = "its sender answered this listing already: the note is a message"
        if refusal is not None:
            raise NotActedOn(refusal)
        message = await Message.get_or_none(ap_id=note.id)
        now = self._clock()
        try:
            async with in_transaction():
                response = await Response.create(
                    listing=listing,
                    responder=activity.actor,
                    ap_id=note.id,
                    form="reply",
                    message=note.text[:MAX_MESSAGE],
                    state=ResponseState.PENDING,
                    conversation_id=message.conversation_id if message else None,  # type: ignore[attr-defined]
                    created_at=now,
                    updated_at=now,
                )
                await self._notifications.notify_actor(
                    listing.author,
                    NotificationType.RESPONSE,
                    by=activity.actor,
                    listing_id=listing.id,
                    response_id=response.id,
                )
        except IntegrityError:
            return  # stored by an earlier attempt of this activity
