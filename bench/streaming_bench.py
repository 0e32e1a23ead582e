"""Streaming benchmark: 1,000 apps connected to the streaming API, one new status; how long
until every one of them has it (goal: all within 1 s, on SQLite).

    .venv/bin/python bench/streaming_bench.py [--clients 1000] [--rounds 5]
                                              [--trigger statuses]   (or: make bench)

In a temporary directory it sets a node up with the real CLI (``quartier init``, ``migrate``,
``admin create``), starts ``quartier serve``, logs the member in (``POST
/api/quartier/v1/sessions``) and opens ``--clients`` WebSocket connections to
``/api/v1/streaming?stream=user`` with that member's token: one member's home stream on a
thousand devices, which is the same fan-out as a thousand members (the hub keys member streams
by member and encodes an event once per stream name, whoever receives it). Each connection is
checked to be subscribed before anything is measured.

Then, ``--rounds`` times, the trigger: ``statuses`` posts a new status as that member (``POST
/api/v1/statuses``, form field ``status``), which reaches the author's home stream as on
Mastodon. The clock starts just before the request is sent and stops when the last connection
has received the ``update``; also reported: the request's own time, and when the first and the
median connection had it. The clients run in this process, on one event loop: their reading is
inside the figure, so it is an upper bound on the node's share.

Open files: each connection is a socket on both sides. The benchmark raises its own soft
``RLIMIT_NOFILE`` to the hard limit (the node it starts inherits it); a node serving N
streaming clients needs ``ulimit -n`` of N plus a few hundred (database, log, listening socket,
other requests): set ``LimitNOFILE=`` in a systemd unit, for example ``LimitNOFILE=65536``.

Results are printed and written to ``bench/results/streaming.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from bench_support import (
    BENCH_DIR,
    REPO_ROOT,
    BenchError,
    Node,
    Processes,
    base_machine_info,
    bench_main,
    cancel_on_sigterm,
    code_info,
    describe_code,
    free_port,
    load_average,
    memory_mb,
    say,
    table,
)

RESULTS_PATH = BENCH_DIR / "results" / "streaming.json"
USERNAME = "alice"
PASSWORD = "correct horse battery staple, benchmark edition"  # noqa: S105 - throwaway node
GOAL_SECONDS = 1.0
OPEN_AT_ONCE = 50  # handshakes in flight while connecting
# Open files besides the client sockets: the interpreter, the aiohttp session, slack.
SPARE_FILES = 256


@dataclass
class Client:
    """One streaming connection and when each ``update`` reached it."""

    ws: aiohttp.ClientWebSocketResponse
    arrivals: list[float] = field(default_factory=list)


def raise_open_files(needed: int) -> dict[str, int]:
    """Raise this process's soft open-files limit to the hard one (children inherit it);
    :class:`BenchError` if even the hard limit is too low for ``needed`` sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchError(f"{needed} open files needed, the hard limit is {hard}: ulimit -Hn")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return {"soft": int(soft), "hard": int(hard)}


async def log_in(session: aiohttp.ClientSession, origin: str) -> str:
    """The member's bearer token."""
    body = {"username": USERNAME, "password": PASSWORD}
    async with session.post(f"{origin}/api/quartier/v1/sessions", json=body) as resp:
        if resp.status not in (200, 201):
            raise BenchError(f"login failed: {resp.status} {(await resp.text())[:300]}")
        return str((await resp.json())["token"])


async def connect(session: aiohttp.ClientSession, url: str, token: str) -> Client:
    """One WebSocket on the user stream, known to be subscribed: the server answers commands
    in order, so its error for an unknown stream comes after the subscription is in place."""
    ws = await session.ws_connect(
        f"{url}?stream=user", headers={"Authorization": f"Bearer {token}"}, autoping=True
    )
    await ws.send_json({"type": "subscribe", "stream": "bench-sync-point"})
    message = await ws.receive(timeout=60)
    if message.type != aiohttp.WSMsgType.TEXT or "error" not in json.loads(message.data):
        raise BenchError(f"unexpected first message: {message}")
    return Client(ws)


async def read_updates(client: Client, received: asyncio.Queue[None]) -> None:
    """Record the arrival of each ``update``; the queue counts them across clients."""
    async for message in client.ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        if json.loads(message.data).get("event") == "update":
            client.arrivals.append(time.perf_counter())
            received.put_nowait(None)


async def trigger_status(session: aiohttp.ClientSession, origin: str, token: str, n: int) -> None:
    """``--trigger statuses``: a new status through Mastodon's API."""
    async with session.post(
        f"{origin}/api/v1/statuses",
        data={"status": f"Streaming benchmark, round {n}"},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        if resp.status != 200:
            raise BenchError(
                f"POST /api/v1/statuses answered {resp.status}: {(await resp.text())[:300]}"
                " (the endpoint is part of the Mastodon API, issue 13)"
            )
        await resp.read()


TRIGGERS = {"statuses": trigger_status}


async def measure(args: argparse.Namespace, node: Node, pid: int) -> dict[str, Any]:
    """Connect the clients, run the rounds, return the figures."""
    origin = node.origin
    url = origin.replace("http://", "ws://") + "/api/v1/streaming"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        token = await log_in(session, origin)
        say(f"opening {args.clients:,} WebSocket connections")
        started = time.perf_counter()
        clients: list[Client] = []
        gate = asyncio.Semaphore(OPEN_AT_ONCE)

        async def open_one() -> None:
            async with gate:
                clients.append(await connect(session, url, token))

        await asyncio.gather(*(open_one() for _ in range(args.clients)))
        connect_seconds = time.perf_counter() - started
        memory = memory_mb(pid)
        received: asyncio.Queue[None] = asyncio.Queue()
        readers = [asyncio.create_task(read_updates(c, received)) for c in clients]
        trigger = TRIGGERS[args.trigger]
        rounds = []
        try:
            for n in range(args.rounds):
                say(f"round {n + 1}/{args.rounds}")
                sent = time.perf_counter()
                await trigger(session, origin, token, n)
                answered = time.perf_counter()
                for _ in range(len(clients)):
                    await asyncio.wait_for(received.get(), timeout=60)
                arrivals = sorted(c.arrivals[n] - sent for c in clients)
                rounds.append(
                    {
                        "request_ms": (answered - sent) * 1000,
                        "first_ms": arrivals[0] * 1000,
                        "median_ms": statistics.median(arrivals) * 1000,
                        "all_ms": arrivals[-1] * 1000,
                    }
                )
                await asyncio.sleep(0.5)  # let the node settle between rounds
        finally:
            for client in clients:
                await client.ws.close()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    return {
        "clients": len(clients),
        "connect_seconds": connect_seconds,
        "node_memory_mb_connected": memory,
        "rounds": rounds,
        "worst_all_ms": max(r["all_ms"] for r in rounds),
    }


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Set up a node, measure, return the results (also the JSON written)."""
    limits = raise_open_files(2 * args.clients + SPARE_FILES)  # both ends are ours
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="quartier-streaming-bench-") as tmp:
        workdir = Path(tmp)
        procs = Processes(workdir)
        try:
            # The node runs this repository's code, as the benchmark itself does.
            node = Node(workdir, free_port(), env={"PYTHONPATH": str(REPO_ROOT)})
            say(f"setting up a node in {workdir} (init, migrate, admin create)")
            node.setup()
            node.cli(
                ["admin", "create", USERNAME, "--real-name", "Alice Bench", "--password-stdin"],
                stdin=PASSWORD + "\n",
            )
            proc, _ = node.start(procs)
            figures = asyncio.run(cancel_on_sigterm(measure(args, node, proc.pid)))
        finally:
            procs.close()
    return {
        "machine": base_machine_info(),
        "code": code_info(),
        "command": " ".join(["bench/streaming_bench.py", *args.argv]),
        "trigger": args.trigger,
        "open_files_limit": limits,
        "load_average_1min": {"before": load_before, "after": load_average()},
        "goal_seconds": GOAL_SECONDS,
        **figures,
    }


def summary(results: dict[str, Any]) -> str:
    """The printed report."""
    worst = results["worst_all_ms"] / 1000
    verdict = "met" if worst <= results["goal_seconds"] else "NOT met"
    lines = [
        "",
        f"Streaming: {results['clients']:,} WebSocket clients on one member's user stream, "
        f"trigger {results['trigger']} (SQLite)",
        describe_code(results["code"]),
        f"  connected in {results['connect_seconds']:.1f} s; node resident "
        f"{results['node_memory_mb_connected'].get('VmRSS', 0):.0f} MB with them open",
        "",
    ]
    rows = [["round", "request ms", "first ms", "median ms", "all ms"]]
    for n, r in enumerate(results["rounds"], 1):
        rows.append(
            [
                str(n),
                f"{r['request_ms']:.1f}",
                f"{r['first_ms']:.1f}",
                f"{r['median_ms']:.1f}",
                f"{r['all_ms']:.1f}",
            ]
        )
    lines += table(rows)
    lines += [
        "",
        f"goal: all within {results['goal_seconds']:.0f} s; worst {worst:.3f} s: {verdict}",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket connections")
    parser.add_argument("--rounds", type=int, default=5, help="new statuses, one at a time")
    parser.add_argument(
        "--trigger",
        choices=sorted(TRIGGERS),
        default="statuses",
        help="what makes the event: statuses = POST /api/v1/statuses",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    return bench_main("streaming_bench", _parser(), argv, run_benchmark, RESULTS_PATH, summary)


if __name__ == "__main__":
    sys.exit(main())
