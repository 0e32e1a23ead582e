"""Client API benchmark: a member's home timeline (Mastodon's ``GET /api/v1/timelines/home``)
against a bare aiohttp handler serving the same JSON (goal: ratio >= 0.3).

    .venv/bin/python bench/client_api_bench.py [--authors 10] [--posts 100] [--listings 5]
        [--connections 32] [--duration 10] [--rounds 3]   (or: make bench; needs wrk)

In a temporary directory it sets a node up with the real CLI (``quartier init``, ``migrate``,
``admin create`` for a reader and ``--authors`` authors), starts ``quartier serve`` and fills
the reader's home timeline as apps do, through the API: the reader follows every author
(``POST /api/v1/accounts/{id}/follow``), each author approves (``POST
/api/v1/follow_requests/{id}/authorize``), then the authors post ``--posts`` statuses each
(``POST /api/v1/statuses``; one in five with a hashtag, one in seven mentioning the reader,
a few with a content warning) and ``--listings`` listings between them (``POST
/api/quartier/v1/listings``), so the node fans every one of them out to the home timeline
(``Status`` and ``TimelineEntry`` rows) as it does for any post. The node runs with
``[content] messages_per_hour`` raised (``QUARTIER_CONTENT_MESSAGES_PER_HOUR``): the default
of 120 an hour would stop an author at the 121st post.

The client API allows 300 requests per 5 minutes per token (Mastodon's limit,
``node/http/mastodon/limits.py``). ``wrk`` at hundreds of requests a second would hit it in
a second, and every later answer would be a cheap 429. So the reader logs in many times
(``POST /api/quartier/v1/sessions``; a successful login does not count against the login
limit) and the wrk Lua script sends each request with the next token in turn: enough tokens
that none reaches 250 requests over the whole measurement (computed from the warm-up's
requests/s, more sessions opened if needed). The limiter still counts every request, as in
production. Any non-2xx answer (a 429 included) makes the run fail.

The body of the reader's first page (20 statuses) is fetched once and handed to
``bench/bare_server.py`` (``--api``), which serves it at the same path with the node's headers
(``Content-Type``, ``Link``), serialised per request as the node does. Load: ``wrk``, 2 threads,
``--connections`` keep-alive connections, the same Lua script on both sides, a 3 s warm-up
each, then ``--rounds`` interleaved rounds (bare, node, bare, node...); the figure is the ratio
of the medians. Then, the node stopped, one request to the real application in this process
(same database) with tortoise's SQL log on counts the queries a request makes.

Results are printed and written to ``bench/results/client_api.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from bench_support import (
    BENCH_DIR,
    HOST,
    REPO_ROOT,
    BenchError,
    LoadResult,
    Node,
    Processes,
    base_machine_info,
    bench_main,
    cancel_on_sigterm,
    check_clean,
    code_info,
    describe_code,
    free_port,
    load_average,
    parse_wrk,
    say,
    start_bare,
    table,
    with_processes,
    wrk_version,
)

RESULTS_PATH = BENCH_DIR / "results" / "client_api.json"
PATH = "/api/v1/timelines/home"
READER = "reader"
PASSWORD = "correct horse battery staple, benchmark edition"  # noqa: S105 - throwaway node
GOAL_RATIO = 0.3
WARM_UP_S = 3
# Requests one token may make over the whole measurement; the limit is 300 in 5 minutes.
PER_TOKEN = 250
FIRST_TOKENS = 100
WRK_THREADS = 2
HASHTAGS = ["jardin", "velo", "marche", "recyclerie", "quartier"]
CATEGORIES = ["garden", "tools", "furniture", "diy"]


def author(n: int) -> str:
    """The username of author ``n``."""
    return f"author{n:02d}"


def status_text(n: int, i: int) -> tuple[str, str]:
    """Post ``i`` of author ``n``: its text and content warning (empty mostly). The authors
    post at once, so each has its own phase: the newest page mixes every kind of post."""
    k = i + 3 * n
    text = (
        f"Post {i} from {author(n)}: the bakery on the corner opens at seven tomorrow, "
        "and the courtyard gate is fixed. Anyone up for a walk by the river on Sunday?"
    )
    if k % 5 == 0:
        text += f" #{HASHTAGS[k % len(HASHTAGS)]}"
    if k % 7 == 0:
        text = f"@{READER} " + text
    spoiler = "noise" if k % 11 == 0 else ""
    return text, spoiler


# --------------------------------------------------------------------------------------------
# Seeding through the API


class Api:
    """Calls of the client API with a bearer token; any unexpected status is a BenchError."""

    def __init__(self, session: aiohttp.ClientSession, origin: str) -> None:
        self.session = session
        self.origin = origin

    async def call(
        self, method: str, path: str, token: str | None, expect: tuple[int, ...] = (200,), **kw: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(method, self.origin + path, headers=headers, **kw) as resp:
            if resp.status not in expect:
                raise BenchError(f"{method} {path} answered {resp.status}: {await resp.text()}")
            return await resp.json()

    async def log_in(self, username: str) -> str:
        body = {"username": username, "password": PASSWORD, "label": "client_api_bench"}
        answer = await self.call(
            "POST", "/api/quartier/v1/sessions", None, expect=(200, 201), json=body
        )
        return str(answer["token"])


async def log_in_many(api: Api, count: int) -> list[str]:
    """``count`` sessions of the reader, four logins at a time (argon2 is slow on purpose)."""
    gate = asyncio.Semaphore(4)

    async def one() -> str:
        async with gate:
            return await api.log_in(READER)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def seed(api: Api, args: argparse.Namespace) -> dict[str, Any]:
    """Follows approved, statuses and listings posted: the reader's home timeline filled."""
    reader_token = await api.log_in(READER)
    reader = await api.call("GET", "/api/v1/accounts/verify_credentials", reader_token)
    tokens = [await api.log_in(author(n)) for n in range(args.authors)]
    for n, token in enumerate(tokens):
        account = await api.call("GET", f"/api/v1/accounts/lookup?acct={author(n)}", reader_token)
        await api.call("POST", f"/api/v1/accounts/{account['id']}/follow", reader_token)
        await api.call("POST", f"/api/v1/follow_requests/{reader['id']}/authorize", token)
    relations = await api.call(
        "GET", f"/api/v1/accounts/{reader['id']}/following?limit=80", reader_token
    )
    if len(relations) != args.authors:
        raise BenchError(f"the reader follows {len(relations)} authors, not {args.authors}")

    # Listings go in near the end, so the first page mixes them with posts.
    listing_at = args.posts - 3

    async def post_all(n: int, token: str) -> None:
        for i in range(args.posts):
            text, spoiler = status_text(n, i)
            form = {"status": text, "visibility": "public"}
            if spoiler:
                form["spoiler_text"] = spoiler
            await api.call("POST", "/api/v1/statuses", token, data=form)
            if i == listing_at and n < args.listings:
                listing = {
                    "kind": "give",
                    "title": f"Seedlings and a spare {CATEGORIES[n % len(CATEGORIES)]} item",
                    "description": "Come by the courtyard on Saturday morning.\nFirst come.",
                    "category": CATEGORIES[n % len(CATEGORIES)],
                }
                await api.call(
                    "POST", "/api/quartier/v1/listings", token, expect=(201,), json=listing
                )

    started = time.perf_counter()
    await asyncio.gather(*(post_all(n, t) for n, t in enumerate(tokens)))
    seconds = time.perf_counter() - started
    return {"reader_token": reader_token, "seed_seconds": seconds}


def describe_page(page: list[dict[str, Any]]) -> dict[str, Any]:
    """What the measured page holds: statuses, listings among them, tags, mentions, bytes."""
    listings = sum(1 for s in page if "/listings/" in (s.get("url") or ""))
    return {
        "statuses": len(page),
        "with_tags": sum(1 for s in page if s.get("tags")),
        "with_mentions": sum(1 for s in page if s.get("mentions")),
        "with_spoiler": sum(1 for s in page if s.get("spoiler_text")),
        "listings": listings,
    }


# --------------------------------------------------------------------------------------------
# Load


def token_script(workdir: Path, tokens: list[str]) -> Path:
    """A wrk script: ``GET PATH``, each request with the next token in turn (the threads
    start at different places in the list)."""
    quoted = ", ".join(json.dumps(t) for t in tokens)
    script = workdir / "tokens.lua"
    script.write_text(
        f"local tokens = {{{quoted}}}\n"
        f"local path = {json.dumps(PATH)}\n"
        "local started = 0\n"
        "setup = function(thread)\n"
        '  thread:set("offset", started * 7919)\n'
        "  started = started + 1\n"
        "end\n"
        "init = function(args)\n"
        "  n = offset or 0\n"
        "end\n"
        "request = function()\n"
        "  n = n + 1\n"
        '  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. '
        "tokens[(n % #tokens) + 1]})\n"
        "end\n",
        encoding="utf-8",
    )
    return script


def run_wrk(target: str, port: int, script: Path, connections: int, seconds: int) -> LoadResult:
    """One wrk run."""
    argv = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["-s", str(script), f"http://{HOST}:{port}/"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(target, done.stdout)


class QueryLog(logging.Handler):
    """Collects the SQL statements tortoise logs (``tortoise.db_client`` at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage()[:300])


async def count_queries(workdir: Path, token: str) -> dict[str, Any]:
    """One home timeline request to the real application in this process (same database,
    settings as ``quartier serve`` loads them), with tortoise's SQL log on: the node itself
    never logs SQL (``node/logs.py`` keeps those loggers at INFO: they show secrets)."""
    from aiohttp.test_utils import TestClient, TestServer

    from node.app import create_app
    from node.config import load_settings

    settings = load_settings(
        workdir / "quartier.toml", environ={"QUARTIER_STORAGE_DATA_DIR": str(workdir / "data")}
    )
    logger = logging.getLogger("tortoise.db_client")
    handler = QueryLog()
    app = create_app(settings, run_worker=False)
    headers = {"Authorization": f"Bearer {token}"}
    async with TestClient(TestServer(app, host=HOST)) as client:
        (await client.get(PATH, headers=headers)).release()  # warm, as under load
        previous = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        try:
            response = await client.get(PATH, headers=headers)
            await response.read()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous)
        if response.status != 200:
            raise BenchError(f"in-process {PATH} answered {response.status}")
    return {"queries": len(handler.statements), "statements": handler.statements}


# --------------------------------------------------------------------------------------------


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Set up and fill a node, measure, return the results (also the JSON written)."""
    if not shutil.which("wrk"):
        raise BenchError("wrk is not installed: apt-get install -y wrk")
    return with_processes(
        "quartier-client-api-bench-",
        lambda workdir, procs: asyncio.run(cancel_on_sigterm(_measure(args, workdir, procs))),
    )


async def _measure(args: argparse.Namespace, workdir: Path, procs: Processes) -> dict[str, Any]:
    load_before = load_average()
    env = {
        "PYTHONPATH": str(REPO_ROOT),  # the node runs this repository's code
        "QUARTIER_CONTENT_MESSAGES_PER_HOUR": str(10 * args.posts),
    }
    node = Node(workdir, free_port(), env=env)
    say(f"setting up a node in {workdir} (init, migrate, admin create x {args.authors + 1})")
    node.setup()
    for name in [READER, *(author(n) for n in range(args.authors))]:
        node.cli(
            ["admin", "create", name, "--real-name", name.title(), "--password-stdin"],
            stdin=PASSWORD + "\n",
        )
    proc, _ = node.start(procs)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        api = Api(session, node.origin)
        total = args.authors * args.posts + min(args.listings, args.authors)
        say(f"following {args.authors} authors, posting {total:,} statuses through the API")
        seeded = await seed(api, args)
        reader_token = seeded["reader_token"]
        count = len(await api.call("GET", f"{PATH}?limit=40", reader_token))
        async with session.get(
            node.origin + PATH, headers={"Authorization": f"Bearer {reader_token}"}
        ) as resp:
            if resp.status != 200:
                raise BenchError(f"{PATH} answered {resp.status}")
            body = await resp.read()
            headers = {k: resp.headers[k] for k in ("Content-Type", "Link") if k in resp.headers}
        page = json.loads(body)
        entries = await timeline_size(node)
        say(f"home timeline: {entries:,} entries; first page {len(body):,} bytes")
        say(f"opening {FIRST_TOKENS} sessions of the reader")
        tokens = await log_in_many(api, FIRST_TOKENS)
    if count < 40:
        raise BenchError(f"the reader's home timeline holds only {count} statuses")
    api_file = workdir / "home.json"
    api_file.write_text(json.dumps({"path": PATH, "body": page, "headers": headers}))
    bare, bare_port = start_bare(procs, PATH, "--api", str(api_file))
    if not await same_body(bare_port, body):
        raise BenchError("the bare server does not answer the node's bytes")

    script = token_script(workdir, tokens)
    warm_node = run_wrk("node warm-up", node.port, script, args.connections, WARM_UP_S)
    check_clean(warm_node)
    expected = warm_node.requests + 1.5 * warm_node.rps * args.rounds * args.duration
    needed = math.ceil(expected / PER_TOKEN)
    if needed > len(tokens):
        say(f"opening {needed - len(tokens)} more sessions ({needed} tokens in all)")
        async with aiohttp.ClientSession() as session:
            tokens += await log_in_many(Api(session, node.origin), needed - len(tokens))
        script = token_script(workdir, tokens)
    check_clean(run_wrk("bare warm-up", bare_port, script, args.connections, WARM_UP_S))
    runs: list[LoadResult] = []
    for round_ in range(args.rounds):
        for target, port in (("bare", bare_port), ("node", node.port)):
            result = run_wrk(target, port, script, args.connections, args.duration)
            check_clean(result)
            runs.append(result)
            say(f"round {round_ + 1}/{args.rounds} {target}: {result.rps:,.0f} req/s")
    node_requests = warm_node.requests + sum(r.requests for r in runs if r.target == "node")
    Processes.stop(proc)
    Processes.stop(bare)
    queries = await count_queries(workdir, reader_token)

    bare_rps = statistics.median(r.rps for r in runs if r.target == "bare")
    node_rps = statistics.median(r.rps for r in runs if r.target == "node")
    ratio = node_rps / bare_rps
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/client_api_bench.py", *args.argv]),
        "machine": {
            **base_machine_info(),
            "load_generator": f"{wrk_version()}, {WRK_THREADS} threads",
        },
        "code": code_info(),
        "load_average_1min": {"before": load_before, "after": load_average()},
        "settings": {
            "authors": args.authors,
            "posts_per_author": args.posts,
            "listings": args.listings,
            "connections": args.connections,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "path": PATH,
        },
        "data": {
            "timeline_entries": entries,
            "seed_seconds": seeded["seed_seconds"],
            "page_bytes": len(body),
            "page": describe_page(page),
        },
        "tokens": {
            "count": len(tokens),
            "node_requests": node_requests,
            "max_per_token": math.ceil(node_requests / len(tokens)),
            "limit": "300 per 5 minutes",
        },
        "home": {
            "bare_rps_median": bare_rps,
            "node_rps_median": node_rps,
            "bare_p99_ms": statistics.median(
                r.latency_p99_ms or 0.0 for r in runs if r.target == "bare"
            ),
            "node_p99_ms": statistics.median(
                r.latency_p99_ms or 0.0 for r in runs if r.target == "node"
            ),
            "node_p50_ms": statistics.median(
                r.latency_p50_ms or 0.0 for r in runs if r.target == "node"
            ),
            "ratio": ratio,
            "runs": [asdict(r) for r in runs],
        },
        "queries_per_request": queries,
        "goals": {
            "ratio": {"goal": f">= {GOAL_RATIO}", "value": ratio, "pass": ratio >= GOAL_RATIO}
        },
    }


async def timeline_size(node: Node) -> int:
    """Rows in the home timelines (read from the SQLite file, the node keeps running)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{node.database()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM timeline_entry").fetchone()[0])
    finally:
        conn.close()


async def same_body(port: int, body: bytes) -> bool:
    """Whether the bare server sends exactly the node's bytes."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{HOST}:{port}{PATH}") as resp,
    ):
        return resp.status == 200 and await resp.read() == body


def summary(results: dict[str, Any]) -> str:
    """The human-readable report."""
    h, s, d, t = results["home"], results["settings"], results["data"], results["tokens"]
    lines = [
        "",
        f"Client API benchmark: {PATH} ({s['authors']} authors x {s['posts_per_author']} posts "
        f"+ {s['listings']} listings followed; {d['timeline_entries']:,} timeline entries; "
        f"{s['connections']} connections)",
        f"  code    : {describe_code(results['code'])}",
        f"  machine : {results['machine']['cpu']}, {results['machine']['cores']} cores; "
        f"{results['machine']['load_generator']}",
        f"  page    : {d['page_bytes']:,} bytes, {d['page']}",
        f"  tokens  : {t['count']} sessions, at most {t['max_per_token']} requests each",
        f"  queries : {results['queries_per_request']['queries']} SQL queries per request",
        "",
    ]
    rows = [["target", "req/s (median)", "p99 (median)"]]
    rows.append(["bare aiohttp", f"{h['bare_rps_median']:,.0f}", f"{h['bare_p99_ms']:.1f} ms"])
    rows.append(["node", f"{h['node_rps_median']:,.0f}", f"{h['node_p99_ms']:.1f} ms"])
    lines += table(rows)
    lines.append("")
    for name, goal in results["goals"].items():
        verdict = "PASS" if goal["pass"] else "MISS"
        lines.append(f"  {name}: {goal['value']:.3f} (goal {goal['goal']}) {verdict}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--authors", type=int, default=10, help="members the reader follows")
    parser.add_argument("--posts", type=int, default=100, help="statuses per author")
    parser.add_argument("--listings", type=int, default=5, help="listings (one per author)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved (bare, node) rounds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    return bench_main("client_api_bench", _parser(), argv, run_benchmark, RESULTS_PATH, summary)


if __name__ == "__main__":
    sys.exit(main())
