"""What moderators do: the queue of reports, and decisions about content, members, remote
actors and servers, each recorded as a :class:`~moderation.models.Decision` and in the
append-only audit log.

=============  ==========================================================================
action         on
=============  ==========================================================================
dismiss        a report (nothing to do)
hide           a listing (ours: withdrawn, ``Delete`` to partners; a copy: forgotten here),
               a message (its text goes; ours: ``Delete`` to the other participants)
warn           a member here (a notification with the reason)
suspend        a member here (no login, sessions revoked, their vouches discredited), a
               remote actor or a server (nothing accepted from or sent to it; follows and
               conversations with it end, the members concerned are told)
unsuspend      lifts a suspension (a member's verification is not restored)
silence        a remote actor or a server: accepted, but kept out of browse and search
unsilence      lifts it
=============  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from activitypub.uris import UriScheme
from federation.policy import FederationPolicy
from moderation import audit
from moderation.domains import authority_of, covers, normalise_domain
from moderation.errors import AlreadyBlocked, BlockError, InvalidBlock, NoSuchBlock
from moderation.models import (
    Action,
    Decision,
    DomainBlock,
    Report,
    ReportState,
    Severity,
    TargetKind,
)
from moderation.restrictions import ActorRestrictions
from node.clock import Clock
from node.conversations.models import Participant
from node.conversations.service import ConversationService
from node.errors import Conflict, NodeError, NotFound, ValidationFailed
from node.follows.models import Follow
from node.listings.service import ListingService
from node.members.models import LoginSession, Member
from node.moderation.targets import (
    Target,
    listing_target,
    local_account,
    message_target,
    one_target,
    remote_account,
)
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService
from node.verification.service import VerificationService

MAX_PAGE = 100
MAX_REASON = 1000
# Which targets each action takes.
_ACTS_ON: dict[Action, frozenset[str]] = {
    Action.HIDE: frozenset({"listing", "message"}),
    Action.WARN: frozenset({"local"}),
    Action.SUSPEND: frozenset({"local", "remote", "domain"}),
    Action.UNSUSPEND: frozenset({"local", "remote", "domain"}),
    Action.SILENCE: frozenset({"remote", "domain"}),
    Action.UNSILENCE: frozenset({"remote", "domain"}),
}


@dataclass(frozen=True)
class TargetSpec:
    """What a moderator names: exactly one of these."""

    listing: int | None = None
    message: int | None = None
    account: str | None = None
    domain: str | None = None


class ModerationService:
    """The moderators' queue and their decisions."""

    def __init__(
        self,
        uris: UriScheme,
        clock: Clock,
        *,
        notifications: NotificationService,
        verification: VerificationService,
        listings: ListingService,
        conversations: ConversationService,
        policy: FederationPolicy,
        restrictions: ActorRestrictions,
        queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._uris = uris
        self._clock = clock
        self._notifications = notifications
        self._verification = verification
        self._listings = listings
        self._conversations = conversations
        self._policy = policy
        self._restrictions = restrictions
        self._queued = queued

    # The queue
    async def queue(self, state: ReportState = ReportState.OPEN) -> list[Report]:
        """Reports in ``state``, oldest first (the open ones are the queue)."""
        return await Report.filter(state=state).order_by("id").limit(MAX_PAGE)

    async def report(self, report_id: int) -> Report:
        """One report, or 404."""
        report = await Report.get_or_none(id=report_id)
        if report is None:
            raise NotFound("no such report")
        return report

    async def dismiss(self, moderator: Member, report_id: int, reason: str) -> Decision:
        """Close a report that needs nothing."""
        report = await self._open_report(report_id)
        now = self._clock()
        async with in_transaction():
            decision = await Decision.create(
                action=Action.DISMISS,
                target_kind=report.target_kind,
                target=report.target_uri,
                report=report,
                moderator=moderator.username,
                reason=reason,
                created_at=now,
            )
            await self._close(report, ReportState.DISMISSED, moderator, now)
            await audit.record(
                moderator.username, "report.dismissed", report.target_uri, reason, now
            )
        return decision

    # Decisions
    async def decide(
        self,
        moderator: Member,
        action: Action,
        spec: TargetSpec,
        reason: str,
        report_id: int | None = None,
    ) -> Decision:
        """Take ``action`` on what ``spec`` names (closing the report when one is given)."""
        if action is Action.DISMISS:
            if report_id is None:
                raise _invalid("report", "dismiss closes a report: give its id")
            return await self.dismiss(moderator, report_id, reason)
        one_target(spec.listing, spec.message, spec.account, spec.domain)
        report = await self._open_report(report_id) if report_id is not None else None
        target, scope = await self._target(spec)
        if scope not in _ACTS_ON[action]:
            raise _invalid(target.kind.value, f"cannot {action.value} {_describe(scope)}")
        member = await self._member_of(target) if scope != "domain" else None
        if member is not None and member.id == moderator.id:
            raise _invalid(target.kind.value, "moderators do not decide about themselves")
        now = self._clock()
        async with in_transaction():
            await self._act(action, target, scope, member, moderator, reason)
            decision = await Decision.create(
                action=action,
                target_kind=target.kind,
                target=target.uri,
                member_id=member.id if member is not None else None,
                report=report,
                moderator=moderator.username,
                reason=reason,
                created_at=now,
            )
            if report is not None:
                await self._close(report, ReportState.RESOLVED, moderator, now)
            await audit.record(
                moderator.username, f"{target.kind.value}.{action.value}", target.uri, reason, now
            )
        self._queued()
        return decision

    # Domain blocks made by admins outside the moderation queue (API, command line)
    async def block_domain(
        self, by: str, domain: str, reason: str, severity: Severity = Severity.SUSPEND
    ) -> DomainBlock:
        """Suspend or silence a server as a moderator's decision would: a suspension ends
        the follows and conversations with it, telling each member concerned; audited as
        ``by``. ``BlockError`` when the block cannot be made."""
        now = self._clock()
        async with in_transaction():
            block = await self._policy.blocks.add(domain, reason, severity)
            if severity is Severity.SUSPEND:
                host = block.host
                await self._end_connections(lambda a: covers(host, authority_of(a)), host)
            await audit.record(by, f"domain.{severity.value}", block.host, block.reason, now)
        self._queued()
        return block

    async def unblock_domain(self, by: str, domain: str) -> DomainBlock:
        """Lift a domain block (follows ended by a suspension stay ended); audited."""
        async with in_transaction():
            block = await self._policy.blocks.remove(domain)
            await audit.record(by, "domain.unblock", block.host, "", self._clock())
        return block

    async def decisions(self, *, member_id: int | None = None) -> list[Decision]:
        """Decisions, newest first: all of them, or those about one member."""
        query = Decision.all() if member_id is None else Decision.filter(member_id=member_id)
        return await query.order_by("-id").limit(MAX_PAGE).prefetch_related("appeal")

    # Targets
    async def _target(self, spec: TargetSpec) -> tuple[Target, str]:
        """The target and its scope: ``listing``, ``message``, ``local`` (a member here),
        ``remote`` (another server's actor) or ``domain``."""
        if spec.listing is not None:
            return await listing_target(self._uris, spec.listing), "listing"
        if spec.message is not None:
            return await message_target(self._uris, spec.message, reader=None), "message"
        if spec.domain is not None:
            host = _normalised(spec.domain)
            return Target(TargetKind.DOMAIN, host, host, local=False), "domain"
        name = str(spec.account)
        local = await local_account(self._uris, name)
        if local is not None:
            return local, "local"
        host = authority_of(name)
        if not name.startswith(("https://", "http://")) or host in ("", self._uris.domain):
            raise _invalid("account", "a username here, or the URL of another server's actor")
        return remote_account(name), "remote"

    async def _member_of(self, target: Target) -> Member | None:
        """The member here the target is (or is by), if any: who may appeal."""
        username = self._uris.username_from_actor(target.actor)
        return await Member.get_or_none(username=username) if username else None

    # Actions
    async def _act(
        self,
        action: Action,
        target: Target,
        scope: str,
        member: Member | None,
        moderator: Member,
        reason: str,
    ) -> None:
        if action is Action.HIDE:
            await self._hide(target, member, reason)
        elif action is Action.WARN and member is not None:
            await self._notifications.notify(
                member.id, NotificationType.WARNING, detail=reason[:500]
            )
        elif scope == "local" and member is not None:
            if action is Action.SUSPEND:
                await self._suspend_member(member, moderator, reason)
            else:
                await self._unsuspend_member(member)
        elif scope == "remote":
            await self._restrict_actor(action, target.uri, reason)
        else:
            await self._block_domain(action, target.uri, reason)

    async def _hide(self, target: Target, member: Member | None, reason: str) -> None:
        if target.listing is not None:
            await self._listings.take_down(target.listing.id)
            what = f"Your listing “{target.listing.title}” was hidden by the moderators"
        else:
            assert target.message is not None
            await self._conversations.take_down(target.message)
            what = "One of your messages was hidden by the moderators"
        if member is not None:
            await self._notifications.notify(
                member.id, NotificationType.DECISION, detail=f"{what}: {reason}"[:500]
            )

    async def _suspend_member(self, member: Member, moderator: Member, reason: str) -> None:
        if member.suspended_at is not None:
            raise Conflict(f"{member.username} is suspended already")
        now = self._clock()
        await Member.filter(id=member.id).update(suspended_at=now)
        await LoginSession.filter(member_id=member.id, revoked_at__isnull=True).update(
            revoked_at=now
        )
        # A suspended voucher's word no longer counts: the cascade of verification.
        await self._verification.discredit(member, by=moderator, reason=f"suspended: {reason}")

    async def _unsuspend_member(self, member: Member) -> None:
        if member.suspended_at is None:
            raise Conflict(f"{member.username} is not suspended")
        # Login only: the verification the suspension discredited stays for managers to review.
        await Member.filter(id=member.id).update(suspended_at=None)

    async def _restrict_actor(self, action: Action, actor: str, reason: str) -> None:
        current = await self._restrictions.severity_of(actor)
        if action in (Action.SUSPEND, Action.SILENCE):
            severity = Severity.SUSPEND if action is Action.SUSPEND else Severity.SILENCE
            if current is severity:
                raise Conflict(f"{actor} is {_past(severity)} already")
            await self._restrictions.restrict(actor, severity, reason)
            if severity is Severity.SUSPEND:
                await self._end_connections(lambda a: a == actor, actor)
            return
        wanted = Severity.SUSPEND if action is Action.UNSUSPEND else Severity.SILENCE
        if current is not wanted:
            raise NotFound(f"{actor} is not {_past(wanted)}")
        await self._restrictions.lift(actor)

    async def _block_domain(self, action: Action, host: str, reason: str) -> None:
        blocks = self._policy.blocks
        try:
            if action in (Action.SUSPEND, Action.SILENCE):
                severity = Severity.SUSPEND if action is Action.SUSPEND else Severity.SILENCE
                await blocks.add(host, reason, severity)
                if severity is Severity.SUSPEND:
                    await self._end_connections(lambda a: covers(host, authority_of(a)), host)
                return
            wanted = Severity.SUSPEND if action is Action.UNSUSPEND else Severity.SILENCE
            if not await DomainBlock.exists(host=host, severity=wanted):
                raise NotFound(f"{host} is not {_past(wanted)}")
            await blocks.remove(host)
        except BlockError as exc:
            raise _block_error(exc) from None

    async def _end_connections(self, concerns: Callable[[str], bool], name: str) -> None:
        """End the follows (both ways) and the conversations with a suspended actor or server,
        and tell each member concerned, once."""
        told: set[str] = set()
        for follow in await Follow.all():
            if concerns(follow.follower) or concerns(follow.followee):
                ours = follow.followee if concerns(follow.follower) else follow.follower
                told.add(ours)
                await follow.delete()
        theirs = [p for p in await Participant.filter(local=False) if concerns(p.actor)]
        for participant in theirs:
            members = await Participant.filter(
                conversation_id=participant.conversation_id,  # type: ignore[attr-defined]
                local=True,
            ).values_list("actor", flat=True)
            told.update(str(m) for m in members)
            await participant.delete()
        detail = (
            f"Your follows and conversations with {name} ended: suspended by this node's moderators"
        )
        for actor in sorted(told):
            username = self._uris.username_from_actor(actor)
            member = await Member.get_or_none(username=username) if username else None
            if member is not None:
                await self._notifications.notify(
                    member.id, NotificationType.ENDED, detail=detail[:500]
                )

    # Reports
    async def _open_report(self, report_id: int) -> Report:
        report = await self.report(report_id)
        if report.state is not ReportState.OPEN:
            raise Conflict(f"this report is {report.state.value} already")
        return report

    async def _close(
        self, report: Report, state: ReportState, moderator: Member, now: datetime
    ) -> None:
        updated = await Report.filter(id=report.id, state=ReportState.OPEN).update(
            state=state, resolved_at=now, resolved_by=moderator.username
        )
        if not updated:  # another moderator closed it meanwhile
            raise Conflict("this report was closed meanwhile")
        report.state = state


def _normalised(domain: str) -> str:
    try:
        return normalise_domain(domain)
    except InvalidBlock as exc:
        raise _invalid("domain", str(exc)) from None


def _block_error(exc: BlockError) -> NodeError:
    if isinstance(exc, InvalidBlock):
        return _invalid(exc.field, str(exc))
    if isinstance(exc, AlreadyBlocked):
        return Conflict(str(exc))
    if isinstance(exc, NoSuchBlock):
        return NotFound(str(exc))
    return NodeError()


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        "the decision is not valid", details=[{"field": field, "message": message}]
    )


def _describe(scope: str) -> str:
    return {
        "listing": "a listing",
        "message": "a message",
        "local": "a member here",
        "remote": "another server's actor",
        "domain": "a server",
    }[scope]


def _past(severity: Severity) -> str:
    return "suspended" if severity is Severity.SUSPEND else "silenced"
