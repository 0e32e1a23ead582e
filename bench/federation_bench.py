"""Federation benchmark: outbound fan-out and backlogs, with the node's own delivery code.

    .venv/bin/python bench/federation_bench.py [--rows N] [--skip-backlog] [--skip-quartier]
        [--skip-spread] [--dead refused|stall]   (or: make bench)

In one run on one machine, with the node's own code (``publish``, ``DeliveryWorker``, the
outbound ``Transport``, ``SigningKeys``, ``SchemeMemory``: wired as ``node/app.py`` does) on a
migrated SQLite database in a temporary directory, against sink servers
(``bench/sink_server.py``: 202 at once, counted) in separate processes (``fanout_scenarios.py``,
``delivery_rounds.py`` and ``backlogs.py`` hold the rounds):

* draft-cavage inboxes (the sink says it is Mastodon 4.3 in NodeInfo and takes draft-cavage
  signatures only): RSA-2048 signatures/s on one core (before and after; the higher counts),
  then ``publish()`` of one activity to ``--fanout`` (1,000) inboxes and the worker until
  nothing is due, ``batch_size=1000, per_host=64, concurrency=64`` (the node's default
  ``per_host=4`` too, for information), after a cold-start and a warm-up round, ``--rounds``
  interleaved rounds; median deliveries/s / signatures/s, goal >= 0.6. Then one round with
  the signing timed, one under cProfile. NodeInfo fetches and refused RFC 9421 knocks are
  counted (the worker learns from NodeInfo that the host is draft-cavage: no knock);
* Quartier inboxes (the sink says ``quartier`` in NodeInfo, takes any signature): the same
  fan-out, interleaved with the same activity POSTed unsigned to the same sink by the same
  ``Transport`` (same limits, no database); median signed / median unsigned, goal >= 0.6. The
  worker signs RFC 9421 Ed25519 there; the sample request is verified whatever signed it (RFC
  9421 with http-message-signatures), and one round with the signing timed counts the
  signatures per scheme;
* backlog memory: ``--rows`` (100,000) rows to the cavage sink drained, VmRSS after every
  batch; growth after the first batches <= 5 MB;
* spread backlog: ``--spread-rows`` (100,000) rows over ``--spread-hosts`` (100) hosts, one of
  them dead (``--dead refused``: nothing listens; ``stall``: it never answers), drained by the
  node's default policy: each live host's p99 wait (creation to delivery), the dead host's
  rows' state; then again without the dead host's rows, the reference for the live hosts'
  wait (``--spread-no-reference`` skips it).

Results: a table, and ``bench/results/federation.json``. Everything listens on 127.0.0.1; the
sinks and the temporary directory are removed on the way out, failures and SIGTERM included.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backlogs import backlog_rss, backlog_rss_report, spread_backlog, spread_report
from bench_support import (
    BENCH_DIR,
    REPO_ROOT,
    SinkServer,
    bench_main,
    code_info,
    cpu_shares,
    cpu_times,
    free_port,
    goal,
    load_average,
    machine_info,
    report_header,
    run_with_sinks,
    say,
    table,
    verdict,
)
from delivery_rounds import BASE_URL, Bench
from fanout_scenarios import breakdown_line, cavage_rounds, quartier_rounds
from profiles import cprofile_lines

from activitypub.uris import UriScheme
from federation.outbound import DeliveryPolicy
from federation.transport import TransportSettings, open_transport
from node.actors.service import SigningKeys, ensure_instance_actor
from node.db import activated, apply_migrations, open_database

RESULTS_PATH = BENCH_DIR / "results" / "federation.json"
GOAL_RATIO = 0.6  # the revised goal (was 0.7)
GOAL_QUARTIER_RATIO = 0.6


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Start the sinks, set up the database, measure everything; returns the results."""
    sinks: dict[str, SinkServer] = {}

    def start(workdir: Path) -> list[SinkServer]:
        sinks["cavage"] = SinkServer(workdir, software="mastodon", name="sink")
        if not args.skip_quartier:
            sinks["quartier"] = SinkServer(workdir, software="quartier", name="sink-quartier")
        if not args.skip_spread:
            stall = 1 if args.dead == "stall" else 0
            live = args.spread_hosts - 1
            sinks["spread"] = SinkServer(
                workdir, live, software="mastodon", stall=stall, name="sink-spread"
            )
        return list(sinks.values())

    return run_with_sinks("quartier-fedbench-", start, lambda w: _measure(args, w, sinks))


async def _measure(
    args: argparse.Namespace, workdir: Path, sinks: dict[str, SinkServer]
) -> dict[str, Any]:
    load_before = load_average()
    url = f"sqlite://{workdir / 'bench.sqlite3'}"
    applied = await apply_migrations(url)
    say(f"database migrated ({len(applied)} migrations) in {workdir}")
    settings = TransportSettings(
        user_agent="Quartier-bench/federation", allow_private=True, allow_http=True
    )
    spread_settings = TransportSettings(
        user_agent="Quartier-bench/federation",
        allow_private=True,
        allow_http=True,
        total_timeout=args.spread_timeout,
    )
    async with (
        open_database(url) as ctx,
        open_transport(settings) as transport,
        open_transport(spread_settings) as spread_transport,
    ):
        with activated(ctx):
            uris = UriScheme(BASE_URL)
            instance = await ensure_instance_actor()  # generates the Application actor's keys
            # The node's key cache, empty as right after 'quartier serve' starts.
            keys, signer = SigningKeys(uris), uris.instance_actor
            benches = {
                name: Bench(sink, spread_transport if name == "spread" else transport, keys, signer)
                for name, sink in sinks.items()
            }
            return await _measure_in_db(args, benches, instance.rsa_private_pem, load_before)


async def _measure_in_db(
    args: argparse.Namespace, benches: dict[str, Bench], rsa_pem: str, load_before: float
) -> dict[str, Any]:
    bench = benches["cavage"]
    fast = DeliveryPolicy(
        batch_size=args.batch_size, per_host=args.per_host, concurrency=args.concurrency
    )
    cpu_before = cpu_times()
    signing, fanout = await cavage_rounds(bench, rsa_pem, args, fast)
    ratio = fanout["ratio"]
    quartier = (
        await quartier_rounds(benches["quartier"], args, fast) if "quartier" in benches else None
    )
    backlog_result = None
    if not args.skip_backlog:
        backlog_result = await backlog_rss(bench, args, fast)
    spread = None
    if "spread" in benches:
        sink = benches["spread"].sink
        dead_port = sink.ports[-1] if args.dead == "stall" else free_port()
        spread = await spread_backlog(benches["spread"], args, DeliveryPolicy(), dead_port)
        if not args.spread_no_reference:
            reference = await spread_backlog(
                benches["spread"], args, DeliveryPolicy(), dead_port, with_dead=False
            )
            spread["reference_without_dead"] = reference["live"]
            spread["reference_without_dead"]["drain_s"] = reference["drain_s"]

    goals = {"fanout_ratio": goal(ratio, GOAL_RATIO)}
    if quartier:
        goals["quartier_ratio"] = goal(quartier["ratio"], GOAL_QUARTIER_RATIO)
    if backlog_result:
        goals["backlog_rss"] = backlog_result["goal"]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/federation_bench.py", *args.argv]),
        "machine": machine_info("none: the worker process and the sink process share the cores"),
        "code": code_info(),
        "load_average_1min": {"before": load_before, "after": load_average()},
        "machine_cpu_shares": cpu_shares(cpu_before, cpu_times()),
        "settings": {
            "fanout_inboxes": args.fanout,
            "rounds": args.rounds,
            "sign_seconds": args.sign_seconds,
            "policy": {
                "batch_size": fast.batch_size,
                "per_host": fast.per_host,
                "concurrency": fast.concurrency,
            },
            "default_per_host": DeliveryPolicy().per_host,
            "transport_max_connections": bench.transport.settings.max_connections,
            "database": "SQLite (tortoise, aiosqlite), file in a temporary directory",
        },
        "signing": signing,
        "fanout": fanout,
        "quartier": quartier,
        "backlog": backlog_result,
        "spread": spread,
        "goals": goals,
    }


def summary(results: dict[str, Any]) -> str:
    """The human-readable report: machine, goals with PASS/MISS, details."""
    s, f, q, goals = (results[k] for k in ("signing", "fanout", "quartier", "goals"))
    n = results["settings"]["fanout_inboxes"]
    rows: list[tuple[str, ...]] = [
        ("metric", "measured", "goal", "result"),
        ("RSA-2048 signatures/s, one core", f"{s['per_s']:,.0f}", "-", "-"),
        (
            f"fan-out {n:,}, per_host={f['per_host_fast']}",
            f"{f['deliveries_per_s']:,.0f} deliveries/s = {f['ratio']:.2f} of signing",
            goals["fanout_ratio"]["goal"],
            verdict(goals["fanout_ratio"]["pass"]),
        ),
        (
            f"fan-out {n:,}, per_host={results['settings']['default_per_host']} (default)",
            f"{f['deliveries_per_s_default_per_host']:,.0f} deliveries/s = "
            f"{f['ratio_default_per_host']:.2f} of signing",
            "-",
            "info",
        ),
    ]
    if q:
        rows.append(
            (
                f"fan-out {n:,} to Quartier inboxes ({q['sample_signature']['scheme']})",
                f"{q['signed_per_s']:,.0f} deliveries/s = {q['ratio']:.2f} of unsigned "
                f"({q['unsigned_per_s']:,.0f}/s)",
                goals["quartier_ratio"]["goal"],
                verdict(goals["quartier_ratio"]["pass"]),
            )
        )
    backlog = backlog_rss_report(results["backlog"]) if results["backlog"] else ([], [])
    spread = spread_report(results["spread"]) if results["spread"] else ([], [])
    rows += backlog[0] + spread[0]
    lines = [
        *report_header("Quartier federation benchmark", results, results["machine_cpu_shares"]),
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
        f"  draft-cavage inboxes: sample {f['sample_signature']['scheme']}, verified with "
        f"{f['sample_signature']['verified_with']}; NodeInfo fetched {f['nodeinfo_gets']} "
        f"times, {f['refused_knocks']} RFC 9421 knocks refused",
        breakdown_line(f["breakdown_round"]),
        *(cprofile_lines(f["profile"]) if f["profile"] else []),
    ]
    if q:
        sig = q["sample_signature"]
        lines.append(
            f"  Quartier inboxes: sample {sig['scheme']} by {sig['key_id']}, verified with "
            f"{sig['verified_with']}; NodeInfo fetched {q['nodeinfo_gets']} times, "
            f"{q['refused_knocks']} knocks refused; rounds: "
            + ", ".join(f"{d['label']} {d['deliveries_per_s']:,.0f}" for d in q["rounds"])
        )
        lines.append(breakdown_line(q["breakdown_round"], "Quartier inboxes: "))
    lines += backlog[1] + spread[1]
    lines.append(f"  JSON: {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Quartier federation benchmark (see the docstring)."
    )
    add = parser.add_argument
    add("--rows", type=int, default=100_000, help="backlog rows to drain")
    add("--skip-backlog", action="store_true", help="no backlog memory drain")
    add("--fanout", type=int, default=1000, help="inboxes per fan-out")
    add("--rounds", type=int, default=5, help="interleaved fan-out rounds")
    add("--sign-seconds", type=float, default=3.0, help="signing loop length")
    add("--batch-size", type=int, default=1000, help="worker batch size")
    add("--per-host", type=int, default=64, help="per-host limit (fast run)")
    add("--concurrency", type=int, default=64, help="worker concurrency")
    add("--chunk", type=int, default=5000, help="backlog rows per bulk_create")
    add("--sample-every", type=int, default=1, help="batches between RSS reads")
    add("--baseline-batches", type=int, default=5, help="RSS baseline: after this many batches")
    add("--no-profile", action="store_true", help="skip the cProfile round")
    add("--skip-quartier", action="store_true", help="no fan-out to Quartier inboxes")
    add("--skip-spread", action="store_true", help="no backlog spread over hosts")
    add("--spread-rows", type=int, default=100_000, help="rows of the spread backlog")
    add("--spread-hosts", type=int, default=100, help="hosts (one of them dead)")
    add("--dead", choices=("refused", "stall"), default="refused", help="how the host is dead")
    add(
        "--spread-timeout",
        type=float,
        default=TransportSettings.total_timeout,
        help="the transport's total timeout in the spread backlog (s)",
    )
    add("--spread-deadline", type=float, default=900.0, help="stop the spread drain after (s)")
    add(
        "--spread-no-reference",
        action="store_true",
        help="skip the spread backlog again without the dead host's rows (the reference)",
    )
    return parser


def _check(args: argparse.Namespace) -> str | None:
    if min(args.rows, args.fanout, args.rounds, args.sample_every, args.spread_rows) < 1:
        return "counts must be positive"
    if args.spread_hosts < 2:
        return "--spread-hosts: at least 2 (one of them is dead)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    return bench_main(
        "federation_bench",
        _parser(),
        argv,
        run_benchmark,
        RESULTS_PATH,
        summary,
        _check,
        log_warnings=True,
    )


if __name__ == "__main__":
    sys.exit(main())
