"""The ``quartier`` command line: its commands, options and help, without the commands.

Each command is named by its module and function, and imported only when it runs: the
commands import the node (aiohttp, every model and service: about a second), which
``quartier --help``, ``init``, a usage error or a wrong configuration do not need.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from federation.models import DeliveryState
from moderation.models import Severity
from node import __version__
from node.config import CONFIG_ENV, DEFAULT_CONFIG_PATH
from node.members.models import Role

# A command: the parsed arguments in, the exit status out (or a coroutine that gives it).
Command = Callable[[argparse.Namespace], Any]


@dataclass(frozen=True)
class _Command:
    """The command ``name`` of the module ``node.cli.<module>``, imported when it runs."""

    module: str
    name: str

    def resolve(self) -> Command:
        """The command's function (its module imported now)."""
        function: Command = getattr(importlib.import_module(f"node.cli.{self.module}"), self.name)
        return function

    def __call__(self, args: argparse.Namespace) -> Any:
        return self.resolve()(args)


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


def build_parser() -> argparse.ArgumentParser:
    """The ``quartier`` command line: every command, its options and its help."""
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
    init.set_defaults(run=_Command("setup_commands", "_init"))

    migrate = sub.add_parser("migrate", parents=[common], help="create or upgrade the schema")
    migrate.set_defaults(run=_Command("setup_commands", "_migrate"))

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
    serve.add_argument(
        "--no-workers",
        action="store_true",
        help="answer requests only: no inbound or delivery worker and no periodic jobs in "
        "these processes; 'quartier worker' runs them (PostgreSQL only)",
    )
    serve.set_defaults(run=_Command("node_commands", "_serve"))

    worker = sub.add_parser(
        "worker",
        parents=[common],
        help="an extra federation worker process (PostgreSQL only)",
        description="Process inbound activities and deliveries beside 'quartier serve', "
        "sharing its queues (PostgreSQL: rows are leased and claimed with SKIP LOCKED). "
        "Stops on SIGINT or SIGTERM.",
    )
    worker.set_defaults(run=_Command("node_commands", "_worker"))

    invite = sub.add_parser("invite", help="manage invites").add_subparsers(
        title="invite commands", metavar="COMMAND", required=True
    )
    invite_create = invite.add_parser("create", parents=[common], help="create an invite")
    invite_create.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.RESIDENT.value
    )
    invite_create.add_argument("--ttl-hours", type=int, default=None, help="validity in hours")
    invite_create.add_argument("--note", default="", help="who the invite is for")
    invite_create.set_defaults(run=_Command("member_commands", "_invite_create"))

    members = sub.add_parser("members", help="inspect members").add_subparsers(
        title="members commands", metavar="COMMAND", required=True
    )
    members_list = members.add_parser("list", parents=[common], help="list members")
    members_list.add_argument("--json", action="store_true", help="print JSON")
    members_list.set_defaults(run=_Command("member_commands", "_members_list"))
    members_show = members.add_parser("show", parents=[common], help="show one member")
    members_show.add_argument("username")
    members_show.set_defaults(run=_Command("member_commands", "_members_show"))
    members_export = members.add_parser(
        "export", parents=[common], help="write a member's data to a ZIP archive (audited)"
    )
    members_export.add_argument("username")
    members_export.add_argument(
        "-o", "--output", default=None, help="the archive to write ('-' for stdout)"
    )
    members_export.set_defaults(run=_Command("rights_commands", "_members_export"))
    members_erase = members.add_parser(
        "erase", parents=[common], help="erase a member's account here and where it went"
    )
    members_erase.add_argument("username")
    members_erase.add_argument("--reason", default="", help="why, for the audit log")
    members_erase.add_argument("--yes", action="store_true", help="do not ask to confirm")
    members_erase.set_defaults(run=_Command("rights_commands", "_members_erase"))

    _add_notice_commands(sub, common)

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
    admin_create.set_defaults(run=_Command("member_commands", "_admin_create"))

    deliveries = sub.add_parser("deliveries", help="outbound deliveries").add_subparsers(
        title="deliveries commands", metavar="COMMAND", required=True
    )
    deliveries_list = deliveries.add_parser("list", parents=[common], help="list deliveries")
    deliveries_list.add_argument(
        "--state", choices=[s.value for s in DeliveryState], default=None, help="only this state"
    )
    deliveries_list.add_argument("--limit", type=int, default=50, help="at most this many")
    deliveries_list.add_argument("--json", action="store_true", help="print JSON")
    deliveries_list.set_defaults(run=_Command("federation_commands", "_deliveries_list"))
    deliveries_retry = deliveries.add_parser(
        "retry", parents=[common], help="queue dead deliveries again"
    )
    deliveries_retry.add_argument("ids", nargs="*", type=int, help="delivery ids")
    deliveries_retry.add_argument("--all", action="store_true", help="every dead delivery")
    deliveries_retry.set_defaults(run=_Command("federation_commands", "_deliveries_retry"))

    partners = sub.add_parser("partners", help="partnerships with other nodes").add_subparsers(
        title="partners commands", metavar="COMMAND", required=True
    )
    partners.add_parser("list", parents=[common], help="list partnerships").set_defaults(
        run=_Command("federation_commands", "_partners_list")
    )
    propose = partners.add_parser("propose", parents=[common], help="propose a partnership")
    propose.add_argument("node", help="the other node: host[:port] or origin URL")
    propose.add_argument("--message", default="", help="for the other node's admins")
    propose.set_defaults(run=_Command("federation_commands", "_partners_propose"))
    for name, helptext in (("accept", "accept a request"), ("reject", "refuse a request")):
        answer = partners.add_parser(name, parents=[common], help=helptext)
        answer.add_argument("id", type=int)
        answer.set_defaults(
            run=_Command("federation_commands", "_partners_answer"), accept=name == "accept"
        )
    end = partners.add_parser("end", parents=[common], help="end a partnership")
    end.add_argument("id", type=int)
    end.set_defaults(run=_Command("federation_commands", "_partners_end"))

    blocks = sub.add_parser(
        "blocks", help="domains the community blocks (a running node applies changes within 30 s)"
    ).add_subparsers(title="blocks commands", metavar="COMMAND", required=True)
    blocks_list = blocks.add_parser("list", parents=[common], help="list blocked domains")
    blocks_list.add_argument("--json", action="store_true", help="print JSON")
    blocks_list.set_defaults(run=_Command("block_commands", "_blocks_list"))
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
    blocks_add.set_defaults(run=_Command("block_commands", "_blocks_add"))
    blocks_remove = blocks.add_parser("remove", parents=[common], help="lift a block")
    blocks_remove.add_argument("domain", metavar="DOMAIN", help="the blocked domain")
    blocks_remove.set_defaults(run=_Command("block_commands", "_blocks_remove"))

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
    residents.set_defaults(run=_Command("verification_commands", "_verification_import"))
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
    verify.set_defaults(run=_Command("verification_commands", "_verification_set"))
    review = verification.add_parser(
        "review", parents=[common], help="members whose verification needs a manager's look"
    )
    review.set_defaults(run=_Command("verification_commands", "_verification_review"))
    endorse = verification.add_parser(
        "endorse",
        parents=[common],
        help="endorse a district node as an issuer of residency credentials (a municipality)",
    )
    endorse.add_argument("node", metavar="ACTOR", help="the district node's actor id (…/actor)")
    endorse.add_argument("--name", required=True, help="its community's name, as it states it")
    endorse.add_argument("--area", default="", help="its area, as it states it")
    endorse.set_defaults(run=_Command("verification_commands", "_verification_endorse"))
    endorsements = verification.add_parser(
        "endorsements", parents=[common], help="the nodes this node endorses"
    )
    endorsements.set_defaults(run=_Command("verification_commands", "_verification_endorsements"))
    unendorse = verification.add_parser(
        "unendorse", parents=[common], help="revoke the endorsement of a node"
    )
    unendorse.add_argument("node", metavar="ACTOR")
    unendorse.set_defaults(run=_Command("verification_commands", "_verification_unendorse"))
    _add_open311_commands(sub, common)
    return parser


def _add_notice_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``notices`` command group."""
    notices = sub.add_parser("notices", help="notices to the community").add_subparsers(
        title="notices commands", metavar="COMMAND", required=True
    )
    listing = notices.add_parser("list", parents=[common], help="current (or past) notices")
    listing.add_argument("--past", action="store_true", help="those that ended")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_Command("notice_commands", "_notices_list"))
    publish = notices.add_parser("publish", parents=[common], help="publish a notice")
    publish.add_argument(
        "--as",
        dest="as_member",
        required=True,
        metavar="USERNAME",
        help="the member publishing it (a role governance.notices_by names)",
    )
    publish.add_argument("--title", required=True)
    publish.add_argument(
        "--kind", default="information", help="information, works, outage, event or urgent"
    )
    publish.add_argument("--text", default="")
    publish.add_argument(
        "--text-file",
        default=None,
        metavar="FILE",
        help="read the text from FILE ('-' for standard input)",
    )
    publish.add_argument("--place", default="")
    publish.add_argument("--starts-at", default=None, help="ISO 8601 with a time zone")
    publish.add_argument("--ends-at", default=None, help="ISO 8601 with a time zone")
    publish.add_argument(
        "--audience",
        default="node",
        help="node, districts (a municipality's partner districts) or circle",
    )
    publish.add_argument(
        "--circle", default=None, metavar="SLUG", help="the circle, with --audience circle"
    )
    publish.add_argument(
        "--public", action="store_true", help="readable by anyone, boosted to the group's followers"
    )
    publish.set_defaults(run=_Command("notice_commands", "_notices_publish"))
    delete = notices.add_parser("delete", parents=[common], help="delete a notice everywhere")
    delete.add_argument("id", type=int)
    delete.add_argument(
        "--as", dest="as_member", required=True, metavar="USERNAME", help="its author or an admin"
    )
    delete.set_defaults(run=_Command("notice_commands", "_notices_delete"))


def _add_open311_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """``quartier open311 keys add|list|revoke``."""
    open311 = sub.add_parser("open311", help="the Open311 GeoReport v2 API").add_subparsers(
        title="open311 commands", metavar="COMMAND", required=True
    )
    keys = open311.add_parser("keys", help="API keys of Open311 clients").add_subparsers(
        title="open311 keys commands", metavar="COMMAND", required=True
    )
    add = keys.add_parser("add", parents=[common], help="add a key (printed once)")
    add.add_argument("name", metavar="NAME", help="who uses it, for the admins")
    add.set_defaults(run=_Command("open311_commands", "_keys_add"))
    listing = keys.add_parser("list", parents=[common], help="list keys (never the keys)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_Command("open311_commands", "_keys_list"))
    revoke = keys.add_parser("revoke", parents=[common], help="revoke a key")
    revoke.add_argument("id", type=int, metavar="ID")
    revoke.set_defaults(run=_Command("open311_commands", "_keys_revoke"))
