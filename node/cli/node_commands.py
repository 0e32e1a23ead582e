"""``quartier serve`` (which offers the first admin an invite) and ``worker`` (extra
federation workers, PostgreSQL only)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from node import __version__
from node.app import create_app
from node.cli.common import _node, _settings
from node.cli.processes import supervise
from node.config import Settings, load_settings
from node.db import activated, shares_queues, sole_worker
from node.errors import NodeError
from node.http.keys import DATABASE, MEMBERS
from node.logs import configure_logging
from node.members.models import Role
from node.members.service import MemberService

FIRST_ADMIN_NOTE = "first admin (printed by serve)"

log = logging.getLogger(__name__)


def _serve(args: argparse.Namespace) -> int | Coroutine[Any, Any, int]:
    options = {"server.host": args.host, "server.port": args.port, "server.base_url": args.base_url}
    settings = load_settings(
        args.config, overrides={k: v for k, v in options.items() if v is not None}
    )
    processes, workers = args.processes, not args.no_workers
    if processes < 1:
        raise NodeError(f"--processes must be at least 1 (got {processes})")
    if not workers and not shares_queues(settings.database_url):
        raise NodeError(
            "--no-workers needs PostgreSQL: on SQLite, 'quartier serve' runs the node's only "
            "worker, and nothing else would process what its inbox accepts or send what it "
            "queues"
        )
    if processes == 1:
        return _serve_one(settings, workers)
    if not shares_queues(settings.database_url):
        raise NodeError(
            "several serve processes need PostgreSQL: SQLite has a single writer, so "
            "'quartier serve' on SQLite runs one process (drop --processes)"
        )
    configure_logging(settings.server.log_level)
    warnings = _start_up_report(settings)
    # What must happen once, before the processes share the database: the schema check, the
    # node's own actors, the governance file read (one clear error instead of one per process).
    asyncio.run(_prepare(settings))
    _refuse_taken_port(settings)

    def process(number: int, parent_alive: int) -> int:
        try:
            asyncio.run(
                _serve_process(settings, number, processes, warnings, parent_alive, workers)
            )
        except NodeError as exc:
            print(f"quartier: process {number}: {exc.safe}", file=sys.stderr, flush=True)
            return 1
        return 0

    log.info("starting %d processes on port %d", processes, settings.server.port)
    return supervise(processes, process)


async def _serve_one(settings: Settings, workers: bool = True) -> int:
    """One process: the web app and the node's only (SQLite) or one more (PostgreSQL) worker
    (none with ``workers`` off, on PostgreSQL)."""
    configure_logging(settings.server.log_level)
    warnings = _start_up_report(settings)
    with sole_worker(settings.database_url):
        await _serve_process(settings, 1, 1, warnings, None, workers)
    return 0


async def _serve_process(
    settings: Settings,
    number: int,
    count: int,
    warnings: list[str],
    parent_alive: int | None,
    workers: bool = True,
) -> None:
    """Process ``number`` of ``count``: the web app (on a port shared with SO_REUSEPORT when
    there are several), with its own inbox writer and, with ``workers``, its own workers and
    periodic jobs. Only the first prints the warnings and the admin invite (each start revokes
    the invites the last one printed: several would undo each other)."""
    app = create_app(settings, run_worker=workers)
    several = count > 1

    async def listen(runner: web.AppRunner) -> None:
        await _listen(runner, settings, reuse_port=several)
        which = f", process {number} of {count}, pid {os.getpid()}" if several else ""
        which += "" if workers else ", no workers: 'quartier worker' processes the queues"
        print(
            f"Quartier {__version__}: {settings.community.name!r} is ready at "
            f"{settings.server.base_url}/ (listening on {settings.server.host}:"
            f"{settings.server.port}{which})",
            flush=True,
        )
        if number != 1:
            return
        for warning in warnings:
            print(f"WARNING: {warning}", flush=True)
        with activated(app[DATABASE]):
            await _offer_first_admin_invite(app[MEMBERS], settings)

    await _run_until_signalled(app, listen, parent_alive)


async def _listen(runner: web.AppRunner, settings: Settings, *, reuse_port: bool) -> None:
    site = web.TCPSite(runner, settings.server.host, settings.server.port, reuse_port=reuse_port)
    try:
        await site.start()
    except OSError as exc:
        where = f"{settings.server.host}:{settings.server.port}"
        raise NodeError(f"cannot listen on {where}: {exc.strerror or exc}") from None


async def _prepare(settings: Settings) -> None:
    """Start the node's wiring once without listening or working, and stop it: the checks
    each process repeats then pass, and what they would create concurrently exists."""
    async with _node(settings):
        pass


def _refuse_taken_port(settings: Settings) -> None:
    """Fail now if something listens on the port. The processes bind it with SO_REUSEPORT,
    which would let them share it with another node still running there (a forgotten
    ``serve --processes``): each would get a part of the requests."""
    host, port = settings.server.host, settings.server.port
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise NodeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # As asyncio binds: connections of an earlier run in TIME_WAIT do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise NodeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


async def _worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not shares_queues(settings.database_url):
        # SQLite has no SKIP LOCKED: two processes would claim the same rows.
        raise NodeError(
            "extra worker processes need PostgreSQL; on SQLite, 'quartier serve' runs the "
            "node's only worker"
        )
    configure_logging(settings.server.log_level)
    _start_up_report(settings)
    # The node's own wiring (handlers, policy, keys, retention), without the HTTP listener
    # (so without proofs of residence to read: the document key stays with serve).
    app = create_app(settings, serves_documents=False)

    async def announce(runner: web.AppRunner) -> None:
        print(
            f"Quartier {__version__}: worker for {settings.server.base_url}/ is processing "
            "inbound activities and deliveries",
            flush=True,
        )

    await _run_until_signalled(app, announce)
    return 0


def _start_up_report(settings: Settings) -> list[str]:
    """Log the public URL in use and what an operator must not miss; returns the warnings."""
    server = settings.server
    if server.base_url_derived:
        log.info(
            "public URL %s/ (from server.host and server.port; set server.base_url when others "
            "reach the node by another name or through a proxy)",
            server.base_url,
        )
    else:
        log.info("public URL %s/ (server.base_url)", server.base_url)
    warnings = []
    if mismatch := server.port_mismatch():
        warnings.append(mismatch)
    if settings.federation.local_testing:
        warnings.append(
            "federation.local_testing is on: outbound safety checks are off (plain http and "
            "private or loopback addresses are allowed); never use it on a public node"
        )
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


async def _run_until_signalled(
    app: web.Application,
    started: Callable[[web.AppRunner], Awaitable[None]],
    parent_alive: int | None = None,
) -> None:
    """Start ``app`` (its cleanup contexts: database, transport, workers), call ``started``,
    then run until SIGINT or SIGTERM (or, given ``parent_alive``, the read end of a pipe only
    the parent writes to, until the parent is gone) and shut down cleanly."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    # Handlers first: a SIGTERM during start-up must still end in a clean shutdown.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if parent_alive is not None:

        def parent_gone() -> None:
            # Readable means end of file: nothing is ever written to it.
            loop.remove_reader(parent_alive)
            log.warning("the supervising process is gone: stopping")
            stop.set()

        loop.add_reader(parent_alive, parent_gone)
    await runner.setup()
    try:
        await started(runner)
        await stop.wait()
        print("stopping", flush=True)
    finally:
        await runner.cleanup()


async def _offer_first_admin_invite(members: MemberService, settings: Settings) -> None:
    """Until the node has an admin, each start prints a fresh one-time admin invite."""
    if await members.has_admin():
        return
    # Only the invites serve printed before: admin invites made with 'invite create' stay valid.
    await members.revoke_unused_invites(Role.ADMIN, note=FIRST_ADMIN_NOTE)
    _, secret = await members.create_invite(Role.ADMIN, note=FIRST_ADMIN_NOTE)
    url = f"{settings.server.base_url}/api/quartier/v1/accounts"
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
