"""What other services ask of blocks and mutes: queries only, nothing changes here.

Kept apart from :mod:`node.relations.service` so that follows, conversations, listings and
notifications can ask without importing the service (which itself uses their models).
"""

from __future__ import annotations

from activitypub.uris import UriScheme
from node.members.models import Member
from node.relations.models import MemberRelation, RelationKind, RemoteBlock

# Said to the blocked side. Clear about what happened, as Mastodon and GoToSocial are: the
# blocked person learns of the block when they try, never by a notification.
BLOCKED_YOU = "{who} has blocked you"
YOU_BLOCKED = "you have blocked {who}: unblock them first"


async def blocks(uris: UriScheme, owner: str, other: str) -> bool:
    """Whether ``owner`` (an actor id, one of our members or not) blocks ``other``."""
    username = uris.username_from_actor(owner)
    if username is None:
        return False
    return await MemberRelation.exists(
        owner__username=username, target=other, kind=RelationKind.BLOCK
    )


async def block_between(uris: UriScheme, me: str, other: str) -> str | None:
    """Why our member ``me`` and ``other`` may not deal with each other (a follow, a message,
    a response), or ``None``: a block either way, ours or one another server told us of."""
    if await blocks(uris, me, other):
        return YOU_BLOCKED.format(who=other)
    if await blocks(uris, other, me):
        return BLOCKED_YOU.format(who=other)
    username = uris.username_from_actor(me)
    if username and await RemoteBlock.exists(actor=other, member__username=username):
        return BLOCKED_YOU.format(who=other)
    return None


async def hidden_from(member: Member) -> frozenset[str]:
    """The actors whose listings, messages and notifications ``member`` does not want to see:
    whoever they blocked or muted."""
    targets = await MemberRelation.filter(owner=member).values_list("target", flat=True)
    return frozenset(str(t) for t in targets)
