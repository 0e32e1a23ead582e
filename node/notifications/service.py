"""Notifications: written by the services where things happen, read and cleared by members."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.queryset import QuerySet

from activitypub.uris import UriScheme
from node.clock import Clock
from node.errors import NotFound
from node.members.models import Member
from node.notifications.models import Notification, NotificationType
from node.relations.checks import hidden_from

MAX_PAGE = 100


class NotificationService:
    """A member's notifications, newest first."""

    def __init__(self, uris: UriScheme, clock: Clock) -> None:
        self._uris = uris
        self._clock = clock

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
        detail: str = "",
    ) -> Notification:
        """Record one notification (inside the caller's transaction when there is one)."""
        return await Notification.create(
            member_id=member_id,
            type=kind,
            actor=actor,
            listing_id=listing_id,
            response_id=response_id,
            saved_search_id=saved_search_id,
            detail=detail,
            created_at=self._clock(),
        )

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
        caused by people the member blocked or muted."""
        query = await _shown(member)
        if unread_only:
            query = query.filter(read_at__isnull=True)
        if before is not None:
            query = query.filter(id__lt=before)
        limit = max(1, min(limit, MAX_PAGE))
        return await query.order_by("-id").limit(limit).prefetch_related("listing", "response")

    async def unread_count(self, member: Member) -> int:
        """How many notifications the member has not read (and would be shown)."""
        return await (await _shown(member)).filter(read_at__isnull=True).count()

    async def mark_read(self, member: Member, notification_id: int | None = None) -> int:
        """Mark one notification (404 if not the member's) or all of them read; how many."""
        query = Notification.filter(member=member, read_at__isnull=True)
        if notification_id is not None:
            if not await Notification.exists(id=notification_id, member=member):
                raise NotFound("no such notification")
            query = query.filter(id=notification_id)
        return await query.update(read_at=self._clock())


async def _shown(member: Member) -> QuerySet[Notification]:
    """The member's notifications but those caused by people they blocked or muted."""
    query = Notification.filter(member=member)
    if hidden := await hidden_from(member):
        query = query.exclude(actor__in=list(hidden))
    return query
