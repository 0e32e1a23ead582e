"""Problem reports: a member reports, whoever handles the category acts, the member follows.

Routing (``[problems]`` settings): each category goes to this node's managers (and admins),
or to a partner node (a municipality) as a ``Create`` of a problem object
(:mod:`activitypub.problems`). Only an **active** partner takes reports: routing to any other
host is refused when the member reports (409), so nothing waits for a node that will not act.

Identity policy (``problems.share_reporter``): by default a remote handler learns only that a
resident of this node reported (the object is attributed to, and sent by, this node's actor,
as our Flags are); with ``share_reporter = true`` it is attributed to the member's actor.

Every change the handler makes (status, reason, comments) goes back to the reporter's node as
an ``Update`` of the problem object, from the handler's node alone: an ``Update`` of one of
our problems by any other server is not acted on. The reporter and the members who said
"me too" are notified.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from activitypub import problems as ap
from activitypub.uris import UriScheme
from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import NotActedOn
from federation.models import Partnership, PartnershipState
from federation.outbound import publish
from federation.policy import FederationPolicy
from federation.transport import Transport
from moderation import audit
from moderation.domains import authority_of
from moderation.governance import SharedKind
from node.config import MANAGERS, CommunitySettings, ProblemSettings
from node.errors import Conflict, Forbidden, NotFound, TooManyRequests, ValidationFailed
from node.federated import Clock, FederatedService
from node.listings.places import distance_km
from node.media.models import Media
from node.media.render import media_to_ap
from node.media.service import MediaService
from node.members.models import Member, Role
from node.moderation.safety import ContentGuard, Creation
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService
from node.problems.models import (
    Problem,
    ProblemComment,
    ProblemMeToo,
    ProblemStatus,
)
from node.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)
MAX_TEXT = 5000
MAX_COMMENT = 5000
MAX_PHOTOS = 4
MAX_PAGE = 100
# What a handler may set (``submitted`` is only where a report starts).
HANDLER_STATUSES = (
    ProblemStatus.RECEIVED,
    ProblemStatus.IN_PROGRESS,
    ProblemStatus.RESOLVED,
    ProblemStatus.REJECTED,
)


@dataclass(frozen=True)
class NewProblem:
    """What a member (or an Open311 client) reports."""

    category: str
    text: str
    latitude: float | None = None
    longitude: float | None = None
    photos: tuple[str, ...] = ()
    public: bool = True
    address: str = ""


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": message}])


class ProblemService(FederatedService):
    """Members' problem reports, the handling of them here, and the activities between the
    reporter's node and the handler's."""

    def __init__(
        self,
        uris: UriScheme,
        resolver: ActorResolver,
        transport: Transport,
        clock: Clock,
        *,
        settings: ProblemSettings,
        community: CommunitySettings,
        notifications: NotificationService,
        media: MediaService | None,
        guard: ContentGuard,
        received_limiter: SlidingWindowLimiter | None = None,
        queued: Callable[[], None] = lambda: None,
        policy: FederationPolicy | None = None,
    ) -> None:
        super().__init__(uris, resolver, transport, clock, queued, policy)
        # reports received per partner node: a flood from one is set aside, not stored
        self._received_limiter = received_limiter
        self.settings = settings
        self.community = community
        self._notifications = notifications
        self._media = media
        self._guard = guard

    def register(self, dispatcher: Dispatcher) -> None:
        """Receive problems (as their handler) and changes to them (as the reporter's node)."""
        dispatcher.register("Create", self.on_create, object_type="Note")
        dispatcher.register("Update", self.on_update, object_type="Note")

    # Categories
    def handled_categories(self) -> list[str]:
        """The categories this node's managers handle (Open311's services)."""
        return [c for c in self.settings.categories if self.settings.handler_of(c) == MANAGERS]

    # Reporting
    async def report(self, member: Member, new: NewProblem) -> Problem:
        """File ``new`` for ``member``: stored, then handled here or sent to the partner node
        the category is routed to. 422 for a bad category, place or photos; 409 when the
        category goes to a node that is not an active partner; 429 past the hourly limit."""
        self._check_category(new.category)
        self._check_place(new.latitude, new.longitude)
        if len(new.photos) > MAX_PHOTOS:
            raise _invalid("photos", f"at most {MAX_PHOTOS} photos")
        self._guard.check_post("text", new.text)
        handler = self.settings.handler_of(new.category)
        partner = None if handler == MANAGERS else await self._active_partner(handler)
        if partner is None and handler != MANAGERS:
            raise Conflict(
                f"problems of category {new.category!r} go to {handler}, which is not an "
                "active partner of this node: ask an admin to fix [problems] routes"
            )
        if partner is not None:
            await self._check_reachable(partner.peer_host)  # 403: blocked, local mode
            # The governance policy holds a report like a message (what it cannot tell apart
            # is held to the strictest rule): say so now rather than let the delivery die.
            refusal = await self._sharing_refusal(SharedKind.MESSAGES, partner.peer_actor)
            if refusal is not None:
                raise Conflict(
                    f"problems of category {new.category!r} cannot go to {handler}: {refusal}"
                )
        me = self._uris.actor(member.username)
        photos: list[Media] = []
        if new.photos:
            if self._media is None:
                raise _invalid("photos", "this node takes no photos")
            photos = await self._media.claim(me, list(new.photos), field="photos")
        self._guard.count(Creation.PROBLEM, member)
        now = self._clock()
        async with in_transaction():
            problem = await Problem.create(
                ap_id=self._uris.url(f"/problems/{uuid.uuid4().hex}"),
                reporter=member,
                handler_host=None if partner is None else partner.peer_host,
                handled_here=partner is None,
                category=new.category,
                text=new.text,
                latitude=new.latitude,
                longitude=new.longitude,
                address=new.address,
                public=new.public,
                created_at=now,
                updated_at=now,
            )
            if photos and self._media is not None:
                await self._media.attach_to_problem(photos, problem.id)
            await audit.record(
                member.username, "problem.reported", problem.ap_id, problem.category, now
            )
            if partner is None:
                await self._notify_handlers(problem)
            else:
                await self._send_create(problem, member, partner, photos)
        if partner is not None:
            self._queued()
        return problem

    async def create_handled(self, new: NewProblem, *, open311_key: int) -> Problem:
        """A request an Open311 client submitted: a problem handled here, with no member
        behind it (the client's key is kept)."""
        if new.category not in self.handled_categories():
            raise _invalid("service_code", f"{new.category!r} is not a service of this node")
        self._check_place(new.latitude, new.longitude)
        now = self._clock()
        async with in_transaction():
            problem = await Problem.create(
                ap_id=self._uris.url(f"/problems/{uuid.uuid4().hex}"),
                open311_key=open311_key,
                handled_here=True,
                category=new.category,
                text=new.text,
                latitude=new.latitude,
                longitude=new.longitude,
                address=new.address,
                public=True,
                created_at=now,
                updated_at=now,
            )
            await self._notify_handlers(problem)
        return problem

    def _check_category(self, category: str) -> None:
        if category not in self.settings.categories:
            raise _invalid("category", f"must be one of {', '.join(self.settings.categories)}")

    def _check_place(self, latitude: float | None, longitude: float | None) -> None:
        if (latitude is None) != (longitude is None):
            raise _invalid("latitude", "latitude and longitude go together")
        centre_lat, centre_lon = self.community.latitude, self.community.longitude
        if latitude is None or longitude is None or centre_lat is None or centre_lon is None:
            return
        away = distance_km(centre_lat, centre_lon, latitude, longitude)
        limit = self.settings.max_distance_km
        if away > limit:
            raise _invalid(
                "latitude",
                f"the place is {away:.1f} km from the community's centre: at most {limit:g} km "
                "(problems.max_distance_km)",
            )

    async def _active_partner(self, host: str) -> Partnership | None:
        return await Partnership.get_or_none(peer_host=host, state=PartnershipState.ACTIVE)

    async def _send_create(
        self, problem: Problem, member: Member, partner: Partnership, photos: Sequence[Media]
    ) -> None:
        note = self._note(problem, member, partner.peer_actor, photos, me_too=0)
        activity = ap.wrap("Create", f"{problem.ap_id}#create", self._uris.instance_actor, note)
        await publish(
            activity,
            [partner.peer_inbox],
            self._uris.instance_actor,
            problem.created_at,
            partners_only=True,
        )

    async def document(self, problem: Problem) -> dict[str, Any]:
        """One of our members' problems as its id serves it (the object the handler got,
        with today's status and "me too" count)."""
        partner = None
        if problem.handler_host is not None:
            partner = await Partnership.get_or_none(peer_host=problem.handler_host)
        reporter = None
        if self.settings.share_reporter and problem.reporter_id is not None:  # type: ignore[attr-defined]
            reporter = await Member.get_or_none(id=problem.reporter_id)  # type: ignore[attr-defined]
        photos = await Media.filter(problem_id=problem.id).order_by("position")
        to = self._uris.instance_actor if partner is None else partner.peer_actor
        me_too = await ProblemMeToo.filter(problem_id=problem.id).count()
        return {"@context": ap.CONTEXT, **self._note(problem, reporter, to, photos, me_too)}

    def _note(
        self,
        problem: Problem,
        reporter: Member | None,
        to: str,
        photos: Sequence[Media],
        me_too: int,
    ) -> dict[str, Any]:
        """The problem as its handler gets it: by the reporter only when the community's
        ``share_reporter`` lets their identity go, else by this node's own actor."""
        shown = reporter is not None and self.settings.share_reporter
        return ap.build_problem(
            problem_id=problem.ap_id,
            attributed_to=self._uris.actor(reporter.username)
            if shown and reporter is not None
            else self._uris.instance_actor,
            to=to,
            category=problem.category,
            text=problem.text,
            latitude=problem.latitude,
            longitude=problem.longitude,
            photos=[media_to_ap(m, self._uris) for m in photos],
            public=problem.public,
            status=problem.status.value,
            me_too=me_too,
            published=problem.created_at,
        )

    # Reading
    async def mine(self, member: Member) -> list[Problem]:
        """The member's own reports, newest first."""
        return await Problem.filter(reporter_id=member.id).order_by("-id").limit(MAX_PAGE)

    async def public(self, *, category: str | None = None) -> list[Problem]:
        """Public problems our members reported, newest first."""
        query = Problem.filter(public=True, reporter_id__not_isnull=True)
        if category:
            query = query.filter(category=category)
        return await query.order_by("-id").limit(MAX_PAGE)

    async def similar(self, category: str, latitude: float, longitude: float) -> list[Problem]:
        """Open public problems of ``category`` near a point (``problems.similar_radius_m``),
        nearest first: a member may say "me too" rather than report it again."""
        self._check_category(category)
        open_ = [s for s in ProblemStatus if s.is_open]
        rows = await Problem.filter(
            public=True, category=category, status__in=open_, latitude__not_isnull=True
        ).limit(1000)
        radius_km = self.settings.similar_radius_m / 1000
        near = [
            (distance_km(latitude, longitude, p.latitude, p.longitude), p)
            for p in rows
            if p.latitude is not None and p.longitude is not None
        ]
        return [p for d, p in sorted(near, key=lambda x: x[0]) if d <= radius_km][:20]

    async def visible(self, member: Member, problem_id: int) -> Problem:
        """A problem the member may see (public, theirs, or one staff handle here), or 404."""
        problem = await Problem.get_or_none(id=problem_id)
        if problem is None:
            raise NotFound("no such problem")
        staff = member.role in (Role.ADMIN, Role.MANAGER)
        mine = problem.reporter_id == member.id  # type: ignore[attr-defined]
        if not (problem.public or mine or (staff and problem.handled_here)):
            raise NotFound("no such problem")
        return problem

    async def details(self, problem: Problem) -> tuple[list[Media], list[ProblemComment], int]:
        """A problem's photos, comments and "me too" count (ours and the reporter node's)."""
        photos = await Media.filter(problem_id=problem.id).order_by("position")
        comments = await ProblemComment.filter(problem_id=problem.id).order_by("id")
        me_too = await ProblemMeToo.filter(problem_id=problem.id).count()
        return list(photos), list(comments), me_too + problem.remote_me_too

    async def me_too(self, member: Member, problem_id: int) -> Problem:
        """The member has the same problem: counted once; the handler's node hears of it."""
        problem = await self.visible(member, problem_id)
        if not problem.public:
            raise NotFound("no such problem")
        if problem.reporter_id == member.id:  # type: ignore[attr-defined]
            raise Conflict("this is your own report")
        if not problem.status.is_open:
            raise Conflict("this problem is closed")
        if await ProblemMeToo.exists(problem_id=problem.id, member_id=member.id):
            return problem
        now = self._clock()
        async with in_transaction():
            await ProblemMeToo.create(problem=problem, member=member, created_at=now)
            sent = await self._send_me_too(problem)
        if sent:
            self._queued()
        return problem

    async def _send_me_too(self, problem: Problem) -> bool:
        """Tell the handler's node how many of our members have this problem."""
        if problem.handler_host is None or problem.reporter_id is None:  # type: ignore[attr-defined]
            return False
        partner = await self._active_partner(problem.handler_host)
        if partner is None:
            return False
        photos = await Media.filter(problem_id=problem.id).order_by("position")
        reporter = await Member.get(id=problem.reporter_id)  # type: ignore[attr-defined]
        me_too = await ProblemMeToo.filter(problem_id=problem.id).count()
        note = self._note(problem, reporter, partner.peer_actor, photos, me_too)
        activity_id = self._uris.url(f"/problems/updates/{uuid.uuid4().hex}")
        activity = ap.wrap("Update", activity_id, self._uris.instance_actor, note)
        now = self._clock()
        await publish(
            activity, [partner.peer_inbox], self._uris.instance_actor, now, partners_only=True
        )
        return True

    # Handling
    async def handled(
        self,
        *,
        status: Sequence[ProblemStatus] | None = None,
        category: str | None = None,
        since_id: int | None = None,
        limit: int = MAX_PAGE,
    ) -> list[Problem]:
        """Problems this node handles (our members', other nodes', Open311 clients'),
        newest first."""
        query = Problem.filter(handled_here=True)
        if status:
            query = query.filter(status__in=list(status))
        if category:
            query = query.filter(category=category)
        return await query.order_by("-id").limit(max(1, min(limit, 1000)))

    async def handled_one(self, problem_id: int) -> Problem:
        """A problem this node handles, or 404."""
        problem = await Problem.get_or_none(id=problem_id, handled_here=True)
        if problem is None:
            raise NotFound("no such problem handled here")
        return problem

    async def set_status(
        self, problem_id: int, status: ProblemStatus, reason: str, *, by: str
    ) -> Problem:
        """A handler changes a problem's status (``rejected`` needs a reason); the reporter
        (and whoever said "me too") hears of it, on this node or theirs."""
        if status not in HANDLER_STATUSES:
            raise _invalid("status", f"must be one of {', '.join(HANDLER_STATUSES)}")
        if status is ProblemStatus.REJECTED and not reason.strip():
            raise _invalid("reason", "a rejection needs a reason")
        problem = await self.handled_one(problem_id)
        if (problem.status, problem.status_reason) == (status, reason):
            return problem  # nothing changes: nobody is told twice
        now = self._clock()
        async with in_transaction():
            problem.status, problem.status_reason, problem.updated_at = status, reason, now
            await problem.save(update_fields=["status", "status_reason", "updated_at"])
            await audit.record(by, "problem.status", problem.ap_id, status.value, now)
            sent = await self._changed(problem, NotificationType.PROBLEM_STATUS)
        if sent:
            self._queued()
        return problem

    async def comment(self, problem_id: int, text: str, *, by: str) -> Problem:
        """A handler comments on a problem; it goes where the status changes go."""
        if not text.strip():
            raise _invalid("text", "must not be empty")
        problem = await self.handled_one(problem_id)
        now = self._clock()
        async with in_transaction():
            await ProblemComment.create(
                problem=problem, author_name=self.community.name, text=text, created_at=now
            )
            problem.updated_at = now
            await problem.save(update_fields=["updated_at"])
            await audit.record(by, "problem.comment", problem.ap_id, "", now)
            sent = await self._changed(problem, NotificationType.PROBLEM_COMMENT)
        if sent:
            self._queued()
        return problem

    async def _changed(self, problem: Problem, kind: NotificationType) -> bool:
        """After a change here: notify our members who follow the problem and, for a report
        another node sent, send that node the ``Update``. Whether something was queued."""
        # Our own members who follow it: its reporter, or who said "me too" (on a report
        # another node sent, only the latter).
        await self._notify_followers(problem, kind)
        if problem.origin_host is None:
            return False
        partner = await self._active_partner(problem.origin_host)
        if partner is None:
            log.info("problem %s changed; %s is no partner now", problem.id, problem.origin_host)
            return False
        comments = await ProblemComment.filter(problem_id=problem.id).order_by("id")
        note = ap.build_change(
            problem_id=problem.ap_id,
            handler=self._uris.instance_actor,
            to=partner.peer_actor,
            category=problem.category,
            status=problem.status.value,
            reason=problem.status_reason,
            comments=[ap.ProblemComment(c.text, c.created_at, c.author_name) for c in comments],
            updated=problem.updated_at,
        )
        activity_id = self._uris.url(f"/problems/updates/{uuid.uuid4().hex}")
        activity = ap.wrap("Update", activity_id, self._uris.instance_actor, note)
        await publish(
            activity,
            [partner.peer_inbox],
            self._uris.instance_actor,
            problem.updated_at,
            partners_only=True,
        )
        return True

    async def _notify_followers(self, problem: Problem, kind: NotificationType) -> None:
        detail = f"{problem.category}: {problem.status.value}"
        if problem.status_reason:
            detail += f" ({problem.status_reason})"
        members = [
            m
            for m in await ProblemMeToo.filter(problem_id=problem.id).values_list(
                "member_id", flat=True
            )
        ]
        reporter = problem.reporter_id  # type: ignore[attr-defined]
        for member_id in dict.fromkeys([reporter, *members]):
            if member_id is not None:
                await self._notifications.notify(
                    int(member_id), kind, problem_id=problem.id, detail=detail[:500]
                )

    async def _notify_handlers(self, problem: Problem) -> None:
        staff = await Member.filter(role__in=[Role.MANAGER, Role.ADMIN], suspended_at__isnull=True)
        for member in staff:
            await self._notifications.notify(
                member.id,
                NotificationType.PROBLEM_NEW,
                problem_id=problem.id,
                detail=f"problem {problem.id}: {problem.category}",
            )

    # Other nodes
    async def on_create(self, activity: InboundActivity) -> None:
        """A partner node's member reported a problem we handle: store it once, tell our
        handlers."""
        obj = activity.body.get("object")
        if not ap.is_problem(obj):
            raise NotActedOn("not a problem report")
        try:
            received = ap.read_problem(obj)
        except ap.ProblemMalformed as exc:
            raise NotActedOn(str(exc)) from None
        host = authority_of(activity.actor)
        if authority_of(received.id) != host:
            raise NotActedOn("the problem's id is not on the sending node")
        partner = await self._active_partner(host)
        if partner is None:
            raise NotActedOn(f"{host} is not an active partner: we handle no problems of it")
        if partner.peer_actor != activity.actor:
            raise NotActedOn(f"problems come from {host}'s node actor, not from its accounts")
        if await Problem.exists(ap_id=received.id):
            return  # a retry
        if self._received_limiter is not None:
            try:
                self._received_limiter.hit(f"host:{host}")
            except TooManyRequests:
                raise NotActedOn(f"rate limited: too many problem reports from {host}") from None
        attributed = received.attributed_to or activity.actor
        now = self._clock()
        async with in_transaction():
            problem = await Problem.create(
                ap_id=received.id,
                reporter_actor=attributed if authority_of(attributed) == host else activity.actor,
                origin_host=host,
                handled_here=True,
                category=received.category,
                text=received.text,
                latitude=received.latitude,
                longitude=received.longitude,
                public=received.public,
                photo_urls=list(received.photos),
                remote_me_too=received.me_too,
                created_at=now,
                updated_at=now,
            )
            await audit.record(f"remote:{host}", "problem.received", problem.ap_id, "", now)
            await self._notify_handlers(problem)

    async def on_update(self, activity: InboundActivity) -> None:
        """A change to a problem: from its handler's node (status, comments) when we sent
        it, from the reporter's node ("me too" count) when we handle it; from nobody else."""
        obj = activity.body.get("object")
        if not ap.is_problem(obj):
            raise NotActedOn("not a problem report")
        problem_id = obj.get("id") if isinstance(obj, dict) else None
        problem = (
            await Problem.get_or_none(ap_id=problem_id) if isinstance(problem_id, str) else None
        )
        if problem is None:
            raise NotActedOn("no problem here has that id")
        if problem.handler_host is not None:
            if not await self._is_node_of(activity.actor, problem.handler_host):
                raise NotActedOn(f"only {problem.handler_host}, which handles it, may change it")
            await self._apply_change(problem, obj)
        elif problem.origin_host is not None:
            if not await self._is_node_of(activity.actor, problem.origin_host):
                raise NotActedOn("only the node that reported it may update it")
            try:
                received = ap.read_problem(obj)
            except ap.ProblemMalformed as exc:
                raise NotActedOn(str(exc)) from None
            # Nobody takes a "me too" back: the largest count is the latest, whatever the
            # order the Updates arrive in.
            problem.remote_me_too = max(problem.remote_me_too, received.me_too)
            await problem.save(update_fields=["remote_me_too"])
        else:
            raise NotActedOn("this node handles that problem itself")

    async def _is_node_of(self, actor: str, host: str) -> bool:
        """Whether ``actor`` is the node actor of our partnership with ``host`` (active or
        not: a change made before it ended may arrive after). Not any account there: the
        node speaks for its handlers."""
        if authority_of(actor) != host:
            return False
        return await Partnership.exists(peer_host=host, peer_actor=actor)

    async def _apply_change(self, problem: Problem, obj: object) -> None:
        try:
            change = ap.read_change(obj)
        except ap.ProblemMalformed as exc:
            raise NotActedOn(str(exc)) from None
        status = ProblemStatus(change.status)
        known = await ProblemComment.filter(problem_id=problem.id).count()
        new_comments = change.comments[known:]
        last = problem.handler_updated_at
        stale = last is not None and (change.updated is None or change.updated < last)
        status_changed = not stale and (status, change.reason) != (
            problem.status,
            problem.status_reason,
        )
        if not status_changed and not new_comments:
            return  # a retry, or nothing new
        now = self._clock()
        async with in_transaction():
            for c in new_comments:
                await ProblemComment.create(
                    problem=problem,
                    author_name=c.author_name,
                    text=c.text,
                    created_at=c.published or now,
                )
            if status_changed:
                problem.status, problem.status_reason = status, change.reason
            if not stale:
                problem.handler_updated_at = change.updated
            problem.updated_at = now
            await problem.save(
                update_fields=["status", "status_reason", "updated_at", "handler_updated_at"]
            )
            if status_changed:
                await self._notify_followers(problem, NotificationType.PROBLEM_STATUS)
            if new_comments:
                await self._notify_followers(problem, NotificationType.PROBLEM_COMMENT)


def ensure_staff(member: Member) -> None:
    """403 unless the member handles problems here (managers and admins)."""
    if member.role not in (Role.ADMIN, Role.MANAGER):
        raise Forbidden("only managers and admins handle problems")
