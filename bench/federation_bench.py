"""Federation benchmark: outbound fan-out against the RSA signing rate, and a backlog drain.

    .venv/bin/python bench/federation_bench.py [--rows N] [--skip-backlog]   (or: make bench)

In one run on one machine, with the node's own code (``publish``, ``DeliveryWorker``, the
outbound ``Transport``, ``SigningKeys``) on a migrated SQLite database in a temporary directory:

* signing rate: RSA-2048 PKCS#1 v1.5 SHA-256 signatures/s on one core, ``cryptography`` in a
  tight loop for ~3 s, with the Application actor's key and a signing string of the real size;
  measured before and after the fan-out, the higher figure counts (the stricter denominator);
* fan-out: ``publish()`` of one activity to 1,000 distinct inboxes
  (``http://127.0.0.1:PORT/inbox/0..999``) on a sink server in a separate process
  (``bench/sink_server.py``: answers 202 at once and counts), then ``DeliveryWorker.run_once()``
  until nothing is due; timed from the first claim to the end of the last ``run_once`` (the last
  2xx and its UPDATE). The sink is one host standing for many, so the policy is
  ``batch_size=1000, per_host=64, concurrency=64``; the node's default ``per_host=4`` is measured
  too, for information. Rounds are interleaved (64, 4, 64, 4, ...) after one warm-up round; the
  figure is the median. deliveries/s divided by signatures/s is the ratio (goal >= 0.7: the worker
  is one process on one core). Before the warm-up, a cold-start round (the node's key cache
  empty, no open connections) is reported for information, with how often the key was loaded;
* where the time goes: one more round with ``sign_request`` timed (it is synchronous, so its
  wall time is its CPU time) and process/thread CPU times, and one round under cProfile with the
  main thread's time grouped into signing, HTTP client, ORM and event loop;
* backlog: ``--rows`` (default 100,000) ``Delivery`` rows for distinct inboxes on the sink,
  inserted with ``bulk_create`` in chunks, then the worker (same policy) until drained, reading
  VmRSS from ``/proc/self/status`` every ``--sample-every`` batches. No growth means: RSS after
  draining is at most ``GOAL_GROWTH_MB`` above RSS after the first batches (the baseline, once
  connections, ORM caches and allocator arenas are warm).

Results are printed as a table and written to ``bench/results/federation.json``. Everything
listens on 127.0.0.1; the sink process and the temporary directory are removed on the way out,
failures and SIGTERM included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import http.client
import json
import logging
import pstats
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench_support import (
    BENCH_DIR,
    HOST,
    REPO_ROOT,
    BenchError,
    SinkProcess,
    Timed,
    base_machine_info,
    cancel_on_sigterm,
    code_info,
    cpu_shares,
    cpu_times,
    free_port,
    load_average,
    openssl_version,
    patched,
    report_header,
    run_and_report,
    say,
    signatures_per_second,
    table,
)
from cryptography.hazmat.primitives.asymmetric import rsa
from tortoise.transactions import in_transaction

import federation.outbound as outbound
import node.actors.service as actor_service
from activitypub.keys import load_private_key
from activitypub.signatures import parse_signature, verify_signature
from activitypub.uris import UriScheme
from federation.models import Delivery, DeliveryState
from federation.outbound import DeliveryPolicy, DeliveryWorker, publish
from federation.transport import Transport, TransportSettings, open_transport
from node.actors.service import SigningKeys, ensure_instance_actor
from node.db import activated, apply_migrations, open_database

RESULTS_PATH = BENCH_DIR / "results" / "federation.json"
SINK_SCRIPT = BENCH_DIR / "sink_server.py"
BASE_URL = "https://bench.example"

GOAL_RATIO = 0.7
GOAL_GROWTH_MB = 5.0


# --------------------------------------------------------------------------------------------
# The sink process


class Sink(SinkProcess):
    """``bench/sink_server.py`` on one port."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.port = free_port()

    @property
    def control_port(self) -> int:
        """The sink's only port."""
        return self.port

    def start(self, timeout: float = 30.0) -> None:
        """Spawn the sink and wait until ``/stats`` answers."""
        self._spawn([sys.executable, str(SINK_SCRIPT), "--host", HOST, "--port", str(self.port)])
        self._wait_until(self._answers, timeout)

    def _answers(self) -> bool:
        with contextlib.suppress(OSError, http.client.HTTPException):
            self.stats()
            return True
        return False

    def inbox(self, n: int) -> str:
        """URL of inbox number ``n`` on the sink."""
        return f"http://{HOST}:{self.port}/inbox/{n}"


# --------------------------------------------------------------------------------------------
# Measuring the process


def rss_mb() -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak so far) of this process, in MB (10^6 bytes)."""
    values: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024 / 1e6  # the kernel's "kB" is KiB
    return values


@dataclass
class CpuWindow:
    """Wall and CPU seconds over a stretch of the benchmark process (and the sink)."""

    wall_s: float
    process_cpu_s: float  # every thread of this process
    main_thread_cpu_s: float  # the event loop's thread; the rest is mostly aiosqlite's thread
    sink_cpu_s: float


class CpuMeter:
    """Reads the clocks at the start; ``stop()`` returns the window."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._wall = time.perf_counter()
        self._process = time.process_time()
        self._thread = time.thread_time()
        self._sink_cpu = sink.cpu_seconds()

    def stop(self) -> CpuWindow:
        """The window since construction."""
        return CpuWindow(
            wall_s=time.perf_counter() - self._wall,
            process_cpu_s=time.process_time() - self._process,
            main_thread_cpu_s=time.thread_time() - self._thread,
            sink_cpu_s=self._sink.cpu_seconds() - self._sink_cpu,
        )


# --------------------------------------------------------------------------------------------
# (b) signing rate and fan-out


def signing_string(sink_port: int) -> bytes:
    """A draft-cavage signing string of the size the worker signs (the covered headers of a POST
    to ``/inbox/999`` on the sink)."""
    return (
        "(request-target): post /inbox/999\n"
        f"host: {HOST}:{sink_port}\n"
        "date: Thu, 26 Nov 2026 21:00:00 GMT\n"
        "digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    ).encode("ascii")


def activity(n: str) -> dict[str, Any]:
    """A Create of a short Note, shaped like what a member publishes."""
    actor = UriScheme(BASE_URL).instance_actor
    object_id = f"{BASE_URL}/objects/{n}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BASE_URL}/activities/{n}",
        "type": "Create",
        "actor": actor,
        "published": "2026-11-26T21:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{actor}/followers"],
        "object": {
            "id": object_id,
            "type": "Note",
            "attributedTo": actor,
            "content": (
                "<p>Lending a ladder (3 m) and a drill this weekend; ask before Saturday noon. "
                "Also giving away a box of tomato seedlings, first come first served.</p>"
            ),
            "published": "2026-11-26T21:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{actor}/followers"],
        },
    }


def utc_now() -> datetime:
    """The worker's clock: real time (the node uses the same)."""
    return datetime.now(UTC)


@dataclass
class Drain:
    """One run of the worker until nothing was due."""

    label: str
    per_host: int
    deliveries: int
    seconds: float
    batches: int
    cpu: CpuWindow
    publish_s: float | None = None
    sign_s: float | None = None  # time inside sign_request, when timed
    claim_s: float | None = None  # time inside the claim (SELECT + lease UPDATE)

    @property
    def rate(self) -> float:
        """Deliveries per second."""
        return self.deliveries / self.seconds


@contextlib.contextmanager
def timed_signing() -> Iterator[Timed]:
    """Time every ``sign_request`` the worker makes."""
    timer = Timed()
    with patched(outbound, "sign_request", timer.sync(outbound.sign_request)):
        yield timer


class Bench:
    """The database, transport, keys and sink one run shares."""

    def __init__(self, sink: Sink, transport: Transport, keys: SigningKeys, signer: str) -> None:
        self.sink = sink
        self.transport = transport
        self.keys = keys
        self.signer = signer
        self._activities = 0

    def worker(self, policy: DeliveryPolicy) -> DeliveryWorker:
        """A delivery worker wired like the node's (``node/app.py``), with ``policy``."""
        return DeliveryWorker(self.transport, self.keys, utc_now, policy=policy)

    async def fanout(
        self,
        label: str,
        inboxes: int,
        policy: DeliveryPolicy,
        *,
        time_signing: bool = False,
        profile: cProfile.Profile | None = None,
    ) -> Drain:
        """``publish()`` one activity to ``inboxes`` sink inboxes, then deliver them all."""
        self.sink.reset()
        self._activities += 1
        doc = activity(f"fanout-{self._activities}")
        started = time.perf_counter()
        async with in_transaction():  # as the node does: in the transaction of the change
            queued = await publish(
                doc, (self.sink.inbox(n) for n in range(inboxes)), self.signer, utc_now()
            )
        publish_s = time.perf_counter() - started
        if queued != inboxes:
            raise BenchError(f"publish() queued {queued} deliveries, not {inboxes}")
        with timed_signing() if time_signing else contextlib.nullcontext() as signing:
            drain = await self.drain(label, policy, inboxes, profile=profile)
        drain.publish_s = publish_s
        if isinstance(signing, Timed):
            drain.sign_s = signing.seconds
        await self.check_delivered(doc["id"], inboxes)
        await Delivery.all().delete()  # the next round starts from an empty table
        return drain

    async def drain(
        self,
        label: str,
        policy: DeliveryPolicy,
        expected: int,
        *,
        profile: cProfile.Profile | None = None,
        on_batch: Callable[[int, int], None] | None = None,
        claim: Timed | None = None,
    ) -> Drain:
        """``run_once()`` until it finds nothing due; timed to the end of the last batch."""
        worker = self.worker(policy)
        claim = claim or Timed()
        worker._claim = claim.coro(worker._claim)  # type: ignore[method-assign]
        done = batches = 0
        meter = CpuMeter(self.sink)
        started = last = time.perf_counter()
        if profile is not None:
            profile.enable()
        try:
            while True:
                attempted = await worker.run_once()
                if not attempted:
                    break
                last = time.perf_counter()
                done += attempted
                batches += 1
                if on_batch is not None:
                    on_batch(batches, done)
        finally:
            if profile is not None:
                profile.disable()
        cpu = meter.stop()
        if done != expected:
            raise BenchError(f"{label}: the worker attempted {done} deliveries, not {expected}")
        return Drain(
            label=label,
            per_host=policy.per_host,
            deliveries=done,
            seconds=last - started,
            batches=batches,
            cpu=cpu,
            claim_s=claim.seconds,
        )

    async def check_delivered(self, activity_id: str | None, expected: int) -> None:
        """Every row delivered, and the sink saw exactly that many distinct inboxes."""
        query = Delivery.filter(state=DeliveryState.DELIVERED)
        if activity_id is not None:
            query = query.filter(activity_id=activity_id)
        delivered = await query.count()
        if delivered != expected:
            failed = await Delivery.exclude(state=DeliveryState.DELIVERED).first()
            detail = f" (e.g. {failed.state}: {failed.last_error})" if failed else ""
            raise BenchError(f"{delivered} of {expected} deliveries delivered{detail}")
        stats = self.sink.stats()
        if stats["posts"] != expected or stats["distinct"] != expected:
            raise BenchError(
                f"the sink counted {stats['posts']} POSTs to {stats['distinct']} distinct "
                f"inboxes, not {expected}"
            )

    async def check_signature(self) -> str:
        """Verify the sink's sample request: the figures are for real, valid signatures."""
        sample = self.sink.stats()["sample"]
        if sample is None:
            raise BenchError("the sink kept no sample request")
        key_id, key = await self.keys(self.signer)
        to_verify = parse_signature(
            "POST",
            f"http://{HOST}:{self.sink.port}{sample['path']}",
            [tuple(h) for h in sample["headers"]],
            sample["body"].encode("utf-8"),
            utc_now(),
        )
        verify_signature(to_verify, key.public_key())
        if to_verify.key_id != key_id:
            raise BenchError(f"the sample was signed with {to_verify.key_id}, not {key_id}")
        return key_id


# --------------------------------------------------------------------------------------------
# Where the time goes (cProfile of one fan-out round)

_CATEGORIES = (
    ("signing (RSA, digest) in C", ()),
    ("signature headers (activitypub, Python)", ("/activitypub/",)),
    (
        "HTTP client (aiohttp, yarl, multidict, transport)",
        ("/aiohttp/", "/yarl/", "/multidict/", "/propcache/", "/aiohappyeyeballs/", "transport.py"),
    ),
    ("ORM (tortoise, pypika, aiosqlite, loop side)", ("/tortoise/", "/pypika", "/aiosqlite/")),
    ("delivery worker (federation/outbound.py)", ("/federation/outbound.py",)),
    ("event loop (asyncio, selectors)", ("/asyncio/", "selectors.py")),
    ("idle (waiting in epoll)", ()),
)


def _category_of(key: tuple[str, int, str], stats: dict[Any, Any], depth: int = 0) -> str:
    filename, _, name = key
    if filename == "~":  # a C function: by what it is, else by its heaviest caller
        if "RSAPrivateKey" in name or "_hashlib" in name or "openssl" in name:
            return "signing (RSA, digest) in C"
        if "poll" in name and "epoll" in name:
            return "idle (waiting in epoll)"
        callers = stats[key][4]
        if callers and depth < 5:
            heaviest = max(callers, key=lambda c: callers[c][2])
            return _category_of(heaviest, stats, depth + 1)
        return "other"
    for category, markers in _CATEGORIES:
        if any(marker in filename for marker in markers):
            return category
    return "other"


def profile_breakdown(profile: cProfile.Profile, deliveries: int) -> dict[str, Any]:
    """The main thread's profiled time grouped by category, and the top functions."""
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {}
    for key, entry in raw.items():
        category = _category_of(key, raw)
        totals[category] = totals.get(category, 0.0) + entry[2]
    total = sum(totals.values())
    top = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:20]
    return {
        "profiled_s": total,
        "deliveries": deliveries,
        "categories": [
            {
                "category": name,
                "seconds": seconds,
                "share": seconds / total if total else 0.0,
                "ms_per_delivery": seconds * 1000 / deliveries,
            }
            for name, seconds in sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
        ],
        "top_functions": [
            {
                "function": f"{Path(key[0]).name}:{key[1]}({key[2]})",
                "calls": entry[1],
                "tottime_s": entry[2],
                "cumtime_s": entry[3],
            }
            for key, entry in top
        ],
    }


# --------------------------------------------------------------------------------------------
# (c) backlog drain


async def backlog(bench: Bench, args: argparse.Namespace, policy: DeliveryPolicy) -> dict[str, Any]:
    """Insert ``args.rows`` rows, drain them, sample the RSS; returns the section of results."""
    await Delivery.all().delete()
    bench.sink.reset()
    rows, chunk = args.rows, args.chunk
    now = utc_now()
    inserted_at = time.perf_counter()
    for first in range(0, rows, chunk):
        doc = activity(f"backlog-{first // chunk}")
        body = json.dumps(doc, separators=(",", ":"))
        host = f"{HOST}:{bench.sink.port}"
        async with in_transaction():
            await Delivery.bulk_create(
                [
                    Delivery(
                        activity_id=doc["id"],
                        inbox=bench.sink.inbox(n),
                        host=host,
                        signer=bench.signer,
                        body=body,
                        created_at=now,
                        next_attempt_at=now,
                    )
                    for n in range(first, min(first + chunk, rows))
                ]
            )
    insert_s = time.perf_counter() - inserted_at
    say(f"backlog: {rows:,} rows inserted in {insert_s:.1f} s; draining")

    total_batches = -(-rows // policy.batch_size)
    baseline_after = min(args.baseline_batches, max(1, total_batches // 10))
    gc.collect()
    rss_start = rss_mb()["VmRSS"]
    samples: list[dict[str, float]] = []
    progress_every = max(1, total_batches // 10)
    started = time.perf_counter()

    claim = Timed()
    claim_ms: list[float] = []  # per batch

    def on_batch(batch: int, done: int) -> None:
        claim_ms.append(claim.seconds * 1000 - sum(claim_ms))
        if batch % args.sample_every == 0 or batch == baseline_after or done == rows:
            samples.append(
                {
                    "batch": batch,
                    "rows_done": done,
                    "elapsed_s": time.perf_counter() - started,
                    "claim_s_total": claim.seconds,
                    "rss_mb": rss_mb()["VmRSS"],
                }
            )
        if batch % progress_every == 0:
            elapsed = time.perf_counter() - started
            say(f"backlog: {done:,}/{rows:,} delivered, {done / elapsed:,.0f} rows/s")

    drain = await bench.drain("backlog", policy, rows, on_batch=on_batch, claim=claim)
    rss_end_before_gc = rss_mb()["VmRSS"]
    await bench.check_delivered(None, rows)
    baseline = next(s for s in samples if s["batch"] == baseline_after)
    end = samples[-1]
    after = [s for s in samples if s["batch"] >= baseline_after]
    slope = None
    if len(after) >= 3 and after[-1]["rows_done"] > after[0]["rows_done"]:
        fit = statistics.linear_regression(
            [s["rows_done"] for s in after], [s["rss_mb"] for s in after]
        )
        slope = fit.slope * 10_000  # MB per 10,000 rows
    growth = end["rss_mb"] - baseline["rss_mb"]
    return {
        "rows": rows,
        "chunk": chunk,
        "insert_s": insert_s,
        "drain_s": drain.seconds,
        "rows_per_s": drain.rate,
        "batches": drain.batches,
        "claim_s": drain.claim_s,
        "claim_ms_first_10_batches": statistics.mean(claim_ms[:10]),
        "claim_ms_last_10_batches": statistics.mean(claim_ms[-10:]),
        "cpu": asdict(drain.cpu),
        "rss": {
            "unit": "MB (10^6 bytes)",
            "before_drain_mb": rss_start,
            "baseline_batch": baseline_after,
            "baseline_mb": baseline["rss_mb"],
            "peak_mb": max(s["rss_mb"] for s in samples),
            "end_mb": end["rss_mb"],
            "end_after_checks_mb": rss_end_before_gc,
            "process_peak_vmhwm_mb": rss_mb()["VmHWM"],
            "growth_mb": growth,
            "slope_mb_per_10k_rows": slope,
            "sample_every_batches": args.sample_every,
            "samples": samples,
        },
        "goal": {
            "goal": f"RSS end - RSS after batch {baseline_after} <= {GOAL_GROWTH_MB:g} MB",
            "value": growth,
            "pass": growth <= GOAL_GROWTH_MB,
        },
    }


# --------------------------------------------------------------------------------------------
# The run


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        **base_machine_info(),
        "aiosqlite": metadata.version("aiosqlite"),
        "cryptography": metadata.version("cryptography"),
        "openssl": openssl_version(),
        "pinning": "none: the worker process and the sink process share the cores",
    }


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Start the sink, set up the database, measure everything; returns the results."""
    with tempfile.TemporaryDirectory(prefix="quartier-fedbench-") as tmp:
        workdir = Path(tmp)
        sink = Sink(workdir)
        try:
            sink.start()
            say(f"sink on {HOST}:{sink.port} (pid {sink.proc.pid if sink.proc else '?'})")
            return asyncio.run(cancel_on_sigterm(_measure(args, workdir, sink)))
        except asyncio.CancelledError:  # SIGTERM while measuring: everything was closed
            raise SystemExit(128 + signal.SIGTERM) from None
        except BenchError:
            tail = sink.log_tail()
            if tail:
                say(f"sink log:\n{tail}")
            raise
        finally:
            sink.close()


async def _measure(args: argparse.Namespace, workdir: Path, sink: Sink) -> dict[str, Any]:
    load_before = load_average()
    url = f"sqlite://{workdir / 'bench.sqlite3'}"
    applied = await apply_migrations(url)
    say(f"database migrated ({len(applied)} migrations) in {workdir}")
    settings = TransportSettings(
        user_agent="Quartier-bench/federation", allow_private=True, allow_http=True
    )
    async with open_database(url) as ctx, open_transport(settings) as transport:
        with activated(ctx):
            return await _measure_in_db(args, sink, transport, load_before)


async def _measure_in_db(
    args: argparse.Namespace, sink: Sink, transport: Transport, load_before: float
) -> dict[str, Any]:
    uris = UriScheme(BASE_URL)
    instance = await ensure_instance_actor()  # generates the Application actor's keys
    key = load_private_key(instance.rsa_private_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    signer = uris.instance_actor
    # The node's key cache, empty as right after 'quartier serve' starts.
    bench = Bench(sink, transport, SigningKeys(uris), signer)
    data = signing_string(sink.port)

    cpu_before = cpu_times()
    sign_before = signatures_per_second(key, data, args.sign_seconds)
    say(f"RSA-2048 signing: {sign_before['per_s']:,.0f} signatures/s")

    fast = DeliveryPolicy(
        batch_size=args.batch_size, per_host=args.per_host, concurrency=args.concurrency
    )
    default_host = DeliveryPolicy().per_host
    slow = DeliveryPolicy(
        batch_size=args.batch_size, per_host=default_host, concurrency=args.concurrency
    )
    # Cold start: the first fan-out after the node starts (empty key cache, no connections).
    key_loads = Timed()
    with patched(actor_service, "load_private_key", key_loads.sync(load_private_key)):
        cold = await bench.fanout("cold start", args.fanout, fast)
    say(
        f"cold-start fan-out: {cold.rate:,.0f} deliveries/s; {key_loads.calls} private key "
        f"loads ({key_loads.seconds:.2f} s)"
    )
    warm = await bench.fanout("warm-up", args.fanout, fast)
    key_id = await bench.check_signature()
    say(f"warm-up fan-out: {warm.rate:,.0f} deliveries/s; sample signature verified ({key_id})")
    rounds: list[Drain] = []
    for round_ in range(args.rounds):
        for policy in (fast, slow):
            drain = await bench.fanout(f"per_host={policy.per_host}", args.fanout, policy)
            rounds.append(drain)
            say(
                f"round {round_ + 1}/{args.rounds} per_host={policy.per_host}: "
                f"{drain.rate:,.0f} deliveries/s"
            )
    sign_after = signatures_per_second(key, data, args.sign_seconds)
    say(f"RSA-2048 signing again: {sign_after['per_s']:,.0f} signatures/s")
    sign_rate = max(sign_before["per_s"], sign_after["per_s"])
    fast_rate = statistics.median(d.rate for d in rounds if d.per_host == fast.per_host)
    slow_rate = statistics.median(d.rate for d in rounds if d.per_host == slow.per_host)
    ratio = fast_rate / sign_rate

    # Where the time goes: signing timed exactly (not in the figures above), then cProfile.
    timed = await bench.fanout("breakdown", args.fanout, fast, time_signing=True)
    say(f"breakdown round: {timed.rate:,.0f} deliveries/s, signing {timed.sign_s or 0:.3f} s")
    profiled = None
    if not args.no_profile:
        profile = cProfile.Profile()
        drain = await bench.fanout("cProfile", args.fanout, fast, profile=profile)
        profiled = profile_breakdown(profile, drain.deliveries)
        profiled["deliveries_per_s_under_profiler"] = drain.rate
        say(f"profiled round: {drain.rate:,.0f} deliveries/s under cProfile")

    backlog_result = None
    if not args.skip_backlog:
        backlog_result = await backlog(bench, args, fast)

    load_after = load_average()
    cpu_after = cpu_times()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/federation_bench.py", *args.argv]),
        "machine": machine_info(),
        "code": code_info(),
        "load_average_1min": {"before": load_before, "after": load_after},
        "machine_cpu_shares": cpu_shares(cpu_before, cpu_after),
        "settings": {
            "fanout_inboxes": args.fanout,
            "rounds": args.rounds,
            "sign_seconds": args.sign_seconds,
            "policy": {
                "batch_size": fast.batch_size,
                "per_host": fast.per_host,
                "concurrency": fast.concurrency,
            },
            "default_per_host": default_host,
            "transport_max_connections": transport.settings.max_connections,
            "database": "SQLite (tortoise, aiosqlite), file in a temporary directory",
        },
        "signing": {
            "key": "RSA-2048 (the Application actor's, from SigningKeys)",
            "scheme": "PKCS#1 v1.5, SHA-256, cryptography, one thread",
            "message_bytes": len(data),
            "before": sign_before,
            "after": sign_after,
            "per_s": sign_rate,
        },
        "fanout": {
            "verified_sample_key_id": key_id,
            "cold_start": {
                **_drain_dict(cold),
                "private_key_loads": key_loads.calls,
                "private_key_load_s": key_loads.seconds,
            },
            "warmup": _drain_dict(warm),
            "rounds": [_drain_dict(d) for d in rounds],
            "per_host_fast": fast.per_host,
            "deliveries_per_s": fast_rate,
            "deliveries_per_s_default_per_host": slow_rate,
            "ratio": ratio,
            "ratio_default_per_host": slow_rate / sign_rate,
            "breakdown_round": _drain_dict(timed),
            "profile": profiled,
        },
        "backlog": backlog_result,
        "goals": {
            "fanout_ratio": {
                "goal": f">= {GOAL_RATIO}",
                "value": ratio,
                "pass": ratio >= GOAL_RATIO,
            },
            **({"backlog_rss": backlog_result["goal"]} if backlog_result else {}),
        },
    }


def _drain_dict(drain: Drain) -> dict[str, Any]:
    data = asdict(drain)
    data["deliveries_per_s"] = drain.rate
    return data


# --------------------------------------------------------------------------------------------
# Report


def summary(results: dict[str, Any]) -> str:
    """The human-readable report: machine, goals with PASS/MISS, details."""
    s, f, b = (results[k] for k in ("signing", "fanout", "backlog"))
    goals = results["goals"]
    shares = results["machine_cpu_shares"]
    verdict = {True: "PASS", False: "MISS"}
    n = results["settings"]["fanout_inboxes"]
    rows = [
        ("metric", "measured", "goal", "result"),
        ("RSA-2048 signatures/s, one core", f"{s['per_s']:,.0f}", "-", "-"),
        (
            f"fan-out {n:,}, per_host={f['per_host_fast']}",
            f"{f['deliveries_per_s']:,.0f} deliveries/s = {f['ratio']:.2f} of signing",
            goals["fanout_ratio"]["goal"],
            verdict[goals["fanout_ratio"]["pass"]],
        ),
        (
            f"fan-out {n:,}, per_host={results['settings']['default_per_host']} (default)",
            f"{f['deliveries_per_s_default_per_host']:,.0f} deliveries/s = "
            f"{f['ratio_default_per_host']:.2f} of signing",
            "-",
            "info",
        ),
    ]
    if b:
        rss = b["rss"]
        rows += [
            (
                f"backlog {b['rows']:,} rows drained",
                f"{b['rows_per_s']:,.0f} rows/s ({b['drain_s']:.0f} s)",
                "-",
                "-",
            ),
            (
                "backlog RSS growth",
                f"{rss['growth_mb']:+.1f} MB (batch {rss['baseline_batch']} "
                f"{rss['baseline_mb']:.1f} -> end {rss['end_mb']:.1f}; peak {rss['peak_mb']:.1f})",
                f"<= {GOAL_GROWTH_MB:g} MB",
                verdict[goals["backlog_rss"]["pass"]],
            ),
        ]
    lines = [
        *report_header("Quartier federation benchmark", results, shares),
        f"  code    : quartier {results['code']['quartier']} at {results['code']['git_head']}",
        f"  command : {results['command']}",
        "",
        *table(rows),
        "",
        "details",
        f"  signing: {s['before']['per_s']:,.0f} before, {s['after']['per_s']:,.0f} after the "
        f"fan-out ({s['message_bytes']} B message); the higher one is the denominator",
        "  fan-out rounds (deliveries/s): "
        + ", ".join(f"{d['label']} {d['deliveries_per_s']:,.0f}" for d in f["rounds"]),
        f"  cold start (first fan-out, empty key cache, no connections): "
        f"{f['cold_start']['deliveries_per_s']:,.0f} deliveries/s; the private key was loaded "
        f"{f['cold_start']['private_key_loads']} times "
        f"({f['cold_start']['private_key_load_s']:.2f} s on the event loop)",
    ]
    t = f["breakdown_round"]
    cpu = t["cpu"]
    per = 1000 / t["deliveries"]
    lines += [
        f"  breakdown round ({t['deliveries_per_s']:,.0f} deliveries/s, per delivery): "
        f"wall {t['seconds'] * per:.2f} ms; worker process CPU {cpu['process_cpu_s'] * per:.2f} ms "
        f"(event-loop thread {cpu['main_thread_cpu_s'] * per:.2f} ms, other threads "
        f"{(cpu['process_cpu_s'] - cpu['main_thread_cpu_s']) * per:.2f} ms); "
        f"sign_request {(t['sign_s'] or 0) * per:.2f} ms; claim {t['claim_s'] * per:.2f} ms; "
        f"sink CPU {cpu['sink_cpu_s'] * per:.2f} ms",
    ]
    prof = f["profile"]
    if prof:
        lines.append(
            f"  cProfile, event-loop thread ({prof['deliveries_per_s_under_profiler']:,.0f} "
            "deliveries/s under the profiler; proportions only):"
        )
        lines += [
            f"    {c['category']:<52} {c['share']:6.1%}  {c['ms_per_delivery']:.3f} ms/delivery"
            for c in prof["categories"]
        ]
    if b:
        rss = b["rss"]
        slope = rss["slope_mb_per_10k_rows"]
        lines += [
            f"  backlog: insert {b['rows']:,} rows in {b['insert_s']:.1f} s (chunks of "
            f"{b['chunk']:,}); drain {b['drain_s']:.1f} s in {b['batches']} batches, claims "
            f"{b['claim_s']:.1f} s of it ({b['claim_ms_first_10_batches']:.0f} ms per claim in the "
            f"first 10 batches, {b['claim_ms_last_10_batches']:.0f} ms in the last 10); "
            f"worker CPU {b['cpu']['process_cpu_s']:.0f} s, "
            f"sink CPU {b['cpu']['sink_cpu_s']:.0f} s",
            f"  backlog RSS (MB): {rss['before_drain_mb']:.1f} before draining, "
            f"{rss['baseline_mb']:.1f} after batch {rss['baseline_batch']}, peak "
            f"{rss['peak_mb']:.1f}, end {rss['end_mb']:.1f}"
            + (f"; trend {slope:+.2f} MB per 10,000 rows" if slope is not None else "")
            + f"; process VmHWM {rss['process_peak_vmhwm_mb']:.1f}",
        ]
    lines.append(f"  JSON: {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Quartier federation benchmark (see the docstring)."
    )
    parser.add_argument("--rows", type=int, default=100_000, help="backlog rows to drain")
    parser.add_argument("--skip-backlog", action="store_true", help="fan-out only")
    parser.add_argument("--fanout", type=int, default=1000, help="inboxes per fan-out")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved fan-out rounds")
    parser.add_argument("--sign-seconds", type=float, default=3.0, help="signing loop length")
    parser.add_argument("--batch-size", type=int, default=1000, help="worker batch size")
    parser.add_argument("--per-host", type=int, default=64, help="per-host limit (fast run)")
    parser.add_argument("--concurrency", type=int, default=64, help="worker concurrency")
    parser.add_argument("--chunk", type=int, default=5000, help="backlog rows per bulk_create")
    parser.add_argument("--sample-every", type=int, default=1, help="batches between RSS reads")
    parser.add_argument(
        "--baseline-batches", type=int, default=5, help="RSS baseline: after this many batches"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile round")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded with the results
    if args.rows < 1 or args.fanout < 1 or args.rounds < 1 or args.sample_every < 1:
        print("federation_bench: counts must be positive", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run_and_report("federation_bench", lambda: run_benchmark(args), RESULTS_PATH, summary)


if __name__ == "__main__":
    sys.exit(main())
