"""Partnerships between nodes: a Follow between the nodes' Application actors, with a message.

An admin of node A proposes: A finds B's node actor (WebFinger on B's origin, FEP-d556) and
sends it ``Follow`` carrying the message in ``content``. B records a request; B's admin accepts
(``Accept``) or refuses (``Reject``); both sides then hold the same state. Either side ends it:
the side that proposed sends ``Undo(Follow)``, the other ``Reject(Follow)``, as Mastodon does
when a follower is removed. Only active partnerships count as partners.

Proposing to or accepting a node goes through ``refuse_peer`` first (the community's federation
policy, see :mod:`federation.policy`): a blocked node, or any node when this one does not
federate, gets a ``PartnershipError`` saying why.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import activities
from activitypub.discovery import SERVICE_REL
from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import DereferenceError, NotActedOn, PartnershipError, TransportError
from federation.models import Partnership, PartnershipState
from federation.outbound import publish
from federation.transport import Transport
from moderation.domains import authority_of

Clock = Callable[[], datetime]
# host[:port] of a node -> why this node may not partner with it, or None
PeerRefusal = Callable[[str], Awaitable[str | None]]
MAX_MESSAGE_LENGTH = 1000
# Hosts per query in partnerships_of: far below SQLite's and PostgreSQL's bound on parameters.
_HOSTS_PER_QUERY = 500


async def partnership_actors(host: str) -> dict[PartnershipState, frozenset[str]]:
    """This node's partnerships with the node at ``host`` (``host[:port]``): for each state,
    the node actors concerned (one, almost always). Empty when there never was one."""
    return (await partnerships_of([host])).get(host.lower(), {})


async def partnerships_of(
    hosts: Iterable[str],
) -> dict[str, dict[PartnershipState, frozenset[str]]]:
    """:func:`partnership_actors` for several hosts in one query: ``host[:port]`` (lower case)
    -> state -> node actors. Hosts there never was a partnership with are absent."""
    wanted = sorted({host.lower() for host in hosts})
    if not wanted:
        return {}
    rows: list[Any] = []
    for start in range(0, len(wanted), _HOSTS_PER_QUERY):
        rows += await Partnership.filter(
            peer_host__in=wanted[start : start + _HOSTS_PER_QUERY]
        ).values_list("peer_host", "state", "peer_actor")
    found: dict[str, dict[PartnershipState, set[str]]] = {}
    for host, state, actor in rows:
        states = found.setdefault(str(host), {})
        states.setdefault(PartnershipState(str(state)), set()).add(str(actor))
    return {
        host: {state: frozenset(actors) for state, actors in states.items()}
        for host, states in found.items()
    }


class Partnerships:
    """This node's partnerships."""

    def __init__(
        self,
        instance_actor: str,
        resolver: ActorResolver,
        transport: Transport,
        clock: Clock,
        queued: Callable[[], None] = lambda: None,
        refuse_peer: PeerRefusal | None = None,
    ) -> None:
        self._me = instance_actor
        self._resolver = resolver
        self._transport = transport
        self._clock = clock
        self._queued = queued
        self._refuse_peer = refuse_peer

    def register(self, dispatcher: Dispatcher) -> None:
        """Route Follow/Accept/Reject/Undo concerning the node's own actor here."""
        dispatcher.register("Follow", self.on_follow)
        dispatcher.register("Accept", self.on_accept)
        dispatcher.register("Reject", self.on_reject)
        dispatcher.register("Undo", self.on_undo)

    async def discover(self, node: str) -> str:
        """The Application actor of ``node`` (a host or an origin URL), by WebFinger."""
        host = _node_host(node)
        schemes = ("https", "http") if self._transport.settings.allow_http else ("https",)
        last: Exception | None = None
        for scheme in schemes:
            origin = f"{scheme}://{host}/"
            url = f"{scheme}://{host}/.well-known/webfinger?resource={quote(origin, safe=':/')}"
            try:
                doc = await self._transport.get_json(url)
            except TransportError as exc:
                last = exc
                continue
            for link in doc.get("links") or []:
                if isinstance(link, dict) and link.get("rel") in (SERVICE_REL, "self"):
                    href = link.get("href")
                    if isinstance(href, str):
                        return href
            raise PartnershipError(f"{host} does not name a node actor")
        raise PartnershipError(f"cannot reach {host}: {last}")

    async def propose(self, node: str, message: str) -> Partnership:
        """Ask ``node`` to become a partner.

        A proposal still unanswered is returned as it is. Otherwise (none yet, refused, ended,
        or active) a new Follow goes out: an active partnership may have been ended on the
        other side without its notice having reached us yet, and a node that still counts us
        as a partner accepts the new proposal at once (see :meth:`on_follow`).
        """
        if len(message) > MAX_MESSAGE_LENGTH:
            raise PartnershipError(f"the message is longer than {MAX_MESSAGE_LENGTH} characters")
        await self._may_partner(_node_host(node))  # before contacting it at all
        peer = await self.discover(node)
        if peer == self._me:
            raise PartnershipError("a node cannot partner with itself")
        await self._may_partner(authority_of(peer))  # WebFinger may name another host
        existing = await Partnership.get_or_none(peer_actor=peer)
        if existing is not None and existing.state == PartnershipState.PROPOSED:
            return existing
        try:
            remote = await self._resolver.actor(peer)
        except DereferenceError as exc:
            raise PartnershipError(str(exc)) from exc
        follow = activities.follow(self._new_id("partnership"), self._me, peer)
        if message:
            follow["content"] = message
        now = self._clock()
        values: dict[str, Any] = {
            "peer_host": authority_of(peer),
            "peer_inbox": remote.inbox,
            "initiated_by_us": True,
            "message": message,
            "state": PartnershipState.PROPOSED,
            "follow_activity_id": follow["id"],
            "follow_activity": follow,
            "updated_at": now,
        }
        async with in_transaction():
            if existing is not None:
                await Partnership.filter(id=existing.id).update(**values)
            else:
                await Partnership.create(peer_actor=peer, created_at=now, **values)
            await publish(follow, [remote.inbox], self._me, now)
        self._queued()
        return await Partnership.get(peer_actor=peer)

    async def decide(self, partnership_id: int, *, accept: bool) -> Partnership:
        """Answer a request from another node."""
        row = await self._get(partnership_id, PartnershipState.REQUESTED)
        if accept:
            await self._may_partner(row.peer_host)
        kind = "Accept" if accept else "Reject"
        state = PartnershipState.ACTIVE if accept else PartnershipState.REFUSED
        await self._answer(row, kind, state)
        return row

    async def end(self, partnership_id: int) -> Partnership:
        """End a partnership (or withdraw a proposal); the other node is told."""
        row = await Partnership.get_or_none(id=partnership_id)
        if row is None or row.state not in (PartnershipState.ACTIVE, PartnershipState.PROPOSED):
            raise PartnershipError("no such active or proposed partnership")
        await self._answer(row, "Undo" if row.initiated_by_us else "Reject", PartnershipState.ENDED)
        return row

    async def all(self) -> list[Partnership]:
        """Every partnership, newest first."""
        return await Partnership.all().order_by("-id")

    async def suspension(self, row: Partnership) -> str | None:
        """Why nothing goes to or comes from the node of ``row`` although the partnership
        stands (active, proposed or requested): the community blocked that node, or this node
        does not federate. ``None`` when the partnership works (or is over)."""
        if row.state in (PartnershipState.ENDED, PartnershipState.REFUSED):
            return None
        return await self._refuse_peer(row.peer_host) if self._refuse_peer is not None else None

    async def is_partner(self, host: str) -> bool:
        """Whether ``host`` is an active partner."""
        return await Partnership.exists(peer_host=host.lower(), state=PartnershipState.ACTIVE)

    # Received from other nodes
    async def on_follow(self, activity: InboundActivity) -> None:
        """Another node asks to partner with us.

        A new proposal from a node already asking replaces its earlier one (an Undo of that
        one no longer ends the request); from an active partner, it is accepted at once: its
        side lost track of the partnership, or asks again after we ended it while our notice
        had not reached it yet, and the partnership stays active.
        """
        if activities.object_id(activity.body.get("object")) != self._me:
            raise NotActedOn("the Follow is not of this node's actor (not a partnership)")
        remote = await self._resolver.actor(activity.actor)
        if remote.actor_type not in ("Application", "Service"):
            # A person cannot make their whole server our partner.
            raise NotActedOn(
                f"a partnership proposal by a {remote.actor_type}, not by a node's actor"
            )
        content = activity.body.get("content")
        message = content[:MAX_MESSAGE_LENGTH] if isinstance(content, str) else ""
        now = self._clock()
        existing = await Partnership.get_or_none(peer_actor=activity.actor)
        if existing is not None and existing.follow_activity_id == activity.activity_id:
            raise NotActedOn("that partnership proposal was received already")
        if existing is not None and existing.state == PartnershipState.ACTIVE:
            await self._accept_again(existing, activity, remote.inbox)
            return
        values: dict[str, Any] = {
            "peer_host": authority_of(activity.actor),
            "peer_inbox": remote.inbox,
            "initiated_by_us": False,
            "message": message,
            "state": PartnershipState.REQUESTED,
            "follow_activity_id": activity.activity_id,
            "follow_activity": activity.body,
            "updated_at": now,
        }
        try:
            if existing is not None:
                await Partnership.filter(id=existing.id).update(**values)
            else:
                await Partnership.create(peer_actor=activity.actor, created_at=now, **values)
        except IntegrityError:
            raise NotActedOn("that partnership proposal was received already") from None

    async def _accept_again(self, row: Partnership, activity: InboundActivity, inbox: str) -> None:
        """An active partner proposed again: the partnership is now carried by its new Follow
        (so that both sides name the same one), which we accept."""
        row.initiated_by_us, row.peer_inbox = False, inbox
        row.follow_activity_id, row.follow_activity = activity.activity_id, activity.body
        row.updated_at = self._clock()
        accept = activities.respond("Accept", self._new_id("accept"), self._me, activity.body)
        async with in_transaction():
            await row.save(
                update_fields=[
                    "initiated_by_us",
                    "peer_inbox",
                    "follow_activity_id",
                    "follow_activity",
                    "updated_at",
                ]
            )
            await publish(accept, [inbox], self._me, row.updated_at)
        self._queued()

    async def on_accept(self, activity: InboundActivity) -> None:
        """Our proposal was accepted."""
        await self._answered(activity, PartnershipState.PROPOSED, PartnershipState.ACTIVE)

    async def on_reject(self, activity: InboundActivity) -> None:
        """Our proposal was refused, or the other node ended the partnership."""
        row = await self._concerning(activity, by_us=True)
        _expect(row, PartnershipState.PROPOSED, PartnershipState.ACTIVE)
        ended = PartnershipState.REFUSED if row.state == PartnershipState.PROPOSED else None
        await self._set(row, ended or PartnershipState.ENDED)

    async def on_undo(self, activity: InboundActivity) -> None:
        """The other node withdrew its proposal or ended the partnership."""
        row = await self._concerning(activity, by_us=False)
        _expect(row, PartnershipState.REQUESTED, PartnershipState.ACTIVE)
        await self._set(row, PartnershipState.ENDED)

    async def _answered(
        self, activity: InboundActivity, expected: PartnershipState, new: PartnershipState
    ) -> None:
        row = await self._concerning(activity, by_us=True)
        _expect(row, expected)
        await self._set(row, new)

    async def _concerning(self, activity: InboundActivity, *, by_us: bool) -> Partnership:
        """The partnership whose Follow ``activity`` answers; ``NotActedOn`` if none."""
        kind = activity.activity_type
        answered = activities.object_id(activity.body.get("object"))
        row = (
            None if answered is None else await Partnership.get_or_none(follow_activity_id=answered)
        )
        if row is None:
            raise NotActedOn(f"the {kind} is not of a partnership (or of an earlier proposal)")
        if row.peer_actor != activity.actor or row.initiated_by_us != by_us:
            raise NotActedOn(f"the {kind} of a partnership does not come from its other node")
        return row

    async def _answer(self, row: Partnership, kind: str, state: PartnershipState) -> None:
        answer = activities.respond(kind, self._new_id(kind.lower()), self._me, row.follow_activity)
        async with in_transaction():
            await self._set(row, state)
            await publish(answer, [row.peer_inbox], self._me, self._clock())
        self._queued()

    async def _set(self, row: Partnership, state: PartnershipState) -> None:
        row.state, row.updated_at = state, self._clock()
        await row.save(update_fields=["state", "updated_at"])

    async def _get(self, partnership_id: int, state: PartnershipState) -> Partnership:
        row = await Partnership.get_or_none(id=partnership_id, state=state)
        if row is None:
            raise PartnershipError(f"no such {state.value} partnership")
        return row

    def _new_id(self, kind: str) -> str:
        return f"{self._me}/{kind}/{uuid.uuid4().hex}"

    async def _may_partner(self, host: str) -> None:
        if self._refuse_peer is not None:
            reason = await self._refuse_peer(host.lower())
            if reason is not None:
                raise PartnershipError(f"cannot partner with {host}: {reason}")


def _expect(row: Partnership, *states: PartnershipState) -> None:
    if row.state not in states:
        raise NotActedOn(f"the partnership is {row.state.value}: nothing to change")


def _node_host(node: str) -> str:
    """``host[:port]`` of a node given as a host or an origin URL."""
    text = node.strip().rstrip("/")
    host = urlsplit(text).netloc if "://" in text else text
    if not host or any(ch.isspace() or ch in "/?#@" for ch in host):
        raise PartnershipError(f"not a node address: {node!r}")
    return host
