"""Publishing notices, and taking those a partner municipality sends.

A notice is written once here and reaches every member as a notification (an urgent one as a
notification of its own type, which clients put first). A municipality's notice to its
districts is sent by its neighbourhood group to each partner node's shared inbox: one request
per district, however many members it has. The district node checks that the group and the
author are of one host and that host is an active partner, stores the notice and notifies all
its members, in one statement. A public notice is also boosted to the group's other followers
(plain fediverse accounts), as the group does for public listings.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from activitypub import activities
from activitypub.actor_documents import same_host
from activitypub.notes import Attachment, is_public
from activitypub.notices import (
    NoticeError,
    NoticePlace,
    NoticeTerms,
    is_notice,
    notice_object,
    read_notice,
)
from activitypub.uris import UriScheme
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import NotActedOn
from federation.outbound import publish
from moderation.domains import authority_of
from moderation.governance import GovernancePolicy
from node.circles.models import JOINED, Circle, CircleMember, MembershipState
from node.circles.service import CircleService, circles_of
from node.clock import Clock
from node.config import CommunityKind
from node.errors import Forbidden, NotFound, ValidationFailed
from node.follows.models import Follow, FollowState
from node.groups.service import GroupService
from node.media.models import Media
from node.media.render import media_to_ap
from node.media.service import MediaService
from node.members.models import Member
from node.notices.models import DeletedNotice, Notice, NoticeAudience
from node.notifications.models import Notification, NotificationType
from node.rich_text import sanitize_html, text_to_html

IsPartner = Callable[[str], Awaitable[bool]]
Governance = Callable[[], Awaitable[GovernancePolicy]]
MAX_PAGE = 100


@dataclass(frozen=True)
class NoticeForm:
    """A notice as a manager writes it (checked by the HTTP layer's schema)."""

    terms: NoticeTerms
    audience: NoticeAudience = NoticeAudience.NODE
    public: bool = False
    photo: str | None = None
    circle: str | None = None  # the slug of one of our circles, with audience CIRCLE


class NoticeService:
    """Notices published here and received from a partner municipality."""

    def __init__(
        self,
        uris: UriScheme,
        clock: Clock,
        kind: CommunityKind,
        governance: Governance,
        groups: GroupService | None = None,
        circles: CircleService | None = None,
        media: MediaService | None = None,
        is_partner: IsPartner | None = None,
        queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._uris = uris
        self._clock = clock
        self._kind = kind
        self._governance = governance
        self._groups = groups
        self._circles = circles
        self._media = media
        self._is_partner = is_partner
        self._queued = queued

    def register(self, dispatcher: Dispatcher) -> None:
        """A partner group's ``Announce`` of a notice's ``Create``, ``Update`` or ``Delete``."""
        dispatcher.register("Announce", self.on_announce)

    # Publishing

    async def check_may_publish(self, member: Member) -> None:
        """403 unless the community's policy lets ``member``'s role publish notices (and
        never for a suspended member: the CLI acts on behalf of a name, not a session)."""
        if member.suspended_at is not None:
            raise Forbidden("a suspended member publishes no notices")
        allowed = (await self._governance()).notices_by
        if member.role.value not in allowed:
            raise Forbidden(f"notices are published by: {', '.join(allowed)}")

    async def publish(self, member: Member, form: NoticeForm) -> Notice:
        """Publish ``form`` for ``member``: stored, every member notified, sent where its
        audience says (a municipality's partner districts, the group's public followers)."""
        await self.check_may_publish(member)
        if (
            form.audience is NoticeAudience.DISTRICTS
            and self._kind is not CommunityKind.MUNICIPALITY
        ):
            raise ValidationFailed(
                "only a municipality node publishes to districts",
                details=[{"field": "audience", "message": "set community.kind = municipality"}],
            )
        circle = None
        if form.audience is NoticeAudience.CIRCLE:
            if self._circles is None or form.circle is None:
                raise NotFound("no such circle")
            circle = await self._circles.get(form.circle)
        now = self._clock().replace(microsecond=0)
        if form.terms.ends_at is not None and form.terms.ends_at <= now:
            # It would go straight to the past notices, yet notify every member (and every
            # district): a mistyped year, most likely.
            raise ValidationFailed(
                "this notice has already ended",
                details=[{"field": "ends_at", "message": "must be in the future"}],
            )
        author = self._uris.actor(member.username)
        async with in_transaction():
            notice = await Notice.create(
                ap_id=self._uris.url(f"/notices/{uuid.uuid4().hex}"),
                local=True,
                author=author,
                origin_host=self._uris.domain,
                audience=form.audience,
                circle=self._uris.group(circle.slug) if circle is not None else None,
                public=form.public,
                published_at=now,
                updated_at=now,
                **_columns(form.terms),
            )
            if form.photo is not None and self._media is not None:
                await self._media.attach_to_notice(author, form.photo, notice.id)
            await self._notify_members(notice, exclude=member.id)
            await self._send("Create", notice, now)
        self._queued()
        return notice

    async def edit(self, member: Member, notice_id: int, terms: NoticeTerms) -> Notice:
        """Change a notice (its author, or an admin): stored and sent as an ``Update``. An
        author whose role may no longer publish (a manager made resident) only withdraws."""
        notice = await self._editable(member, notice_id)
        if member.role.value != "admin":
            await self.check_may_publish(member)
        now = self._clock().replace(microsecond=0)
        async with in_transaction():
            await Notice.filter(id=notice.id).update(updated_at=now, **_columns(terms))
            notice = await Notice.get(id=notice.id)
            await self._send("Update", notice, now)
        self._queued()
        return notice

    async def withdraw(self, member: Member, notice_id: int) -> None:
        """Delete a notice (its author, or an admin), everywhere it was sent."""
        notice = await self._editable(member, notice_id)
        now = self._clock()
        async with in_transaction():
            delete = {
                "@context": activities.AS_CONTEXT,
                "id": f"{notice.ap_id}#delete-{uuid.uuid4().hex}",
                "type": "Delete",
                "actor": notice.author,
                "object": {"id": notice.ap_id, "type": "Tombstone"},
                **self._addressing_of(notice),
            }
            await self._deliver(delete, notice, now)
            if self._media is not None:
                await self._media.delete_rows(Media.filter(notice_id=notice.id))
            await notice.delete()
        self._queued()

    async def _editable(self, member: Member, notice_id: int) -> Notice:
        notice = await Notice.get_or_none(id=notice_id, local=True)
        if notice is None:
            raise NotFound("no such notice")
        if notice.author != self._uris.actor(member.username) and member.role.value != "admin":
            raise Forbidden("only its author or an admin changes a notice")
        return notice

    def _group_followers(self) -> str:
        return self._uris.collection(self._uris.group("neighbourhood"), "followers")

    def _addressing_of(self, notice: Notice) -> dict[str, list[str]]:
        """A circle's notice is a post to the circle (FEP-1b12: to the group, its followers
        in cc); any other goes to the neighbourhood group's followers (and Public)."""
        if notice.circle is None:
            return _addressing(self._group_followers(), notice.public)
        followers = self._uris.collection(notice.circle, "followers")
        to = [notice.circle, *([activities.AS_PUBLIC] if notice.public else [])]
        return {"to": to, "cc": [followers]}

    def document(self, notice: Notice, photos: list[Media]) -> dict[str, Any]:
        """The notice's ``Note``."""
        return notice_object(
            object_id=notice.ap_id,
            author=notice.author,
            terms=terms_of(notice),
            text_html=notice.text_html,
            published=notice.published_at,
            updated=notice.updated_at,
            url=notice.ap_id,
            photos=[
                Attachment(
                    url=str(image["url"]),
                    media_type=str(image.get("mediaType", "")),
                    description=str(image.get("name", "")),
                )
                for image in (media_to_ap(p, self._uris) for p in photos)
            ],
            # ``audience`` names the group a post is in (FEP-1b12): a circle's notice only;
            # a district notice is the municipality's, relayed by its group, in no group.
            audience=notice.circle,
            **self._addressing_of(notice),
        )

    async def _send(self, kind: str, notice: Notice, now: datetime) -> None:
        photos = list(await Media.filter(notice_id=notice.id))
        note = self.document(notice, photos)
        activity = {
            "@context": note.pop("@context"),
            "id": f"{notice.ap_id}#{kind.lower()}-{uuid.uuid4().hex}",
            "type": kind,
            "actor": notice.author,
            "object": note,
            "to": note["to"],
            "cc": note["cc"],
        }
        await self._deliver(activity, notice, now)

    async def _deliver(self, activity: dict[str, Any], notice: Notice, now: datetime) -> None:
        """Through the neighbourhood group: an Announce of the activity, unaltered, to the
        partner districts (a municipality's district notice); the object to the group's
        other followers when the notice is public. A circle's notice goes through the circle
        (to its remote members, and its followers when public)."""
        if notice.circle is not None:
            slug = self._uris.group_slug_from_actor(notice.circle)
            circle = await Circle.get_or_none(slug=slug or "", deleted_at__isnull=True)
            if circle is not None and self._circles is not None:
                await self._circles.announce(circle, activity, public=notice.public, now=now)
            return
        if self._groups is None:
            return
        group = self._groups.neighbourhood
        partners: list[str] = []
        if notice.audience is NoticeAudience.DISTRICTS:
            partners = await self._groups.partner_inboxes()
            announce = activities.announce(
                f"{group}/announces/{uuid.uuid4().hex}",
                group,
                activity,
                activity["to"],
                activity.get("cc", []),
            )
            await publish(announce, partners, group, now, partners_only=not notice.public)
        if not notice.public:
            return
        partner_hosts = {authority_of(inbox) for inbox in partners}
        others = [
            inbox
            for inbox in await self._groups.follower_inboxes(group)
            if authority_of(inbox) not in partner_hosts
        ]
        if not others:
            return
        if activity["type"] == "Create":
            boosted = {**activity["object"], "@context": activity["@context"]}
            boost = activities.announce(
                f"{group}/announces/{uuid.uuid4().hex}",
                group,
                boosted,
                activity["to"],
                activity.get("cc", []),
            )
            await publish(boost, others, group, now)
        else:
            await publish(activity, others, activity["actor"], now)

    async def _notify_members(self, notice: Notice, exclude: int | None = None) -> int:
        """One notification per member (suspended accounts aside), in one statement."""
        kind = (
            NotificationType.URGENT_NOTICE if notice.kind == "urgent" else NotificationType.NOTICE
        )
        query = Member.filter(suspended_at__isnull=True)
        if notice.circle is not None:
            query = query.filter(username__in=await self._circle_readers(notice.circle))
        if exclude is not None:
            query = query.exclude(id=exclude)
        member_ids = await query.values_list("id", flat=True)
        now = self._clock()
        await Notification.bulk_create(
            [
                Notification(
                    member_id=member_id,
                    type=kind,
                    actor=notice.author,
                    notice_id=notice.id,
                    detail=notice.title[:500],
                    created_at=now,
                )
                for member_id in member_ids
            ],
            batch_size=1000,
        )
        return len(member_ids)

    async def _circle_readers(self, circle: str) -> list[str]:
        """The usernames of our members in ``circle`` (ours: its members here; another
        node's: our members who joined it)."""
        prefix = self._uris.url("/users/")
        slug = self._uris.group_slug_from_actor(circle)
        if slug is not None:
            actors = await CircleMember.filter(
                circle__slug=slug,
                state=MembershipState.ACCEPTED,
                role__in=list(JOINED),
                actor__startswith=prefix,
            ).values_list("actor", flat=True)
        else:
            actors = await Follow.filter(
                followee=circle, state=FollowState.ACCEPTED, follower__startswith=prefix
            ).values_list("follower", flat=True)
        return [str(a).removeprefix(prefix) for a in actors]

    async def _visible(self, member: Member) -> QuerySet[Notice]:
        """The notices ``member`` may read: every one but the notices of circles they are
        not in (their own excepted)."""
        return Notice.filter(
            Q(circle__isnull=True)
            | Q(circle__in=sorted(await circles_of(self._uris, self._uris.actor(member.username))))
            | Q(author=self._uris.actor(member.username))
        )

    # Reading

    async def current(self, viewer: Member | None = None) -> list[Notice]:
        """The notices in force or to come (pinned): urgent first, then newest first; those
        ``viewer`` may read when given (the command line sees all)."""
        now = self._clock()
        base = Notice.all() if viewer is None else await self._visible(viewer)
        rows = await base.filter(ends_at__isnull=True).order_by("-published_at").limit(
            MAX_PAGE
        ) + await base.filter(ends_at__gt=now).order_by("-published_at").limit(MAX_PAGE)
        rows.sort(key=lambda n: (n.kind != "urgent", -n.published_at.timestamp(), -n.id))
        return rows[:MAX_PAGE]

    async def past(
        self, before: int | None, limit: int, viewer: Member | None = None
    ) -> list[Notice]:
        """Notices that ended, newest first, ``limit`` at most, older than id ``before``
        (those ``viewer`` may read when given)."""
        base = Notice.all() if viewer is None else await self._visible(viewer)
        query = base.filter(ends_at__lte=self._clock())
        if before is not None:
            query = query.filter(id__lt=before)
        return list(await query.order_by("-id").limit(min(limit, MAX_PAGE)))

    async def get(self, notice_id: int, viewer: Member | None = None) -> Notice:
        """One notice (that ``viewer`` may read, when given), or 404."""
        base = Notice.all() if viewer is None else await self._visible(viewer)
        notice = await base.get_or_none(id=notice_id)
        if notice is None:
            raise NotFound("no such notice")
        return notice

    def is_current(self, notice: Notice) -> bool:
        """Whether ``notice`` is still in force (shown pinned)."""
        return notice.ends_at is None or notice.ends_at > self._clock()

    # Receiving

    async def on_announce(self, activity: InboundActivity) -> None:
        """A partner node's group announcing a notice's Create, Update or Delete."""
        inner = activity.body.get("object")
        if not isinstance(inner, dict):
            raise NotActedOn("an announced notice must be embedded")
        kind, actor = inner.get("type"), activities.object_id(inner.get("actor"))
        if kind not in ("Create", "Update", "Delete") or actor is None:
            raise NotActedOn("the Announce does not carry a notice's Create, Update or Delete")
        obj = inner.get("object")
        if kind == "Delete":
            target = activities.object_id(obj)
            held = await Notice.get_or_none(ap_id=target or "", local=False)
            if held is None:
                raise NotActedOn("not a notice held here")
            if held.author != actor or not same_host(actor, activity.actor):
                raise NotActedOn("a notice is deleted by its author's node only")
            async with in_transaction():
                await DeletedNotice.get_or_create(
                    ap_id=held.ap_id, defaults={"deleted_at": self._clock()}
                )
                await held.delete()
            return
        if not isinstance(obj, dict) or not is_notice(obj):
            raise NotActedOn("the object is not a notice")
        if not same_host(actor, activity.actor):
            raise NotActedOn("a group announces notices of its own node's members only")
        host = authority_of(actor)
        if self._is_partner is None or not await self._is_partner(host):
            raise NotActedOn("notices are taken from partner nodes only")
        try:
            received = read_notice(obj)
        except NoticeError as exc:
            raise NotActedOn(f"the notice cannot be read: {exc}") from None
        if received.author != actor or not same_host(received.id, actor):
            raise NotActedOn("a notice is sent by its author, with an id on their server")
        circle = activities.object_id(obj.get("audience"))
        if circle is not None:
            # a circle's notice (FEP-1b12: audience names the group): for those who joined it
            if circle != activity.actor:
                raise NotActedOn("a circle's notice is announced by that circle")
            if not await Follow.exists(
                followee=circle,
                state=FollowState.ACCEPTED,
                follower__startswith=self._uris.url("/users/"),
            ):
                raise NotActedOn("no member here joined that circle")
        await self._take(received, host, kind == "Update", public=is_public(obj), circle=circle)

    async def _take(
        self, received: Any, host: str, update: bool, *, public: bool, circle: str | None
    ) -> None:
        now = self._clock().replace(microsecond=0)
        values = {
            **_columns(received.terms),
            "remote_photos": [
                {"url": p.url, "media_type": p.media_type, "description": p.description}
                for p in received.photos
            ],
            "public": public,
            # Never later than now: a date in the future would keep the notice first in
            # the list (ordered by publication) for ever.
            "updated_at": min(received.updated or received.published or now, now),
        }
        existing = await Notice.get_or_none(ap_id=received.id)
        if existing is not None:
            if existing.local or existing.author != received.author:
                raise NotActedOn("the notice belongs to someone else")
            if values["updated_at"] < existing.updated_at:
                raise NotActedOn("an older version of a notice we hold")
            await Notice.filter(id=existing.id).update(**values)
            return
        if update:
            raise NotActedOn("an Update of a notice we do not hold")
        if await DeletedNotice.exists(ap_id=received.id):
            raise NotActedOn("the notice was deleted by its author")
        async with in_transaction():
            try:
                notice = await Notice.create(
                    ap_id=received.id,
                    local=False,
                    author=received.author,
                    origin_host=host,
                    audience=NoticeAudience.CIRCLE if circle else NoticeAudience.DISTRICTS,
                    circle=circle,
                    published_at=min(received.published or now, now),
                    **values,
                )
            except IntegrityError:
                raise NotActedOn("the notice was stored meanwhile") from None
            await self._notify_members(notice)


def _columns(terms: NoticeTerms) -> dict[str, Any]:
    place = terms.place
    return {
        "kind": terms.kind,
        "title": terms.title,
        "text": terms.text,
        "text_html": sanitize_html(text_to_html(terms.text)),
        "place_name": place.name if place else "",
        "latitude": place.latitude if place else None,
        "longitude": place.longitude if place else None,
        "starts_at": terms.starts_at,
        "ends_at": terms.ends_at,
    }


def terms_of(notice: Notice) -> NoticeTerms:
    """A stored notice's terms."""
    place = None
    if notice.place_name or notice.latitude is not None:
        place = NoticePlace(notice.place_name, notice.latitude, notice.longitude)
    return NoticeTerms(
        kind=notice.kind,
        title=notice.title,
        text=notice.text,
        starts_at=notice.starts_at,
        ends_at=notice.ends_at,
        place=place,
    )


def _addressing(followers: str, public: bool) -> dict[str, list[str]]:
    if public:
        return {"to": [activities.AS_PUBLIC], "cc": [followers]}
    return {"to": [followers], "cc": []}
