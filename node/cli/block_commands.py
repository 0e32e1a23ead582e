"""``quartier blocks`` (list, add, remove): the community's domain blocks.

A running node picks up a change made here within 30 s (its block cache is reloaded at most
that long after it was loaded, see moderation/blocks.py).
"""

from __future__ import annotations

import argparse
import json

from moderation.errors import BlockError
from node.app import federation_policy
from node.cli.common import _database, _settings
from node.clock import utc_now
from node.errors import NodeError
from node.http.blocks import block_to_api

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
    print(f"{'DOMAIN':<40} {'SINCE (UTC)':<16} REASON")
    for block in blocks:
        print(f"{block.host:<40} {block.created_at:%Y-%m-%d %H:%M} {block.reason}".rstrip())
    return 0


async def _blocks_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _database(settings):
        try:
            block = await federation_policy(settings, utc_now).blocks.add(args.domain, args.reason)
        except BlockError as exc:
            raise NodeError(str(exc)) from None
    print(f"blocked {block.host} and its subdomains ({PICKED_UP})")
    return 0


async def _blocks_remove(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _database(settings):
        try:
            block = await federation_policy(settings, utc_now).blocks.remove(args.domain)
        except BlockError as exc:
            raise NodeError(str(exc)) from None
    print(f"unblocked {block.host} ({PICKED_UP})")
    return 0
