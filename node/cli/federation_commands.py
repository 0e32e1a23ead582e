"""``quartier deliveries`` (list, retry) and ``partners`` (list, propose, accept, reject, end)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable

from federation.dereference import ActorResolver
from federation.errors import PartnershipError
from federation.models import Delivery, DeliveryState, Partnership
from federation.outbound import list_deliveries, retry_deliveries
from federation.peers import Partnerships
from federation.transport import open_transport
from node.app import federation_policy, transport_settings
from node.cli.common import _database, _settings
from node.clock import utc_now
from node.config import Settings
from node.errors import NodeError


async def _deliveries_list(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        print("quartier: --limit must be 1 to 10000", file=sys.stderr)
        return 2
    settings = _settings(args)
    state = DeliveryState(args.state) if args.state else None
    async with _database(settings):
        rows = await list_deliveries(state, args.limit)
    if args.json:
        print(json.dumps([_delivery_json(row) for row in rows]))
        return 0
    if not rows:
        print("no deliveries")
        return 0
    print(f"{'ID':>8} {'STATE':<10} {'TRIES':>5} {'STATUS':>6} INBOX / ACTIVITY / LAST ERROR")
    for row in rows:
        status = "" if row.last_status is None else str(row.last_status)
        print(f"{row.id:>8} {row.state.value:<10} {row.attempts:>5} {status:>6} {row.inbox}")
        print(f"{'':>33}{row.activity_id}")
        if row.last_error:
            print(f"{'':>33}{row.last_error}")
    return 0


async def _deliveries_retry(args: argparse.Namespace) -> int:
    if bool(args.ids) == bool(args.all):
        print("quartier: give delivery ids, or --all for every dead delivery", file=sys.stderr)
        return 2
    settings = _settings(args)
    async with _database(settings):
        count = await retry_deliveries(None if args.all else args.ids, utc_now())
    print(f"queued again: {count} (a running node sends them within seconds)")
    return 0


def _delivery_json(row: Delivery) -> dict[str, object]:
    return {
        "id": row.id,
        "state": row.state.value,
        "activity_id": row.activity_id,
        "inbox": row.inbox,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat(),
        "next_attempt_at": row.next_attempt_at.isoformat(),
    }


@contextlib.asynccontextmanager
async def _partnerships(settings: Settings) -> AsyncIterator[Partnerships]:
    """The partnership service over the database and the network, as the node builds it
    (with the community's federation policy: no proposals in the local mode, none to blocks).

    What it queues is delivered by the running node's worker within seconds.
    """
    async with _database(settings), open_transport(transport_settings(settings)) as transport:
        resolver = ActorResolver(transport, utc_now)
        policy = federation_policy(settings, utc_now)
        yield Partnerships(
            settings.uris.instance_actor,
            resolver,
            transport,
            utc_now,
            refuse_peer=policy.refuse_partnership,
        )


async def _print_partnerships(service: Partnerships, rows: list[Partnership]) -> None:
    if not rows:
        print("no partnerships")
        return
    print(f"{'ID':>5} {'STATE':<10} {'BY':<5} NODE / MESSAGE")
    for row in rows:
        by = "us" if row.initiated_by_us else "them"
        print(f"{row.id:>5} {row.state.value:<10} {by:<5} {row.peer_host}")
        if reason := await service.suspension(row):
            # Shown first: an active partnership that carries nothing must not look fine.
            print(f"{'':>23}SUSPENDED: {reason}")
        if row.message:
            print(f"{'':>23}{row.message}")


async def _partners_list(args: argparse.Namespace) -> int:
    async with _partnerships(_settings(args)) as service:
        await _print_partnerships(service, await service.all())
    return 0


async def _partners_propose(args: argparse.Namespace) -> int:
    async with _partnerships(_settings(args)) as service:
        row = await _partnership_call(service.propose(args.node, args.message))
        await _print_partnerships(service, [row])
    return 0


async def _partners_answer(args: argparse.Namespace) -> int:
    async with _partnerships(_settings(args)) as service:
        row = await _partnership_call(service.decide(args.id, accept=args.accept))
        await _print_partnerships(service, [row])
    return 0


async def _partners_end(args: argparse.Namespace) -> int:
    async with _partnerships(_settings(args)) as service:
        row = await _partnership_call(service.end(args.id))
        await _print_partnerships(service, [row])
    return 0


async def _partnership_call(call: Awaitable[Partnership]) -> Partnership:
    try:
        return await call
    except PartnershipError as exc:
        raise NodeError(str(exc)) from None
