"""Statuses: who sees what, and putting a status in the home timelines it belongs to."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.uris import UriScheme
from node.follows.models import Follow, FollowState
from node.members.models import Member
from node.notifications.models import Notification, NotificationType
from node.notifications.service import NotificationService
from node.statuses.models import AccountRef, Status, StatusKind, StatusTag, TimelineEntry

# Told what happened to a status ("update": new in the timelines of the members given;
# "status.update": edited; "delete": gone) and whose timelines hold it: the streaming API
# listens here. Set by the app; absent in the CLI.
Listener = Callable[[str, Status, list[int]], Awaitable[None]]


class Timelines:
    """Home timelines, written when a status arrives."""

    def __init__(self, uris: UriScheme) -> None:
        self._uris = uris
        self.listeners: list[Listener] = []
        # Set by the app: members mentioned in a status are notified (absent in the CLI).
        self.notifications: NotificationService | None = None

    async def fan_out(self, status: Status, member_ids: Iterable[int]) -> list[int]:
        """File a new or changed ``status`` under its hashtags, put it in the home timelines
        of ``member_ids`` (once each, whatever is called twice) and tell the listeners; the
        ids that got it now. Every stored status goes through here."""
        await self._file_tags(status)
        await self._notify_mentioned(status)
        if status.attachments and not status.has_media:
            status.has_media = True
            await Status.filter(id=status.id).update(has_media=True)
        wanted = sorted(set(member_ids))
        if not wanted:
            return []
        have = set(
            await TimelineEntry.filter(status_id=status.id, member_id__in=wanted).values_list(
                "member_id", flat=True
            )
        )
        fresh = [m for m in wanted if m not in have]
        if fresh:
            try:
                async with in_transaction():  # a savepoint when nested (see account_id)
                    await TimelineEntry.bulk_create(
                        [TimelineEntry(member_id=m, status_id=status.id) for m in fresh]
                    )
            except IntegrityError:
                # A concurrent fan-out of the same status won a row: add the rest one by one.
                for m in fresh:
                    with contextlib.suppress(IntegrityError):
                        async with in_transaction():
                            await TimelineEntry.create(member_id=m, status_id=status.id)
        await self._tell("update", status, fresh)
        return fresh

    async def edited(self, status: Status) -> None:
        """``status`` changed (saved already): refile it, tell whoever holds it."""
        await self._file_tags(status)
        await self._tell("status.update", status, await self._holders(status))

    async def remove(self, status: Status) -> None:
        """Delete ``status`` (and its place in every timeline) and tell whoever held it."""
        holders = await self._holders(status)
        await status.delete()
        await self._tell("delete", status, holders)

    async def _holders(self, status: Status) -> list[int]:
        ids = await TimelineEntry.filter(status_id=status.id).values_list("member_id", flat=True)
        return [int(i) for i in ids]  # type: ignore[call-overload]

    async def _tell(self, event: str, status: Status, member_ids: list[int]) -> None:
        for listener in self.listeners:
            await listener(event, status, member_ids)

    async def _notify_mentioned(self, status: Status) -> None:
        """A ``mention`` notification, once, for each member here a post names. Not for a
        direct message: it is counted unread in its conversation (where apps and the pages
        show it), and a message about a listing has the listing's own notification."""
        if self.notifications is None or not status.mentions:
            return
        if status.kind == StatusKind.MESSAGE:
            return
        named = await self.members_named(m for m in status.mentions if m != status.author)
        if not named:
            return
        told = set(
            await Notification.filter(
                status_id=status.id, type=NotificationType.MENTION, member_id__in=named
            ).values_list("member_id", flat=True)
        )
        for member_id in named:
            if member_id not in told:
                await self.notifications.notify(
                    member_id, NotificationType.MENTION, actor=status.author, status_id=status.id
                )

    async def _file_tags(self, status: Status) -> None:
        names = sorted({t[:100] for t in status.tags if isinstance(t, str) and t})
        await StatusTag.filter(status_id=status.id).exclude(name__in=names).delete()
        have = set(await StatusTag.filter(status_id=status.id).values_list("name", flat=True))
        fresh = [StatusTag(name=n, status_id=status.id) for n in names if n not in have]
        if fresh:
            with contextlib.suppress(IntegrityError):  # filed meanwhile by a concurrent call
                async with in_transaction():  # a savepoint when nested (see account_id)
                    await StatusTag.bulk_create(fresh)

    async def followers_here(self, actor: str) -> list[int]:
        """The members of this node whose follow of ``actor`` was accepted."""
        # Asked of every public post another server sends us, most of them from accounts
        # nobody here follows: one written-out statement, as the ORM's query building cost
        # more than the query (docs/performance.md, "Inbox ingestion").
        db = Follow._meta.db
        sql = _FOLLOWERS[db.capabilities.dialect == "postgres"]
        rows = await db.execute_query_dict(sql, [actor, FollowState.ACCEPTED.value])
        return await self.members_named(str(row["follower"]) for row in rows)

    async def members_named(self, actors: Iterable[str]) -> list[int]:
        """The members of this node among ``actors`` (actor ids)."""
        usernames = [u for u in (self._local_username(a) for a in actors) if u]
        if not usernames:
            return []
        ids = await Member.filter(username__in=usernames, suspended_at=None).values_list(
            "id", flat=True
        )
        return [int(i) for i in ids]  # type: ignore[call-overload]

    def is_local(self, actor: str) -> bool:
        """Whether ``actor`` is one of this node's members' actor ids."""
        return self._local_username(actor) is not None

    def _local_username(self, actor: str) -> str | None:
        return self._uris.username_from_actor(actor)


# The accepted follows of an account: SQLite's placeholders, then PostgreSQL's.
_FOLLOWERS = (
    "SELECT follower FROM follow WHERE followee = ? AND state = ?",
    "SELECT follower FROM follow WHERE followee = $1 AND state = $2",
)


async def account_id(actor: str) -> int:
    """The client API's account id for ``actor``, made the first time it is asked for."""
    ref = await AccountRef.get_or_none(actor=actor)
    if ref is not None:
        return ref.id
    try:
        # A savepoint when nested: on PostgreSQL a failed insert aborts the enclosing transaction.
        async with in_transaction():
            ref = await AccountRef.create(actor=actor)
    except IntegrityError:  # made meanwhile by another request
        ref = await AccountRef.get(actor=actor)
    return ref.id


async def account_ids(actors: Iterable[str]) -> dict[str, int]:
    """:func:`account_id` for many actors at once."""
    wanted = set(actors)
    found = dict(await AccountRef.filter(actor__in=list(wanted)).values_list("actor", "id"))
    for actor in wanted - found.keys():
        found[actor] = await account_id(actor)
    return {str(k): int(v) for k, v in found.items()}
