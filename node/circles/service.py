"""Circles: who may join, what members post, and how the circle's group distributes it.

A circle is a FEP-1b12 ``Group``: other servers' actors join by ``Follow`` of its actor (as
Lemmy users join a community), answered by ``Accept`` or ``Reject``; members send
``Create(Note)`` addressed to it (``audience``, or ``to``/``cc``) and the circle ``Announce``s
the activity unaltered to its members' and followers' servers, one delivery per shared inbox.
A moderator's removal is the moderator's ``Delete``, announced by the circle; a member removed
gets ``Reject`` of their Follow (Mastodon's "remove follower", which Lemmy also accepts).

On the other side, a node whose members joined another node's circle takes the circle's
announces (posts and their deletions) when the announcing group is the circle the post is
addressed to, and shows them to its members. What other servers send is handled in
``node/circles/received.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import activities
from activitypub.keys import generate_actor_keys
from activitypub.notes import html_to_text
from activitypub.uris import UriScheme
from federation.errors import DereferenceError
from federation.outbound import publish
from moderation import audit
from node.circles.models import (
    JOINED,
    Circle,
    CircleKind,
    CircleMember,
    CirclePost,
    CircleRole,
    JoinPolicy,
    MembershipState,
)
from node.circles.render import post_create, post_delete
from node.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from node.federated import FederatedService
from node.follows.models import Follow, FollowState
from node.groups.models import NEIGHBOURHOOD, LocalGroup
from node.members.models import Member, Role
from node.moderation.safety import ContentGuard
from node.rich_text import text_to_html

IsPartner = Callable[[str], Awaitable[bool]]
MAX_POST = 5000  # characters of text in a post


class CircleService(FederatedService):
    """The node's circles and the remote circles its members joined."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # whether a host is an active partner node (set at wiring: the partnerships' own)
        self.is_partner: IsPartner = _no
        # the community's limits on links and mentions, and its keyword filters
        self.guard: ContentGuard | None = None

    # The circles
    async def create(
        self,
        member: Member,
        slug: str,
        name: str,
        summary: str,
        kind: CircleKind,
        join_policy: JoinPolicy,
        *,
        partners_may_join: bool,
        public: bool,
    ) -> Circle:
        """A new circle with its ``Group`` actor; its creator is its first moderator."""
        if slug == NEIGHBOURHOOD or await LocalGroup.exists(slug=slug):
            raise Conflict("a group with that name exists already")
        if await Member.exists(username=slug):
            # Groups and members share the handle space (WebFinger): slug@host must be one.
            raise Conflict("a member has that name")
        keys = await asyncio.to_thread(generate_actor_keys)
        now = self._clock()
        me = self._uris.actor(member.username)
        try:
            async with in_transaction():
                group = await LocalGroup.create(slug=slug, **LocalGroup.key_columns(keys))
                circle = await Circle.create(
                    group=group,
                    slug=slug,
                    name=name,
                    summary=summary,
                    kind=kind,
                    join_policy=join_policy,
                    partners_may_join=partners_may_join,
                    public=public,
                    created_by=me,
                    created_at=now,
                )
                await CircleMember.create(
                    circle=circle, actor=me, role=CircleRole.MODERATOR, created_at=now
                )
        except IntegrityError:
            raise Conflict("a group with that name exists already") from None
        return circle

    async def get(self, slug: str) -> Circle:
        """The circle ``slug``, or 404."""
        circle = await Circle.get_or_none(slug=slug, deleted_at__isnull=True)
        if circle is None:
            raise NotFound("no such circle")
        return circle

    async def membership(self, circle: Circle, actor: str) -> CircleMember | None:
        """``actor``'s row in ``circle`` (any role or state)."""
        return await CircleMember.get_or_none(circle=circle, actor=actor)

    async def may_moderate(self, circle: Circle, member: Member) -> bool:
        """Circle moderators, and the node's admins and moderators (who moderate every circle)."""
        if member.role in (Role.ADMIN, Role.MODERATOR):
            return True
        row = await self.membership(circle, self._uris.actor(member.username))
        return (
            row is not None
            and row.role is CircleRole.MODERATOR
            and row.state is MembershipState.ACCEPTED
        )

    async def require_moderator(self, circle: Circle, member: Member) -> None:
        """403 unless ``member`` may moderate ``circle``."""
        if not await self.may_moderate(circle, member):
            raise Forbidden("only the circle's moderators may do this")

    async def is_member(self, circle: Circle, actor: str) -> bool:
        """Whether ``actor`` is an accepted member (or moderator) of ``circle``."""
        return await CircleMember.exists(
            circle=circle, actor=actor, state=MembershipState.ACCEPTED, role__in=JOINED
        )

    async def delete(self, circle: Circle, member: Member) -> None:
        """Delete the circle (audited): its members and posts go, and its remote members'
        and followers' servers get the group's ``Delete`` of itself, as for a deleted
        account, so they forget the follow and the posts they hold."""
        await self.require_moderator(circle, member)
        group = self._uris.group(circle.slug)
        now = self._clock()
        inboxes = await CircleMember.filter(circle=circle, inbox__isnull=False).values_list(
            "inbox", flat=True
        )
        delete = {
            "@context": activities.AS_CONTEXT,
            "id": new_id(group, "deletes"),
            "type": "Delete",
            "actor": group,
            "object": group,
            "to": [activities.AS_PUBLIC],
        }
        async with in_transaction():
            await CirclePost.filter(circle=group).delete()
            await CircleMember.filter(circle=circle).delete()
            circle.deleted_at = now
            await circle.save(update_fields=["deleted_at"])
            await audit.record(self._uris.actor(member.username), "circle.delete", group, "", now)
            if inboxes:
                await publish(delete, [str(inbox) for inbox in inboxes], group, now)
        self._queued()

    # Membership, asked by our members
    async def join(self, circle: Circle, member: Member) -> CircleMember:
        """A member of this node joins: at once when open (or invited), a request otherwise;
        a managed circle is joined only by invitation."""
        me = self._uris.actor(member.username)
        row = await self.membership(circle, me)
        if row is not None and row.state is not MembershipState.INVITED:
            return row
        now = self._clock()
        if row is not None:  # invited: joining accepts the invitation
            row.state = MembershipState.ACCEPTED
            await row.save(update_fields=["state"])
            return row
        if circle.join_policy is JoinPolicy.MANAGED:
            raise Forbidden("this circle's members are added by its managers")
        state = (
            MembershipState.ACCEPTED
            if circle.join_policy is JoinPolicy.OPEN
            else MembershipState.PENDING
        )
        try:
            async with in_transaction():  # a savepoint when nested: PostgreSQL aborts else
                return await CircleMember.create(
                    circle=circle, actor=me, state=state, created_at=now
                )
        except IntegrityError:
            return await CircleMember.get(circle=circle, actor=me)

    async def leave(self, circle: Circle, member: Member) -> None:
        """A member of this node leaves (or withdraws a request)."""
        await CircleMember.filter(circle=circle, actor=self._uris.actor(member.username)).delete()

    async def add(self, circle: Circle, by: Member, target: str) -> CircleMember:
        """A manager or circle moderator adds ``target`` (a neighbour here: a member at once;
        another server's actor: invited, a member when their Follow arrives, or at once if
        they asked already)."""
        if not (by.role is Role.MANAGER or await self.may_moderate(circle, by)):
            raise Forbidden("only managers and the circle's moderators add members")
        actor = await self._resolve(target)
        now = self._clock()
        row = await self.membership(circle, actor)
        local = self._uris.username_from_actor(actor) is not None
        if row is not None and row.state is MembershipState.PENDING:
            await self._decide(circle, row, accept=True)
            return row
        if row is not None:
            if row.role is CircleRole.FOLLOWER:
                row.role = CircleRole.MEMBER
                await row.save(update_fields=["role"])
            return row
        state = MembershipState.ACCEPTED if local else MembershipState.INVITED
        async with in_transaction():
            row = await CircleMember.create(circle=circle, actor=actor, state=state, created_at=now)
            await audit.record(
                self._uris.actor(by.username), "circle.add_member", actor, circle.slug, now
            )
        return row

    async def set_role(
        self, circle: Circle, by: Member, row_id: int, role: CircleRole
    ) -> CircleMember:
        """A moderator makes a member of this node a moderator, or a moderator a member again
        (audited). Moderators are this node's members: another server would not know that
        their removals speak for the circle."""
        await self.require_moderator(circle, by)
        row = await CircleMember.get_or_none(
            id=row_id, circle=circle, state=MembershipState.ACCEPTED, role__in=JOINED
        )
        if row is None:
            raise NotFound("no such member")
        if role is CircleRole.MODERATOR and self._uris.username_from_actor(row.actor) is None:
            raise Forbidden("only members of this node moderate its circles")
        if role is CircleRole.FOLLOWER:
            raise BadRequest("a member is a member or a moderator")
        now = self._clock()
        async with in_transaction():
            row.role = role
            await row.save(update_fields=["role"])
            await audit.record(
                self._uris.actor(by.username), f"circle.{role.value}", row.actor, circle.slug, now
            )
        return row

    async def requests(self, circle: Circle, member: Member) -> list[CircleMember]:
        """Pending requests to join (moderators only)."""
        await self.require_moderator(circle, member)
        return await CircleMember.filter(circle=circle, state=MembershipState.PENDING).order_by(
            "id"
        )

    async def members(self, circle: Circle) -> list[CircleMember]:
        """Accepted members, moderators and followers."""
        return await CircleMember.filter(circle=circle, state=MembershipState.ACCEPTED).order_by(
            "id"
        )

    async def decide(self, circle: Circle, member: Member, row_id: int, *, accept: bool) -> None:
        """A moderator approves or refuses a request to join."""
        await self.require_moderator(circle, member)
        row = await CircleMember.get_or_none(
            id=row_id, circle=circle, state=MembershipState.PENDING
        )
        if row is None:
            raise NotFound("no such request")
        await self._decide(circle, row, accept=accept)

    async def remove(self, circle: Circle, by: Member, row_id: int, reason: str) -> None:
        """A moderator removes a member or follower (audited); another server's actor gets
        ``Reject`` of their Follow, which ends the follow on their side."""
        await self.require_moderator(circle, by)
        row = await CircleMember.get_or_none(id=row_id, circle=circle)
        if row is None:
            raise NotFound("no such member")
        now = self._clock()
        group = self._uris.group(circle.slug)
        async with in_transaction():
            await row.delete()
            await audit.record(
                self._uris.actor(by.username),
                "circle.remove_member",
                row.actor,
                f"{circle.slug}: {reason}".strip(": "),
                now,
            )
            if row.inbox is not None and row.follow is not None:
                reject = activities.respond(
                    "Reject", new_id(group, "rejects"), group, dict(row.follow)
                )
                await publish(reject, [row.inbox], group, now)
        self._queued()

    async def _decide(self, circle: Circle, row: CircleMember, *, accept: bool) -> None:
        group = self._uris.group(circle.slug)
        now = self._clock()
        async with in_transaction():
            if accept:
                row.state = MembershipState.ACCEPTED
                await row.save(update_fields=["state"])
            else:
                await row.delete()
            if row.inbox is not None and row.follow is not None:
                kind = "Accept" if accept else "Reject"
                answer = activities.respond(
                    kind, new_id(group, kind.lower() + "s"), group, dict(row.follow)
                )
                await publish(answer, [row.inbox], group, now)
        self._queued()

    # Posts
    async def post(self, circle: Circle, member: Member, text: str) -> CirclePost:
        """A member posts to a local circle: stored, announced to members (and followers,
        when the circle is public)."""
        me = self._uris.actor(member.username)
        if not await self.is_member(circle, me):
            raise Forbidden("only the circle's members post to it")
        group = self._uris.group(circle.slug)
        await self.screen(text)
        html = text_to_html(text)
        now = self._clock()
        post_id = f"{me}/circle-posts/{uuid.uuid4().hex}"
        create = post_create(post_id, me, group, html, now, public=circle.public)
        async with in_transaction():
            post = await CirclePost.create(
                ap_id=post_id,
                circle=group,
                author=me,
                content_html=html,
                text=html_to_text(html, MAX_POST),
                public=circle.public,
                local=True,
                activity=create,
                published_at=now,
            )
            await self.announce(circle, create, public=circle.public, now=now)
        self._queued()
        return post

    async def screen(self, text: str) -> None:
        """422 when a member's post exceeds the community's limits on links and mentions, or
        matches one of its keyword filters (a circle's post is not held for review: its
        author may rephrase it)."""
        if self.guard is None:
            return
        self.guard.check_post("text", text)
        if await self.guard.screen(text) is not None:
            message = "the community's filters do not let this post through"
            raise ValidationFailed(message, details=[{"field": "text", "message": message}])

    async def posts(
        self, circle_actor: str, *, before: int | None = None, limit: int = 50
    ) -> list[CirclePost]:
        """The newest posts of a circle (ours or a remote one) as held here, older than the
        post ``before`` when given; deleted ones left out."""
        query = CirclePost.filter(circle=circle_actor, deleted_at__isnull=True)
        if before is not None:
            query = query.filter(id__lt=before)
        return await query.order_by("-id").limit(limit)

    async def remove_post(self, circle: Circle, by: Member, post_id: int, reason: str) -> None:
        """Its author or a moderator removes a post; it disappears on every node: the
        ``Delete`` (a moderator's is audited) is announced by the circle."""
        group = self._uris.group(circle.slug)
        post = await CirclePost.get_or_none(id=post_id, circle=group, deleted_at__isnull=True)
        if post is None:
            raise NotFound("no such post")
        me = self._uris.actor(by.username)
        own = post.author == me
        if not own:
            await self.require_moderator(circle, by)
        now = self._clock()
        delete = post_delete(new_id(me, "deletes"), me, post, public=post.public, summary=reason)
        async with in_transaction():
            post.deleted_at = now
            await post.save(update_fields=["deleted_at"])
            if not own:
                await audit.record(
                    me,
                    "circle.remove_post",
                    post.ap_id,
                    f"{circle.slug}: {reason}".strip(": "),
                    now,
                )
            await self.announce(circle, delete, public=post.public, now=now)
        self._queued()

    async def announce(
        self, circle: Circle, activity: dict[str, Any], *, public: bool, now: datetime
    ) -> int:
        """Have ``circle``'s group ``Announce`` ``activity``, unaltered (FEP-1b12), to the
        servers of its remote members, and of its followers too when ``public``: one delivery
        per (shared) inbox. Call it inside the transaction of the change it reports, then wake
        the delivery worker (``self._queued()``). Returns how many deliveries were queued.

        Notices build on this: any activity a circle should relay to its members goes
        through here."""
        group = self._uris.group(circle.slug)
        followers = self._uris.collection(group, "followers")
        roles = [*JOINED, CircleRole.FOLLOWER] if public else list(JOINED)
        inboxes = await CircleMember.filter(
            circle=circle, state=MembershipState.ACCEPTED, role__in=roles, inbox__isnull=False
        ).values_list("inbox", flat=True)
        if not inboxes:
            return 0
        to = [activities.AS_PUBLIC] if public else [followers]
        doc = activities.announce(
            new_id(group, "announces"), group, activity, to, [followers] if public else []
        )
        doc["audience"] = group
        return await publish(doc, [str(i) for i in inboxes], group, now)

    async def relay(self, slug: str, activity: dict[str, Any], *, public: bool) -> int:
        """:meth:`announce` for a caller without a transaction of its own (a notice published
        to a circle): queued in one transaction, the delivery worker woken. 404 for an unknown
        circle."""
        circle = await self.get(slug)
        async with in_transaction():
            queued = await self.announce(circle, activity, public=public, now=self._clock())
        self._queued()
        return queued

    # Remote circles our members joined
    async def join_remote(self, member: Member, target: str) -> Follow:
        """Join another node's circle: a ``Follow`` of its group, as Lemmy users join a
        community (answered by Accept, or Reject)."""
        actor = await self._resolve(target)
        if self._uris.username_from_actor(actor) or self._uris.group_slug_from_actor(actor):
            raise BadRequest("that is a group of this node: join it by its slug")
        try:
            document = await self._resolver.actor(actor)
        except DereferenceError as exc:
            raise NotFound(f"cannot reach {actor}: {exc}") from None
        if document.actor_type != "Group":
            raise BadRequest("that actor is not a group")
        existing = await Follow.get_or_none(
            follower=self._uris.actor(member.username), followee=actor
        )
        if existing is not None:
            return existing
        me = self._uris.actor(member.username)
        follow = activities.follow(new_id(me, "follows"), me, actor)
        now = self._clock()
        async with in_transaction():
            row = await Follow.create(
                follower=me,
                followee=actor,
                activity_id=follow["id"],
                activity=follow,
                created_at=now,
            )
            await publish(follow, [document.inbox], me, now)
        self._queued()
        return row

    async def joined_remote(self, member: Member) -> list[Follow]:
        """The other nodes' circles ``member`` joined or asked to join."""
        me = self._uris.actor(member.username)
        rows = (
            await Follow.filter(follower=me)
            .exclude(followee__startswith=self._uris.url("/"))
            .order_by("id")
        )
        joined = []
        for row in rows:
            try:
                document = await self._resolver.actor(row.followee)
            except DereferenceError:
                continue
            if document.actor_type == "Group":
                joined.append(row)
        return joined

    async def post_remote(self, member: Member, circle_actor: str, text: str) -> CirclePost:
        """Post to another node's circle our member joined: the Create goes to the circle's
        inbox, which announces it to the members (us included)."""
        me = self._uris.actor(member.username)
        if not await Follow.exists(follower=me, followee=circle_actor, state=FollowState.ACCEPTED):
            raise Forbidden("join the circle first (and wait for it to accept you)")
        try:
            document = await self._resolver.actor(circle_actor)
        except DereferenceError as exc:
            raise NotFound(f"cannot reach {circle_actor}: {exc}") from None
        await self.screen(text)
        html = text_to_html(text)
        now = self._clock()
        post_id = f"{me}/circle-posts/{uuid.uuid4().hex}"
        create = post_create(post_id, me, circle_actor, html, now, public=False)
        async with in_transaction():
            post = await CirclePost.create(
                ap_id=post_id,
                circle=circle_actor,
                author=me,
                content_html=html,
                text=html_to_text(html, MAX_POST),
                local=True,
                activity=create,
                published_at=now,
            )
            await publish(create, [document.inbox], me, now)
        self._queued()
        return post

    async def may_read_remote(self, member: Member, circle_actor: str) -> bool:
        """Whether ``member`` joined that remote circle (accepted)."""
        return await Follow.exists(
            follower=self._uris.actor(member.username),
            followee=circle_actor,
            state=FollowState.ACCEPTED,
        )


async def _no(host: str) -> bool:
    return False


def new_id(actor: str, kind: str) -> str:
    """A new activity id under ``actor`` (``.../accepts/<hex>``, ``.../announces/<hex>``)."""
    return f"{actor}/{kind}/{uuid.uuid4().hex}"


async def circles_of(uris: UriScheme, actor: str) -> frozenset[str]:
    """The circles (Group actor ids) ``actor``, one of our members, is in: ours they are an
    accepted member of, and the groups of other nodes they joined. A circle's notices and
    listings are shown to these members only."""
    slugs = await CircleMember.filter(
        actor=actor, state=MembershipState.ACCEPTED, role__in=list(JOINED)
    ).values_list("circle__slug", flat=True)
    joined = await Follow.filter(follower=actor, state=FollowState.ACCEPTED).values_list(
        "followee", flat=True
    )
    return frozenset([*(uris.group(str(slug)) for slug in slugs), *map(str, joined)])
