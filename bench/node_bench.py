"""Node benchmark: actor GET throughput against bare aiohttp, idle memory, start-up time.

    .venv/bin/python bench/node_bench.py        (or: make bench)

In a temporary directory it sets a node up with the real CLI (``quartier init``, ``migrate``,
``admin create``), then measures, in one run on one machine:

* ready time: seconds from spawning ``quartier serve`` to the first 200 from ``/healthz``, over
  several fresh processes on the already-migrated database (median and max);
* actor GET requests/s: ``GET /users/<name>`` with ``Accept: application/activity+json`` on the
  node versus the same document from ``bench/bare_server.py`` (one bare aiohttp handler), with the
  same load generator, concurrency and duration, runs interleaved (bare, node, bare, node, ...);
  the ratio of the medians is the figure;
* resident memory (VmRSS) of the serving process right after start and after ~2 s of idling
  following the load.

Servers log at WARNING (per-request INFO lines would measure the log handler); one extra node run
at INFO is reported separately, for information. The load generator is ``wrk`` when installed,
otherwise an aiohttp client in a separate process. Results are printed as a table and written to
``bench/results/node.json``. Everything listens on 127.0.0.1 and every process started here is
stopped on the way out, failures included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    check_clean,
    code_info,
    describe_code,
    free_port,
    http_get,
    load_average,
    memory_mb,
    parse_wrk,
    run_and_report,
    say,
    start_bare,
    table,
    with_processes,
    wrk_version,
)

RESULTS_PATH = BENCH_DIR / "results" / "node.json"
USERNAME = "alice"
PASSWORD = "correct horse battery staple, benchmark edition"  # noqa: S105 - throwaway node
ACCEPT = ACTIVITY_JSON

GOAL_RATIO = 0.5
GOAL_RSS_MB = 80.0
GOAL_READY_S = 2.0


# --------------------------------------------------------------------------------------------
# Load generation


def run_wrk(target: str, url: str, connections: int, duration: int, threads: int) -> LoadResult:
    """One ``wrk`` run; parses requests/s, error counts and latency percentiles."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-H",
        f"Accept: {ACCEPT}",
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(target, done.stdout)


def run_aiohttp_client(target: str, url: str, connections: int, duration: int) -> LoadResult:
    """One run of the fallback generator, in its own process (never in a server's process)."""
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--load-client",
        url,
        "--connections",
        str(connections),
        "--duration",
        str(duration),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"load client failed: {done.stderr}")
    data = json.loads(done.stdout)
    return LoadResult(target=target, **data)


async def _client_load(url: str, connections: int, duration: float) -> dict[str, Any]:
    """``connections`` keep-alive workers issuing GETs back to back for ``duration`` seconds."""
    import aiohttp  # only the fallback generator needs it

    counts = {"requests": 0, "non_2xx": 0, "errors": 0}
    latencies: list[float] = []
    stop_at = time.perf_counter() + duration

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                async with session.get(url, headers={"Accept": ACCEPT}) as response:
                    await response.read()
                    if not 200 <= response.status < 400:
                        counts["non_2xx"] += 1
            except aiohttp.ClientError:
                counts["errors"] += 1
                continue
            counts["requests"] += 1
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else None

    return {
        "rps": counts["requests"] / elapsed,
        **counts,
        "latency_p50_ms": pct(0.50),
        "latency_p99_ms": pct(0.99),
    }


@dataclass
class LoadGenerator:
    """The same generator, concurrency and duration for every server measured."""

    connections: int
    duration: int
    threads: int = 1
    choice: str = "auto"
    tool: str = field(init=False)

    def __post_init__(self) -> None:
        if self.choice == "auto":
            self.tool = "wrk" if shutil.which("wrk") else "aiohttp-client"
        else:
            self.tool = self.choice

    def describe(self) -> str:
        """How the load is generated, for the report."""
        if self.tool == "wrk":
            return f"{wrk_version()}, {self.threads} thread, {self.connections} connections"
        return f"aiohttp client (separate process), {self.connections} connections"

    def run(self, target: str, url: str, duration: int | None = None) -> LoadResult:
        """Load ``url`` for ``duration`` (default: the configured one)."""
        seconds = duration or self.duration
        if self.tool == "wrk":
            return run_wrk(target, url, self.connections, seconds, self.threads)
        return run_aiohttp_client(target, url, self.connections, seconds)


# --------------------------------------------------------------------------------------------
# The benchmark


def create_member(node: Node) -> str:
    """``quartier admin create``: the benchmark member whose actor document is fetched; returns
    its path."""
    node.cli(
        ["admin", "create", USERNAME, "--real-name", "Alice Bench", "--password-stdin"],
        stdin=PASSWORD + "\n",
    )
    return f"/users/{USERNAME}"


def check_actor(port: int, path: str) -> bytes:
    """The actor document must come back as a 200 JSON actor, or the load figures mean nothing."""
    status, body = http_get(port, path)
    if status != 200:
        raise BenchError(f"GET {path} on port {port} answered {status}: {body[:200]!r}")
    doc = json.loads(body)
    if doc.get("type") != "Person" or "id" not in doc:
        raise BenchError(f"GET {path} on port {port} is not a Person document")
    return body


def machine_info(generator: LoadGenerator) -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        **base_machine_info(),
        "load_generator": generator.describe(),
        "pinning": "none: servers and load generator share the cores",
    }


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Set up a node, measure everything, return the results (also the JSON written)."""
    generator = LoadGenerator(args.connections, args.duration, choice=args.generator)
    return with_processes("quartier-bench-", lambda w, p: _measure(args, generator, w, p))


def _measure(
    args: argparse.Namespace, generator: LoadGenerator, workdir: Path, procs: Processes
) -> dict[str, Any]:
    load_before = load_average()
    node = Node(workdir, free_port())
    say(f"setting up a node in {workdir} (init, migrate, admin create)")
    node.setup()
    actor_path = create_member(node)

    # (a) Start-up: each start a fresh process on the migrated database, one after the other.
    ready_times: list[float] = []
    for attempt in range(args.starts):
        proc, ready = node.start(procs)
        ready_times.append(ready)
        Processes.stop(proc)
        say(f"start {attempt + 1}/{args.starts}: ready in {ready:.3f} s")

    # The serving process: RSS right after start, then the load runs against it.
    proc, ready = node.start(procs)
    rss_start = memory_mb(proc.pid)
    node_body = check_actor(node.port, actor_path)
    document = workdir / "actor.json"
    document.write_bytes(node_body)
    bare, bare_port = start_bare(procs, f"/users/{USERNAME}", "--document", str(document))
    bare_body = check_actor(bare_port, f"/users/{USERNAME}")
    bare_rss_start = memory_mb(bare.pid)

    node_url = f"http://{HOST}:{node.port}{actor_path}"
    bare_url = f"http://{HOST}:{bare_port}/users/{USERNAME}"
    # Warm-up: first requests pay for lazy imports, caches and connection set-up.
    for target, url in (("bare", bare_url), ("node", node_url)):
        check_clean(generator.run(f"{target} warm-up", url, duration=args.warmup))

    # (c) Interleaved so drift on the machine (thermal, noisy neighbours) hits both sides alike.
    runs: list[LoadResult] = []
    for round_ in range(args.rounds):
        for target, url in (("bare", bare_url), ("node", node_url)):
            result = generator.run(target, url)
            check_clean(result)
            runs.append(result)
            say(f"round {round_ + 1}/{args.rounds} {target}: {result.rps:,.0f} req/s")
    bare_rps = statistics.median(r.rps for r in runs if r.target == "bare")
    node_rps = statistics.median(r.rps for r in runs if r.target == "node")

    # (b) Idle memory once the load is over and the process had time to settle.
    time.sleep(args.idle)
    rss_idle = memory_mb(proc.pid)
    bare_rss_idle = memory_mb(bare.pid)
    Processes.stop(proc)

    info_result = None
    if not args.skip_info:
        # For information only: the same node at the default INFO level, logs to a file.
        info_proc, _ = node.start(procs, log_level="INFO")
        check_clean(generator.run("node@INFO warm-up", node_url, duration=args.warmup))
        info_result = generator.run("node@INFO", node_url)
        check_clean(info_result)
        Processes.stop(info_proc)
        say(f"node at INFO: {info_result.rps:,.0f} req/s")
    Processes.stop(bare)

    load_after = load_average()
    ratio = node_rps / bare_rps
    ready_median = statistics.median(ready_times)
    ready_max = max(ready_times)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/node_bench.py", *args.argv]),
        "machine": machine_info(generator),
        "code": code_info(),
        "load_average_1min": {"before": load_before, "after": load_after},
        "settings": {
            "connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "starts": args.starts,
            "idle_s": args.idle,
            "log_level": "WARNING",
        },
        "actor_get": {
            "path": actor_path,
            "accept": ACCEPT,
            "node_body_bytes": len(node_body),
            "bare_body_bytes": len(bare_body),
            "node_rps_median": node_rps,
            "bare_rps_median": bare_rps,
            "ratio": ratio,
            "runs": [asdict(r) for r in runs],
            "node_info_level": asdict(info_result) if info_result else None,
        },
        "memory": {
            "unit": "MB (10^6 bytes)",
            "rss_after_start_mb": rss_start["VmRSS"],
            "peak_rss_at_start_mb": rss_start["VmHWM"],
            "rss_idle_after_load_mb": rss_idle["VmRSS"],
            "peak_rss_mb": rss_idle["VmHWM"],
            "bare_rss_after_start_mb": bare_rss_start["VmRSS"],
            "bare_rss_idle_after_load_mb": bare_rss_idle["VmRSS"],
        },
        "ready": {"times_s": ready_times, "median_s": ready_median, "max_s": ready_max},
        "goals": {
            "ratio": {"goal": f">= {GOAL_RATIO}", "value": ratio, "pass": ratio >= GOAL_RATIO},
            "idle_rss_mb": {
                "goal": f"<= {GOAL_RSS_MB:g}",
                "value": rss_idle["VmRSS"],
                "pass": rss_idle["VmRSS"] <= GOAL_RSS_MB,
            },
            "ready_median_s": {
                "goal": f"< {GOAL_READY_S:g}",
                "value": ready_median,
                "pass": ready_median < GOAL_READY_S,
            },
            "ready_max_s": {
                "goal": f"< {GOAL_READY_S:g}",
                "value": ready_max,
                "pass": ready_max < GOAL_READY_S,
            },
        },
    }


# --------------------------------------------------------------------------------------------
# Report


def summary(results: dict[str, Any]) -> str:
    """The human-readable report: machine, goals with PASS/MISS, details."""
    m, a, mem, ready = (results[k] for k in ("machine", "actor_get", "memory", "ready"))
    goals = results["goals"]
    verdict = {True: "PASS", False: "MISS"}
    rows = [
        ("metric", "measured", "goal", "result"),
        (
            "actor GET ratio node/bare",
            f"{a['ratio']:.2f} ({a['node_rps_median']:,.0f} / {a['bare_rps_median']:,.0f} req/s)",
            goals["ratio"]["goal"],
            verdict[goals["ratio"]["pass"]],
        ),
        (
            "idle RSS after load",
            f"{mem['rss_idle_after_load_mb']:.1f} MB "
            f"({mem['rss_idle_after_load_mb'] * 1e6 / 2**20:.1f} MiB)",
            goals["idle_rss_mb"]["goal"] + " MB",
            verdict[goals["idle_rss_mb"]["pass"]],
        ),
        (
            "ready (spawn->/healthz) median",
            f"{ready['median_s']:.3f} s",
            goals["ready_median_s"]["goal"] + " s",
            verdict[goals["ready_median_s"]["pass"]],
        ),
        (
            "ready max",
            f"{ready['max_s']:.3f} s",
            goals["ready_max_s"]["goal"] + " s",
            verdict[goals["ready_max_s"]["pass"]],
        ),
    ]
    lines = [
        "",
        "Quartier node benchmark",
        f"  machine : {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}; {m['pinning']}",
        f"  load avg: {results['load_average_1min']['before']:.2f} before, "
        f"{results['load_average_1min']['after']:.2f} after (1 min)",
        f"  software: Python {m['python']}, aiohttp {m['aiohttp']}, "
        f"tortoise-orm {m['tortoise_orm']}",
        f"  load    : {m['load_generator']}, {results['settings']['duration_s']} s per run, "
        f"{results['settings']['rounds']} interleaved rounds (bare, node)",
        f"  code    : {describe_code(results['code'])}",
        f"  command : {results['command']}",
        "",
        *table(rows),
        "",
        "details",
        "  runs (req/s): " + ", ".join(f"{r['target']} {r['rps']:,.0f}" for r in a["runs"]),
        "  p50/p99 latency (ms): "
        + ", ".join(
            f"{r['target']} {r['latency_p50_ms']:.2f}/{r['latency_p99_ms']:.2f}"
            for r in a["runs"]
            if r["latency_p50_ms"] is not None and r["latency_p99_ms"] is not None
        ),
        f"  body size: node {a['node_body_bytes']} B, bare {a['bare_body_bytes']} B",
        f"  node RSS right after start: {mem['rss_after_start_mb']:.1f} MB "
        f"(peak so far {mem['peak_rss_at_start_mb']:.1f} MB); peak over the whole run "
        f"{mem['peak_rss_mb']:.1f} MB",
        f"  bare aiohttp RSS: {mem['bare_rss_after_start_mb']:.1f} MB after start, "
        f"{mem['bare_rss_idle_after_load_mb']:.1f} MB idle after load",
        "  ready times (s): " + ", ".join(f"{t:.3f}" for t in ready["times_s"]),
    ]
    info = a["node_info_level"]
    if info:
        lines.append(
            f"  [info only, not a goal] node at log level INFO (one log line per request, to a "
            f"file): {info['rps']:,.0f} req/s = {info['rps'] / a['bare_rps_median']:.2f} of bare"
        )
    if m["load_generator"].startswith("aiohttp client"):
        lines.append(
            "  note: the Python load client may saturate before the bare server does, which "
            "flatters the ratio; install wrk for the reference figure"
        )
    lines.append(f"  JSON: {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Quartier node benchmark (see the docstring).")
    parser.add_argument("--duration", type=int, default=8, help="seconds per load run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved (bare, node) rounds")
    parser.add_argument("--starts", type=int, default=5, help="fresh starts for the ready time")
    parser.add_argument("--idle", type=float, default=2.0, help="idle seconds before the RSS")
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "aiohttp-client"],
        default="auto",
        help="load generator (auto: wrk when installed)",
    )
    parser.add_argument("--skip-info", action="store_true", help="skip the INFO-level run")
    # Internal: the fallback load generator runs this same file in a separate process.
    parser.add_argument("--load-client", metavar="URL", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, internally, the fallback load client); returns the exit status."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded with the results
    if args.load_client:
        result = asyncio.run(_client_load(args.load_client, args.connections, args.duration))
        print(json.dumps(result))
        return 0
    if args.generator == "auto" and not shutil.which("wrk"):
        say("wrk not found (apt-get install -y wrk); using the aiohttp client generator")
    return run_and_report("node_bench", lambda: run_benchmark(args), RESULTS_PATH, summary)


if __name__ == "__main__":
    sys.exit(main())
