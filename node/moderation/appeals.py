"""Appeals: a member asks the moderators once to reconsider a decision about them.

One appeal per decision (a unique constraint, not only a check); an appeal is answered once,
and its answer is final: there is no appeal of an appeal. Overturning reverses what can be
reversed: a suspension is lifted, a hidden listing of ours is published again; a hidden
message's text is gone for good, and a warning stays said (the decision is marked overturned).
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from moderation import audit
from moderation.models import Action, Appeal, AppealState, Decision, TargetKind
from node.clock import Clock
from node.errors import Conflict, NotFound
from node.listings.service import ListingService
from node.members.models import Member
from node.moderation.reports import notify_moderators
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService

MAX_TEXT = 2000
MAX_PAGE = 100
# Decisions against a member, which they may appeal (lifting something is not).
APPEALABLE = frozenset({Action.HIDE, Action.WARN, Action.SUSPEND})


class AppealService:
    """Members' appeals and the moderators' answers."""

    def __init__(
        self, clock: Clock, notifications: NotificationService, listings: ListingService
    ) -> None:
        self._clock = clock
        self._notifications = notifications
        self._listings = listings

    async def appeal(self, member: Member, decision_id: int, text: str) -> Appeal:
        """Appeal a decision about ``member``: 404 if there is none such, 409 if it was
        appealed already (or is not one against them)."""
        decision = await Decision.get_or_none(id=decision_id, member_id=member.id)
        if decision is None:
            raise NotFound("no such decision")
        if decision.action not in APPEALABLE or decision.overturned_at is not None:
            raise Conflict("there is nothing to appeal in this decision")
        now = self._clock()
        try:
            async with in_transaction():
                appeal = await Appeal.create(
                    decision=decision, member_id=member.id, text=text, created_at=now
                )
                await audit.record(
                    member.username, "decision.appealed", f"decision:{decision.id}", text, now
                )
                await notify_moderators(self._notifications, f"appeal of decision {decision.id}")
        except IntegrityError:  # the unique decision: appealed already, maybe just now
            raise Conflict(
                "this decision was appealed already: a decision is appealed once"
            ) from None
        return appeal

    async def latest_suspension(self, member: Member) -> Decision:
        """The suspension in force of a suspended member (what they appeal without a login)."""
        decision = (
            await Decision.filter(
                member_id=member.id, action=Action.SUSPEND, overturned_at__isnull=True
            )
            .order_by("-id")
            .first()
        )
        if decision is None or member.suspended_at is None:
            raise NotFound("this account is not suspended")
        return decision

    async def of_member(self, member: Member) -> list[Decision]:
        """Decisions about ``member``, newest first, with their appeals."""
        return (
            await Decision.filter(member_id=member.id)
            .order_by("-id")
            .limit(MAX_PAGE)
            .prefetch_related("appeal")
        )

    async def in_state(self, state: AppealState) -> list[Appeal]:
        """Appeals in ``state``, oldest first."""
        return await Appeal.filter(state=state).order_by("id").limit(MAX_PAGE)

    async def answer(
        self, moderator: Member, appeal_id: int, overturn: bool, reason: str
    ) -> Appeal:
        """Uphold or overturn the decision appealed; once."""
        appeal = await Appeal.get_or_none(id=appeal_id).prefetch_related("decision")
        if appeal is None:
            raise NotFound("no such appeal")
        if appeal.state is not AppealState.PENDING:
            raise Conflict(f"this appeal was answered already ({appeal.state.value})")
        if appeal.member_id == moderator.id:
            raise Conflict("moderators do not answer their own appeals")
        decision = appeal.decision
        now = self._clock()
        state = AppealState.OVERTURNED if overturn else AppealState.UPHELD
        async with in_transaction():
            updated = await Appeal.filter(id=appeal.id, state=AppealState.PENDING).update(
                state=state, decided_at=now, decided_by=moderator.username, answer=reason
            )
            if not updated:
                raise Conflict("this appeal was answered meanwhile")
            if overturn:
                await self._reverse(decision)
                await Decision.filter(id=decision.id).update(overturned_at=now)
            await audit.record(
                moderator.username, f"appeal.{state.value}", f"decision:{decision.id}", reason, now
            )
            verdict = "overturned" if overturn else "upheld"
            await self._notifications.notify(
                appeal.member_id,
                NotificationType.DECISION,
                detail=f"Your appeal was answered: the decision is {verdict}. {reason}"[:500],
            )
        await appeal.refresh_from_db()
        return appeal

    async def _reverse(self, decision: Decision) -> None:
        if decision.action is Action.SUSPEND:
            await Member.filter(id=decision.member_id).update(suspended_at=None)
        elif decision.action is Action.HIDE and decision.target_kind is TargetKind.LISTING:
            await self._listings.restore(decision.target)
