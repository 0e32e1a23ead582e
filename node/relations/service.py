"""Blocks and mutes of our members, and other servers' blocks of them.

A **mute** hides the muted actor's listings, messages and notifications from the member's own
views; nothing is refused, nobody is told. A **block** does that and more: follows both ways
end, and from then on the blocked actor's follows, messages and responses are refused (see
:func:`node.relations.checks.block_between`, asked by those services); their pending responses
to the member's listings are declined. A block of another server's actor is sent there as
``Block`` (Mastodon's shape), preceded by the ``Undo`` of our member's follow and the
``Reject`` of theirs, as Mastodon itself sends; unblocking sends ``Undo`` of that ``Block``.

An inbound ``Block`` of one of our members ends the follows between the two and is kept (their
``Undo`` forgets it): our member may then no longer follow, message or answer that actor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from activitypub import activities
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import DereferenceError, NotActedOn
from federation.outbound import publish
from node.errors import NotFound, ValidationFailed
from node.federated import FederatedService
from node.follows.models import Follow
from node.listings.models import Listing, Response, ResponseState
from node.members.models import Member
from node.members.service import is_valid_username
from node.ratelimit import SlidingWindowLimiter
from node.relations.models import MemberRelation, RelationKind, RemoteBlock


class RelationService(FederatedService):
    """Blocks and mutes of one node's members."""

    # Set by create_app: blocks and mutes made per member and hour (None: no limit).
    limiter: SlidingWindowLimiter | None = None

    def register(self, dispatcher: Dispatcher) -> None:
        """Route inbound Block and Undo (of a Block) here."""
        dispatcher.register("Block", self.on_block)
        dispatcher.register("Undo", self.on_undo)

    # Asked by our members
    async def of_member(self, member: Member, kind: RelationKind) -> list[MemberRelation]:
        """The member's blocks (or mutes), newest first."""
        return await MemberRelation.filter(owner=member, kind=kind).order_by("-id")

    async def add(
        self, member: Member, kind: RelationKind, account: str
    ) -> tuple[MemberRelation, bool]:
        """Block or mute ``account`` (a username, a handle or an actor URL); the relation, and
        whether it is new (asking again changes nothing)."""
        if self.limiter is not None:
            # Every attempt counts, found or not: each may make the node ask another server.
            self.limiter.hit(f"member:{member.id}")
        me = self._uris.actor(member.username)
        target = await self._resolve(account)
        if target == me:
            raise ValidationFailed(
                f"you cannot {kind.value} yourself",
                details=[{"field": "account", "message": "is your own account"}],
            )
        existing = await MemberRelation.get_or_none(owner=member, target=target, kind=kind)
        if existing is not None:
            return existing, False
        inbox = await self._inbox_of(target)
        now = self._clock()
        block = None
        if kind is RelationKind.BLOCK and inbox is not None:
            block = activities.block(self._new_id(member.username, "blocks"), me, target)
        try:
            async with in_transaction():
                row = await MemberRelation.create(
                    owner=member,
                    target=target,
                    kind=kind,
                    activity=block,
                    target_inbox=inbox if block is not None else None,
                    created_at=now,
                )
                if kind is RelationKind.BLOCK:
                    await self._cut_ties(member, target, inbox, now)
                if block is not None and inbox is not None:
                    await publish(block, [inbox], me, now)
        except IntegrityError:  # a concurrent request of the same member won
            return await MemberRelation.get(owner=member, target=target, kind=kind), False
        if inbox is not None and kind is RelationKind.BLOCK:
            self._queued()
        return row, True

    async def remove(self, member: Member, kind: RelationKind, key: str) -> None:
        """Lift a block or mute, named by its id or by whom it is of (as :meth:`add` takes
        it); the blocked actor's server is told with ``Undo`` of the ``Block``."""
        row = None
        if key.isdigit() and len(key) <= 9:
            row = await MemberRelation.get_or_none(id=int(key), owner=member, kind=kind)
        else:
            target = await self._resolve(key)
            row = await MemberRelation.get_or_none(owner=member, target=target, kind=kind)
        if row is None:
            raise NotFound(f"no such {kind.value}")
        me = self._uris.actor(member.username)
        inbox = row.target_inbox
        if inbox is not None and not await self._reachable(row.target):
            inbox = None  # the community stopped federating with that server since: only here
        async with in_transaction():
            await row.delete()
            if row.activity is not None and inbox is not None:
                undo = activities.respond(
                    "Undo", self._new_id(member.username, "undo"), me, row.activity
                )
                await publish(undo, [inbox], me, self._clock())
        if row.activity is not None and inbox is not None:
            self._queued()

    async def _cut_ties(
        self, member: Member, target: str, inbox: str | None, now: datetime
    ) -> None:
        """End the follows both ways (telling a remote target's server, as Mastodon does) and
        decline the target's pending responses to the member's listings."""
        me = self._uris.actor(member.username)
        mine = await Follow.get_or_none(follower=me, followee=target)
        if mine is not None:
            await mine.delete()
            if inbox is not None:
                undo = activities.respond(
                    "Undo", self._new_id(member.username, "undo"), me, mine.activity
                )
                await publish(undo, [inbox], me, now)
        theirs = await Follow.get_or_none(follower=target, followee=me)
        if theirs is not None:
            await theirs.delete()
            if theirs.follower_inbox is not None:
                reject = activities.respond(
                    "Reject", self._new_id(member.username, "reject"), me, theirs.activity
                )
                await publish(reject, [theirs.follower_inbox], me, now)
        my_listings = Listing.filter(author=me, local=True).values("id")
        await Response.filter(
            listing_id__in=Subquery(my_listings), responder=target, state=ResponseState.PENDING
        ).update(state=ResponseState.DECLINED, updated_at=now)

    async def _inbox_of(self, target: str) -> str | None:
        """``None`` for a member here (404 if there is none); else the remote actor's (shared)
        inbox, which also proves the account exists (404 if not found)."""
        if self._uris.username_from_actor(target) is not None:
            if not await self._is_local_member(target):
                raise NotFound("no such member")
            return None
        if urlsplit(target).netloc.lower() == self._uris.domain.lower():
            raise NotFound("no such actor on this node")
        if not await self._reachable(target):
            return None  # a server the community blocks: kept here, nothing asked or sent
        try:
            remote = await self._resolver.actor(target)
        except DereferenceError as exc:
            raise NotFound(f"cannot find {target}: {exc}") from None
        return remote.shared_inbox or remote.inbox

    # Received from other servers
    async def on_block(self, activity: InboundActivity) -> None:
        """A remote actor blocks one of our members: kept, and the follows between them end.

        The object is the member's actor id, as a URI or embedded. The same block sent again
        (Mastodon re-sends under a new id) stays one, known by its latest id.
        """
        member = await self._member_of(activities.object_id(activity.body.get("object")))
        if member is None:
            raise NotActedOn("the Block is not of one of our members")
        me = self._uris.actor(member.username)
        try:
            async with in_transaction():
                existing = await RemoteBlock.get_or_none(actor=activity.actor, member=member)
                if existing is None:
                    await RemoteBlock.create(
                        actor=activity.actor,
                        member=member,
                        activity_id=activity.activity_id,
                        created_at=self._clock(),
                    )
                elif existing.activity_id != activity.activity_id:
                    existing.activity_id = activity.activity_id
                    await existing.save(update_fields=["activity_id"])
                await Follow.filter(follower=me, followee=activity.actor).delete()
                await Follow.filter(follower=activity.actor, followee=me).delete()
        except IntegrityError:
            raise NotActedOn("that Block id is known already, for another block") from None

    async def on_undo(self, activity: InboundActivity) -> None:
        """A remote actor lifts its block of one of our members (other Undos are not ours).

        The Block may be embedded (Mastodon, GoToSocial) or named by its id; an embedded one
        we do not know by id is found by whom it blocks.
        """
        obj = activity.body.get("object")
        if isinstance(obj, dict) and obj.get("type") not in (None, "Block"):
            raise NotActedOn("not an Undo of a Block")
        block_id = activities.object_id(obj)
        row = None
        if block_id is not None:
            row = await RemoteBlock.get_or_none(activity_id=block_id, actor=activity.actor)
        if row is None and isinstance(obj, dict) and obj.get("type") == "Block":
            member = await self._member_of(activities.object_id(obj.get("object")))
            if member is not None:
                row = await RemoteBlock.get_or_none(actor=activity.actor, member=member)
        if row is None:
            raise NotActedOn("the Undo is not of a block we know")
        await row.delete()

    async def _member_of(self, actor_id: str | None) -> Member | None:
        username = self._uris.username_from_actor(actor_id) if actor_id else None
        if username is None or not is_valid_username(username):
            return None
        return await Member.get_or_none(username=username)

    async def _is_local_member(self, actor_id: str) -> bool:
        return await self._member_of(actor_id) is not None

    def _new_id(self, username: str, kind: str) -> str:
        return f"{self._uris.actor(username)}/{kind}/{uuid.uuid4().hex}"
