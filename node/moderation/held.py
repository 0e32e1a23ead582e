"""What keyword filters held back, as moderators release or reject it: the decision is
recorded (and audited) in the same transaction as the publishing or withdrawal it causes."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from moderation import filters
from moderation.errors import NoSuchFilter
from moderation.models import FilteredContent
from node.clock import Clock
from node.conversations.service import ConversationService
from node.errors import NotFound
from node.listings.service import ListingService
from node.members.models import Member


class HeldContent:
    """The moderators' side of the keyword filters' hold."""

    def __init__(
        self, clock: Clock, listings: ListingService, conversations: ConversationService
    ) -> None:
        self._clock = clock
        self._listings = listings
        self._conversations = conversations

    async def decide(
        self, moderator: Member, held_id: int, *, release: bool, reason: str
    ) -> FilteredContent:
        """Release held content (shown, and sent where it was going) or reject it (a listing
        is withdrawn, a message's text goes); 404 unless it is waiting."""
        async with in_transaction():
            try:
                row = await filters.decide(
                    held_id,
                    release=release,
                    by=moderator.username,
                    reason=reason,
                    at=self._clock(),
                )
            except NoSuchFilter:
                raise NotFound("no such held content") from None
            if row.kind == "listing":
                await (self._listings.release if release else self._listings.reject)(row.target)
            elif row.kind == "response":
                listings = self._listings
                await (listings.release_response if release else listings.reject_response)(
                    row.target
                )
            elif row.kind == "message":
                conversations = self._conversations
                await (conversations.release if release else conversations.reject)(row.target)
                # A reply to one of our listings is a response too, under the same URI.
                listings = self._listings
                await (listings.release_response if release else listings.reject_response)(
                    row.target
                )
        return row
