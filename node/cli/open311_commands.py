"""``quartier open311 keys`` (add, list, revoke): the API keys Open311 clients (a city's
back-office, a reporting app) create requests and change statuses with.

A key is printed once, when added: only its SHA-256 is stored, so it cannot be shown again
(revoke it and add another if it is lost).
"""

from __future__ import annotations

import argparse
import json

from moderation import audit
from node.cli.common import CLI_ACTOR, _database, _settings
from node.clock import utc_now
from node.errors import NodeError
from node.problems.open311 import Open311Keys, key_to_api


async def _keys_add(args: argparse.Namespace) -> int:
    name = args.name.strip()
    if not name or len(name) > 100:
        raise NodeError("the key's name must be 1 to 100 characters")
    async with _database(_settings(args)):
        row, key = await Open311Keys(utc_now).add(name)
        await audit.record(CLI_ACTOR, "open311.key_added", f"open311-key:{row.id}", name, utc_now())
    print(f"added Open311 key {row.id} ({row.name}); it is shown this once:")
    print(key)
    return 0


async def _keys_list(args: argparse.Namespace) -> int:
    async with _database(_settings(args)):
        rows = await Open311Keys(utc_now).all()
    if args.json:
        print(json.dumps([key_to_api(r) for r in rows]))
        return 0
    if not rows:
        print("no Open311 keys")
        return 0
    print(f"{'ID':<6} {'CREATED (UTC)':<17} {'STATE':<8} NAME")
    for row in rows:
        state = "revoked" if row.revoked_at else "live"
        print(f"{row.id:<6} {row.created_at:%Y-%m-%d %H:%M} {state:<8} {row.name}")
    return 0


async def _keys_revoke(args: argparse.Namespace) -> int:
    async with _database(_settings(args)):
        row = await Open311Keys(utc_now).revoke(args.id)
        await audit.record(
            CLI_ACTOR, "open311.key_revoked", f"open311-key:{row.id}", row.name, utc_now()
        )
    print(f"revoked Open311 key {row.id} ({row.name})")
    return 0
