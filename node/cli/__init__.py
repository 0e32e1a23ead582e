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

import asyncio
import importlib
import sys
from collections.abc import Sequence

from node.cli.parser import build_parser
from node.errors import NodeError

__all__ = ["FIRST_ADMIN_NOTE", "MAX_INVITE_TTL_HOURS", "main"]

# Names this package exports from modules that import the whole node: imported when asked for
# (PEP 562), so that ``quartier --help`` does not (see node/cli/parser.py).
_EXPORTED_FROM = {"FIRST_ADMIN_NOTE": "node_commands", "MAX_INVITE_TTL_HOURS": "member_commands"}


def __getattr__(name: str) -> object:
    if name in _EXPORTED_FROM:
        return getattr(importlib.import_module(f"node.cli.{_EXPORTED_FROM[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quartier`` console script; returns the exit status."""
    parser = build_parser()
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
