"""``quartier blocks`` (list, add, remove): the community's domain blocks.

As through the admin API: a suspension ends the follows and conversations with the server,
and each change goes to the audit log (as ``operator (command line)``).

A running node picks up a change made here within 30 s (its block cache is reloaded at most
that long after it was loaded, see moderation/blocks.py).
"""

from __future__ import annotations

import argparse
import json

from moderation.errors import BlockError
from moderation.models import Severity
from node.app import federation_policy
from node.cli.common import CLI_ACTOR, _database, _node, _settings
from node.clock import utc_now
from node.errors import NodeError
from node.http.blocks import block_to_api
from node.http.keys import MODERATION

PICKED_UP = "a running node applies it within 30 s"


async def _blocks_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _database(settings):
        blocks = await federation_policy(settings, utc_now).blocks.all()
    if args.json:
        print(json.dumps([block_to_api(b) for b in blocks]))
        return 0
    if not blocks:
        print("no blocked domains")
        return 0
    print(f"{'DOMAIN':<40} {'SEVERITY':<9} {'SINCE (UTC)':<16} REASON")
    for block in blocks:
        since = f"{block.created_at:%Y-%m-%d %H:%M}"
        print(f"{block.host:<40} {block.severity.value:<9} {since} {block.reason}".rstrip())
    return 0


async def _blocks_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    severity = Severity(args.severity)
    async with _node(settings) as app:
        try:
            block = await app[MODERATION].block_domain(
                CLI_ACTOR, args.domain, args.reason, severity
            )
        except BlockError as exc:
            raise NodeError(str(exc)) from None
    done = "suspended" if severity is Severity.SUSPEND else "silenced"
    print(f"{done} {block.host} and its subdomains ({PICKED_UP})")
    return 0


async def _blocks_remove(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _node(settings) as app:
        try:
            block = await app[MODERATION].unblock_domain(CLI_ACTOR, args.domain)
        except BlockError as exc:
            raise NodeError(str(exc)) from None
    print(f"unblocked {block.host} ({PICKED_UP})")
    return 0
