"""What a report or a decision is about: a listing, a message or an account, here or elsewhere.

Members name a target by what the API shows them (a listing's id, a message's id, a
username, a handle or an actor URL); a Flag from another server names it by URI. Either way
it becomes a :class:`Target`: plain values, plus the row it is when we hold it.
"""

from __future__ import annotations

from dataclasses import dataclass

from activitypub.uris import UriScheme
from moderation.domains import authority_of
from moderation.models import TargetKind
from node.conversations.models import Message, Participant
from node.errors import NotFound, ValidationFailed
from node.listings.models import Listing, Status
from node.members.models import Member
from node.members.service import is_valid_username


@dataclass(frozen=True)
class Target:
    """A listing, a message or an account, and whose it is."""

    kind: TargetKind
    uri: str  # the object's URI (the actor's, for an account)
    actor: str  # the account it belongs to
    local: bool  # ours (a member's, or a member) rather than another server's
    listing: Listing | None = None
    message: Message | None = None

    @property
    def host(self) -> str:
        """The server the target's account is on."""
        return authority_of(self.actor)


def one_target(
    listing: int | None, message: int | None, account: str | None, domain: str | None = None
) -> None:
    """422 unless exactly one of the target fields is given."""
    given = [v for v in (listing, message, account, domain) if v is not None]
    if len(given) != 1:
        names = "listing, message or account" if domain is None else "listing, message, account"
        raise ValidationFailed(
            "name what this is about",
            details=[{"field": "(body)", "message": f"give exactly one of {names}"}],
        )


async def listing_target(uris: UriScheme, listing_id: int) -> Target:
    """A listing held here (ours or a partner's copy), withdrawn ones aside."""
    listing = await Listing.get_or_none(id=listing_id)
    if listing is None or listing.status is Status.WITHDRAWN:
        raise NotFound("no such listing")
    return Target(
        TargetKind.LISTING,
        listing.ap_id,
        listing.author,
        local=listing.local,
        listing=listing,
    )


async def message_target(uris: UriScheme, message_id: int, reader: str | None) -> Target:
    """A message held here; with ``reader``, only one in a conversation they are in (a
    member reports what they received, nothing else)."""
    message = await Message.get_or_none(id=message_id, deleted_at__isnull=True)
    if message is not None and reader is not None:
        joined = await Participant.exists(conversation_id=message.conversation_id, actor=reader)  # type: ignore[attr-defined]
        message = message if joined else None
    if message is None:
        raise NotFound("no such message")
    return Target(
        TargetKind.MESSAGE,
        message.ap_id,
        message.author,
        local=uris.username_from_actor(message.author) is not None,
        message=message,
    )


async def local_account(uris: UriScheme, name: str) -> Target | None:
    """A member here named by username or actor URL, ``None`` for anything that is not ours;
    404 for a name of ours that is nobody."""
    username = uris.username_from_actor(name) if "/" in name else name.lower().removeprefix("@")
    if username is None:
        return None
    if "@" in username:
        user, _, host = username.partition("@")
        if host != uris.domain.lower():
            return None
        username = user
    member = await Member.get_or_none(username=username) if is_valid_username(username) else None
    if member is None:
        raise NotFound("no such member")
    actor = uris.actor(member.username)
    return Target(TargetKind.ACCOUNT, actor, actor, local=True)


def remote_account(actor: str) -> Target:
    """Another server's account, by its actor URL."""
    return Target(TargetKind.ACCOUNT, actor, actor, local=False)


async def owned_by_us(uris: UriScheme, uri: str) -> Target | None:
    """What a URI in a Flag names on this node (a member, one of our listings, a message one
    of our members wrote), or ``None``."""
    username = uris.username_from_actor(uri)
    if username is not None and await Member.exists(username=username):
        return Target(TargetKind.ACCOUNT, uri, uri, local=True)
    listing = await Listing.get_or_none(ap_id=uri, local=True)
    if listing is not None:
        return Target(TargetKind.LISTING, uri, listing.author, local=True, listing=listing)
    message = await Message.get_or_none(ap_id=uri)
    if message is not None and uris.username_from_actor(message.author) is not None:
        return Target(TargetKind.MESSAGE, uri, message.author, local=True, message=message)
    return None
