"""The neighbourhood group: who follows it, and how it distributes what members publish.

Partner nodes receive what is meant for partners through the group's ``Announce`` of the
member's activity, unaltered (FEP-1b12): they check that the group and the author are of one
host and store the object as given. Anyone else may follow the group; followers receive only
what is public, announced as the object itself (Mastodon and Pleroma show an announced
object, not an announced activity: the same two forms Lemmy sends for the same reason).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import activities
from activitypub.keys import generate_actor_keys
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import NotActedOn
from federation.models import Partnership, PartnershipState
from federation.outbound import publish
from moderation.domains import authority_of
from node.circles.models import Circle
from node.federated import FederatedService
from node.follows.models import Follow, FollowState
from node.groups.models import NEIGHBOURHOOD, LocalGroup


async def ensure_group(slug: str = NEIGHBOURHOOD) -> LocalGroup:
    """The group ``slug``, generating its keys on first use."""
    existing = await LocalGroup.get_or_none(slug=slug)
    if existing is not None:
        return existing
    keys = await asyncio.to_thread(generate_actor_keys)
    try:
        return await LocalGroup.create(slug=slug, **LocalGroup.key_columns(keys))
    except IntegrityError:  # another process created it first
        return await LocalGroup.get(slug=slug)


class GroupService(FederatedService):
    """Follows of the node's groups, and announcing to partners and followers."""

    def register(self, dispatcher: Dispatcher) -> None:
        """Follows of a group are accepted at once (its Undo is the follow service's)."""
        dispatcher.register("Follow", self.on_follow)

    @property
    def neighbourhood(self) -> str:
        """The neighbourhood group's actor id."""
        return self._uris.group(NEIGHBOURHOOD)

    async def on_follow(self, activity: InboundActivity) -> None:
        """Anyone may follow a group (it shows only what is public to them): accepted."""
        followee = activities.object_id(activity.body.get("object"))
        slug = self._uris.group_slug_from_actor(followee or "")
        if slug is None or not await LocalGroup.exists(slug=slug):
            raise NotActedOn("the Follow is not of one of our groups")
        if await Circle.exists(slug=slug):
            raise NotActedOn("circles answer their own Follows (node/circles)")
        assert followee is not None
        remote = await self._resolver.actor(activity.actor)
        inbox = remote.shared_inbox or remote.inbox
        now = self._clock()
        accept = activities.respond(
            "Accept", f"{followee}/accepts/{uuid.uuid4().hex}", followee, activity.body
        )
        async with in_transaction():
            row = await Follow.get_or_none(follower=activity.actor, followee=followee)
            if row is None:
                await Follow.create(
                    follower=activity.actor,
                    followee=followee,
                    activity_id=activity.activity_id,
                    activity=activity.body,
                    follower_inbox=inbox,
                    state=FollowState.ACCEPTED,
                    created_at=now,
                    accepted_at=now,
                )
            elif row.activity_id != activity.activity_id:
                # Followed again under a new id (its server lost track): answer this one.
                row.activity_id, row.activity, row.follower_inbox = (
                    activity.activity_id,
                    activity.body,
                    inbox,
                )
                await row.save(update_fields=["activity_id", "activity", "follower_inbox"])
            else:
                return  # the same Follow again: answered already
            await publish(accept, [inbox], followee, now)
        self._queued()

    async def partner_inboxes(self) -> list[str]:
        """The inboxes of the nodes we are active partners with."""
        rows = await Partnership.filter(state=PartnershipState.ACTIVE).values_list(
            "peer_inbox", flat=True
        )
        return sorted({str(inbox) for inbox in rows})

    async def follower_inboxes(self, group: str) -> list[str]:
        """The inboxes of a group's followers."""
        rows = await Follow.filter(
            followee=group, state=FollowState.ACCEPTED, follower_inbox__isnull=False
        ).values_list("follower_inbox", flat=True)
        return sorted({str(inbox) for inbox in rows})

    async def announce(self, activity: dict[str, Any], *, public: bool, now: datetime) -> None:
        """Have the neighbourhood group announce ``activity`` (call inside the transaction of
        the change): partner nodes get the activity, unaltered; when ``public``, the group's
        other followers get the object itself."""
        group = self.neighbourhood
        partners = await self.partner_inboxes()
        followers = self.group_followers(group)
        to = [activities.AS_PUBLIC] if public else [followers]
        cc = [followers] if public else []
        if partners:
            # A community that does not let partners pass its listings on addresses their
            # copy to its followers only: nothing public for them to boost or relay.
            relay = (
                self._policy is None or (await self._policy.governance.current()).partners_may_relay
            )
            announce = activities.announce(
                f"{group}/announces/{uuid.uuid4().hex}",
                group,
                activity,
                to if relay else [followers],
                cc if relay else [],
            )
            # A partner's copy is only ever meant for partners: never sent once that ends.
            await publish(announce, partners, group, now, partners_only=not public)
        if not public:
            return
        partner_hosts = {authority_of(inbox) for inbox in partners}
        others = [
            inbox
            for inbox in await self.follower_inboxes(group)
            if authority_of(inbox) not in partner_hosts
        ]
        obj = activity.get("object")
        if others and isinstance(obj, dict):
            if activity.get("type") == "Create":
                boosted = {**obj, "@context": activity.get("@context")}
                boost = activities.announce(
                    f"{group}/announces/{uuid.uuid4().hex}", group, boosted, to, cc
                )
                await publish(boost, others, group, now)
            else:
                # Updates and deletions reach them as they are: Mastodon applies an Update or
                # Delete of an object it holds from whoever forwards it signed by its author.
                await publish(activity, others, activity["actor"], now)

    def group_followers(self, group: str) -> str:
        """The followers collection of a group."""
        return self._uris.collection(group, "followers")
