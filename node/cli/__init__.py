"""``quartier``: set up, run and administer a node.

quartier init            write a commented quartier.toml
quartier migrate         create or upgrade the database schema
quartier serve           run the node (refuses an unmigrated database); --processes N
quartier worker          an extra federation worker process (PostgreSQL only)
quartier invite create   create a single-use invite
quartier members list    list members
quartier members show    show one member
quartier admin create    create an admin directly (first admin, or recovery)
quartier deliveries list | retry                        outbound deliveries, and dead ones again
quartier partners list | propose | accept | reject | end   partnerships with other nodes
quartier blocks list | add | remove                     domains the community blocks
quartier verification import FILE [--dry-run]           verify the members a residents' list names
quartier verification set | review                      a member's verification, the review list
quartier verification endorse | endorsements | unendorse   a municipality's endorsements
quartier notices list | publish | delete                 notices to the community
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from federation.models import DeliveryState
from moderation.models import Severity
from node import __version__
from node.cli.block_commands import _blocks_add, _blocks_list, _blocks_remove
from node.cli.federation_commands import (
    _deliveries_list,
    _deliveries_retry,
    _partners_answer,
    _partners_end,
    _partners_list,
    _partners_propose,
)
from node.cli.member_commands import (
    MAX_INVITE_TTL_HOURS,
    _admin_create,
    _invite_create,
    _members_list,
    _members_show,
)
from node.cli.node_commands import FIRST_ADMIN_NOTE, _init, _migrate, _serve, _worker
from node.cli.notice_commands import add_notice_commands
from node.cli.open311_commands import add_commands as add_open311_commands
from node.cli.rights_commands import _members_erase, _members_export
from node.cli.verification_commands import (
    _verification_endorse,
    _verification_endorsements,
    _verification_import,
    _verification_review,
    _verification_set,
    _verification_unendorse,
)
from node.config import CONFIG_ENV, DEFAULT_CONFIG_PATH
from node.errors import NodeError
from node.members.models import Role

__all__ = ["FIRST_ADMIN_NOTE", "MAX_INVITE_TTL_HOURS", "main"]


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
    init.add_argument("--base-url", default=None, help="public origin (default: http://HOST:PORT)")
    init.add_argument("--host", default="127.0.0.1", help="address to listen on")
    init.add_argument("--port", type=int, default=8080, help="port to listen on")
    init.add_argument("--name", default="My neighbourhood", help="community name")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=_init)

    migrate = sub.add_parser("migrate", parents=[common], help="create or upgrade the schema")
    migrate.set_defaults(run=_migrate)

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="run the node",
        description="Run the node. --host, --port and --base-url override the configuration "
        "for this run; without a configured base URL, the node's public URL is "
        "http://HOST:PORT.",
    )
    serve.add_argument("--host", default=None, help="address to listen on (server.host)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (server.port)")
    serve.add_argument("--base-url", default=None, help="public origin (server.base_url)")
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="run N processes sharing the port, each with its own workers (PostgreSQL only; "
        "default 1)",
    )
    serve.set_defaults(run=_serve)

    worker = sub.add_parser(
        "worker",
        parents=[common],
        help="an extra federation worker process (PostgreSQL only)",
        description="Process inbound activities and deliveries beside 'quartier serve', "
        "sharing its queues (PostgreSQL: rows are leased and claimed with SKIP LOCKED). "
        "Stops on SIGINT or SIGTERM.",
    )
    worker.set_defaults(run=_worker)

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
    members_export = members.add_parser(
        "export", parents=[common], help="write a member's data to a ZIP archive (audited)"
    )
    members_export.add_argument("username")
    members_export.add_argument(
        "-o", "--output", default=None, help="the archive to write ('-' for stdout)"
    )
    members_export.set_defaults(run=_members_export)
    members_erase = members.add_parser(
        "erase", parents=[common], help="erase a member's account here and where it went"
    )
    members_erase.add_argument("username")
    members_erase.add_argument("--reason", default="", help="why, for the audit log")
    members_erase.add_argument("--yes", action="store_true", help="do not ask to confirm")
    members_erase.set_defaults(run=_members_erase)

    add_notice_commands(sub, common)

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

    blocks = sub.add_parser(
        "blocks", help="domains the community blocks (a running node applies changes within 30 s)"
    ).add_subparsers(title="blocks commands", metavar="COMMAND", required=True)
    blocks_list = blocks.add_parser("list", parents=[common], help="list blocked domains")
    blocks_list.add_argument("--json", action="store_true", help="print JSON")
    blocks_list.set_defaults(run=_blocks_list)
    blocks_add = blocks.add_parser(
        "add", parents=[common], help="block a domain and its subdomains"
    )
    blocks_add.add_argument(
        "domain", metavar="DOMAIN", help="a bare host such as spam.example (not a URL)"
    )
    blocks_add.add_argument("--reason", default="", help="why, for the other admins")
    blocks_add.add_argument(
        "--severity",
        choices=[s.value for s in Severity],
        default=Severity.SUSPEND.value,
        help="suspend (refuse both ways, end follows; the default) or silence (accept, but "
        "keep out of browse and search)",
    )
    blocks_add.set_defaults(run=_blocks_add)
    blocks_remove = blocks.add_parser("remove", parents=[common], help="lift a block")
    blocks_remove.add_argument("domain", metavar="DOMAIN", help="the blocked domain")
    blocks_remove.set_defaults(run=_blocks_remove)

    verification = sub.add_parser("verification", help="verified neighbours").add_subparsers(
        title="verification commands", metavar="COMMAND", required=True
    )
    residents = verification.add_parser(
        "import",
        parents=[common],
        help="verify the members a landlord's or town hall's list of residents names",
        description="Read a CSV list of residents (columns: name, unit, optional email) and "
        "verify, by 'manager', the members it names; print what became of each row. The file "
        "is read, never copied or stored.",
    )
    residents.add_argument("file", type=Path, metavar="FILE", help="the list (CSV)")
    residents.add_argument(
        "--dry-run", action="store_true", help="match and report, change nothing"
    )
    residents.set_defaults(run=_verification_import)
    verify = verification.add_parser(
        "set", parents=[common], help="verify a member by hand, or take it back"
    )
    verify.add_argument("username", metavar="USERNAME")
    choice = verify.add_mutually_exclusive_group(required=True)
    choice.add_argument("--verified", dest="verified", action="store_true")
    choice.add_argument("--unverified", dest="verified", action="store_false")
    verify.add_argument("--reason", default="", help="why (the member reads it)")
    verify.add_argument(
        "--found-false",
        action="store_true",
        help="it was false: the vouches the member gave are discredited too (needs --reason)",
    )
    verify.set_defaults(run=_verification_set)
    review = verification.add_parser(
        "review", parents=[common], help="members whose verification needs a manager's look"
    )
    review.set_defaults(run=_verification_review)
    endorse = verification.add_parser(
        "endorse",
        parents=[common],
        help="endorse a district node as an issuer of residency credentials (a municipality)",
    )
    endorse.add_argument("node", metavar="ACTOR", help="the district node's actor id (…/actor)")
    endorse.add_argument("--name", required=True, help="its community's name, as it states it")
    endorse.add_argument("--area", default="", help="its area, as it states it")
    endorse.set_defaults(run=_verification_endorse)
    endorsements = verification.add_parser(
        "endorsements", parents=[common], help="the nodes this node endorses"
    )
    endorsements.set_defaults(run=_verification_endorsements)
    unendorse = verification.add_parser(
        "unendorse", parents=[common], help="revoke the endorsement of a node"
    )
    unendorse.add_argument("node", metavar="ACTOR")
    unendorse.set_defaults(run=_verification_unendorse)
    add_open311_commands(sub, common)
    return parser
