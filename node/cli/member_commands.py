"""``quartier invite create``, ``members list``/``show`` and ``admin create``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import timedelta

from node.cli.common import _database, _member_service, _settings
from node.members.models import Role
from node.members.render import member_to_api

MAX_INVITE_TTL_HOURS = 24 * 365


async def _invite_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.ttl_hours is not None and not 1 <= args.ttl_hours <= MAX_INVITE_TTL_HOURS:
        print(f"quartier: --ttl-hours must be 1 to {MAX_INVITE_TTL_HOURS}", file=sys.stderr)
        return 2
    ttl = timedelta(hours=args.ttl_hours) if args.ttl_hours else None
    async with _database(settings):
        invite, secret = await _member_service(settings).create_invite(
            Role(args.role), note=args.note, ttl=ttl
        )
    print(f"invite code: {secret.secret}")
    print(f"role: {invite.role.value}; valid until {secret.expires_at:%Y-%m-%d %H:%M} UTC")
    return 0


async def _members_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _database(settings):
        members = await _member_service(settings).list_members()
    if args.json:
        print(json.dumps([member_to_api(m, settings.uris, private=True) for m in members]))
        return 0
    if not members:
        print("no members yet")
        return 0
    print(f"{'USERNAME':<30} {'ROLE':<10} {'DISPLAY NAME':<30} REAL NAME")
    for m in members:
        print(f"{m.username:<30} {m.role.value:<10} {m.display_name:<30} {m.real_name}")
    return 0


async def _members_show(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _database(settings):
        member = await _member_service(settings).get(args.username)
    print(json.dumps(member_to_api(member, settings.uris, private=True), indent=2))
    return 0


async def _admin_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("quartier: the passwords differ", file=sys.stderr)
            return 1
    async with _database(settings):
        member = await _member_service(settings).create_member(
            username=args.username,
            password=password,
            real_name=args.real_name,
            display_name=args.display_name,
            role=Role.ADMIN,
        )
    print(f"created admin {member.username} ({settings.uris.actor(member.username)})")
    return 0
