"""Web pages benchmark: the browse page against the JSON API's listing search, and page weight.

    .venv/bin/python bench/web_bench.py [--size 100000] [--connections 32] [--duration 15]
                                        (or: make bench; needs wrk: apt-get install -y wrk)

In a temporary directory it sets a node up with the real CLI (``quartier init``, ``migrate``,
``admin create``), loads ``--size`` generated listings into its SQLite database (the corpus and
bulk loader of ``bench/search_bench.py``, then the node's index upkeep), starts ``quartier
serve`` and measures, in one run on one machine:

* requests/s and latency of ``GET /listings`` (the browse page, HTML) and of ``GET
  /api/quartier/v1/listings`` (the JSON search the page is built on), both with the same mix of
  searches (newest first, a word, a word and a category, a category, nearest within 5 km,
  a prefix as typed), logged in as a member (a session cookie for the page, its bearer token
  for the API), ``--connections`` concurrent keep-alive connections from ``wrk``, runs
  interleaved (api, page, api, page...); the figure is the ratio of the medians (goal >= 0.5)
  and the page's p99 latency;
* page weight: the bytes a browser downloads for the home page, the browse page and a listing's
  page without photos, with everything they link (stylesheets, scripts) as served to a browser
  that accepts gzip (goal <= 60 KB each).

Results are printed and written to ``bench/results/web.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench_support import (
    BENCH_DIR,
    HOST,
    BenchError,
    LoadResult,
    Node,
    Processes,
    base_machine_info,
    bench_main,
    check_clean,
    code_info,
    describe_code,
    free_port,
    load_average,
    parse_wrk,
    say,
    table,
    with_processes,
    wrk_version,
)
from search_bench import load_sqlite, upkeep

RESULTS_PATH = BENCH_DIR / "results" / "web.json"
USERNAME = "alice"
PASSWORD = "correct horse battery staple, benchmark edition"  # noqa: S105 - throwaway node
GOAL_RATIO = 0.5
GOAL_PAGE_KB = 60.0
# The same searches on both sides: what a neighbour does on the browse page.
MIX: list[dict[str, str]] = [
    {},
    {"q": "perceuse"},
    {"q": "velo", "category": "transport"},
    {"category": "furniture"},
    {"sort": "nearest", "near": "45.76,4.84", "km": "5"},
    {"q": "tab"},
    {"q": "chaise"},
    {"kind": "give"},
]
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"')
LISTING_LINK = re.compile(r'href="(/listings/[0-9]+)"')


def request(
    port: int, path: str, headers: dict[str, str], method: str = "GET", body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on 127.0.0.1 with the standard library; the raw (still encoded) body."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def log_in(port: int) -> str:
    """The member's session token (``POST /api/quartier/v1/sessions``): a bearer token for the API
    and the session cookie for the pages."""
    body = json.dumps({"username": USERNAME, "password": PASSWORD}).encode()
    status, _, answer = request(
        port, "/api/quartier/v1/sessions", {"Content-Type": "application/json"}, "POST", body
    )
    if status != 200 and status != 201:
        raise BenchError(f"login failed: {status} {answer[:300]!r}")
    return str(json.loads(answer)["token"])


def page_weight(port: int, path: str, cookie: str) -> dict[str, Any]:
    """What a browser accepting gzip downloads for ``path`` and every asset it links."""
    headers = {"Cookie": cookie, "Accept-Encoding": "gzip", "Accept": "text/html"}
    status, meta, body = request(port, path, headers)
    if status != 200:
        raise BenchError(f"{path}: {status}")
    html = gzip.decompress(body) if meta.get("content-encoding") == "gzip" else body
    assets: dict[str, int] = {}
    for asset in sorted(set(ASSET.findall(html.decode()))):
        asset_status, _, asset_body = request(port, asset.replace("&amp;", "&"), headers)
        if asset_status != 200:
            raise BenchError(f"{asset}: {asset_status}")
        assets[asset] = len(asset_body)
    total = len(body) + sum(assets.values())
    title = re.search(r"<h1[^>]*>(.*?)</h1>", html.decode(), re.S)
    return {
        "path": path,
        "heading": title.group(1).strip() if title else None,
        "html_bytes": len(body),
        "html_gzip_bytes": len(gzip.compress(html)),
        "html_encoding": meta.get("content-encoding", "identity"),
        "assets": assets,
        "total_bytes": total,
        "total_kb": total / 1000,
    }


def mix_script(workdir: Path, prefix: str) -> Path:
    """A wrk script sending the mix of searches in turn."""
    paths = [f"{prefix}?{urlencode(params)}" if params else prefix for params in MIX]
    lines = ", ".join(json.dumps(p) for p in paths)
    script = workdir / f"mix{prefix.replace('/', '_')}.lua"
    script.write_text(
        f"local paths = {{{lines}}}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        '  return wrk.format("GET", paths[(n % #paths) + 1])\n'
        "end\n",
        encoding="utf-8",
    )
    return script


def run_wrk(
    target: str, port: int, script: Path, headers: dict[str, str], connections: int, seconds: int
) -> LoadResult:
    """One wrk run of the mix against the node."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://{HOST}:{port}/")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(target, done.stdout)


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Set up and load a node, measure, return the results (also the JSON written)."""
    if not shutil.which("wrk"):
        raise BenchError("wrk is not installed: apt-get install -y wrk")
    return with_processes("quartier-web-bench-", lambda w, p: _measure(args, w, p))


def _measure(args: argparse.Namespace, workdir: Path, procs: Processes) -> dict[str, Any]:
    load_before = load_average()
    node = Node(workdir, free_port())
    say(f"setting up a node in {workdir} (init, migrate, admin create)")
    node.setup()
    node.cli(
        ["admin", "create", USERNAME, "--real-name", "Alice Bench", "--password-stdin"],
        stdin=PASSWORD + "\n",
    )
    say(f"loading {args.size:,} listings")
    load_sqlite(node.database(), args.size, args.seed)
    asyncio.run(upkeep(f"sqlite://{node.database()}"))
    proc, _ = node.start(procs)
    token = log_in(node.port)
    cookie = f"quartier_session={token}"

    status, _, browse = request(node.port, "/listings", {"Cookie": cookie})
    if status != 200:
        raise BenchError(f"/listings answered {status}: {browse[:300]!r}")
    links = LISTING_LINK.findall(browse.decode())
    if not links:
        raise BenchError("the browse page links to no listing")
    weights = [page_weight(node.port, path, cookie) for path in ("/", "/listings", links[0])]

    targets = {
        "api": (
            mix_script(workdir, "/api/quartier/v1/listings"),
            {"Authorization": f"Bearer {token}"},
        ),
        "page": (mix_script(workdir, "/listings"), {"Cookie": cookie}),
    }
    for target, (script, headers) in targets.items():
        check_clean(run_wrk(f"{target} warm-up", node.port, script, headers, args.connections, 3))
    runs: list[LoadResult] = []
    for round_ in range(args.rounds):
        for target, (script, headers) in targets.items():
            result = run_wrk(target, node.port, script, headers, args.connections, args.duration)
            check_clean(result)
            runs.append(result)
            say(f"round {round_ + 1}/{args.rounds} {target}: {result.rps:,.0f} req/s")
    Processes.stop(proc)
    api_rps = statistics.median(r.rps for r in runs if r.target == "api")
    page_rps = statistics.median(r.rps for r in runs if r.target == "page")
    page_p99 = statistics.median(r.latency_p99_ms or 0.0 for r in runs if r.target == "page")
    api_p99 = statistics.median(r.latency_p99_ms or 0.0 for r in runs if r.target == "api")
    ratio = page_rps / api_rps
    heaviest = max(w["total_kb"] for w in weights)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/web_bench.py", *args.argv]),
        "machine": {**base_machine_info(), "load_generator": f"{wrk_version()}, 2 threads"},
        "code": code_info(),
        "load_average_1min": {"before": load_before, "after": load_average()},
        "settings": {
            "listings": args.size,
            "connections": args.connections,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "mix": MIX,
        },
        "browse": {
            "api_rps_median": api_rps,
            "page_rps_median": page_rps,
            "api_p99_ms": api_p99,
            "page_p99_ms": page_p99,
            "ratio": ratio,
            "runs": [asdict(r) for r in runs],
        },
        "page_weight": weights,
        "goals": {
            "ratio": {"goal": f">= {GOAL_RATIO}", "value": ratio, "pass": ratio >= GOAL_RATIO},
            "page_weight_kb": {
                "goal": f"<= {GOAL_PAGE_KB:g}",
                "value": heaviest,
                "pass": heaviest <= GOAL_PAGE_KB,
            },
        },
    }


def summary(results: dict[str, Any]) -> str:
    """The human-readable report: machine, goals with PASS/MISS, details."""
    b, goals = results["browse"], results["goals"]
    lines = [
        "",
        f"Web pages benchmark ({results['settings']['listings']:,} listings, "
        f"{results['settings']['connections']} connections)",
        f"  code    : {describe_code(results['code'])}",
        f"  machine : {results['machine']['cpu']}, {results['machine']['cores']} cores; "
        f"{results['machine']['load_generator']}",
        "",
    ]
    rows = [["target", "req/s (median)", "p99 (median)"]]
    rows.append(["JSON search", f"{b['api_rps_median']:,.0f}", f"{b['api_p99_ms']:.1f} ms"])
    rows.append(["browse page", f"{b['page_rps_median']:,.0f}", f"{b['page_p99_ms']:.1f} ms"])
    lines += table(rows)
    lines.append("")
    rows = [["page", "HTML", "assets", "total"]]
    for w in results["page_weight"]:
        assets = sum(w["assets"].values())
        rows.append(
            [w["path"], f"{w['html_bytes']:,} B", f"{assets:,} B", f"{w['total_kb']:.1f} KB"]
        )
    lines += table(rows)
    lines.append("")
    for name, goal in goals.items():
        verdict = "PASS" if goal["pass"] else "MISS"
        lines.append(f"  {name}: {goal['value']:.2f} (goal {goal['goal']}) {verdict}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Quartier web pages benchmark (see docstring).")
    parser.add_argument("--size", type=int, default=100_000, help="listings in the database")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--duration", type=int, default=15, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved (api, page) rounds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    return bench_main("web_bench", _parser(), argv, run_benchmark, RESULTS_PATH, summary)


if __name__ == "__main__":
    sys.exit(main())
