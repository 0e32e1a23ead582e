"""``quartier``: set up, run and administer a node.

quartier init            write a commented quartier.toml
quartier migrate         create or upgrade the database schema
quartier serve           run the node (refuses an unmigrated database)
quartier invite create   create a single-use invite
quartier members list    list members
quartier members show    show one member
quartier admin create    create an admin directly (first admin, or recovery)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from federation.dereference import ActorResolver
from federation.errors import PartnershipError
from federation.models import Delivery, DeliveryState, Partnership
from federation.outbound import list_deliveries, retry_deliveries
from federation.peers import Partnerships
from federation.transport import open_transport
from node import __version__
from node.actors.service import ensure_instance_actor
from node.app import create_app, member_service, transport_settings
from node.clock import utc_now
from node.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, Settings, load_settings
from node.db import activated, apply_migrations, open_database, require_current_schema
from node.errors import NodeError
from node.http.keys import DATABASE, MEMBERS
from node.logs import configure_logging
from node.members.models import Role
from node.members.render import member_to_api
from node.members.service import MemberService

log = logging.getLogger(__name__)

FIRST_ADMIN_NOTE = "first admin (printed by serve)"
MAX_INVITE_TTL_HOURS = 24 * 365


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quartier`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        result = args.run(args)
        return asyncio.run(result) if asyncio.iscoroutine(result) else int(result)
    except NodeError as exc:
        print(f"quartier: {_describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _describe(exc: NodeError) -> str:
    """The safe message, plus what each invalid field expects."""
    if isinstance(exc.details, list):
        fields = "; ".join(f"{d['field']}: {d['message']}" for d in exc.details)
        return f"{exc.safe} ({fields})"
    return exc.safe


def _config_option(default: object) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "-c",
        "--config",
        type=Path,
        default=default,
        help=f"configuration file (default: ${CONFIG_ENV} or ./{DEFAULT_CONFIG_PATH})",
    )
    return parent


def _parser() -> argparse.ArgumentParser:
    # -c is accepted before and after the command; the subcommands' copy must not reset a
    # value given before the command, hence SUPPRESS as its default.
    common = _config_option(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="quartier",
        description="Quartier: a federated neighbourhood server.",
        parents=[_config_option(None)],
    )
    parser.add_argument("--version", action="version", version=f"quartier {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    init = sub.add_parser("init", parents=[common], help="write a commented configuration file")
    init.add_argument("--base-url", default="http://127.0.0.1:8080", help="public origin")
    init.add_argument("--host", default="127.0.0.1", help="address to listen on")
    init.add_argument("--port", type=int, default=8080, help="port to listen on")
    init.add_argument("--name", default="My neighbourhood", help="community name")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=_init)

    migrate = sub.add_parser("migrate", parents=[common], help="create or upgrade the schema")
    migrate.set_defaults(run=_migrate)

    serve = sub.add_parser("serve", parents=[common], help="run the node")
    serve.set_defaults(run=_serve)

    invite = sub.add_parser("invite", help="manage invites").add_subparsers(
        title="invite commands", metavar="COMMAND", required=True
    )
    invite_create = invite.add_parser("create", parents=[common], help="create an invite")
    invite_create.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.RESIDENT.value
    )
    invite_create.add_argument("--ttl-hours", type=int, default=None, help="validity in hours")
    invite_create.add_argument("--note", default="", help="who the invite is for")
    invite_create.set_defaults(run=_invite_create)

    members = sub.add_parser("members", help="inspect members").add_subparsers(
        title="members commands", metavar="COMMAND", required=True
    )
    members_list = members.add_parser("list", parents=[common], help="list members")
    members_list.add_argument("--json", action="store_true", help="print JSON")
    members_list.set_defaults(run=_members_list)
    members_show = members.add_parser("show", parents=[common], help="show one member")
    members_show.add_argument("username")
    members_show.set_defaults(run=_members_show)

    admin = sub.add_parser("admin", help="administrators").add_subparsers(
        title="admin commands", metavar="COMMAND", required=True
    )
    admin_create = admin.add_parser("create", parents=[common], help="create an admin account")
    admin_create.add_argument("username")
    admin_create.add_argument("--real-name", required=True)
    admin_create.add_argument("--display-name", default=None)
    admin_create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    admin_create.set_defaults(run=_admin_create)

    deliveries = sub.add_parser("deliveries", help="outbound deliveries").add_subparsers(
        title="deliveries commands", metavar="COMMAND", required=True
    )
    deliveries_list = deliveries.add_parser("list", parents=[common], help="list deliveries")
    deliveries_list.add_argument(
        "--state", choices=[s.value for s in DeliveryState], default=None, help="only this state"
    )
    deliveries_list.add_argument("--limit", type=int, default=50, help="at most this many")
    deliveries_list.add_argument("--json", action="store_true", help="print JSON")
    deliveries_list.set_defaults(run=_deliveries_list)
    deliveries_retry = deliveries.add_parser(
        "retry", parents=[common], help="queue dead deliveries again"
    )
    deliveries_retry.add_argument("ids", nargs="*", type=int, help="delivery ids")
    deliveries_retry.add_argument("--all", action="store_true", help="every dead delivery")
    deliveries_retry.set_defaults(run=_deliveries_retry)

    partners = sub.add_parser("partners", help="partnerships with other nodes").add_subparsers(
        title="partners commands", metavar="COMMAND", required=True
    )
    partners.add_parser("list", parents=[common], help="list partnerships").set_defaults(
        run=_partners_list
    )
    propose = partners.add_parser("propose", parents=[common], help="propose a partnership")
    propose.add_argument("node", help="the other node: host[:port] or origin URL")
    propose.add_argument("--message", default="", help="for the other node's admins")
    propose.set_defaults(run=_partners_propose)
    for name, helptext in (("accept", "accept a request"), ("reject", "refuse a request")):
        answer = partners.add_parser(name, parents=[common], help=helptext)
        answer.add_argument("id", type=int)
        answer.set_defaults(run=_partners_answer, accept=name == "accept")
    end = partners.add_parser("end", parents=[common], help="end a partnership")
    end.add_argument("id", type=int)
    end.set_defaults(run=_partners_end)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _member_service(settings: Settings) -> MemberService:
    return member_service(settings, utc_now)


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[None]:
    async with open_database(settings.database_url) as ctx:
        await require_current_schema(ctx)
        with activated(ctx):
            yield


def _init(args: argparse.Namespace) -> int:
    path = Path(args.config or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
    if path.exists() and not args.force:
        print(f"quartier: {path} already exists (use --force to overwrite)", file=sys.stderr)
        return 1
    template = (Path(__file__).parent / "default_config.toml").read_text(encoding="utf-8")
    text = template.format(
        base_url=json.dumps(args.base_url),
        host=json.dumps(args.host),
        port=args.port,
        name=json.dumps(args.name, ensure_ascii=False),
    )
    # Validate before the file takes its place: never leave (or overwrite with) a bad file.
    draft = path.with_name(f".{path.name}.new")
    try:
        draft.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise NodeError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        load_settings(draft, environ={})
    except NodeError:
        draft.unlink()
        raise
    draft.replace(path)
    print(f"wrote {path}; next: quartier migrate, then quartier serve")
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    applied = await apply_migrations(settings.database_url)
    async with _database(settings):
        await ensure_instance_actor()
    print("applied: " + ", ".join(applied) if applied else "the schema is up to date")
    return 0


async def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    configure_logging(settings.server.log_level)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    # Handlers first: a SIGTERM during start-up must still end in a clean shutdown.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.server.host, settings.server.port)
        try:
            await site.start()
        except OSError as exc:
            where = f"{settings.server.host}:{settings.server.port}"
            raise NodeError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        print(
            f"Quartier {__version__}: {settings.community.name!r} is ready at "
            f"{settings.server.base_url}/ (listening on {settings.server.host}:"
            f"{settings.server.port})",
            flush=True,
        )
        with activated(app[DATABASE]):
            await _offer_first_admin_invite(app[MEMBERS], settings)
        await stop.wait()
        print("stopping", flush=True)
    finally:
        await runner.cleanup()
    return 0


async def _offer_first_admin_invite(members: MemberService, settings: Settings) -> None:
    """Until the node has an admin, each start prints a fresh one-time admin invite."""
    if await members.has_admin():
        return
    # Only the invites serve printed before: admin invites made with 'invite create' stay valid.
    await members.revoke_unused_invites(Role.ADMIN, note=FIRST_ADMIN_NOTE)
    _, secret = await members.create_invite(Role.ADMIN, note=FIRST_ADMIN_NOTE)
    url = f"{settings.server.base_url}/api/v1/accounts"
    body = json.dumps(
        {
            "invite": secret.secret,
            "username": "YOUR_USERNAME",
            "password": "A_LONG_PASSWORD",
            "real_name": "Your Name",
        }
    )
    print(
        "This node has no admin yet. Register the first admin with this one-time invite\n"
        f"(valid until {secret.expires_at:%Y-%m-%d %H:%M} UTC; a restart prints a new one):\n"
        f"  invite code: {secret.secret}\n"
        f"  curl -X POST {url} -H 'Content-Type: application/json' -d '{body}'",
        flush=True,
    )


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
    """The partnership service over the database and the network, as the node builds it.

    What it queues is delivered by the running node's worker within seconds.
    """
    async with _database(settings), open_transport(transport_settings(settings)) as transport:
        resolver = ActorResolver(transport, utc_now)
        yield Partnerships(settings.uris.instance_actor, resolver, transport, utc_now)


def _print_partnerships(rows: list[Partnership]) -> None:
    if not rows:
        print("no partnerships")
        return
    print(f"{'ID':>5} {'STATE':<10} {'BY':<5} NODE / MESSAGE")
    for row in rows:
        by = "us" if row.initiated_by_us else "them"
        print(f"{row.id:>5} {row.state.value:<10} {by:<5} {row.peer_host}")
        if row.message:
            print(f"{'':>23}{row.message}")


async def _partners_list(args: argparse.Namespace) -> int:
    async with _partnerships(_settings(args)) as service:
        _print_partnerships(await service.all())
    return 0


async def _partners_propose(args: argparse.Namespace) -> int:
    async with _partnerships(_settings(args)) as service:
        row = await _partnership_call(service.propose(args.node, args.message))
    _print_partnerships([row])
    return 0


async def _partners_answer(args: argparse.Namespace) -> int:
    async with _partnerships(_settings(args)) as service:
        row = await _partnership_call(service.decide(args.id, accept=args.accept))
    _print_partnerships([row])
    return 0


async def _partners_end(args: argparse.Namespace) -> int:
    async with _partnerships(_settings(args)) as service:
        row = await _partnership_call(service.end(args.id))
    _print_partnerships([row])
    return 0


async def _partnership_call(call: Awaitable[Partnership]) -> Partnership:
    try:
        return await call
    except PartnershipError as exc:
        raise NodeError(str(exc)) from None
