"""Reports: what members report, what other servers report to us (``Flag``), and the Flags
we send on to the servers where reported content lives.

A member's report of another server's listing, message or account goes to that server as a
``Flag`` from our Application actor (:mod:`activitypub.reports`), so the member stays
anonymous there; only when they agree (``identify``) does the comment name them. Flags other
servers send land in the moderators' queue beside our members' reports. Both are rate-limited:
per member, and per sending server (a flood from one server is set aside as ``ignored``, with
the reason, and takes nothing from the others).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from tortoise.transactions import in_transaction

from activitypub.errors import FlagMalformed
from activitypub.reports import build_flag, read_flag
from activitypub.uris import UriScheme
from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import DereferenceError, NotActedOn
from federation.outbound import publish
from federation.policy import FederationPolicy
from federation.transport import Transport
from moderation import audit
from moderation.domains import authority_of
from moderation.models import Category, Report, TargetKind
from node.errors import TooManyRequests, ValidationFailed
from node.federated import Clock, FederatedService
from node.members.models import Member, Role
from node.moderation.targets import (
    Target,
    listing_target,
    local_account,
    message_target,
    one_target,
    owned_by_us,
    remote_account,
)
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService
from node.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)
MAX_COMMENT = 1000
MAX_PAGE = 100


async def notify_moderators(notifications: NotificationService, detail: str) -> None:
    """Tell every moderator and admin that the queue has something new."""
    staff = await Member.filter(role__in=[Role.MODERATOR, Role.ADMIN], suspended_at__isnull=True)
    for member in staff:
        await notifications.notify(member.id, NotificationType.REPORT, detail=detail[:500])


class ReportService(FederatedService):
    """Members' reports, and the Flags other servers send us."""

    def __init__(
        self,
        uris: UriScheme,
        resolver: ActorResolver,
        transport: Transport,
        clock: Clock,
        *,
        notifications: NotificationService,
        limiter: SlidingWindowLimiter,
        flag_limiter: SlidingWindowLimiter,
        queued: Callable[[], None] = lambda: None,
        policy: FederationPolicy | None = None,
    ) -> None:
        super().__init__(uris, resolver, transport, clock, queued, policy)
        self.notifications = notifications
        # members' reports, per member; Flags, per sending server
        self.limiter = limiter
        self.flag_limiter = flag_limiter

    def register(self, dispatcher: Dispatcher) -> None:
        """Receive Flags from other servers."""
        dispatcher.register("Flag", self.on_flag)

    # Members
    async def report(
        self,
        member: Member,
        *,
        listing: int | None = None,
        message: int | None = None,
        account: str | None = None,
        category: Category,
        comment: str,
        forward: bool = True,
        identify: bool = False,
    ) -> Report:
        """Report a listing, a message or an account; content of another server is sent on to
        it as a Flag (unless ``forward`` is false), naming the member only with ``identify``.
        """
        one_target(listing, message, account)
        me = self._uris.actor(member.username)
        # Counted before any lookup: a script probing ids spends its reports too.
        self.limiter.hit(f"member:{member.id}")
        if listing is not None:
            target = await listing_target(self._uris, listing)
        elif message is not None:
            target = await message_target(self._uris, message, reader=me)
        else:
            target = await self._account(str(account))
        if target.actor == me:
            raise ValidationFailed(
                "you cannot report yourself",
                details=[{"field": target.kind.value, "message": "is yours"}],
            )
        now = self._clock()
        inbox = None if target.local or not forward else await self._inbox_of(target.actor)
        async with in_transaction():
            report = await Report.create(
                reporter_member_id=member.id,
                target_kind=target.kind,
                target_uri=target.uri,
                target_actor=target.actor,
                objects=list(dict.fromkeys([target.actor, target.uri])),
                category=category,
                comment=comment,
                identified=identify and inbox is not None,
                created_at=now,
            )
            await audit.record(
                member.username, "report.created", target.uri, f"{category.value}", now
            )
            if inbox is not None:
                await self._forward(report, target, member, identify, inbox, now)
            await notify_moderators(self.notifications, f"report {report.id}: {category.value}")
        if inbox is not None:
            self._queued()
        return report

    async def mine(self, member: Member) -> list[Report]:
        """The member's own reports, newest first."""
        return await Report.filter(reporter_member_id=member.id).order_by("-id").limit(MAX_PAGE)

    async def _account(self, name: str) -> Target:
        local = await local_account(self._uris, name)
        if local is not None:
            return local
        return remote_account(await self._resolve(name))

    async def _inbox_of(self, actor: str) -> str | None:
        """Where the Flag goes: the shared inbox of the reported account's server (its own
        inbox when it has none); ``None`` when the server cannot be reached now (the report
        stays ours, in our moderators' queue)."""
        await self._check_reachable(actor)
        try:
            remote = await self._resolver.actor(actor)
        except DereferenceError as exc:
            log.info("report of %s not forwarded: %s", actor, exc)
            return None
        return remote.shared_inbox or remote.inbox

    async def _forward(
        self,
        report: Report,
        target: Target,
        member: Member,
        identify: bool,
        inbox: str,
        now: datetime,
    ) -> None:
        comment = report.comment
        if identify:
            handle = f"@{member.username}@{self._uris.domain}"
            comment = f"{comment}\n\n(Reported by {handle}, who agreed to be named.)".strip()
        flag_id = self._uris.url(f"/reports/{uuid.uuid4().hex}")
        objects = (
            [target.actor] if target.kind is TargetKind.ACCOUNT else [target.actor, target.uri]
        )
        flag = build_flag(flag_id, self._uris.instance_actor, objects, comment)
        await publish(flag, [inbox], self._uris.instance_actor, now)
        report.activity_id, report.forwarded_to = flag_id, authority_of(inbox)
        await report.save(update_fields=["activity_id", "forwarded_to"])
        await audit.record("system", "report.forwarded", target.uri, report.forwarded_to, now)

    # Other servers
    async def on_flag(self, activity: InboundActivity) -> None:
        """A Flag from another server: into the queue, once, if it names something of ours."""
        host = authority_of(activity.actor)
        try:
            flag = read_flag(activity.body)
        except FlagMalformed as exc:
            raise NotActedOn(str(exc)) from None
        if await Report.exists(activity_id=activity.activity_id):
            return  # handled already (a retry)
        try:
            self.flag_limiter.hit(f"host:{host}")
        except TooManyRequests:
            raise NotActedOn(f"rate limited: too many reports from {host}") from None
        found = [t for uri in flag.objects if (t := await owned_by_us(self._uris, uri))]
        if not found:
            raise NotActedOn("the report names nothing on this node")
        content = [t for t in found if t.kind is not TargetKind.ACCOUNT]
        main = content[0] if content else found[0]
        now = self._clock()
        async with in_transaction():
            report = await Report.create(
                reporter_actor=activity.actor,
                origin_host=host,
                activity_id=activity.activity_id,
                target_kind=main.kind,
                target_uri=main.uri,
                target_actor=main.actor,
                objects=[t.uri for t in found],
                category=Category.OTHER,
                comment=flag.comment,
                created_at=now,
            )
            await audit.record(f"remote:{host}", "report.received", main.uri, flag.comment, now)
            await notify_moderators(self.notifications, f"report {report.id}: from {host}")
