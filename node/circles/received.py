"""What other servers send about circles: joining ours (``Follow``, ``Undo``), posting to
ours (``Create(Note)``, ``Delete``), and the announces of other nodes' circles our members
joined. The rules are in docs/circles.md."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from activitypub import activities
from activitypub.actor_documents import same_host
from activitypub.listings import looks_like_listing
from activitypub.notes import PUBLIC, addressees, html_to_text
from activitypub.notices import is_notice
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import NotActedOn, TransportError
from federation.outbound import publish
from moderation.content import hrefs_of, mentioned
from moderation.domains import authority_of
from node.circles.models import (
    Circle,
    CircleMember,
    CirclePost,
    CircleRole,
    JoinPolicy,
    MembershipState,
)
from node.circles.service import MAX_POST, CircleService, new_id
from node.errors import Forbidden
from node.federated import FederatedService
from node.follows.models import Follow, FollowState
from node.groups.models import NEIGHBOURHOOD
from node.rich_text import sanitize_html


class CircleInbox(FederatedService):
    """The inbound handlers of circles, ours and those our members joined."""

    def __init__(self, *args: Any, circles: CircleService, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the circles' own service: membership, and announcing what members post
        self._circles = circles

    def register(self, dispatcher: Dispatcher) -> None:
        """Route Follow, Undo, Create(Note), Delete and Announce here (each handler leaves
        alone what is not about a circle)."""
        dispatcher.register("Follow", self.on_follow)
        dispatcher.register("Undo", self.on_undo)
        dispatcher.register("Create", self.on_create, object_type="Note")
        dispatcher.register("Delete", self.on_delete)
        dispatcher.register("Announce", self.on_announce)

    async def on_follow(self, activity: InboundActivity) -> None:
        """Someone on another server joins (or follows) one of our circles."""
        circle = await self._circle_of(activities.object_id(activity.body.get("object")))
        group = self._uris.group(circle.slug)
        remote = await self._resolver.actor(activity.actor)
        inbox = remote.shared_inbox or remote.inbox
        now = self._clock()
        row = await self._circles.membership(circle, activity.actor)
        # Members of a partner node may join when the circle allows it; anyone else may only
        # follow a public circle, read-only (its public posts, never the members' ones).
        partner = circle.partners_may_join and await self._circles.is_partner(
            authority_of(activity.actor)
        )
        answer: str | None = "Accept"
        if row is not None and row.state is MembershipState.INVITED:
            row.state = MembershipState.ACCEPTED
        elif row is not None and row.state is MembershipState.PENDING:
            answer = None  # still waiting for a moderator: the new Follow replaces the old
        elif row is not None:
            pass  # followed again (its server lost track): accepted again
        elif partner and circle.join_policy is JoinPolicy.OPEN:
            row = CircleMember(circle=circle, actor=activity.actor, created_at=now)
        elif partner and circle.join_policy is JoinPolicy.REQUEST:
            answer = None
            row = CircleMember(
                circle=circle,
                actor=activity.actor,
                created_at=now,
                state=MembershipState.PENDING,
            )
        elif not partner and circle.public:
            row = CircleMember(
                circle=circle, actor=activity.actor, created_at=now, role=CircleRole.FOLLOWER
            )
        else:
            answer = "Reject"  # a managed circle uninvited, or a circle not public
        async with in_transaction():
            if row is not None:
                row.inbox, row.follow_id, row.follow = inbox, activity.activity_id, activity.body
                try:
                    await row.save()
                except IntegrityError:
                    raise NotActedOn("the membership was recorded meanwhile") from None
            if answer is not None:
                response = activities.respond(
                    answer, new_id(group, answer.lower() + "s"), group, activity.body
                )
                await publish(response, [inbox], group, now)
        self._queued()

    async def on_undo(self, activity: InboundActivity) -> None:
        """A remote member or follower left a circle (Undo of their Follow)."""
        undone = activities.object_id(activity.body.get("object"))
        row = await CircleMember.get_or_none(follow_id=undone) if undone else None
        if row is None or row.actor != activity.actor:
            raise NotActedOn("the Undo is not of a Follow of one of our circles")
        await row.delete()

    async def on_create(self, activity: InboundActivity) -> None:
        """A remote member posts to one of our circles: stored and announced. From anyone
        who is not a member, nothing is announced."""
        note = activity.body.get("object")
        if not isinstance(note, dict):
            raise NotActedOn("the Create embeds no note")
        circle = await self._addressed_circle(note, activity.body)
        group = self._uris.group(circle.slug)
        if activities.object_id(note.get("attributedTo")) != activity.actor:
            raise NotActedOn("a post is sent by its author")
        post_id = activities.object_id(note)
        if post_id is None or not same_host(post_id, activity.actor):
            raise NotActedOn("a post's id is on its author's server")
        if not await self._circles.is_member(circle, activity.actor):
            raise NotActedOn("only the circle's members post to it")
        public = any(a in PUBLIC for a in addressees(note)) and circle.public
        now = self._clock()
        async with in_transaction():
            try:
                await self._store(
                    note, group, activity.actor, activity.body, public=public, local=False
                )
            except IntegrityError:
                raise NotActedOn("the post is held already") from None
            await self._circles.announce(circle, activity.body, public=public, now=now)
        self._queued()

    async def on_delete(self, activity: InboundActivity) -> None:
        """A remote member deleted their post to one of our circles: gone, and announced.
        An account deleted (a circle we joined, a remote member): its posts held here go."""
        target = activities.object_id(activity.body.get("object"))
        if target is not None and target == activity.actor:
            gone = await CirclePost.filter(
                Q(circle=target) | Q(author=target), local=False, deleted_at__isnull=True
            ).update(deleted_at=self._clock())
            if not gone:
                raise NotActedOn("no circle post of that account is held here")
            return
        post = (
            await CirclePost.get_or_none(ap_id=target, deleted_at__isnull=True) if target else None
        )
        if post is None or post.author != activity.actor:
            raise NotActedOn("no circle post of that author has that id")
        slug = self._uris.group_slug_from_actor(post.circle)
        circle = await Circle.get_or_none(slug=slug) if slug else None
        now = self._clock()
        async with in_transaction():
            post.deleted_at = now
            await post.save(update_fields=["deleted_at"])
            if circle is not None:
                await self._circles.announce(circle, activity.body, public=post.public, now=now)
        self._queued()

    async def on_announce(self, activity: InboundActivity) -> None:
        """Another node's circle, joined by our members, announces a post or its removal."""
        group = activity.actor
        if not await Follow.exists(
            followee=group,
            state=FollowState.ACCEPTED,
            follower__startswith=self._uris.url("/users/"),
        ):
            raise NotActedOn("no member here joined that group")
        inner = activity.body.get("object")
        if not isinstance(inner, dict):
            raise NotActedOn("the announced activity must be embedded")
        kind, author = inner.get("type"), activities.object_id(inner.get("actor"))
        if author is None:
            raise NotActedOn("the announced activity names no actor")
        if kind == "Delete":
            target = activities.object_id(inner.get("object"))
            post = await CirclePost.get_or_none(ap_id=target, circle=group) if target else None
            if post is None or post.deleted_at is not None:
                raise NotActedOn("no post of that circle has that id")
            # The circle decides what stays in it: its group's announce of a Delete (by the
            # author or a moderator) is taken, as Lemmy's communities' are.
            post.deleted_at = self._clock()
            await post.save(update_fields=["deleted_at"])
            return
        if kind != "Create":
            raise NotActedOn("only posts and their deletions are taken from a circle")
        note = inner.get("object")
        if not isinstance(note, dict) or note.get("type") != "Note":
            raise NotActedOn("the announced Create is not of a note")
        if looks_like_listing(note):
            raise NotActedOn("a listing, not a post")  # the listings' handlers take it
        if is_notice(note):
            raise NotActedOn("a notice, not a post")  # the notices' handler takes it
        addressed = {
            activities.object_id(note.get("audience")),
            activities.object_id(inner.get("audience")),
            *addressees(note),
        }
        if group not in addressed:
            # FEP-1b12: a post to a group names it (audience, or to/cc); anything else the
            # group relays is not one of its posts
            raise NotActedOn("the announced note is not addressed to the group")
        if await CirclePost.exists(ap_id=activities.object_id(note)):
            raise NotActedOn("the post is held already")
        if not same_host(author, group):
            # The group speaks for its own node's members; someone else's post is read at
            # its source, so a group cannot put words in another server's member's mouth.
            note = await self._fetched(note, author)
        if activities.object_id(note.get("attributedTo")) != author:
            raise NotActedOn("a post is its author's")
        public = any(a in PUBLIC for a in addressees(note))
        try:
            await self._store(note, group, author, inner, public=public, local=False)
        except IntegrityError:
            raise NotActedOn("the post is held already") from None

    async def _fetched(self, note: dict[str, Any], author: str) -> dict[str, Any]:
        post_id = activities.object_id(note)
        if post_id is None or not same_host(post_id, author):
            raise NotActedOn("a post's id is on its author's server")
        if self._uris.username_from_actor(author) is not None:
            raise NotActedOn("our own member's post, not held here")
        try:
            await self._check_reachable(post_id)
            fetched = await self._transport.get_json(post_id)
        except (Forbidden, TransportError) as exc:
            raise NotActedOn(f"the post cannot be read at its source: {exc}") from None
        if activities.object_id(fetched) != post_id:
            raise NotActedOn("the source serves another object under that id")
        return fetched

    async def _screened(self, html: str, note: dict[str, Any]) -> None:
        """NotActedOn when a post from another server exceeds the community's limits or
        matches a keyword filter: not stored, not announced."""
        guard = self._circles.guard
        if guard is None:
            return
        hit = await guard.screen_inbound(
            [html_to_text(html, MAX_POST)], hrefs_of(html), mentioned(note)
        )
        if hit is not None:
            raise NotActedOn(f"the post is caught by the community's rules: {hit.reason}")

    async def _store(
        self,
        note: dict[str, Any],
        circle_actor: str,
        author: str,
        activity: dict[str, Any],
        *,
        public: bool,
        local: bool,
    ) -> CirclePost:
        post_id = activities.object_id(note)
        if post_id is None:
            raise NotActedOn("the note has no id")
        content = note.get("content")
        html = sanitize_html(content if isinstance(content, str) else "")
        await self._screened(html, note)
        text = html_to_text(html, MAX_POST)
        if not text:
            raise NotActedOn("the note has no text")
        return await CirclePost.create(
            ap_id=post_id[:2048],
            circle=circle_actor,
            author=author,
            content_html=html,
            text=text,
            public=public,
            local=local,
            activity=activity,
            published_at=self._clock(),
        )

    async def _circle_of(self, actor_id: str | None) -> Circle:
        slug = self._uris.group_slug_from_actor(actor_id or "")
        circle = await Circle.get_or_none(slug=slug, deleted_at__isnull=True) if slug else None
        if circle is None:
            raise NotActedOn("the Follow is not of one of our circles")
        return circle

    async def _addressed_circle(self, note: dict[str, Any], body: dict[str, Any]) -> Circle:
        """The circle of ours a note is addressed to: its ``audience``, else in to/cc."""
        candidates = [
            activities.object_id(note.get("audience")),
            activities.object_id(body.get("audience")),
            *addressees(note),
            *addressees(body),
        ]
        for candidate in candidates:
            slug = self._uris.group_slug_from_actor(candidate or "")
            if slug is not None and slug != NEIGHBOURHOOD:
                circle = await Circle.get_or_none(slug=slug, deleted_at__isnull=True)
                if circle is not None:
                    return circle
        raise NotActedOn("the note is not addressed to one of our circles")
