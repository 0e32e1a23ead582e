"""Backlogs drained by the node's delivery worker (``delivery_rounds.Bench``): its memory over
a long drain to one sink host, and a backlog spread over many hosts with one of them dead, each
host's wait from a row's creation to its delivery.

Used by ``federation_bench.py``; see docs/performance.md, "Federation".
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from typing import Any

from bench_support import HOST, Timed, memory_mb, say
from delivery_rounds import Bench, activity, utc_now
from tortoise.transactions import in_transaction

from federation.models import Delivery, DeliveryState
from federation.outbound import DeliveryPolicy, DeliveryWorker

GOAL_GROWTH_MB = 5.0


def rss_mb() -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak so far) of this process, in MB (10^6 bytes)."""
    return memory_mb("self")


async def backlog_rss(
    bench: Bench, args: argparse.Namespace, policy: DeliveryPolicy
) -> dict[str, Any]:
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


async def spread_backlog(
    bench: Bench,
    args: argparse.Namespace,
    policy: DeliveryPolicy,
    dead_port: int,
    *,
    with_dead: bool = True,
) -> dict[str, Any]:
    """``args.spread_rows`` rows spread over ``args.spread_hosts`` hosts (row ``n`` to host
    ``n % hosts``; the last host is the dead one, on ``dead_port``: nothing listens there, or
    the sink's port that never answers), inserted in chunks (each chunk's rows created when
    it is inserted), then the worker until nothing is due (or ``args.spread_deadline``).
    Without ``with_dead``, the same rows but the dead host's: the reference, what the live
    hosts wait when no host is dead.

    Returns each live host's p99 wait (creation to delivery), how long the live rows took,
    and the state of the dead host's rows."""
    await Delivery.all().delete()
    bench.sink.reset()
    rows, chunk, hosts = args.spread_rows, args.chunk, args.spread_hosts
    dead_host = f"{HOST}:{dead_port}"

    def target(n: int) -> tuple[str, str]:
        if n % hosts == hosts - 1:
            return f"http://{dead_host}/inbox/{n}", dead_host
        port = bench.sink.ports[n % hosts]
        return f"http://{HOST}:{port}/inbox/{n}", f"{HOST}:{port}"

    inserted_at = time.perf_counter()
    for first in range(0, rows, chunk):
        doc = activity(f"spread-{first // chunk}")
        body = json.dumps(doc, separators=(",", ":"))
        now = utc_now()
        async with in_transaction():
            await Delivery.bulk_create(
                [
                    Delivery(
                        activity_id=doc["id"],
                        inbox=inbox,
                        host=host,
                        signer=bench.signer,
                        body=body,
                        created_at=now,
                        next_attempt_at=now,
                    )
                    for inbox, host in map(target, range(first, min(first + chunk, rows)))
                    if with_dead or host != dead_host
                ]
            )
    insert_s = time.perf_counter() - inserted_at
    what = "" if with_dead else ", without the dead host's (reference)"
    say(f"spread backlog: {rows:,} rows for {hosts} hosts{what} inserted in {insert_s:.1f} s")

    worker: DeliveryWorker = bench.worker(policy)
    started, batches, attempted, stopped = time.perf_counter(), 0, 0, False
    next_report = started + 10
    while attempted_now := await worker.run_once():
        batches, attempted = batches + 1, attempted + attempted_now
        now_s = time.perf_counter()
        if now_s >= next_report:
            say(f"spread backlog: {attempted:,} attempts in {now_s - started:.0f} s")
            next_report = now_s + 10
        if now_s - started > args.spread_deadline:
            stopped = True
            break
    # The dead host's requests left running in the background (a stalled host) end with
    # their timeout: its rows are recorded then, not part of the live hosts' drain time.
    drain_s = time.perf_counter() - started
    await worker.settle()
    return await _spread_results(
        args, policy, dead_host, insert_s, drain_s, batches, stopped, bench
    )


async def _spread_results(
    args: argparse.Namespace,
    policy: DeliveryPolicy,
    dead_host: str,
    insert_s: float,
    drain_s: float,
    batches: int,
    stopped: bool,
    bench: Bench,
) -> dict[str, Any]:
    """Per host: p99 of the waits of its delivered rows; the dead host's rows by state."""
    fields = ("host", "state", "created_at", "delivered_at", "attempts", "last_error")
    waits: dict[str, list[float]] = defaultdict(list)
    undelivered: Counter[str] = Counter()
    dead_states: Counter[str] = Counter()
    dead_attempts: list[int] = []
    dead_error = ""
    for host, state, created, delivered, attempts, error in await Delivery.all().values_list(
        *fields
    ):
        if host == dead_host:
            dead_states[str(state)] += 1
            dead_attempts.append(int(attempts))
            dead_error = dead_error or str(error)
        elif state == DeliveryState.DELIVERED and delivered is not None:
            waits[str(host)].append((delivered - created).total_seconds())
        else:
            undelivered[str(host)] += 1
    p99 = {host: _p99(w) for host, w in sorted(waits.items())}
    live_rows = sum(len(w) for w in waits.values()) + sum(undelivered.values())
    stats = bench.sink.stats()
    worst = max(p99, key=lambda h: p99[h]) if p99 else None
    return {
        "rows": args.spread_rows,
        "hosts": args.spread_hosts,
        "dead_mode": args.dead,
        "policy": {
            "batch_size": policy.batch_size,
            "per_host": policy.per_host,
            "concurrency": policy.concurrency,
        },
        "transport_total_timeout_s": bench.transport.settings.total_timeout,
        "insert_s": insert_s,
        "drain_s": drain_s,
        "batches": batches,
        "stopped_at_deadline": stopped,
        "deadline_s": args.spread_deadline,
        "sink_posts": stats["posts"],
        "live": {
            "rows": live_rows,
            "delivered": sum(len(w) for w in waits.values()),
            "undelivered": sum(undelivered.values()),
            "p99_wait_s_max": p99[worst] if worst else None,
            "p99_wait_s_median": statistics.median(p99.values()) if p99 else None,
            "p99_wait_s_min": min(p99.values()) if p99 else None,
            "worst_host": worst,
            "last_delivery_wait_s": max((max(w) for w in waits.values()), default=None),
        },
        "hosts_p99_wait_s": p99,
        "dead": {
            "host": dead_host,
            "rows": sum(dead_states.values()),
            "states": dict(dead_states),
            "attempts_min": min(dead_attempts, default=0),
            "attempts_max": max(dead_attempts, default=0),
            "last_error_example": dead_error[:200],
        },
    }


def _p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def backlog_rss_report(b: dict[str, Any]) -> tuple[list[tuple[str, ...]], list[str]]:
    """The report's table rows and detail lines for :func:`backlog_rss`'s results."""
    rss = b["rss"]
    slope = rss["slope_mb_per_10k_rows"]
    rows: list[tuple[str, ...]] = [
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
            "PASS" if b["goal"]["pass"] else "MISS",
        ),
    ]
    lines = [
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
    return rows, lines


def spread_report(c: dict[str, Any]) -> tuple[list[tuple[str, ...]], list[str]]:
    """The report's table rows and detail lines for :func:`spread_backlog`'s results."""
    live, dead = c["live"], c["dead"]

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    rows: list[tuple[str, ...]] = [
        (
            f"spread {c['rows']:,} rows / {c['hosts']} hosts, live p99 wait (max)",
            f"{seconds(live['p99_wait_s_max'])} (median host {seconds(live['p99_wait_s_median'])})"
            + (f"; {live['undelivered']:,} live rows not delivered" if live["undelivered"] else ""),
            "-",
            "info",
        ),
        (
            f"spread: dead host ({c['dead_mode']}), its {dead['rows']:,} rows",
            ", ".join(f"{n:,} {state}" for state, n in sorted(dead["states"].items())),
            "-",
            "info",
        ),
    ]
    ref = c.get("reference_without_dead")
    if ref and ref["p99_wait_s_max"] and live["p99_wait_s_max"] is not None:
        rows.insert(
            1,
            (
                "spread: live p99 wait (max), with / without the dead host",
                f"{live['p99_wait_s_max'] / ref['p99_wait_s_max']:.2f} "
                f"({seconds(live['p99_wait_s_max'])} / {seconds(ref['p99_wait_s_max'])})",
                "-",
                "info",
            ),
        )
    p = c["policy"]
    lines = [
        f"  spread backlog: policy batch {p['batch_size']}, per_host {p['per_host']}, "
        f"concurrency {p['concurrency']}; timeout {c['transport_total_timeout_s']:g} s; "
        f"insert {c['insert_s']:.1f} s, drain {c['drain_s']:.1f} s in {c['batches']} batches"
        + (f" (stopped at the {c['deadline_s']:g} s deadline)" if c["stopped_at_deadline"] else ""),
        f"  spread live hosts: {live['delivered']:,} of {live['rows']:,} rows delivered; p99 wait "
        f"per host min {seconds(live['p99_wait_s_min'])}, max {seconds(live['p99_wait_s_max'])} "
        f"({live['worst_host']}); last delivery {seconds(live['last_delivery_wait_s'])} after "
        "its creation",
        *(
            [
                f"  spread reference (no dead host): drain {ref['drain_s']:.1f} s; p99 wait per "
                f"host min {seconds(ref['p99_wait_s_min'])}, median "
                f"{seconds(ref['p99_wait_s_median'])}, max {seconds(ref['p99_wait_s_max'])}"
            ]
            if ref
            else []
        ),
        f"  spread dead host {dead['host']}: attempts {dead['attempts_min']}-"
        f"{dead['attempts_max']}; {dead['last_error_example'] or 'no error recorded'}",
    ]
    return rows, lines
