"""Load rounds against a node's shared inbox and a bare handler: ``wrk`` fed pre-signed
deliveries (``signed_py``) by ``bench/inbox_feed.lua``, the servers' CPU and RSS over
each round, and after a node round what it stored, read from its SQLite file (or its
PostgreSQL database) and checked against what was sent.

Used by ``inbox_bench.py``; see docs/performance.md, "Inbox ingestion".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from bench_support import (
    BENCH_DIR,
    HOST,
    BenchError,
    LoadResult,
    Node,
    log_tail,
    parse_wrk,
    say,
    tree_cpu_seconds,
    tree_memory_mb,
)
from signed_deliveries import Plan, PoolExhausted, RequestPool

LUA_SCRIPT = BENCH_DIR / "inbox_feed.lua"


@dataclass
class WrkRun:
    """wrk's figures plus what the feeder script reported."""

    load: LoadResult
    issued: dict[int, int]  # per thread: requests handed out (answered or not when wrk stopped)
    exhausted: int  # requests asked for after the thread's slice was used up ("once" mode)
    wall_s: float


def run_wrk(
    url: str,
    requests: RequestPool,
    mode: str,
    connections: int,
    threads: int,
    duration: float,
    target: str,
) -> WrkRun:
    """One wrk run with the feeder script."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        str(requests.prefix),
        mode,
    ]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {done.stderr or done.stdout}")
    result = parse_wrk(target, done.stdout)
    counts = re.findall(r"^bench-thread (\d+) issued (\d+) exhausted (\d+)", done.stdout, re.M)
    if len(counts) != threads:
        raise BenchError(f"the wrk script did not report its counts:\n{done.stdout}")
    return WrkRun(
        load=result,
        issued={int(c[0]): int(c[1]) for c in counts},
        exhausted=sum(int(c[2]) for c in counts),
        wall_s=wall,
    )


# --------------------------------------------------------------------------------------------
# What the node stored of them


async def _postgres(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    numbers = itertools.count(1)  # sqlite3's "?" placeholders become asyncpg's $1, $2...
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(re.sub(r"\?", lambda _: f"${next(numbers)}", sql), *params)
        return [tuple(r) for r in rows]
    finally:
        await conn.close()


@contextlib.contextmanager
def throwaway_database(server: str | None) -> Iterator[str | None]:
    """A new, empty database on the PostgreSQL ``server`` (a URL), dropped on the way out
    (its connections ended: a node that still runs loses them); ``None`` without a server."""
    if server is None:
        yield None
        return
    name = f"quartier_inboxbench_{secrets.token_hex(4)}"
    parts = urlsplit(server)
    asyncio.run(_postgres(server, f"CREATE DATABASE {name}"))
    say(f"PostgreSQL database {name} created")
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        asyncio.run(_postgres(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        say(f"PostgreSQL database {name} dropped")


class InboxDatabase:
    """Reads the node's database: its SQLite file with ``sqlite3`` (the node keeps writing: WAL
    mode), or its PostgreSQL database (a ``postgres://`` URL) with ``asyncpg``."""

    def __init__(self, location: Path | str) -> None:
        self.location = location

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if isinstance(self.location, str):
            return asyncio.run(_postgres(self.location, sql, params))
        conn = sqlite3.connect(self.location, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def last_id(self) -> int:
        """Highest ``inbound_message.id`` so far (0 when empty)."""
        return int(self._query("SELECT COALESCE(MAX(id), 0) FROM inbound_message")[0][0])

    def count_after(self, last_id: int) -> int:
        """Rows stored after ``last_id``."""
        sql = "SELECT COUNT(*) FROM inbound_message WHERE id > ?"
        return int(self._query(sql, (last_id,))[0][0])

    def ids_after(self, last_id: int) -> list[str]:
        """Activity ids of the rows stored after ``last_id``."""
        sql = "SELECT activity_id FROM inbound_message WHERE id > ?"
        return [r[0] for r in self._query(sql, (last_id,))]

    def body(self, activity_id: str) -> Any:
        """The stored body of an activity, decoded."""
        rows = self._query("SELECT body FROM inbound_message WHERE activity_id = ?", (activity_id,))
        return json.loads(rows[0][0]) if rows else None

    def pending(self) -> int:
        """Rows the inbound worker has not processed yet."""
        return int(
            self._query("SELECT COUNT(*) FROM inbound_message WHERE state = 'pending'")[0][0]
        )


def settle(db: InboxDatabase, last_id: int, timeout: float = 15.0) -> int:
    """Wait until the rows stored after ``last_id`` stop changing (the requests in flight when
    wrk stopped are still being committed); returns their number."""
    deadline = time.monotonic() + timeout
    count, stable_since = db.count_after(last_id), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = db.count_after(last_id)
        if now != count:
            count, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 0.5:
            break
    return count


def drain(
    db: InboxDatabase, proc: subprocess.Popen[bytes], timeout: float = 300.0
) -> tuple[int, float]:
    """Wait until the inbound worker processed every row; returns the backlog found and the
    seconds it took."""
    started = time.perf_counter()
    backlog = db.pending()
    while db.pending():
        if proc.poll() is not None:
            raise BenchError(f"the node exited with status {proc.returncode}")
        if time.perf_counter() - started > timeout:
            raise BenchError(f"the inbound worker left {db.pending()} rows pending")
        time.sleep(0.1)
    return backlog, time.perf_counter() - started


@dataclass
class StoredCheck:
    """What a node round stored, checked against what wrk sent."""

    stored: int
    pending_at_end: int  # rows the inbound worker had not processed when the round ended
    drain_s: float  # the time it took to process them
    body_checked: str
    notes: list[str]


def check_stored(
    db: InboxDatabase,
    plan: Plan,
    requests: RequestPool,
    run: WrkRun,
    last_id: int,
    node: subprocess.Popen[bytes],
    label: str,
    connections: int,
) -> StoredCheck:
    """After a node round: wait for the rows in flight, let the inbound worker drain, and check
    that the rows stored are exactly requests wrk sent (at least every 202 it counted; wrk
    stops with up to one request in flight per connection, which the node stores too) and
    that one stored body, chosen at random, is the JSON sent."""
    stored = settle(db, last_id)
    pending_at_end = db.pending()
    _, drain_s = drain(db, node)
    load, issued = run.load, sum(run.issued.values())
    # Which deliveries wrk handed out: the first `issued` of each thread's slice.
    sent: set[int] = set()
    for thread, (offset, _size) in enumerate(requests.slices):
        first = requests.first + offset
        sent.update(range(first, first + run.issued[thread]))
    stored_ids = db.ids_after(last_id)
    numbers = [plan.number(a) for a in stored_ids]
    foreign = [a for a, n in zip(stored_ids, numbers, strict=True) if n not in sent]
    notes = []
    if foreign:
        raise BenchError(f"{label}: {len(foreign)} stored rows were not sent, e.g. {foreign[0]}")
    if len(stored_ids) != stored:
        raise BenchError(f"{label}: {stored} rows counted, {len(stored_ids)} listed")
    if stored < load.requests:
        raise BenchError(
            f"{label}: wrk counted {load.requests} answers (all 202) but only {stored} rows "
            "were stored: a 202 without a committed row"
        )
    if issued - load.requests > connections:
        raise BenchError(
            f"{label}: {issued} sent, {load.requests} answered: more than one request in "
            "flight per connection"
        )
    if stored != issued:
        notes.append(f"{issued - stored} requests sent but not stored (cut off when wrk stopped)")
    sample = random.choice(stored_ids)
    n = plan.number(sample)
    assert n is not None
    if db.body(sample) != json.loads(requests.body(n)):
        raise BenchError(f"{label}: the stored body of {sample} differs from what was sent")
    return StoredCheck(stored, pending_at_end, drain_s, sample, notes)


@dataclass
class Round:
    """One wrk run against one server, and what was checked after it."""

    target: str
    label: str
    pool_size: int
    load: LoadResult
    issued: int  # requests handed to wrk connections (answered or not when wrk stopped)
    wall_s: float
    server_cpu_s: float
    server_rss_mb: float
    # node rounds only
    rows_stored: int | None = None
    stored_equals_sent: bool | None = None
    pending_at_end: int | None = None
    drain_s: float | None = None
    body_checked: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def server_cpu_share(self) -> float:
        """CPU seconds per wall second (1.0 = one core busy)."""
        return self.server_cpu_s / self.wall_s

    def as_dict(self) -> dict[str, Any]:
        """For the JSON results."""
        return {**asdict(self), "server_cpu_share": self.server_cpu_share}


@dataclass
class Servers:
    """The node and the bare server of the run, and how a round loads them."""

    workdir: Path  # the servers' logs
    node: Node
    node_proc: subprocess.Popen[bytes]
    bare_proc: subprocess.Popen[bytes]
    bare_port: int
    db: InboxDatabase
    plan: Plan
    args: argparse.Namespace
    helpers: list[subprocess.Popen[bytes]] = field(default_factory=list)  # counted as the node

    def _load(
        self, target: str, requests: RequestPool, label: str, duration: float
    ) -> tuple[Round, WrkRun]:
        """One wrk run on the node (each request once) or the bare server (replayed)."""
        node, args = target == "node", self.args
        proc = self.node_proc if node else self.bare_proc
        url = f"{self.node.origin}/inbox" if node else f"http://{HOST}:{self.bare_port}/inbox"
        pids = [proc.pid, *(helper.pid for helper in self.helpers)] if node else [proc.pid]
        cpu_before = sum(tree_cpu_seconds(pid) for pid in pids)
        mode = "once" if node else "wrap"
        run = run_wrk(url, requests, mode, args.connections, args.threads, duration, target)
        cpu = sum(tree_cpu_seconds(pid) for pid in pids) - cpu_before
        rss = sum(tree_memory_mb(pid)["VmRSS"] for pid in pids)
        load = run.load
        if node and run.exhausted:
            raise PoolExhausted(f"{label}: the pool of {len(requests.raw):,} requests ran out")
        if load.non_2xx or load.errors:
            tail = f"\n{log_tail(self.workdir, 'node-warning')}" if node else ""
            raise BenchError(
                f"{label}: {load.non_2xx} non-2xx answers, {load.errors} socket errors{tail}"
            )
        issued = sum(run.issued.values())
        pool = len(requests.raw)
        return Round(target, label, pool, load, issued, run.wall_s, cpu, rss), run

    def node_round(self, requests: RequestPool, label: str, duration: float) -> Round:
        """Load the node's inbox with fresh deliveries, then verify what it stored."""
        last_id = self.db.last_id()
        round_, run = self._load("node", requests, label, duration)
        check = check_stored(
            self.db, self.plan, requests, run, last_id, self.node_proc, label, self.args.connections
        )
        return replace(
            round_,
            rows_stored=check.stored,
            stored_equals_sent=check.stored == round_.issued,
            pending_at_end=check.pending_at_end,
            drain_s=check.drain_s,
            body_checked=check.body_checked,
            notes=check.notes,
        )

    def bare_round(self, requests: RequestPool, label: str, duration: float) -> Round:
        """Load the bare handler with the round's requests (replayed, wrapping around)."""
        return self._load("bare", requests, label, duration)[0]
