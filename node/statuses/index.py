"""Listings and direct messages in the timelines: each gets a status when it is stored.

The listing and the message stay the truth: their statuses point to them, and what an app
reads (text, price, state, photos) is rendered from them when it is read, so an edit shows at
once and a withdrawn listing or a deleted message goes with its row or is left out.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from node.conversations.models import Message, Participant
from node.listings.models import Audience, Listing
from node.media.models import Media
from node.members.models import Member
from node.statuses.models import Status, StatusKind, Visibility
from node.statuses.service import Timelines


class StatusIndex:
    """Makes the statuses of new listings and messages, and puts them in timelines."""

    def __init__(self, timelines: Timelines) -> None:
        self._timelines = timelines

    async def listing_added(self, listing: Listing) -> None:
        """A listing was published here or received from a partner: a status every member
        here sees in their home timeline, and the public timelines when it is public."""
        visibility = (
            Visibility.PUBLIC if listing.audience == Audience.PUBLIC else Visibility.PRIVATE
        )
        status = await Status.get_or_none(ap_id=listing.ap_id)
        if status is None:
            has_media = await Media.exists(listing_id=listing.id)
            try:
                async with in_transaction():  # a savepoint when nested: PostgreSQL aborts else
                    status = await Status.create(
                        ap_id=listing.ap_id,
                        url=listing.ap_id,
                        author=listing.author,
                        local=listing.local,
                        kind=StatusKind.LISTING,
                        visibility=visibility,
                        listing=listing,
                        tags=[str(listing.kind)],
                        has_media=has_media,
                        created_at=listing.published_at,
                    )
            except IntegrityError:  # stored meanwhile
                status = await Status.get(ap_id=listing.ap_id)
        elif status.listing_id is None:  # type: ignore[attr-defined]
            # A followed account's post that turned out to be this listing: it is the listing.
            status.kind, status.listing_id = StatusKind.LISTING, listing.id  # type: ignore[attr-defined]
            status.visibility = visibility
            await status.save(update_fields=["kind", "listing_id", "visibility"])
        members = await Member.filter(suspended_at=None).values_list("id", flat=True)
        await self._timelines.fan_out(status, [int(m) for m in members])  # type: ignore[call-overload]

    async def message_added(self, message: Message) -> None:
        """A direct message was written here or received: a direct status in the timelines
        of its participants here."""
        participants = await Participant.filter(
            conversation_id=message.conversation_id  # type: ignore[attr-defined]
        ).values_list("actor", flat=True)
        others = [str(p) for p in participants if p != message.author]
        status = await Status.get_or_none(message_id=message.id)
        if status is None:
            try:
                status = await Status.create(
                    ap_id=message.ap_id,
                    author=message.author,
                    local=self._timelines.is_local(message.author),
                    kind=StatusKind.MESSAGE,
                    visibility=Visibility.DIRECT,
                    message=message,
                    mentions=others,
                    in_reply_to=message.in_reply_to,
                    spoiler_text=message.summary[:1000],
                    sensitive=bool(message.summary),
                    attachments=[_link(a) for a in message.attachments],
                    created_at=message.created_at,
                )
            except IntegrityError:
                return  # indexed meanwhile
        local = await self._timelines.members_named([message.author, *others])
        await self._timelines.fan_out(status, local)


def _link(attachment: dict[str, Any]) -> dict[str, Any]:
    """A message's attachment as a status keeps it (the same record: see
    node/statuses/attachments.py)."""
    return dict(attachment)
