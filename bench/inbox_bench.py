"""Inbox benchmark: durable signed inbox ingestion against a bare aiohttp POST handler.

    .venv/bin/python bench/inbox_bench.py [--duration S] [--rounds N] [--code-at REV]
        [--postgres URL [--processes N] [--workers-apart K]]   (or: make bench)

The goal: deliveries/s that the node's shared inbox answers 202 -- each one parsed, its
draft-cavage signature and Digest verified against the sender's key, and stored durably
(committed) before the answer -- divided by requests/s of ``bench/bare_server.py``'s
``POST /inbox`` (read the body, answer 202) fed the very same raw requests. Goal >= 0.2 (issue
14's, revised from 0.5 by the measured limit of one process), one ``quartier serve`` process
(set up with the real CLI, its inbound worker running), SQLite, with the worker keeping up:
nothing left pending at the end of a round.
``--postgres URL`` runs the node on a throwaway database created on that PostgreSQL server
(dropped at the end), ``--processes N`` (PostgreSQL only) as ``quartier serve --processes N``,
against the bare handler in N processes on one port too: the ratio is node(N)/bare(N).
``--workers-apart K`` (PostgreSQL only) runs ``serve --no-workers`` with K ``quartier worker``
processes beside it (their CPU and memory counted with the node's).

The deliveries (``signed_deliveries.py``): ``--senders`` remote actors with their own RSA-2048
keys served by the bare server, Mastodon-shaped ``Create``/``Note`` requests signed by a
process pool before each round, fed to ``wrk`` by ``bench/inbox_feed.lua`` (each wrk thread its
own slice: nothing is sent twice to the node; the bare rounds replay the pool). After a
warm-up, ``--rounds`` interleaved rounds (bare, node, ...); the figure is median(node) /
median(bare). Each node round is checked in the node's database: no non-2xx answer, no
socket error, rows stored == requests sent (wrk stops with a request in flight per connection;
the node stores those too), one stored body equal to what was sent; the inbound worker must
drain its backlog before the next round. docs/performance.md, "Inbox ingestion", has the
details. ``--code-at REV`` measures an exported commit instead of the working tree. Results:
a table, and ``bench/results/inbox.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import signed_deliveries as deliveries
from bench_support import (
    BENCH_DIR,
    HOST,
    REPO_ROOT,
    BenchError,
    Node,
    Processes,
    bench_main,
    clean_env,
    code_info,
    cpu_shares,
    cpu_times,
    describe_code,
    free_port,
    goal,
    load_average,
    machine_info,
    measured_code,
    quartier_bin,
    report_header,
    say,
    start_bare,
    table,
    tree_memory_mb,
    verdict,
    with_processes,
    wrk_version,
)
from inbox_load import InboxDatabase, Round, Servers, drain, throwaway_database
from profiles import pyspy_breakdown, pyspy_lines, record_pyspy

RESULTS_PATH = BENCH_DIR / "results" / "inbox.json"
POSTGRES_RESULTS_PATH = BENCH_DIR / "results" / "inbox-postgres.json"
GOAL_RATIO = 0.2


def start_servers(
    procs: Processes, bare_port: int, node: Node, senders: list[deliveries.Sender], processes: int
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """The bare server (senders' documents and the bare inbox, in ``processes`` processes),
    then the node."""
    documents = procs.workdir / "senders.json"
    paths = {urlsplit(s.actor_id).path: s.document for s in senders}
    documents.write_text(json.dumps(paths), encoding="utf-8")
    options = ["--documents", str(documents), "--processes", str(processes)]
    bare, _ = start_bare(procs, next(iter(paths)), *options, port=bare_port)
    node_proc, _ = node.start(procs)
    return bare, node_proc


def profiled_round(
    servers: Servers, requests: deliveries.RequestPool, procs: Processes
) -> dict[str, Any]:
    """One more node round (not counted) with py-spy sampling the node."""
    args = servers.args
    profiled, raw = record_pyspy(
        args.py_spy,
        servers.node_proc.pid,
        args.profile_rate,
        procs,
        lambda: servers.node_round(requests, "profiled node", args.duration),
    )
    # The round's requests are the denominator, so the per-request figures include the idle
    # second around the round (py-spy drops idle samples by default: it adds little).
    roots = [args.code_root or str(REPO_ROOT), *sys.path[1:]]
    breakdown = pyspy_breakdown(raw, profiled.rows_stored or 0, args.profile_rate, roots)
    breakdown["rps_under_profiler"] = profiled.load.rps
    breakdown["node_cpu_share"] = profiled.server_cpu_share
    return breakdown


def _measure(args: argparse.Namespace, workdir: Path, procs: Processes) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise BenchError("needs wrk (apt-get install -y wrk)")
    load_before, cpu_before = load_average(), cpu_times()
    env = {"QUARTIER_FEDERATION_LOCAL_TESTING": "true"}
    if args.database_url:
        env["QUARTIER_STORAGE_DATABASE_URL"] = args.database_url
    code_path, snapshot = measured_code(args.code_at, workdir)
    if code_path is not None:
        env["PYTHONPATH"] = code_path
    args.code_root = code_path
    serve_args = ("--processes", str(args.processes)) if args.processes > 1 else ()
    if args.workers_apart:
        serve_args += ("--no-workers",)
    node = Node(workdir / "node", free_port(), env, serve_args)
    node.workdir.mkdir()
    say(f"setting up a node in {node.workdir} (init, migrate)")
    node.setup()
    bare_port = free_port()
    senders = deliveries.make_senders(code_path, f"http://{HOST}:{bare_port}", args.senders)
    plan = deliveries.Plan(tuple(senders), node.origin, base=random.randrange(10**17, 9 * 10**17))
    bare_proc, node_proc = start_servers(procs, bare_port, node, senders, args.processes)
    # Beside 'serve --no-workers': the processes that work the queues, counted with the node.
    workers = [
        procs.spawn(
            f"worker-{n}",
            [str(quartier_bin()), "worker"],
            clean_env(**node.env, QUARTIER_SERVER_LOG_LEVEL="WARNING"),
            cwd=node.workdir,
        )
        for n in range(args.workers_apart)
    ]
    db = InboxDatabase(args.database_url or node.database())
    servers = Servers(workdir, node, node_proc, bare_proc, bare_port, db, plan, args, workers)
    rss_start = tree_memory_mb(node_proc.pid)["VmRSS"]

    with deliveries.signing_pool(plan, code_path, args.threads, workdir) as signers:
        # Warm-up: the node fetches every sender once, the caches and connections warm up.
        # The pool is sized generously; one that runs out is discarded and doubled.
        (bare_warm, node_warm), example_request = signers.until_enough(
            args.warmup_pool,
            "warmup",
            lambda warm: (
                servers.bare_round(warm, "bare warm-up", args.warmup),
                servers.node_round(warm, "node warm-up", args.warmup),
            ),
            lambda: drain(db, node_proc),
        )
        say(
            f"warm-up: bare {bare_warm.load.rps:,.0f} req/s, node {node_warm.load.rps:,.0f} "
            f"req/s ({node_warm.rows_stored:,} rows)"
        )
        fastest = node_warm.load.rps
        rounds: list[Round] = []
        for r in range(args.rounds):

            def one_round(requests: deliveries.RequestPool, r: int = r) -> tuple[Round, Round]:
                bare = servers.bare_round(requests, f"round {r + 1} bare", args.duration)
                say(f"round {r + 1}/{args.rounds} bare: {bare.load.rps:,.0f} req/s")
                return bare, servers.node_round(requests, f"round {r + 1} node", args.duration)

            # A node faster than its warm-up (several processes, all warm) may use up the pool:
            # then the round (bare and node) is done again with twice as many requests.
            size = max(args.min_pool, int(fastest * args.duration * args.margin))
            (bare, node_r), _ = signers.until_enough(
                size, f"round{r + 1}", one_round, lambda: drain(db, node_proc)
            )
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
            with signers.pool(size, "profiled") as requests:
                profile = profiled_round(servers, requests, procs)
            say(f"profiled round: {profile['rps_under_profiler']:,.0f} req/s under py-spy")

    node_log = (workdir / "node-warning.log").read_text(errors="replace").splitlines()
    rss_end = tree_memory_mb(node_proc.pid)
    Processes.stop(node_proc)
    Processes.stop(bare_proc)
    bare_rps = statistics.median(r.load.rps for r in rounds if r.target == "bare")
    node_rps = statistics.median(r.load.rps for r in rounds if r.target == "node")
    ratio = node_rps / bare_rps
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/inbox_bench.py", *args.argv]),
        "machine": machine_info(
            "none: node (event loop + SQLite thread, or its processes and PostgreSQL), bare "
            "server and wrk share the cores",
            load_generator=f"{wrk_version()}, {args.threads} thread(s), {args.connections} "
            "connections, bench/inbox_feed.lua",
        ),
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
            "database": "PostgreSQL (a throwaway database on the --postgres server)"
            if args.database_url
            else "SQLite (the node's default, data/quartier.sqlite3)",
            "processes": args.processes,
            "workers_apart": args.workers_apart,
        },
        "deliveries": {
            "shape": "Create(Note), Mastodon-shaped, to Public, cc followers",
            "body_bytes": len(deliveries.delivery_body(plan, 0, "2026-11-26T21:00:00Z")),
            "request_bytes_example": len(example_request),
            "signature": "draft-cavage rsa-sha256 over (request-target) host date digest, "
            "RSA-2048, activitypub.signatures.sign_request",
            "sender_example": senders[0].actor_id,
        },
        "warmup": {"bare": bare_warm.as_dict(), "node": node_warm.as_dict()},
        "rounds": [r.as_dict() for r in rounds],
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
            "ratio": goal(ratio, GOAL_RATIO),
            # the worker processes what the inbox took within the round
            "backlog": goal(
                max(
                    d["pending_at_end"]
                    for d in (r.as_dict() for r in rounds)
                    if d["target"] == "node"
                ),
                0,
                at_most=True,
            ),
        },
    }


def summary(results: dict[str, Any]) -> str:
    """The human-readable report: machine, the goal with PASS/MISS, details."""
    m, s, memory = results["machine"], results["settings"], results["node_memory_mb"]
    node_rounds = [r for r in results["rounds"] if r["target"] == "node"]
    bare_rounds = [r for r in results["rounds"] if r["target"] == "bare"]

    def latency(rounds: list[dict[str, Any]]) -> str:
        p50 = statistics.median(r["load"]["latency_p50_ms"] for r in rounds)
        p99 = statistics.median(r["load"]["latency_p99_ms"] for r in rounds)
        return f"{p50:.2f} / {p99:.2f} ms"

    cpu = statistics.median(r["server_cpu_share"] for r in node_rounds)
    rows = [
        ("metric", "measured", "goal", "result"),
        (
            f"inbox ratio node/bare ({s['processes']} proc.)",
            f"{results['ratio']:.2f} ({results['node_rps_median']:,.0f} / "
            f"{results['bare_rps_median']:,.0f} req/s)",
            results["goals"]["ratio"]["goal"],
            verdict(results["goals"]["ratio"]["pass"]),
        ),
        (
            "worker backlog at the end of a round (max)",
            f"{results['goals']['backlog']['value']:,}",
            results["goals"]["backlog"]["goal"],
            verdict(results["goals"]["backlog"]["pass"]),
        ),
        ("p50 / p99 latency, node (median)", latency(node_rounds), "-", "info"),
        ("p50 / p99 latency, bare (median)", latency(bare_rounds), "-", "info"),
        ("node CPU during a round (median)", f"{cpu:.2f} cores", "-", "info"),
        (
            "node RSS (all processes): after start / end / peak",
            f"{memory['rss_after_start']:.1f} / {memory['rss_end']:.1f} / {memory['peak']:.1f} MB",
            "-",
            "info",
        ),
    ]
    shares = results["machine_cpu_shares"]
    lines = [
        *report_header("Quartier inbox benchmark (durable signed ingestion)", results, shares),
        f"  load    : {m['load_generator']}; {s['duration_s']:g} s per run, {s['rounds']} "
        f"interleaved rounds (bare, node), {s['senders']} senders",
        f"  servers : {s['processes']} process(es) each (node and bare); node database "
        f"{s['database']}"
        + (
            f"; serve --no-workers with {s['workers_apart']} 'quartier worker' process(es)"
            if s.get("workers_apart")
            else ""
        ),
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
    if results["profile"]:
        lines += pyspy_lines(results["profile"])
    log = results["node_log"]
    lines.append(f"  node log at WARNING: {log['lines_at_warning']} lines over the run")
    lines += [f"    | {line[:160]}" for line in log["last"][-3:]]
    path = POSTGRES_RESULTS_PATH if s["database"].startswith("PostgreSQL") else RESULTS_PATH
    lines.append(f"  JSON: {path.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Quartier inbox benchmark (see the docstring).")
    add = parser.add_argument
    add("--duration", type=float, default=8.0, help="seconds per load run")
    add("--warmup", type=float, default=3.0, help="seconds of warm-up per server")
    add("--rounds", type=int, default=3, help="interleaved (bare, node) rounds")
    add("--connections", type=int, default=32, help="concurrent connections")
    add("--threads", type=int, default=1, help="wrk threads (one slice each)")
    add("--senders", type=int, default=20, help="remote actors signing")
    add(
        "--margin",
        type=float,
        default=2.0,
        help="a round's pool: this many times what the fastest node round so far would use",
    )
    add("--min-pool", type=int, default=4000, help="smallest pool per round")
    add("--warmup-pool", type=int, default=8000, help="first warm-up pool")
    add("--py-spy", metavar="PATH", help="py-spy executable: one more node round, sampled")
    add("--profile-rate", type=int, default=250, help="py-spy samples/s")
    add("--code-at", metavar="REV", help="measure this commit (git archive) instead")
    add("--postgres", metavar="URL", help="PostgreSQL server to create a throwaway database in")
    add("--processes", type=int, default=1, help="node and bare processes (needs --postgres)")
    add(
        "--workers-apart",
        type=int,
        default=0,
        metavar="K",
        help="serve --no-workers, and K 'quartier worker' processes (needs --postgres)",
    )
    return parser


def _check(args: argparse.Namespace) -> str | None:
    counts = (args.rounds, args.connections, args.threads, args.senders, args.processes)
    if min(counts) < 1 or args.margin < 1:
        return "counts must be positive, --margin at least 1"
    if args.processes > 1 and not args.postgres:
        return "--processes needs --postgres: on SQLite the node serves from one process"
    if args.workers_apart < 0:
        return "--workers-apart must not be negative"
    if args.workers_apart and not args.postgres:
        return "--workers-apart needs --postgres: on SQLite serve runs the only worker"
    return None


def _run(args: argparse.Namespace) -> dict[str, Any]:
    # The database outlives the processes: dropped once they are stopped.
    with throwaway_database(args.postgres) as url:
        args.database_url = url
        return with_processes("quartier-inboxbench-", lambda w, p: _measure(args, w, p))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = _parser()
    postgres = parser.parse_known_args(argv)[0].postgres
    path = POSTGRES_RESULTS_PATH if postgres else RESULTS_PATH
    return bench_main("inbox_bench", parser, argv, _run, path, summary, _check)


if __name__ == "__main__":
    sys.exit(main())
