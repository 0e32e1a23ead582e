"""The community's federation policy, in one object the inbox and the delivery worker consult.

It combines the federation mode and the domain blocks (:mod:`moderation`) with the state of
partnerships (:mod:`federation.peers`):

==============  ===========================================  ======================================
mode            inbound (inbox POSTs)                        outbound (deliveries)
==============  ===========================================  ======================================
any             blocked server: dropped (202, not stored)    blocked server: refused
                                                             ``partners_only`` to a server that is
                                                             not an active partner: refused
open            everything else                              everything else
allowlist       active partner nodes; a Follow of our         active partner nodes, and Follow/
                Application actor (a proposal) from anyone;  Accept/Reject/Undo by our Application
                while a partnership is proposed or           actor (the partnership handshake)
                requested, Follow/Accept/Reject/Undo by
                that node's actor (the handshake) only
local           nothing: 403 "this node does not federate"   nothing
==============  ===========================================  ======================================

Members' own remote actions (following, messaging) ask :meth:`FederationPolicy.check_actor`
(or ``check_host``) first: open admits every server not blocked, allowlist only active
partners, local none.

The inbox check costs no query in the open mode (blocks are cached, see
:mod:`moderation.blocks`); the allowlist mode reads the partnership of the sender's host,
one indexed query.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from activitypub.activities import object_id
from activitypub.notes import addressees
from federation.inbound import InboxPolicy
from federation.models import Delivery, PartnershipState, RemoteActor
from federation.peers import partnership_actors, partnerships_of
from moderation.blocks import DomainBlocks
from moderation.domains import authority_of
from moderation.errors import FederationRefused
from moderation.governance import GovernancePolicy, SharedKind
from moderation.models import Severity
from moderation.policy import FederationMode
from moderation.policy_store import PolicyStore
from moderation.restrictions import ActorRestrictions

BLOCKED = "blocked by this node's community"
NOT_FEDERATING = "this node does not federate"
PARTNERS_ONLY = "this node federates only with its partner nodes"
PARTNERSHIP_ENDED = "the partnership ended"
NOT_A_PARTNER = "not a partner node"
SUSPENDED = "suspended by this node's moderators"

# Partnerships under way: the other node's actor may send the handshake (its answer to our
# proposal, its withdrawal of its own), and nothing else until the partnership is active.
_UNDER_WAY = (PartnershipState.PROPOSED, PartnershipState.REQUESTED)
# What node actors send to make, answer and end partnerships.
_HANDSHAKE_TYPES = frozenset({"Follow", "Accept", "Reject", "Undo"})


class FederationPolicy:
    """What this node accepts from and sends to other servers."""

    def __init__(
        self,
        governance: PolicyStore,
        blocks: DomainBlocks,
        instance_actor: str,
        restrictions: ActorRestrictions | None = None,
    ) -> None:
        self.governance = governance
        self.blocks = blocks
        # remote actors suspended or silenced one by one (moderation)
        self.restrictions = restrictions
        self._me = instance_actor
        # The hooks federation.inbound.accept calls on every delivery.
        self.inbox = InboxPolicy(is_blocked=blocks.is_blocked, refuse=self.refuse_inbound)

    async def refuse_inbound(self, authority: str, activity: dict[str, Any]) -> str | None:
        """Why a delivery by an actor at ``authority`` is refused (403), or ``None``.

        Blocked senders are not refused here: the inbox drops them quietly before this runs.
        """
        mode = (await self.governance.current()).federation_mode
        if mode is FederationMode.OPEN:
            return None  # the hot path: no query
        if mode is FederationMode.LOCAL:
            return NOT_FEDERATING
        if activity.get("type") == "Follow" and object_id(activity.get("object")) == self._me:
            return None  # a partnership proposal: how a node becomes a partner at all
        partnerships = await partnership_actors(authority)
        if PartnershipState.ACTIVE in partnerships:
            return None
        if activity.get("type") in _HANDSHAKE_TYPES and object_id(activity.get("actor")) in {
            actor for state in _UNDER_WAY for actor in partnerships.get(state, ())
        }:
            return None  # the handshake, from the node actor we are partnering with
        return PARTNERS_ONLY

    async def refuse_deliveries(self, rows: Sequence[Delivery]) -> dict[int, str]:
        """Why some of ``rows`` must not be sent (row id -> reason; they are then marked dead
        with it); the rows not named go out.

        The :class:`federation.outbound.DeliveryWorker` ``refuse`` hook: asked for each batch
        just before it is sent, so a block, a mode change or a partnership ending also stops
        rows that were queued before it. The partnerships of the hosts that need one are read
        in one query for the whole batch: one per delivery cost half the fan-out's
        throughput under a partners-only policy (docs/performance.md, "Governance").
        """
        governance = await self.governance.current()
        blocked = {
            host for host in {row.host for row in rows} if await self.blocks.is_blocked(host)
        }
        asking = [row.host for row in rows if self._needs_partnership(row, governance)]
        partnerships = await partnerships_of(asking) if asking else {}
        refused: dict[int, str] = {}
        suspended = await self._suspended_targets(rows)
        for row in rows:
            if row.host in blocked:
                refused[row.id] = BLOCKED
            elif row.id in suspended:
                refused[row.id] = SUSPENDED
            elif (reason := self._refusal(row, governance, partnerships)) is not None:
                refused[row.id] = reason
        return refused

    def _needs_partnership(self, row: Delivery, governance: GovernancePolicy) -> bool:
        """Whether what ``row`` may do depends on its host being a partner."""
        if governance.federation_mode is not FederationMode.OPEN or row.partners_only:
            return True
        kind = SharedKind(row.kind) if row.kind else None
        return governance.refusal(kind, partner=False) is not None

    def _refusal(
        self,
        row: Delivery,
        governance: GovernancePolicy,
        partnerships: Mapping[str, Mapping[PartnershipState, frozenset[str]]],
    ) -> str | None:
        """Why ``row`` (to a server not blocked) must not be sent, or ``None``: the policy's
        rules, with the partnerships of the batch's hosts read already."""
        mode = governance.federation_mode
        if mode is FederationMode.LOCAL:
            return NOT_FEDERATING
        kind = SharedKind(row.kind) if row.kind else None
        # Content the policy keeps on the node goes nowhere, whoever the host is.
        if (reason := governance.refusal(kind, partner=True)) is not None:
            return reason
        if not self._needs_partnership(row, governance):
            return None
        states = frozenset(partnerships.get(row.host.lower(), {}))
        partner = PartnershipState.ACTIVE in states
        if row.partners_only and not partner:
            return PARTNERSHIP_ENDED if states else NOT_A_PARTNER
        if mode is FederationMode.ALLOWLIST and not partner:
            return None if self._is_handshake(row) else PARTNERS_ONLY
        return governance.refusal(kind, partner=partner)

    async def refuse_processing(self, actor: str, activity: dict[str, Any]) -> str | None:
        """Why a stored activity of ``actor`` must be set aside unprocessed, or ``None``.

        The :class:`federation.worker.InboundWorker` ``refuse`` hook: the inbox's rules again,
        as they stand now, so what a server sent before the community blocked it (or before
        the node left open federation) is not acted upon afterwards.
        """
        authority = authority_of(actor)
        if await self.blocks.is_blocked(authority):
            return BLOCKED
        if await self.is_suspended_actor(actor):
            return SUSPENDED
        return await self.refuse_inbound(authority, activity)

    async def _suspended_targets(self, rows: Sequence[Delivery]) -> set[int]:
        """The ids of ``rows`` for actors the moderators suspended: sent to such an actor's
        personal inbox, or a message whose every addressee on that server is suspended (a
        shared inbox serves others too: what is for them still goes)."""
        if self.restrictions is None:
            return set()
        suspended = await self.restrictions.suspended()
        if not suspended:  # the common case: no query, no parsing
            return set()
        theirs = set(
            await RemoteActor.filter(
                inbox__in=sorted({row.inbox for row in rows}), uri__in=sorted(suspended)
            ).values_list("inbox", flat=True)
        )
        return {
            row.id
            for row in rows
            if row.inbox in theirs
            or (row.kind == SharedKind.MESSAGES.value and _only_for(row, suspended))
        }

    async def is_suspended_actor(self, actor: str) -> bool:
        """Whether the moderators suspended this one remote actor."""
        if self.restrictions is None:
            return False
        return await self.restrictions.severity_of(actor) is Severity.SUSPEND

    async def silenced(self) -> tuple[frozenset[str], frozenset[str]]:
        """The silenced servers (each covering its subdomains) and actors: accepted, but kept
        out of browse and search results."""
        actors = await self.restrictions.silenced() if self.restrictions else frozenset()
        return await self.blocks.silenced(), actors

    async def refuse_partnership(self, authority: str) -> str | None:
        """Why this node may not propose to or accept the node at ``authority``, or ``None``.

        The allowlist mode allows it: partnerships are how that mode admits anyone.
        """
        if await self.blocks.is_blocked(authority):
            return BLOCKED
        if (await self.governance.current()).federation_mode is FederationMode.LOCAL:
            return NOT_FEDERATING
        return None

    async def refusal_for(self, authority: str) -> str | None:
        """Why a member may not reach the server at ``authority`` (follow, message), or ``None``.

        Open: any server not blocked. Allowlist: active partners only. Local: none.
        """
        if await self.blocks.is_blocked(authority):
            return BLOCKED
        mode = (await self.governance.current()).federation_mode
        if mode is FederationMode.LOCAL:
            return NOT_FEDERATING
        if mode is FederationMode.ALLOWLIST and (
            PartnershipState.ACTIVE not in await partnership_actors(authority)
        ):
            return PARTNERS_ONLY
        return None

    async def sharing_refusal(self, kind: SharedKind, authority: str) -> str | None:
        """Why the governance policy keeps ``kind`` from the server at ``authority``, or
        ``None``: what the delivery worker would refuse, asked before anything is queued."""
        governance = await self.governance.current()
        if (reason := governance.refusal(kind, partner=True)) is not None:
            return reason
        if governance.refusal(kind, partner=False) is None:
            return None
        partner = PartnershipState.ACTIVE in await partnership_actors(authority)
        return governance.refusal(kind, partner=partner)

    async def allows_host(self, authority: str) -> bool:
        """Whether members may reach the server at ``authority`` (``host[:port]``)."""
        return await self.refusal_for(authority) is None

    async def check_host(self, authority: str) -> None:
        """Raise ``FederationRefused`` (with a message safe for members) unless members may
        reach the server at ``authority`` (``host[:port]``, as in an actor's URL)."""
        reason = await self.refusal_for(authority)
        if reason is not None:
            raise FederationRefused(f"cannot reach {authority}: {reason}")

    async def check_actor(self, actor_id: str) -> None:
        """:meth:`check_host` for the server of a remote actor (or any URL of it), and the
        actor's own suspension."""
        if await self.is_suspended_actor(actor_id):
            raise FederationRefused(f"cannot reach {actor_id}: {SUSPENDED}")
        await self.check_host(authority_of(actor_id))

    def _is_handshake(self, row: Delivery) -> bool:
        if row.signer != self._me:
            return False
        try:
            activity = json.loads(row.body)
        except ValueError:
            return False
        return isinstance(activity, dict) and activity.get("type") in _HANDSHAKE_TYPES


def _only_for(row: Delivery, actors: frozenset[str]) -> bool:
    """Whether every addressee of ``row``'s activity on its host is one of ``actors``."""
    try:
        activity = json.loads(row.body)
    except ValueError:
        return False
    there = [a for a in addressees(activity) if authority_of(a) == row.host]
    return bool(there) and all(a in actors for a in there)
