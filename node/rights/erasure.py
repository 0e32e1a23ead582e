"""Erasing an account (GDPR article 17): the member's data goes here and on every server that
received it.

In one transaction:

- the sharing ledger says which inboxes got the member's content; with the partner nodes and
  the inboxes of their followers, each gets a ``Delete`` of the actor (Mastodon, GoToSocial
  and Quartier drop the account and everything of it they hold), and each that got one of
  their messages a ``Delete`` of that message (servers that keep messages apart, Quartier
  among them, blank it);
- their residency credentials are revoked (the revocation list says so at once);
- their messages are blanked where others read them (a trace that a message existed stays
  in the other member's conversation, as when a message is deleted);
- their listings, responses, follows, vouches, sessions, notifications, saved searches and
  the account itself are deleted;
- the username is kept, with the key that signs the Deletes and nothing else
  (:class:`node.members.models.ErasedAccount`), so it is never given to anyone else: other
  servers know the actor by it.

After it: their photos (rows and files) and their proofs of residence (encrypted files) are
destroyed, and the node's audit log records who erased whom.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from tortoise.transactions import in_transaction

from activitypub.activities import AS_CONTEXT
from activitypub.uris import UriScheme
from federation.models import Partnership, PartnershipState, SharedItem
from federation.outbound import publish
from moderation import audit
from moderation.domains import authority_of
from moderation.governance import SharedKind
from node.circles.models import CircleMember, CirclePost
from node.conversations.models import Message
from node.errors import Conflict
from node.follows.models import Follow, FollowState
from node.listings.models import Listing, Response
from node.media.models import Media
from node.media.service import MediaService
from node.members.models import ErasedAccount, Member, Role
from node.verification.models import IssuedCredential, ResidenceDocument
from node.verification.vault import DocumentVault

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Erased:
    """What one erasure did."""

    username: str
    servers_told: int  # servers the Delete of the actor was queued for
    messages_withdrawn: int  # Deletes of single messages queued


class Eraser:
    """Erases accounts."""

    def __init__(
        self,
        uris: UriScheme,
        clock: Clock,
        media: MediaService | None,
        vault: DocumentVault,
        queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._uris = uris
        self._clock = clock
        self._media = media
        self._vault = vault
        self._queued = queued

    async def erase(self, member: Member, *, by: str, reason: str = "") -> Erased:
        """Erase ``member``'s account; ``by`` names who asked (the member, or an admin)."""
        if member.role is Role.ADMIN and await Member.filter(role=Role.ADMIN).count() == 1:
            raise Conflict("the node's only admin cannot be erased: make another admin first")
        actor = self._uris.actor(member.username)
        now = self._clock()
        shared = await SharedItem.filter(owner=actor).values_list("inbox", "kind", "subject")
        partners = await Partnership.filter(state=PartnershipState.ACTIVE).values_list(
            "peer_inbox", flat=True
        )
        followers = await Follow.filter(
            followee=actor, state=FollowState.ACCEPTED, follower_inbox__isnull=False
        ).values_list("follower_inbox", flat=True)
        every = [str(i) for i, _, _ in shared] + [str(i) for i in [*partners, *followers]]
        inboxes = _one_per_server(set(every))
        messages = {(str(i), str(s)) for i, kind, s in shared if kind == SharedKind.MESSAGES and s}
        documents = await ResidenceDocument.filter(
            member_id=member.id, storage_name__isnull=False
        ).values_list("storage_name", flat=True)
        async with in_transaction():
            await ErasedAccount.create(
                username=member.username, rsa_private_pem=member.rsa_private_pem, erased_at=now
            )
            await IssuedCredential.filter(member_id=member.id, revoked_at__isnull=True).update(
                revoked_at=now
            )
            await Message.filter(author=actor).update(
                text="", summary="", attachments=[], deleted_at=now
            )
            for inbox, subject in sorted(messages):
                await publish(_delete(actor, subject, "Note"), [inbox], actor, now)
            if inboxes:
                await publish(_delete(actor, actor, "Person"), inboxes, actor, now)
            await Response.filter(responder=actor).delete()
            # circles: the Delete of the account above tells the servers that hold their posts
            await CirclePost.filter(author=actor).delete()
            await CircleMember.filter(actor=actor).delete()
            await Follow.filter(follower=actor).delete()
            await Follow.filter(followee=actor).delete()
            listing_ids = cast(
                list[int],
                await Listing.filter(author=actor, local=True).values_list("id", flat=True),
            )
            await audit.record(by, "account.erased", actor, reason, now)
            await member.delete()  # sessions, vouches, notifications, documents' rows with it
        for listing_id in listing_ids:
            if self._media is not None:
                await self._media.forget_listing(listing_id)
        await Listing.filter(id__in=listing_ids).delete()
        if self._media is not None:
            await self._media.delete_rows(Media.filter(owner=actor))
        for name in documents:
            await asyncio.to_thread(self._vault.destroy, str(name))
        self._queued()
        return Erased(member.username, len(inboxes), len(messages))


def _delete(actor: str, target: str, former_type: str) -> dict[str, object]:
    return {
        "@context": AS_CONTEXT,
        "id": f"{actor}#delete/{uuid.uuid4().hex}",
        "type": "Delete",
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": target, "type": "Tombstone", "formerType": former_type}
        if former_type != "Person"
        else target,
    }


def _one_per_server(inboxes: set[str]) -> set[str]:
    """One inbox per server: a server deletes an account once, whichever of its inboxes the
    Delete reaches; the shortest is taken (a shared inbox, usually) so a retry is shared."""
    chosen: dict[str, str] = {}
    for inbox in sorted(inboxes, key=lambda url: (len(url), url)):
        chosen.setdefault(authority_of(inbox), inbox)
    return set(chosen.values())
