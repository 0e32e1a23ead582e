"""``quartier members export`` and ``members erase``: a member's data rights, from the shell.

For the operator answering a request made outside the node (by post, at the town hall). Both
run the node's own services (the same archive, the same erasure as the API) and write to the
audit log as ``operator (command line)``. The Deletes an erasure queues are sent by the running
node's worker; a running node stops serving the erased actor within a minute (its document
cache's lifetime).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tortoise.transactions import in_transaction

from moderation import audit
from node.cli.common import CLI_ACTOR, _node, _settings
from node.http.keys import CLOCK, ERASER, EXPORTER, MEMBERS, SETTINGS
from node.rights.export import export_filename


async def _members_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _node(settings) as app:
        member = await app[MEMBERS].get(args.username)
        target = Path(args.output or export_filename(member, app[CLOCK]()))
        if args.output != "-" and (refusal := _unwritable(target)):
            print(f"quartier: {refusal}", file=sys.stderr)
            return 1
        async with in_transaction():
            await audit.record(
                CLI_ACTOR,
                "account.exported",
                app[SETTINGS].uris.actor(member.username),
                "",
                app[CLOCK](),
            )
        chunks = app[EXPORTER].archive(member)
        if args.output == "-":
            async for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return 0
        # Written beside the target and renamed at the end: a failed export leaves no
        # archive that looks complete.
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=".zip")
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    out.write(chunk)
            os.chmod(partial, 0o600)  # personal data: readable by the operator only
            os.replace(partial, target)
        except BaseException:
            _discard(partial)
            raise
    print(f"exported {member.username} to {target}")
    return 0


async def _members_erase(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _node(settings) as app:
        member = await app[MEMBERS].get(args.username)
        if not args.yes:
            print(
                f"This erases {member.username} ({member.real_name}) for good: their listings, "
                "messages, photos and documents, here and on the servers that received them.",
                file=sys.stderr,
            )
            print("Type the username again to go on: ", end="", file=sys.stderr, flush=True)
            if sys.stdin.readline().strip() != member.username:
                print("quartier: not erased", file=sys.stderr)
                return 1
        erased = await app[ERASER].erase(member, by=CLI_ACTOR, reason=args.reason)
    print(
        f"erased {erased.username}: {erased.servers_told} server(s) will be told, "
        f"{erased.messages_withdrawn} message(s) withdrawn"
    )
    return 0


def _unwritable(path: Path) -> str | None:
    """Why the archive cannot be written at ``path`` (checked before anything is exported
    or audited), or ``None``."""
    if path.exists():
        return f"{path} exists: name another file with -o"
    if not path.parent.is_dir():
        return f"{path.parent} is not a directory"
    return None


def _discard(path: str) -> None:
    Path(path).unlink(missing_ok=True)
