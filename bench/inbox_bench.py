"""Inbox benchmark: durable signed inbox ingestion against a bare aiohttp POST handler.

    .venv/bin/python bench/inbox_bench.py [--duration S] [--rounds N] [--code-at REV]
    (or: make bench)

The goal: deliveries/s that the node's shared inbox answers 202 -- each one parsed, its
draft-cavage signature and Digest verified against the sender's key, and stored durably
(committed) before the answer -- divided by requests/s of a bare aiohttp handler that reads
the same requests and answers 202. Goal >= 0.5, one process, SQLite.

How, in one run on one machine (everything on 127.0.0.1, every process stopped on exit):

* The node: set up in a temporary directory with the real CLI (``quartier init --base-url
  http://127.0.0.1:PORT``, ``quartier migrate``), started with ``quartier serve`` at log level
  WARNING and ``QUARTIER_FEDERATION_LOCAL_TESTING=true`` (so it may fetch ``http://127.0.0.1``
  actors). The inbound worker runs inside ``serve`` as in production: it processes what the
  inbox stored while the inbox goes on accepting, and competes with it for the process.
* The senders: ``--senders`` (20) remote actors with their own RSA-2048 keys, Mastodon-shaped
  ``Person`` documents (``publicKey {id: <actor>#main-key, owner, publicKeyPem}``, shared inbox)
  served by ``bench/bare_server.py``. The node fetches each one once (in the warm-up) and then
  uses its caches, as it would for servers that deliver often.
* The baseline: the same ``bare_server.py`` process, ``POST /inbox``: read the body, answer
  202. It receives the very same raw requests as the node.
* The requests: distinct signed deliveries, built before each round: a ``Create`` of a
  ``Note`` in Mastodon's shape (about 1.4 KB of compact JSON; unique activity ids on the
  sender's host; addressed to Public, cc followers), signed with the project's own
  ``activitypub.signatures.sign_request`` (draft-cavage ``rsa-sha256`` over ``(request-target)
  host date digest``), ``POST /inbox``, ``Content-Type: application/activity+json``, ``Host``
  the node's authority. RSA signing costs ~0.35 ms, so a process pool on every core builds
  them. The pool of a round holds ``--margin`` (2) times what the fastest node round so far
  would consume; a warm-up that runs out is repeated with twice the pool.
* The load: ``wrk`` with ``bench/inbox_feed.lua``, whose ``request()`` returns the pre-built
  raw requests, each wrk thread from its own slice: no request is sent twice to the node. The
  bare rounds replay the round's pool from its start, wrapping around (the bare handler keeps
  nothing, and is faster than the pool is long). A node round that runs out of requests is
  refused (``--margin`` sizes the pool).
* Rounds: after a warm-up of each server, ``--rounds`` interleaved rounds (bare, node, bare,
  node, ...), fresh requests each round; the figure is median(node) / median(bare).
* Verification of each node round, from the node's SQLite file (read with ``sqlite3`` after the
  round, table ``inbound_message``): no non-2xx answer and no socket error; the rows stored in
  the round are exactly ids of requests wrk sent in it, at least as many as wrk counted
  202 answers. wrk stops with up to one request in flight per connection: those are sent,
  unanswered as far as wrk knows, and the node still stores them (aiohttp does not cancel a
  handler when the client goes away). So the exact check is: rows stored == requests sent
  (which implies every 202 has its row); the report shows both counts and the difference with
  wrk's completed count. One stored body (chosen at random) must equal the JSON sent.
* Before the next round the inbound worker must have processed every row (no ``pending``
  left), so its work never lands in a bare round; the backlog at the end of each node round and
  the time to drain it are reported.
* Also reported: p50/p99 latency (wrk), and for information the node's CPU (user+system of all
  its threads, over the round) and RSS.

``--code-at REV`` exports that commit with ``git archive`` into the temporary directory and
runs the node (and the signing code) from it, so concurrent edits in the working tree cannot
change what is measured; without it the working tree is measured (uncommitted changes are
listed in the results). Results are printed as a table and written to
``bench/results/inbox.json``.
"""

from __future__ import annotations

import argparse
import json
import linecache
import multiprocessing
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench_support import (
    ACTIVITY_JSON,
    BENCH_DIR,
    HOST,
    REPO_ROOT,
    BenchError,
    LoadResult,
    Node,
    Processes,
    base_machine_info,
    clean_env,
    code_info,
    cpu_shares,
    cpu_times,
    describe_code,
    export_snapshot,
    free_port,
    load_average,
    log_tail,
    memory_mb,
    openssl_version,
    parse_wrk,
    proc_cpu_seconds,
    report_header,
    run_and_report,
    say,
    table,
    wait_ready,
    wrk_version,
)

RESULTS_PATH = BENCH_DIR / "results" / "inbox.json"
LUA_SCRIPT = BENCH_DIR / "inbox_feed.lua"
GOAL_RATIO = 0.5
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
USER_AGENT = "http.rb/5.2.0 (Mastodon/4.3.2; +http://127.0.0.1/)"


# --------------------------------------------------------------------------------------------
# Remote senders and their deliveries


@dataclass(frozen=True)
class Sender:
    """A remote actor on the bare server: its document and its private key (PEM)."""

    actor_id: str
    key_id: str
    private_pem: str
    document: dict[str, Any]


def actor_document(origin: str, name: str, public_pem: str) -> dict[str, Any]:
    """A Mastodon-shaped ``Person``."""
    actor = f"{origin}/users/{name}"
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://w3id.org/security/v1",
            {
                "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
                "toot": "http://joinmastodon.org/ns#",
                "discoverable": "toot:discoverable",
                "indexable": "toot:indexable",
            },
        ],
        "id": actor,
        "type": "Person",
        "following": f"{actor}/following",
        "followers": f"{actor}/followers",
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "preferredUsername": name,
        "name": name.capitalize(),
        "summary": "<p>Benchmark sender</p>",
        "url": f"{origin}/@{name}",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": False,
        "published": "2025-01-01T00:00:00Z",
        "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem},
        "tag": [],
        "attachment": [],
        "endpoints": {"sharedInbox": f"{origin}/inbox"},
    }


def _new_key(_: int) -> tuple[str, str]:
    """An RSA-2048 key pair as PEM (private PKCS#8, public SubjectPublicKeyInfo), made by the
    project's own key generation (imported here: it runs in the pool's processes)."""
    from activitypub.keys import generate_actor_keys

    keys = generate_actor_keys()
    return keys.rsa_private_pem, keys.rsa_public_pem


def make_senders(pool: Pool, origin: str, count: int) -> list[Sender]:
    """``count`` senders on ``origin``, keys generated on every core."""
    senders = []
    for i, (private, public) in enumerate(pool.map(_new_key, range(count))):
        name = f"sender{i}"
        doc = actor_document(origin, name, public)
        senders.append(Sender(doc["id"], doc["publicKey"]["id"], private, doc))
    return senders


@dataclass(frozen=True)
class Plan:
    """What every delivery of the run shares: who sends, where, and the numbering.

    Delivery ``n`` comes from sender ``n % len(senders)``; its status number is ``base + n``,
    so activity ids are unique over the whole run and ``n`` can be read back from a stored id.
    """

    senders: tuple[Sender, ...]
    node_origin: str
    base: int

    def status_url(self, n: int) -> str:
        """The Note's id (Mastodon: ``/users/<name>/statuses/<snowflake>``)."""
        sender = self.senders[n % len(self.senders)]
        return f"{sender.actor_id}/statuses/{self.base + n}"

    def activity_id(self, n: int) -> str:
        """The Create's id (Mastodon: the status URL plus ``/activity``)."""
        return f"{self.status_url(n)}/activity"

    def number(self, activity_id: str) -> int | None:
        """``n`` of an activity id made by :meth:`activity_id`, None for another id."""
        match = re.search(r"/statuses/(\d+)/activity$", activity_id)
        return int(match[1]) - self.base if match else None


_LOREM = "Lending a ladder (3 m) and a drill this weekend; ask before Saturday noon."


def delivery_body(plan: Plan, n: int, published: str) -> bytes:
    """``Create`` of a public ``Note`` as Mastodon sends it (compact JSON, ~1.4 KB; the
    ``replies`` collection Mastodon adds is left out to stay near the usual size)."""
    sender = plan.senders[n % len(plan.senders)]
    actor = sender.actor_id
    status = plan.status_url(n)
    origin = actor.rsplit("/users/", 1)[0]
    number = plan.base + n
    content = f"<p>{_LOREM} #{n}</p>"
    audience: dict[str, Any] = {"to": [PUBLIC], "cc": [f"{actor}/followers"]}
    activity = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {
                "ostatus": "http://ostatus.org#",
                "atomUri": "ostatus:atomUri",
                "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
                "conversation": "ostatus:conversation",
                "sensitive": "as:sensitive",
                "toot": "http://joinmastodon.org/ns#",
                "votersCount": "toot:votersCount",
            },
        ],
        "id": f"{status}/activity",
        "type": "Create",
        "actor": actor,
        "published": published,
        **audience,
        "object": {
            "id": status,
            "type": "Note",
            "summary": None,
            "inReplyTo": None,
            "published": published,
            "url": f"{origin}/@{actor.rsplit('/', 1)[1]}/{number}",
            "attributedTo": actor,
            **audience,
            "sensitive": False,
            "atomUri": status,
            "inReplyToAtomUri": None,
            "conversation": f"tag:127.0.0.1,2026-11-26:objectId={number}:objectType=Conversation",
            "content": content,
            "contentMap": {"en": content},
            "attachment": [],
            "tag": [],
        },
    }
    return json.dumps(activity, separators=(",", ":")).encode("utf-8")


# Per worker process of the pool: the plan and the loaded private keys.
_WORKER: dict[str, Any] = {}


def _init_worker(plan: Plan | None, code_path: str | None) -> None:
    """Pool initializer: default signals (the parent handles Ctrl-C and SIGTERM), the measured
    code first on the path, the senders' keys loaded once."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if code_path is not None:
        sys.path.insert(0, code_path)
    elif str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    if plan is not None:
        from cryptography.hazmat.primitives import serialization

        _WORKER["plan"] = plan
        _WORKER["keys"] = [
            serialization.load_pem_private_key(s.private_pem.encode("ascii"), password=None)
            for s in plan.senders
        ]


def _build(span: tuple[int, int]) -> list[bytes]:
    """Raw requests for deliveries ``span[0] .. span[1] - 1`` (in a pool worker)."""
    from activitypub.signatures import sign_request

    plan: Plan = _WORKER["plan"]
    keys = _WORKER["keys"]
    now = datetime.now(UTC)
    published = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    url = f"{plan.node_origin}/inbox"
    out = []
    for n in range(*span):
        body = delivery_body(plan, n, published)
        sender_index = n % len(plan.senders)
        headers = sign_request(
            "POST", url, body, plan.senders[sender_index].key_id, keys[sender_index], now
        )
        lines = [
            "POST /inbox HTTP/1.1",
            f"Host: {headers['Host']}",
            f"User-Agent: {USER_AGENT}",
            f"Date: {headers['Date']}",
            f"Digest: {headers['Digest']}",
            f"Signature: {headers['Signature']}",
            f"Content-Type: {ACTIVITY_JSON}",
            f"Content-Length: {len(body)}",
            "Accept-Encoding: gzip",
        ]
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)
    return out


@dataclass
class RequestPool:
    """Deliveries ``first .. first + len(raw) - 1``, split into one file per wrk thread."""

    first: int
    raw: list[bytes]
    prefix: Path
    slices: list[tuple[int, int]]  # per thread: (offset into raw, count)
    build_s: float

    def body(self, n: int) -> bytes:
        """The body sent for delivery ``n``."""
        return self.raw[n - self.first].split(b"\r\n\r\n", 1)[1]

    def remove(self) -> None:
        """Delete the files (they can be large)."""
        for thread in range(len(self.slices)):
            Path(f"{self.prefix}.{thread}.bin").unlink(missing_ok=True)


def build_pool(
    pool: Pool, first: int, count: int, threads: int, prefix: Path, chunk: int = 500
) -> RequestPool:
    """Sign ``count`` fresh deliveries on every core and write the wrk slices."""
    started = time.perf_counter()
    spans = [(a, min(a + chunk, first + count)) for a in range(first, first + count, chunk)]
    raw = [r for part in pool.map(_build, spans) for r in part]
    build_s = time.perf_counter() - started
    slices = []
    per_thread = -(-count // threads)
    for thread in range(threads):
        offset = thread * per_thread
        size = max(0, min(per_thread, count - offset))
        with open(f"{prefix}.{thread}.bin", "wb") as out:
            for request in raw[offset : offset + size]:
                out.write(b"%d\n" % len(request))
                out.write(request)
        slices.append((offset, size))
    return RequestPool(first, raw, prefix, slices, build_s)


# --------------------------------------------------------------------------------------------
# Load rounds


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


class Database:
    """Reads the node's SQLite file with ``sqlite3`` (the node keeps writing: WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.path, timeout=30)
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


@dataclass
class Servers:
    """The node and the bare server of the run."""

    workdir: Path  # the servers' logs
    node: Node
    node_proc: subprocess.Popen[bytes]
    bare_proc: subprocess.Popen[bytes]
    bare_port: int
    db: Database


def settle(db: Database, last_id: int, timeout: float = 15.0) -> int:
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


def drain(db: Database, proc: subprocess.Popen[bytes], timeout: float = 300.0) -> tuple[int, float]:
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


def node_round(
    servers: Servers,
    plan: Plan,
    requests: RequestPool,
    args: argparse.Namespace,
    label: str,
    duration: float,
) -> Round:
    """Load the node's inbox with fresh deliveries, then verify what it stored."""
    db = servers.db
    last_id = db.last_id()
    pid = servers.node_proc.pid
    cpu_before = proc_cpu_seconds(pid)
    url = f"{servers.node.origin}/inbox"
    run = run_wrk(url, requests, "once", args.connections, args.threads, duration, "node")
    cpu = proc_cpu_seconds(pid) - cpu_before
    rss = memory_mb(pid)["VmRSS"]
    load, issued = run.load, sum(run.issued.values())
    if run.exhausted:
        raise PoolExhausted(f"{label}: the pool of {len(requests.raw):,} requests ran out")
    if load.non_2xx or load.errors:
        tail = log_tail(servers.workdir, "node-warning")
        raise BenchError(
            f"{label}: {load.non_2xx} non-2xx answers, {load.errors} socket errors\n{tail}"
        )
    stored = settle(db, last_id)
    pending_at_end = db.pending()
    _, drain_s = drain(db, servers.node_proc)

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
    if issued - load.requests > args.connections:
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
    return Round(
        target="node",
        label=label,
        pool_size=len(requests.raw),
        load=load,
        issued=issued,
        wall_s=run.wall_s,
        server_cpu_s=cpu,
        server_rss_mb=rss,
        rows_stored=stored,
        stored_equals_sent=stored == issued,
        pending_at_end=pending_at_end,
        drain_s=drain_s,
        body_checked=sample,
        notes=notes,
    )


def bare_round(
    servers: Servers, requests: RequestPool, args: argparse.Namespace, label: str, duration: float
) -> Round:
    """Load the bare handler with the round's requests (replayed, wrapping around)."""
    pid = servers.bare_proc.pid
    cpu_before = proc_cpu_seconds(pid)
    url = f"http://{HOST}:{servers.bare_port}/inbox"
    run = run_wrk(url, requests, "wrap", args.connections, args.threads, duration, "bare")
    cpu = proc_cpu_seconds(pid) - cpu_before
    load = run.load
    if load.non_2xx or load.errors:
        raise BenchError(f"{label}: {load.non_2xx} non-2xx answers, {load.errors} socket errors")
    return Round(
        target="bare",
        label=label,
        pool_size=len(requests.raw),
        load=load,
        issued=sum(run.issued.values()),
        wall_s=run.wall_s,
        server_cpu_s=cpu,
        server_rss_mb=memory_mb(pid)["VmRSS"],
    )


class PoolExhausted(BenchError):
    """A node round used up its requests before the end: the figure would be wrong."""


# --------------------------------------------------------------------------------------------
# Where the node's time goes (optional: py-spy)

# From the leaf up, the first frame whose file matches names the sample's category.
_CATEGORIES = (
    ("cryptography (RSA verify, key loading)", ("cryptography/",)),
    ("signatures: parse, digest, RSA verify (activitypub/signatures)", ("activitypub/",)),
    ("JSON (stdlib json)", ("json/",)),
    ("SQL text (pypika)", ("pypika",)),
    ("tortoise ORM (loop side)", ("tortoise/",)),
    ("aiosqlite (loop side: queue, futures)", ("aiosqlite/",)),
    ("aiohttp server (parse, write, handler plumbing)", ("aiohttp/", "multidict/", "yarl/")),
    ("federation (inbox accept, worker, dispatch)", ("federation/",)),
    ("moderation (policy)", ("moderation/",)),
    ("node (middlewares, handler, services)", ("node/",)),
    ("asyncio event loop, selectors, logging", ("asyncio/", "selectors.py", "logging/")),
)


def _frame_file(frame: str) -> str:
    match = re.search(r"\(([^()]*?)(?::\d+)?\)$", frame)
    return match[1] if match else frame


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        path = _frame_file(frame)
        for name, markers in _CATEGORIES:
            if any(marker in path for marker in markers):
                return name
    return "other"


# Which task an event-loop sample belongs to: the first of these found in its stack.
_TASKS = (
    ("inbound worker (processing stored rows)", ("federation/worker.py",)),
    ("group-commit writer (federation/ingest.py)", ("federation/ingest.py",)),
    (
        "inbox request (handler: parse, verify, policy, store)",
        ("node/http/inbox.py", "federation/inbound.py"),
    ),
    ("node middlewares", ("node/http/middleware.py",)),
    ("delivery worker, retention", ("federation/outbound.py", "federation/retention.py")),
)


def _task(frames: list[str]) -> str:
    for name, markers in _TASKS:
        if any(marker in frame for frame in frames for marker in markers):
            return name
    return "server and event loop (aiohttp, asyncio: outside the handler)"


_WAITING = re.compile(r"\.(get|select|poll|wait|acquire)\(")


def _source_line(frame: str, roots: Sequence[str]) -> str:
    """The source line a py-spy frame (``func (path:line)``) points at, or ''."""
    match = re.search(r"\(([^()]*?):(\d+)\)$", frame)
    if not match:
        return ""
    path, number = match[1], int(match[2])
    for root in ("", *roots):
        candidate = Path(root) / path if root else Path(path)
        if candidate.is_file():
            return linecache.getline(str(candidate), number)
    return ""


def pyspy_breakdown(raw: str, requests: int, rate: int, roots: Sequence[str]) -> dict[str, Any]:
    """Samples of ``py-spy record --format raw --threads`` grouped by thread, by category on
    the event-loop thread, and by leaf line.

    py-spy drops samples it sees idle, but counts some blocking waits as active (epoll, a
    queue's ``get``); a sample whose leaf line waits (``.get(``, ``.select(``, ``.poll(``,
    ``.wait(``, ``.acquire(``) is counted apart as waiting. ``roots`` are where the relative
    paths py-spy prints can be read from."""
    threads: dict[str, dict[str, int]] = {}
    categories: dict[str, int] = {}
    tasks: dict[str, int] = {}
    leaves: dict[str, int] = {}
    waits: dict[str, bool] = {}
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if "MainThread" in frames[0]:
            thread = "event loop (MainThread)"
        elif any("aiosqlite/core.py" in f for f in frames):
            thread = "aiosqlite's thread (SQL, commits)"
        else:
            thread = "other threads"
        leaf = frames[-1]
        if leaf not in waits:
            waits[leaf] = bool(_WAITING.search(_source_line(leaf, roots)))
        slot = threads.setdefault(thread, {"active": 0, "waiting": 0})
        slot["waiting" if waits[leaf] else "active"] += count
        if waits[leaf]:
            continue
        if thread.startswith("event loop"):
            category = _category(frames[1:])
            categories[category] = categories.get(category, 0) + count
            task = _task(frames[1:])
            tasks[task] = tasks.get(task, 0) + count
        key = f"{thread.split(' ')[0]} | {leaf}"
        leaves[key] = leaves.get(key, 0) + count

    def per_request_ms(samples: int) -> float:
        return samples / rate / max(requests, 1) * 1000

    loop_total = sum(categories.values()) or 1
    return {
        "rate_hz": rate,
        "requests": requests,
        "threads": {
            name: {
                "active_samples": n["active"],
                "waiting_samples": n["waiting"],
                "active_ms_per_request": per_request_ms(n["active"]),
            }
            for name, n in sorted(threads.items(), key=lambda kv: -kv[1]["active"])
        },
        "event_loop_tasks": [
            {"task": name, "share": n / loop_total, "ms_per_request": per_request_ms(n)}
            for name, n in sorted(tasks.items(), key=lambda kv: -kv[1])
        ],
        "event_loop_categories": [
            {"category": name, "share": n / loop_total, "ms_per_request": per_request_ms(n)}
            for name, n in sorted(categories.items(), key=lambda kv: -kv[1])
        ],
        "top_leaf_lines": [
            {"leaf": name, "samples": n, "ms_per_request": per_request_ms(n)}
            for name, n in sorted(leaves.items(), key=lambda kv: -kv[1])[:20]
        ],
    }


def profiled_round(
    servers: Servers,
    plan: Plan,
    requests: RequestPool,
    args: argparse.Namespace,
    procs: Processes,
) -> dict[str, Any]:
    """One more node round (not counted) with py-spy sampling the node."""
    out = servers.workdir / "node.pyspy.txt"
    argv = [args.py_spy, "record", "--pid", str(servers.node_proc.pid), "--rate"]
    argv += [str(args.profile_rate), "--format", "raw", "--threads", "--output", str(out)]
    spy = procs.spawn("py-spy", argv, clean_env())
    time.sleep(1.0)  # py-spy attaches
    if spy.poll() is not None:
        raise BenchError(f"py-spy exited at once:\n{log_tail(servers.workdir, 'py-spy')}")
    try:
        profiled = node_round(servers, plan, requests, args, "profiled node", args.duration)
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            Processes.stop(spy)
    if not out.exists():
        raise BenchError(f"py-spy wrote nothing:\n{log_tail(servers.workdir, 'py-spy')}")
    # py-spy sampled from its start to its stop; the round's requests are the denominator,
    # so the per-request figures include the idle second around the round (py-spy drops
    # idle samples by default, so that second adds little).
    roots = [args.code_root or str(REPO_ROOT), *sys.path[1:]]
    breakdown = pyspy_breakdown(
        out.read_text(errors="replace"), profiled.rows_stored or 0, args.profile_rate, roots
    )
    breakdown["rps_under_profiler"] = profiled.load.rps
    breakdown["node_cpu_share"] = profiled.server_cpu_share
    return breakdown


# --------------------------------------------------------------------------------------------
# The benchmark


def start_servers(
    procs: Processes, workdir: Path, senders_origin_port: int, node: Node, senders: list[Sender]
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """The bare server (senders' documents and the bare inbox), then the node."""
    documents = workdir / "senders.json"
    paths = {urlsplit(s.actor_id).path: s.document for s in senders}
    documents.write_text(json.dumps(paths), encoding="utf-8")
    argv = [sys.executable, str(BENCH_DIR / "bare_server.py"), "--port", str(senders_origin_port)]
    argv += ["--documents", str(documents)]
    started = time.perf_counter()
    bare = procs.spawn("bare", argv, clean_env())
    first_path = next(iter(paths))
    try:
        wait_ready(bare, senders_origin_port, first_path, started)
    except BenchError as exc:
        raise BenchError(f"bare server: {exc}\n{log_tail(workdir, 'bare')}") from None
    node_proc, _ = node.start(procs)
    return bare, node_proc


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Set up the node and the senders, measure, return the results (also the JSON written)."""
    with tempfile.TemporaryDirectory(prefix="quartier-inboxbench-") as tmp:
        workdir = Path(tmp)
        procs = Processes(workdir)
        try:
            return _measure(args, workdir, procs)
        finally:
            procs.close()


def _measure(args: argparse.Namespace, workdir: Path, procs: Processes) -> dict[str, Any]:
    load_before, cpu_before = load_average(), cpu_times()
    snapshot = code_path = None
    env = {"QUARTIER_FEDERATION_LOCAL_TESTING": "true"}
    if args.code_at:
        tree, snapshot = export_snapshot(args.code_at, workdir)
        code_path = str(tree)
        env["PYTHONPATH"] = code_path
        say(f"measuring commit {snapshot[:7]} (exported to {tree})")
    args.code_root = code_path
    node = Node(workdir / "node", free_port(), env)
    node.workdir.mkdir()
    say(f"setting up a node in {node.workdir} (init, migrate)")
    node.setup()
    bare_port = free_port()
    senders_origin = f"http://{HOST}:{bare_port}"
    cores = os.cpu_count() or 1
    context = multiprocessing.get_context("fork")
    with context.Pool(cores, _init_worker, (None, code_path)) as keygen:
        senders = make_senders(keygen, senders_origin, args.senders)
    plan = Plan(tuple(senders), node.origin, base=random.randrange(10**17, 9 * 10**17))
    bare_proc, node_proc = start_servers(procs, workdir, bare_port, node, senders)
    db = Database(node.database())
    servers = Servers(workdir, node, node_proc, bare_proc, bare_port, db)
    rss_start = memory_mb(node_proc.pid)["VmRSS"]

    with context.Pool(cores, _init_worker, (plan, code_path)) as signers:
        next_n = 0

        def fresh(count: int, name: str) -> RequestPool:
            nonlocal next_n
            pool = build_pool(signers, next_n, count, args.threads, workdir / name)
            next_n += count
            say(f"{name}: {count:,} signed deliveries in {pool.build_s:.1f} s")
            return pool

        # Warm-up: the node fetches every sender once, the caches and connections warm up.
        # The pool is sized generously; one that runs out is discarded and doubled.
        warm_size = args.warmup_pool
        while True:
            warm = fresh(warm_size, "warmup")
            try:
                bare_warm = bare_round(servers, warm, args, "bare warm-up", args.warmup)
                node_warm = node_round(servers, plan, warm, args, "node warm-up", args.warmup)
            except PoolExhausted:
                drain(servers.db, node_proc)
                warm_size *= 2
                say(f"warm-up pool ran out; again with {warm_size:,}")
                continue
            finally:
                example_request = warm.raw[0]
                warm.remove()
            break
        say(
            f"warm-up: bare {bare_warm.load.rps:,.0f} req/s, node {node_warm.load.rps:,.0f} "
            f"req/s ({node_warm.rows_stored:,} rows)"
        )
        fastest = node_warm.load.rps
        rounds: list[Round] = []
        for r in range(args.rounds):
            size = max(args.min_pool, int(fastest * args.duration * args.margin))
            requests = fresh(size, f"round{r + 1}")
            try:
                bare = bare_round(servers, requests, args, f"round {r + 1} bare", args.duration)
                say(f"round {r + 1}/{args.rounds} bare: {bare.load.rps:,.0f} req/s")
                node_r = node_round(
                    servers, plan, requests, args, f"round {r + 1} node", args.duration
                )
            finally:
                requests.remove()
            say(
                f"round {r + 1}/{args.rounds} node: {node_r.load.rps:,.0f} req/s, "
                f"{node_r.rows_stored:,} rows stored of {node_r.issued:,} sent "
                f"({node_r.load.requests:,} answered 202); backlog {node_r.pending_at_end:,} "
                f"drained in {node_r.drain_s:.1f} s"
            )
            rounds += [bare, node_r]
            fastest = max(fastest, node_r.load.rps)
        profile = None
        if args.py_spy:
            size = max(args.min_pool, int(fastest * args.duration * args.margin))
            requests = fresh(size, "profiled")
            try:
                profile = profiled_round(servers, plan, requests, args, procs)
            finally:
                requests.remove()
            say(f"profiled round: {profile['rps_under_profiler']:,.0f} req/s under py-spy")

    node_log = (workdir / "node-warning.log").read_text(errors="replace").splitlines()
    rss_end = memory_mb(node_proc.pid)
    Processes.stop(node_proc)
    Processes.stop(bare_proc)
    bare_rps = statistics.median(r.load.rps for r in rounds if r.target == "bare")
    node_rps = statistics.median(r.load.rps for r in rounds if r.target == "node")
    ratio = node_rps / bare_rps
    sample = senders[0]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/inbox_bench.py", *args.argv]),
        "machine": machine_info(args),
        "code": code_info(snapshot),
        "load_average_1min": {"before": load_before, "after": load_average()},
        "machine_cpu_shares": cpu_shares(cpu_before, cpu_times()),
        "settings": {
            "connections": args.connections,
            "wrk_threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "senders": args.senders,
            "pool_margin": args.margin,
            "log_level": "WARNING",
            "node_env": {k: v for k, v in env.items() if k != "PYTHONPATH"},
            "database": "SQLite (the node's default, data/quartier.sqlite3)",
        },
        "deliveries": {
            "shape": "Create(Note), Mastodon-shaped, to Public, cc followers",
            "body_bytes": len(delivery_body(plan, 0, "2026-11-26T21:00:00Z")),
            "request_bytes_example": len(example_request),
            "signature": "draft-cavage rsa-sha256 over (request-target) host date digest, "
            "RSA-2048, activitypub.signatures.sign_request",
            "sender_example": sample.actor_id,
        },
        "warmup": {"bare": _round_dict(bare_warm), "node": _round_dict(node_warm)},
        "rounds": [_round_dict(r) for r in rounds],
        "node_rps_median": node_rps,
        "bare_rps_median": bare_rps,
        "ratio": ratio,
        "node_memory_mb": {
            "rss_after_start": rss_start,
            "rss_end": rss_end["VmRSS"],
            "peak": rss_end["VmHWM"],
        },
        "profile": profile,
        "node_log": {"lines_at_warning": len(node_log), "last": node_log[-10:]},
        "goals": {
            "ratio": {"goal": f">= {GOAL_RATIO}", "value": ratio, "pass": ratio >= GOAL_RATIO},
        },
    }


def _round_dict(r: Round) -> dict[str, Any]:
    data = asdict(r)
    data["server_cpu_share"] = r.server_cpu_share
    return data


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        **base_machine_info(),
        "aiosqlite": metadata.version("aiosqlite"),
        "cryptography": metadata.version("cryptography"),
        "openssl": openssl_version(),
        "load_generator": f"{wrk_version()}, {args.threads} thread(s), {args.connections} "
        "connections, bench/inbox_feed.lua",
        "pinning": "none: node (event loop + SQLite thread), bare server and wrk share the cores",
    }


# --------------------------------------------------------------------------------------------
# Report


def summary(results: dict[str, Any]) -> str:
    """The human-readable report: machine, the goal with PASS/MISS, details."""
    m, s = results["machine"], results["settings"]
    goal = results["goals"]["ratio"]
    node_rounds = [r for r in results["rounds"] if r["target"] == "node"]
    bare_rounds = [r for r in results["rounds"] if r["target"] == "bare"]
    shares = results["machine_cpu_shares"]

    def latency(rounds: list[dict[str, Any]]) -> str:
        p50 = statistics.median(r["load"]["latency_p50_ms"] for r in rounds)
        p99 = statistics.median(r["load"]["latency_p99_ms"] for r in rounds)
        return f"{p50:.2f} / {p99:.2f} ms"

    rows = [
        ("metric", "measured", "goal", "result"),
        (
            "inbox ratio node/bare",
            f"{results['ratio']:.2f} ({results['node_rps_median']:,.0f} / "
            f"{results['bare_rps_median']:,.0f} req/s)",
            goal["goal"],
            {True: "PASS", False: "MISS"}[goal["pass"]],
        ),
        ("p50 / p99 latency, node (median)", latency(node_rounds), "-", "info"),
        ("p50 / p99 latency, bare (median)", latency(bare_rounds), "-", "info"),
        (
            "node CPU during a round (median)",
            f"{statistics.median(r['server_cpu_share'] for r in node_rounds):.2f} cores",
            "-",
            "info",
        ),
        (
            "node RSS: after start / end / peak",
            f"{results['node_memory_mb']['rss_after_start']:.1f} / "
            f"{results['node_memory_mb']['rss_end']:.1f} / "
            f"{results['node_memory_mb']['peak']:.1f} MB",
            "-",
            "info",
        ),
    ]
    lines = [
        *report_header("Quartier inbox benchmark (durable signed ingestion)", results, shares),
        f"  load    : {m['load_generator']}; {s['duration_s']:g} s per run, {s['rounds']} "
        f"interleaved rounds (bare, node), {s['senders']} senders",
        f"  code    : {describe_code(results['code'])}",
        f"  command : {results['command']}",
        "",
        *table(rows),
        "",
        "details",
        "  each run (req/s): "
        + ", ".join(f"{r['target']} {r['load']['rps']:,.0f}" for r in results["rounds"]),
        f"  deliveries: {results['deliveries']['body_bytes']} B body, "
        f"{results['deliveries']['request_bytes_example']} B with headers; "
        f"{results['deliveries']['signature']}",
    ]
    for r in node_rounds:
        exact = "= sent" if r["stored_equals_sent"] else "< sent"
        lines.append(
            f"  {r['label']}: {r['load']['requests']:,} answered 202, {r['issued']:,} sent, "
            f"{r['rows_stored']:,} rows stored ({exact}); backlog {r['pending_at_end']:,}, "
            f"drained in {r['drain_s']:.1f} s; pool {r['pool_size']:,}; "
            f"CPU {r['server_cpu_share']:.2f} cores; one body checked"
            + (f"; {'; '.join(r['notes'])}" if r["notes"] else "")
        )
    prof = results["profile"]
    if prof:
        lines.append(
            f"  py-spy, {prof['rps_under_profiler']:,.0f} req/s under the profiler, "
            f"{prof['requests']:,} requests; active samples per request, by thread:"
        )
        lines += [
            f"    {name:<40} {t['active_ms_per_request']:.3f} ms "
            f"({t['waiting_samples']:,} samples waiting not counted)"
            for name, t in prof["threads"].items()
        ]
        lines.append("  event-loop thread by task:")
        lines += [
            f"    {t['task']:<64} {t['share']:6.1%}  {t['ms_per_request']:.3f} ms"
            for t in prof["event_loop_tasks"]
        ]
        lines.append("  event-loop thread by package (the innermost one known):")
        lines += [
            f"    {c['category']:<64} {c['share']:6.1%}  {c['ms_per_request']:.3f} ms"
            for c in prof["event_loop_categories"]
        ]
        lines.append("  top leaf lines (ms per request):")
        lines += [
            f"    {f['ms_per_request']:.3f}  {f['leaf'][:120]}" for f in prof["top_leaf_lines"][:12]
        ]
    log = results["node_log"]
    lines.append(f"  node log at WARNING: {log['lines_at_warning']} lines over the run")
    lines += [f"    | {line[:160]}" for line in log["last"][-3:]]
    lines.append(f"  JSON: {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Quartier inbox benchmark (see the docstring).")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per load run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per server")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved (bare, node) rounds")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (one slice each)")
    parser.add_argument("--senders", type=int, default=20, help="remote actors signing")
    parser.add_argument(
        "--margin",
        type=float,
        default=2.0,
        help="a round's pool: this many times what the fastest node round so far would use",
    )
    parser.add_argument("--min-pool", type=int, default=4000, help="smallest pool per round")
    parser.add_argument("--warmup-pool", type=int, default=8000, help="first warm-up pool")
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        default=None,
        help="py-spy executable: one more node round (not counted) sampled by it",
    )
    parser.add_argument("--profile-rate", type=int, default=250, help="py-spy samples/s")
    parser.add_argument(
        "--code-at",
        metavar="REV",
        default=None,
        help="measure this commit (git archive into the temp dir) instead of the working tree",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded with the results
    if min(args.rounds, args.connections, args.threads, args.senders) < 1 or args.margin < 1:
        print("inbox_bench: counts must be positive, --margin at least 1", file=sys.stderr)
        return 2
    if not shutil.which("wrk"):
        print("inbox_bench: needs wrk (apt-get install -y wrk)", file=sys.stderr)
        return 1
    return run_and_report("inbox_bench", lambda: run_benchmark(args), RESULTS_PATH, summary)


if __name__ == "__main__":
    sys.exit(main())
