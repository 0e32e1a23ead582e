"""Notifications: written by the services where things happen, read and cleared by members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from tortoise.queryset import QuerySet

from activitypub.uris import UriScheme
from moderation.domains import authority_of, covers
from node.clock import Clock
from node.errors import NotFound
from node.follows.models import Follow, FollowState
from node.members.models import Member
from node.notifications.models import Notification, NotificationType
from node.relations.checks import hidden_from

MAX_PAGE = 100
# The silenced servers (each covering its subdomains) and actors, as the policy has them.
Silenced = Callable[[], Awaitable[tuple[frozenset[str], frozenset[str]]]]


class NotificationService:
    """A member's notifications, newest first."""

    def __init__(self, uris: UriScheme, clock: Clock, silenced: Silenced | None = None) -> None:
        self._uris = uris
        self._clock = clock
        self._silenced = silenced
        # Told of each notification made by :meth:`notify` (the streaming API publishes it).
        self.created: list[Callable[[Notification], Awaitable[object]]] = []

    async def notify_actor(
        self,
        actor: str,
        kind: NotificationType,
        *,
        by: str | None = None,
        listing_id: int | None = None,
        response_id: int | None = None,
    ) -> None:
        """Notify ``actor`` if they are a member here (remote people hear through their own
        server); nothing for anyone else."""
        username = self._uris.username_from_actor(actor)
        member = await Member.get_or_none(username=username) if username else None
        if member is not None:
            await self.notify(
                member.id, kind, actor=by, listing_id=listing_id, response_id=response_id
            )

    async def notify(
        self,
        member_id: int,
        kind: NotificationType,
        *,
        actor: str | None = None,
        listing_id: int | None = None,
        response_id: int | None = None,
        saved_search_id: int | None = None,
        problem_id: int | None = None,
        status_id: int | None = None,
        detail: str = "",
    ) -> Notification:
        """Record one notification (inside the caller's transaction when there is one)."""
        row = await Notification.create(
            member_id=member_id,
            type=kind,
            actor=actor,
            listing_id=listing_id,
            response_id=response_id,
            saved_search_id=saved_search_id,
            problem_id=problem_id,
            status_id=status_id,
            detail=detail,
            created_at=self._clock(),
        )
        for listener in self.created:
            await listener(row)
        return row

    async def notify_matches(
        self, matched: Sequence[tuple[int, int]], *, actor: str, listing_id: int
    ) -> None:
        """A ``saved_search.match`` per (member id, saved search id) in ``matched``, all
        about one listing, in one statement (a listing may match hundreds of searches)."""
        now = self._clock()
        await Notification.bulk_create(
            [
                Notification(
                    member_id=member_id,
                    type=NotificationType.MATCH,
                    actor=actor,
                    listing_id=listing_id,
                    saved_search_id=search_id,
                    created_at=now,
                )
                for member_id, search_id in matched
            ]
        )

    async def page(
        self,
        member: Member,
        *,
        unread_only: bool = False,
        before: int | None = None,
        limit: int = 20,
    ) -> list[Notification]:
        """Up to ``limit`` notifications older than the id ``before``, newest first; none
        caused by people the member blocked or muted, nor by silenced actors and servers
        the member does not follow."""
        query = await self._shown(member)
        if unread_only:
            query = query.filter(read_at__isnull=True)
        if before is not None:
            query = query.filter(id__lt=before)
        limit = max(1, min(limit, MAX_PAGE))
        return await query.order_by("-id").limit(limit).prefetch_related("listing", "response")

    async def unread_count(self, member: Member) -> int:
        """How many notifications the member has not read (and would be shown)."""
        return await (await self._shown(member)).filter(read_at__isnull=True).count()

    async def mark_read(self, member: Member, notification_id: int | None = None) -> int:
        """Mark one notification (404 if not the member's) or all of them read; how many."""
        query = Notification.filter(member=member, read_at__isnull=True)
        if notification_id is not None:
            if not await Notification.exists(id=notification_id, member=member):
                raise NotFound("no such notification")
            query = query.filter(id=notification_id)
        return await query.update(read_at=self._clock())

    async def shown(self, member: Member) -> QuerySet[Notification]:
        """The member's notifications they are shown (see :meth:`_shown`)."""
        return await self._shown(member)

    async def _shown(self, member: Member) -> QuerySet[Notification]:
        """The member's notifications but those caused by people they blocked or muted, and
        those of silenced actors and servers they do not follow (as Mastodon's limit does:
        accepted, not pushed on anyone who did not ask for it)."""
        query = Notification.filter(member=member)
        hidden = set(await hidden_from(member)) | await self._silenced_for(member)
        if hidden:
            query = query.exclude(actor__in=sorted(hidden))
        return query

    async def _silenced_for(self, member: Member) -> set[str]:
        if self._silenced is None:
            return set()
        servers, actors = await self._silenced()
        if not servers and not actors:  # the common case: no query
            return set()
        senders = Notification.filter(member=member, actor__not_isnull=True).distinct()
        candidates = {str(a) for a in await senders.values_list("actor", flat=True)}
        silenced = {
            actor
            for actor in candidates
            if actor in actors or any(covers(s, authority_of(actor)) for s in servers)
        }
        if not silenced:
            return set()
        followed = await Follow.filter(
            follower=self._uris.actor(member.username),
            followee__in=sorted(silenced),
            state=FollowState.ACCEPTED,
        ).values_list("followee", flat=True)
        return silenced - {str(f) for f in followed}
