"""Following: a member asks, the followed member approves; Undo ends it. Local or remote.

Remote actors are fetched (WebFinger for handles, the actor document for its inbox) before any
transaction; deliveries are queued with ``publish`` inside the transaction that records the
change, so a follow is never recorded without its activity queued, nor the reverse.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import activities
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import DereferenceError, NotActedOn
from federation.outbound import publish
from node.errors import BadRequest, Forbidden, NotFound
from node.federated import FederatedService
from node.follows.models import Follow, FollowAlias, FollowState
from node.members.models import Member
from node.members.service import is_valid_username
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService
from node.relations.checks import block_between, blocks


class FollowService(FederatedService):
    """Follows of one node."""

    # Set by the app: members are told of follow requests (absent in the CLI).
    notifications: NotificationService | None = None

    def register(self, dispatcher: Dispatcher) -> None:
        """Route inbound Follow, Accept, Reject and Undo to this service."""
        dispatcher.register("Follow", self.on_follow)
        dispatcher.register("Accept", self.on_accept)
        dispatcher.register("Reject", self.on_reject)
        dispatcher.register("Undo", self.on_undo)

    # Asked by our members
    async def resolve(self, target: str) -> str:
        """The actor id of ``target``: an actor URL, or a handle ``user@host`` (ours or not)."""
        return await self._resolve(target)

    async def follow(self, member: Member, target: str) -> Follow:
        """Ask to follow ``target``; the request waits for their approval."""
        me = self._uris.actor(member.username)
        followee = await self.resolve(target)
        if followee == me:
            raise BadRequest("you cannot follow yourself")
        existing = await Follow.get_or_none(follower=me, followee=followee)
        if existing is not None:
            return existing
        if (refusal := await block_between(self._uris, me, followee)) is not None:
            raise Forbidden(f"you cannot follow them: {refusal}")
        inbox = await self._local_or_inbox(followee)
        activity = activities.follow(self._new_id(member.username, "follows"), me, followee)
        now = self._clock()
        try:
            async with in_transaction():
                row = await Follow.create(
                    follower=me,
                    followee=followee,
                    activity_id=activity["id"],
                    activity=activity,
                    created_at=now,
                )
                if inbox is not None:
                    await publish(activity, [inbox], me, now)
                else:
                    await self._tell_followee(followee, me)
        except IntegrityError:  # a concurrent request of the same member won
            return await Follow.get(follower=me, followee=followee)
        self._queued()
        return row

    async def unfollow(self, member: Member, follow_id: int) -> None:
        """Stop following (or withdraw a request); the followee's server is told with Undo."""
        me = self._uris.actor(member.username)
        row = await Follow.get_or_none(id=follow_id, follower=me)
        if row is None:
            raise NotFound("no such follow")
        inbox = await self._local_or_inbox(row.followee, must_exist=False)
        undo = activities.respond("Undo", self._new_id(member.username, "undo"), me, row.activity)
        async with in_transaction():
            await row.delete()
            if inbox is not None:
                await publish(undo, [inbox], me, self._clock())
        self._queued()

    async def decide(self, member: Member, follow_id: int, *, accept: bool) -> Follow | None:
        """Approve or refuse a follow request made to ``member``."""
        me = self._uris.actor(member.username)
        row = await Follow.get_or_none(id=follow_id, followee=me, state=FollowState.PENDING)
        if row is None:
            raise NotFound("no such follow request")
        kind = "Accept" if accept else "Reject"
        answer = activities.respond(
            kind, self._new_id(member.username, kind.lower()), me, row.activity
        )
        now = self._clock()
        async with in_transaction():
            if accept:
                row.state, row.accepted_at = FollowState.ACCEPTED, now
                await row.save(update_fields=["state", "accepted_at"])
            else:
                await row.delete()
            if row.follower_inbox is not None:
                await publish(answer, [row.follower_inbox], me, now)
        self._queued()
        return row if accept else None

    async def of_member(self, member: Member, *, direction: str) -> list[Follow]:
        """``following`` (what the member follows), ``followers``, or pending ``requests``."""
        me = self._uris.actor(member.username)
        if direction == "following":
            return await Follow.filter(follower=me).order_by("-id")
        if direction == "followers":
            return await Follow.filter(followee=me, state=FollowState.ACCEPTED).order_by("-id")
        return await Follow.filter(followee=me, state=FollowState.PENDING).order_by("-id")

    # Received from other servers
    async def on_follow(self, activity: InboundActivity) -> None:
        """A remote actor asks to follow one of our members: a pending request.

        Asked again under a new id, it stays one follow (see :meth:`_follow_again`).
        """
        followee = activities.object_id(activity.body.get("object"))
        if followee is None or not await self._is_local_member(followee):
            raise NotActedOn("the Follow is not of one of our members")
        remote = await self._resolver.actor(activity.actor)
        inbox = remote.shared_inbox or remote.inbox
        now = self._clock()
        if await blocks(self._uris, followee, activity.actor):
            await self._refuse_blocked(followee, activity, inbox, now)
            return
        existing = await Follow.get_or_none(follower=activity.actor, followee=followee)
        if existing is not None:
            await self._follow_again(existing, activity, inbox, now)
            return
        await Follow.create(
            follower=activity.actor,
            followee=followee,
            activity_id=activity.activity_id,
            activity=activity.body,
            follower_inbox=inbox,
            created_at=now,
        )
        await self._tell_followee(followee, activity.actor)

    async def _tell_followee(self, followee: str, follower: str) -> None:
        """The member asked gets a notification (a request waits for their answer)."""
        if self.notifications is not None:
            await self.notifications.notify_actor(
                followee, NotificationType.FOLLOW_REQUEST, by=follower
            )

    async def _refuse_blocked(
        self, followee: str, activity: InboundActivity, inbox: str, now: datetime
    ) -> None:
        """The member blocks whoever asks: refused at once with ``Reject`` (as Mastodon does),
        nothing kept, the member not asked."""
        username = self._uris.username_from_actor(followee)
        if username is None:
            return  # cannot happen: on_follow checked that the followee is our member
        reject = activities.respond(
            "Reject", self._new_id(username, "reject"), followee, activity.body
        )
        await publish(reject, [inbox], followee, now)
        self._queued()

    async def _follow_again(
        self, row: Follow, activity: InboundActivity, inbox: str, now: datetime
    ) -> None:
        """The follower sent its Follow again with a new id, as Mastodon does when its side
        lost track of the follow (Mastodon itself answers the same way).

        The follow (or request) stays one row, now answered as the new Follow: it becomes the
        Follow our Accept or Reject embeds, and the earlier ids stay known so that an Undo of
        any of them ends it. A follow already accepted is accepted again, answering the new
        Follow, so the follower's server records it as accepted.
        """
        if await self._by_activity_id(activity.activity_id) is not None:
            return  # already known (a retry after this ran, or another follow's id): no change
        followee = row.followee
        username = self._uris.username_from_actor(followee)
        if username is None:
            return  # cannot happen: on_follow checked that the followee is our member
        async with in_transaction():
            await FollowAlias.create(follow=row, activity_id=row.activity_id)
            row.activity_id, row.activity = activity.activity_id, activity.body
            row.follower_inbox = inbox  # the actor document was just fetched: the latest inbox
            await row.save(update_fields=["activity_id", "activity", "follower_inbox"])
            if row.state == FollowState.ACCEPTED:
                accept = activities.respond(
                    "Accept", self._new_id(username, "accept"), followee, activity.body
                )
                await publish(accept, [inbox], followee, now)
        if row.state == FollowState.ACCEPTED:
            self._queued()

    async def on_accept(self, activity: InboundActivity) -> None:
        """The followee's server accepted one of our members' requests."""
        row = await self._answered(activity, side="followee")
        if row.state == FollowState.ACCEPTED:
            raise NotActedOn("the follow it accepts was accepted already")
        row.state, row.accepted_at = FollowState.ACCEPTED, self._clock()
        await row.save(update_fields=["state", "accepted_at"])

    async def on_reject(self, activity: InboundActivity) -> None:
        """The followee refused (or removed) one of our members as follower."""
        row = await self._answered(activity, side="followee")
        await row.delete()

    async def on_undo(self, activity: InboundActivity) -> None:
        """A remote follower stopped following (other kinds of Undo are not ours to handle)."""
        row = await self._answered(activity, side="follower")
        await row.delete()

    async def _answered(self, activity: InboundActivity, *, side: str) -> Follow:
        """The follow ``activity`` answers (or undoes); ``NotActedOn`` if it names none."""
        answered = activities.object_id(activity.body.get("object"))
        if answered is None:
            raise NotActedOn(f"the {activity.activity_type} names no object")
        row = await self._by_activity_id(answered)
        if row is None:
            raise NotActedOn(f"the {activity.activity_type} is not of a follow we know")
        # Only the party the Follow was addressed to (or made by) may answer it.
        if getattr(row, side) != activity.actor:
            whose = "addressed to" if side == "followee" else "made by"
            raise NotActedOn(f"the {activity.activity_type} is of a follow {whose} someone else")
        return row

    async def _by_activity_id(self, activity_id: str) -> Follow | None:
        """The follow a Follow id names: its current id, or an earlier one it was sent with."""
        row = await Follow.get_or_none(activity_id=activity_id)
        if row is not None:
            return row
        alias = await FollowAlias.get_or_none(activity_id=activity_id).prefetch_related("follow")
        return alias.follow if alias is not None else None

    async def _local_or_inbox(self, actor_id: str, *, must_exist: bool = True) -> str | None:
        """``None`` for a local member; else the remote actor's (shared) inbox."""
        if self._uris.username_from_actor(actor_id) is not None:
            if must_exist and not await self._is_local_member(actor_id):
                raise NotFound("no such member")
            return None
        if urlsplit(actor_id).netloc.lower() == self._uris.domain.lower():
            raise NotFound("no such actor on this node")
        if not must_exist and not await self._reachable(actor_id):
            return None  # ending a follow with a server we no longer reach: only locally
        await self._check_reachable(actor_id)
        try:
            remote = await self._resolver.actor(actor_id)
        except DereferenceError as exc:
            raise NotFound(f"cannot reach {actor_id}: {exc}") from None
        return remote.shared_inbox or remote.inbox

    async def _is_local_member(self, actor_id: str) -> bool:
        username = self._uris.username_from_actor(actor_id)
        return bool(username and is_valid_username(username)) and await Member.exists(
            username=username
        )

    def _new_id(self, username: str, kind: str) -> str:
        return f"{self._uris.actor(username)}/{kind}/{uuid.uuid4().hex}"
