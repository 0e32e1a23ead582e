"""Listing search benchmark: latency of ``node.listings.search.search`` over generated listings,
on SQLite and PostgreSQL.

    .venv/bin/python bench/search_bench.py [--sizes 100000,1000000] [--engines sqlite,postgres]
                                          (or: make bench)

For each engine and size, in one run on one machine:

* a fresh database migrated by the node's own migrations (the FTS5 index and its triggers, or
  the tsvector column and its GIN index), then ``--sizes`` generated listings
  (``bench/listing_corpus.py``: French and English titles and descriptions, categories, kinds,
  prices, a 500 m grid around Lyon, 90 days of arrivals) inserted in bulk: ``executemany`` in
  transactions of 20,000 rows on SQLite (the triggers fill the index), ``COPY`` on PostgreSQL;
  then the upkeep a node runs (``optimize_index``; ``VACUUM ANALYZE`` on PostgreSQL);
* a mix of ``--queries`` realistic searches (one word, two words, a prefix as typed, filters
  with and without words, browsing, ending soon, nearest, a distance filter, page 2 by
  cursor), each built with ``parse_query`` from HTTP parameters and run with ``search()``,
  the code the API runs (rows fetched through the ORM included); one untimed pass warms the
  caches and collects the cursors of page 2, then ``--rounds`` timed passes in shuffled
  order; p50, p90, p99 and max of every call, overall and per kind of search;
* one more pass with the connection's statements timed, to show where the time goes (the
  vocabulary of a prefix, counting matches, the search statement, the rows through the ORM);
* SQLite only, for information: the same mix before the upkeep (the FTS5 index as the bulk
  load left it, in several segments).

PostgreSQL: ``--postgres-url`` (or ``QUARTIER_BENCH_POSTGRES``), a URL of a database from
which the benchmark may create and drop its own; without one, a throwaway PostgreSQL 15
cluster in a temporary directory (as ``.ci/run`` starts it: loopback, a free port, stopped and
deleted on the way out). ``--reuse`` keeps and reuses complete databases between runs (files
in ``--data-dir``, PostgreSQL databases by name), to measure again without loading again.

The goal (issue 8): p99 <= 50 ms at one million listings on SQLite. Results are printed and
written to ``bench/results/search.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
from bench_support import (
    BENCH_DIR,
    REPO_ROOT,
    BenchError,
    base_machine_info,
    code_info,
    describe_code,
    free_port,
    load_average,
    run_and_report,
    say,
    table,
)
from listing_corpus import (
    ADJECTIVES,
    BRANDS,
    CATEGORIES,
    CITY_LAT,
    CITY_LON,
    PARTNER_HOSTS,
    THINGS,
    generate,
)

from node.db import activated, apply_migrations, open_database, pending_migrations
from node.listings.folding import fold, index_fields
from node.listings.models import Listing
from node.listings.search import optimize_index, parse_query, search

RESULTS_PATH = BENCH_DIR / "results" / "search.json"
NOW = datetime(2026, 12, 1, tzinfo=UTC)  # the generated listings arrive over 90 days before
GOAL_P99_MS = 50.0
GOAL_SIZE = 1_000_000
CHUNK = 20_000
COLUMNS = [
    *("ap_id", "local", "author", "origin_host", "kind", "status", "audience", "category"),
    *("title", "description_html", "description", "details", "price_minor", "currency"),
    *("quantity", "available_quantity", "availability", "place_name", "latitude", "longitude"),
    *("radius_m", "search_text", "published_at", "updated_at", "expires_at"),
    "verified_responders",
]
INSERT = f"INSERT INTO listing ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608 - fixed column names


# --------------------------------------------------------------------------------------------
# Databases


def rows(size: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """The generated listings as rows of ``COLUMNS`` (datetimes as datetimes)."""
    for n, g in enumerate(generate(size, seed, NOW)):
        yield (
            f"https://{g.origin_host}/listings/{n}",
            g.local,
            g.author,
            g.origin_host,
            g.kind,
            g.status,
            g.audience,
            g.category,
            g.title,
            "",
            g.description,
            "{}",
            g.price_minor,
            g.currency,
            1,
            1,
            "",
            "",
            g.latitude,
            g.longitude,
            500,
            index_fields(g.title, g.description),
            g.published_at,
            g.published_at,
            g.expires_at,
            0,
        )


def sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as tortoise stores it in SQLite: datetimes as ``isoformat(" ")``, booleans 0/1."""
    return tuple(
        v.isoformat(" ") if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v
        for v in row
    )


async def count_listings(url: str) -> int | None:
    """How many listings a migrated database holds; None when it is not one."""
    with contextlib.suppress(Exception):
        async with open_database(url) as ctx:
            with activated(ctx):
                return await Listing.all().count()
    return None


def load_sqlite(path: Path, size: int, seed: int) -> None:
    """Bulk insert with the standard library (the schema's triggers fill the index)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # loading only; the node keeps its own setting
        conn.execute("PRAGMA cache_size=-262144")
        sql = INSERT
        batch: list[tuple[Any, ...]] = []
        for n, row in enumerate(rows(size, seed), 1):
            batch.append(sqlite_row(row))
            if len(batch) == CHUNK or n == size:
                with conn:
                    conn.executemany(sql, batch)
                batch.clear()
                if n % 200_000 == 0:
                    say(f"  {n:,} rows")
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


async def load_postgres(url: str, size: int, seed: int) -> None:
    """``COPY`` in chunks; the generated column and the GIN index follow."""
    conn = await asyncpg.connect(url)
    try:
        batch: list[tuple[Any, ...]] = []
        for n, row in enumerate(rows(size, seed), 1):
            batch.append(row)
            if len(batch) == CHUNK or n == size:
                await conn.copy_records_to_table("listing", records=batch, columns=COLUMNS)
                batch.clear()
                if n % 200_000 == 0:
                    say(f"  {n:,} rows")
    finally:
        await conn.close()


async def upkeep(url: str) -> float:
    """What a node runs now and then: ``optimize_index`` (SQLite), ``VACUUM ANALYZE``
    (PostgreSQL: autovacuum's work, done now). Returns seconds."""
    started = time.perf_counter()
    if url.startswith("sqlite"):
        async with open_database(url) as ctx:
            with activated(ctx):
                await optimize_index()
    else:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("VACUUM ANALYZE listing")
        finally:
            await conn.close()
    return time.perf_counter() - started


async def database_sizes(url: str) -> dict[str, float]:
    """MB of the whole database, the listing table and the search index."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url[len("sqlite://") :])
        try:
            by_name = dict(
                conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
            )
        finally:
            conn.close()
        fts = sum(v for k, v in by_name.items() if k.startswith("listing_fts"))
        return {
            "database_mb": sum(by_name.values()) / 1e6,
            "listing_table_mb": by_name.get("listing", 0) / 1e6,
            "search_index_mb": fts / 1e6,
        }
    conn = await asyncpg.connect(url)
    try:
        return {
            "database_mb": await conn.fetchval("SELECT pg_database_size(current_database())") / 1e6,
            "listing_table_mb": await conn.fetchval("SELECT pg_table_size('listing')") / 1e6,
            "search_index_mb": await conn.fetchval(
                "SELECT pg_relation_size('idx_listing_search_vector')"
            )
            / 1e6,
        }
    finally:
        await conn.close()


@dataclass
class Postgres:
    """Where PostgreSQL databases come from: an admin URL, or a throwaway cluster."""

    admin_url: str
    cluster: Path | None = None
    as_postgres: bool = False
    pgbin: str = ""

    def url(self, name: str) -> str:
        """The URL of database ``name`` on the same server."""
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}"

    async def exists(self, name: str) -> bool:
        conn = await asyncpg.connect(self.admin_url)
        try:
            return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        finally:
            await conn.close()

    async def create(self, name: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop(self, name: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def version(self) -> str:
        return self.pgbin or "external server"


@contextlib.contextmanager
def postgres(args: argparse.Namespace) -> Iterator[Postgres]:
    """The server the benchmark uses: ``--postgres-url``, or a throwaway cluster."""
    if args.postgres_url:
        yield Postgres(args.postgres_url)
        return
    pgbin = next(
        (
            str(d)
            for d in [
                Path("/usr/lib/postgresql/15/bin"),
                *Path("/usr/lib/postgresql").glob("*/bin"),
            ]
            if (d / "initdb").exists()
        ),
        None,
    )
    if pgbin is None:
        raise BenchError("no PostgreSQL server binaries: give --postgres-url, or install them")
    root = os.geteuid() == 0
    tmp = Path(tempfile.mkdtemp(prefix="quartier-searchbench-pg-"))
    port = free_port()

    def as_pg(*argv: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *argv] if root else list(argv)
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            raise BenchError(f"{argv[0]} failed: {done.stderr or done.stdout}")

    try:
        if root:  # initdb refuses to run as root
            shutil.chown(tmp, "postgres")
        as_pg(
            f"{pgbin}/initdb", "-D", f"{tmp}/data", "-U", "quartier", "--auth=trust", "-E", "UTF8"
        )
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={tmp}"
        as_pg(
            f"{pgbin}/pg_ctl",
            "-D",
            f"{tmp}/data",
            "-l",
            f"{tmp}/server.log",
            "-w",
            "-o",
            options,
            "start",
        )
        say(f"throwaway PostgreSQL on 127.0.0.1:{port} ({tmp})")
        yield Postgres(f"postgres://quartier@127.0.0.1:{port}/postgres", tmp, root, pgbin)
    finally:
        with contextlib.suppress(BenchError, OSError, subprocess.SubprocessError):
            as_pg(f"{pgbin}/pg_ctl", "-D", f"{tmp}/data", "-m", "immediate", "stop")
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.asynccontextmanager
async def database(
    engine: str, size: int, args: argparse.Namespace, pg: Postgres | None, workdir: Path
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A database of ``size`` generated listings: its URL and how it was made."""
    name = f"quartier_search_bench_{size}_{args.seed}"
    info: dict[str, Any] = {}
    if engine == "sqlite":
        path = (args.data_dir or workdir) / f"{name}.sqlite3"
        url = f"sqlite://{path}"
    else:
        assert pg is not None
        url = pg.url(name)
    reused = args.reuse and (engine == "sqlite" or (pg is not None and await pg.exists(name)))
    if reused and await count_listings(url) == size and not await _pending(url):
        say(f"{engine} {size:,}: reusing {url}")
        info["reused"] = True
    else:
        if engine == "sqlite":
            remove_sqlite(path)
        else:
            assert pg is not None
            await pg.create(name)
        await apply_migrations(url)
        say(f"{engine} {size:,}: loading")
        started = time.perf_counter()
        if engine == "sqlite":
            await asyncio.to_thread(load_sqlite, path, size, args.seed)
        else:
            await load_postgres(url, size, args.seed)
        info["load_s"] = time.perf_counter() - started
        info["reused"] = False
        say(f"{engine} {size:,}: loaded in {info['load_s']:.0f} s")
    try:
        yield url, info
    finally:
        if not args.reuse:
            if engine == "sqlite":
                remove_sqlite(path)
            elif pg is not None:
                await pg.drop(name)


def remove_sqlite(path: Path) -> None:
    """A SQLite database and its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _pending(url: str) -> bool:
    async with open_database(url) as ctx:
        return bool(await pending_migrations(ctx))


# --------------------------------------------------------------------------------------------
# The mix of searches


KINDS_OF_SEARCH = {
    # kind: weight (per cent of the mix)
    "one word": 24,
    "two words": 12,
    "prefix as typed": 13,
    "words + filters": 12,
    "filters, no words": 8,
    "browse": 4,
    "ending soon": 8,
    "nearest": 10,
    "within km, newest": 5,
    "page 2": 4,
}


def _thing(rng: random.Random) -> tuple[str, str]:
    """Something people look for, as they name it (folded), and its category."""
    category = rng.choice(CATEGORIES)
    return fold(rng.choice(THINGS[category][0 if rng.random() < 0.7 else 1])), category


def _words(rng: random.Random) -> str:
    """What people type: mostly the main word of a thing, sometimes a brand, a quality, a
    model number, or something nobody offers."""
    pick = rng.random()
    if pick < 0.7:
        return max(_thing(rng)[0].split(), key=len)
    if pick < 0.8:
        return rng.choice(BRANDS).lower()
    if pick < 0.88:
        return max(fold(rng.choice(ADJECTIVES[0 if rng.random() < 0.7 else 1])).split(), key=len)
    if pick < 0.92:
        return f"{rng.choice('ABCDGKRSTX')}{rng.choice('ABCEGHKLMPRSTUVXZ')}{rng.randint(10, 999)}"
    return rng.choice(["trampoline", "saxophone", "aspirateur", "vel0", "canoe", "ukulele"])


def _two_words(rng: random.Random) -> str:
    """Two words that go together: a thing of two words, or a thing and a brand or quality."""
    thing, _ = _thing(rng)
    words = [w for w in thing.split() if len(w) > 2]
    if len(words) >= 2:
        return " ".join(words[:2])
    extra = rng.choice(
        [rng.choice(BRANDS).lower(), fold(rng.choice(ADJECTIVES[rng.random() < 0.3]))]
    )
    return f"{words[0] if words else thing} {max(extra.split(), key=len)}"


def _filters(rng: random.Random) -> dict[str, str]:
    choices: list[dict[str, str]] = [
        {"category": rng.choice(CATEGORIES)},
        {"kind": rng.choice(["give", "lend", "sell", "request", "give,lend"])},
        {"kind": "sell", "currency": "EUR", "max_price": str(rng.choice([1000, 2000, 5000]))},
        {"min_price": "1000", "max_price": "5000", "currency": "EUR"},
        {"origin": rng.choice(["local", *PARTNER_HOSTS])},
        {"local": "false"},
        {"audience": "public"},
        {"published_since": "2026-11-24T00:00:00Z"},
    ]
    params: dict[str, str] = {}
    for choice in rng.sample(choices, rng.choice([1, 1, 2])):
        params.update(choice)
    return params


def _place(rng: random.Random) -> str:
    lat = CITY_LAT + rng.gauss(0, 0.05)
    lon = CITY_LON + rng.gauss(0, 0.07)
    return f"{lat:.5f},{lon:.5f}"


def build_mix(count: int, seed: int) -> list[tuple[str, dict[str, str]]]:
    """``count`` searches as (kind, HTTP parameters); "page 2" entries hold the page-1
    parameters, their cursor is found during the warm-up pass."""
    rng = random.Random(seed)
    kinds = list(KINDS_OF_SEARCH)
    weights = list(KINDS_OF_SEARCH.values())
    mix: list[tuple[str, dict[str, str]]] = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        params: dict[str, str]
        if kind == "one word":
            params = {"q": _words(rng)}
        elif kind == "two words":
            params = {"q": _two_words(rng)}
        elif kind == "prefix as typed":
            word = _words(rng)
            typed = word[: rng.randint(2, max(2, len(word) - 1))]
            params = {"q": typed if rng.random() < 0.7 else f"{_two_words(rng).split()[0]} {typed}"}
        elif kind == "words + filters":
            if rng.random() < 0.5:  # a thing in its own category
                thing, category = _thing(rng)
                params = {"q": max(thing.split(), key=len), "category": category}
            else:
                params = {"q": _words(rng), **_filters(rng)}
        elif kind == "filters, no words":
            params = _filters(rng)
        elif kind == "browse":
            params = rng.choice([{}, {"audience": "public"}, {"status": "open,reserved"}])
        elif kind == "ending soon":
            params = {"sort": "ending_soon"}
            if rng.random() < 0.5:
                params["q"] = _words(rng)
            if rng.random() < 0.3:
                params["category"] = rng.choice(CATEGORIES)
        elif kind == "nearest":
            params = {
                "sort": "nearest",
                "near": _place(rng),
                "km": rng.choice(["1", "2", "5", "10"]),
            }
            if rng.random() < 0.5:
                params["q"] = _words(rng)
        elif kind == "within km, newest":
            params = {"near": _place(rng), "km": rng.choice(["1", "2", "5"]), "q": _words(rng)}
        else:  # page 2 of a search with more than one page
            params = {"q": max(_thing(rng)[0].split(), key=len)} if rng.random() < 0.6 else {}
            if rng.random() < 0.3:
                params.update({"sort": "nearest", "near": _place(rng), "km": "5"})
        mix.append((kind, params))
    return mix


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Sample:
    """One timed search."""

    kind: str
    params: dict[str, str]
    ms: float
    found: int


@dataclass
class Phases:
    """Time spent in each kind of statement, summed over a pass."""

    ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _statement_kind(sql: str) -> str:
    if "listing_fts_vocab" in sql:
        return "prefix vocabulary (SQLite)"
    if "SELECT count(*)" in sql:
        return "counting matches (SQLite)"
    if "SELECT max(id)" in sql:
        return "table size (SQLite)"
    if sql.startswith("SET LOCAL"):
        return "custom plans (PostgreSQL)"
    if "distance" in sql and "AS near" in sql:
        return "search statement, nearest rings"
    if sql.lstrip().upper().startswith("SELECT") and '"listing"' in sql:
        return "rows through the ORM"
    if "listing l" in sql:
        return "search statement"
    return "other"


@contextlib.contextmanager
def timed_statements(phases: Phases) -> Iterator[None]:
    """Time every statement of the database client's class by kind (a measuring pass only;
    PostgreSQL's transaction wrapper inherits the method)."""
    cls = type(Listing._meta.db)
    original = cls.execute_query

    async def execute_query(self: Any, sql: str, values: Any = None) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, sql, values)
        finally:
            kind = _statement_kind(sql)
            phases.ms[kind] += (time.perf_counter() - started) * 1000
            phases.calls[kind] += 1

    cls.execute_query = execute_query  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        cls.execute_query = original  # type: ignore[method-assign]


async def run_mix(
    mix: list[tuple[str, dict[str, str]]], cursors: dict[int, str], rounds: int, seed: int
) -> list[Sample]:
    """Time every search of the mix ``rounds`` times, in shuffled order."""
    samples: list[Sample] = []
    order = list(range(len(mix)))
    rng = random.Random(seed)
    for _ in range(rounds):
        rng.shuffle(order)
        for i in order:
            kind, params = mix[i]
            if kind == "page 2":
                if i not in cursors:
                    continue
                params = {**params, "cursor": cursors[i]}
            query = parse_query(params)
            started = time.perf_counter()
            page = await search(query)
            ms = (time.perf_counter() - started) * 1000
            samples.append(Sample(kind, params, ms, len(page.listings)))
    return samples


async def warm_up(mix: list[tuple[str, dict[str, str]]]) -> dict[int, str]:
    """One untimed pass; returns the cursor of page 2 for the "page 2" entries."""
    cursors: dict[int, str] = {}
    for i, (kind, params) in enumerate(mix):
        page = await search(parse_query(params))
        if kind == "page 2" and page.next_cursor:
            cursors[i] = page.next_cursor
    return cursors


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max (nearest-rank percentiles)."""
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]

    return {
        "p50_ms": rank(50),
        "p90_ms": rank(90),
        "p99_ms": rank(99),
        "max_ms": ordered[-1],
        "count": len(ordered),
    }


def summarise(samples: list[Sample]) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample.ms)
    slowest = sorted(samples, key=lambda s: s.ms, reverse=True)[:8]
    return {
        "all": percentiles([s.ms for s in samples]),
        "by_kind": {
            kind: percentiles(by_kind[kind]) for kind in KINDS_OF_SEARCH if kind in by_kind
        },
        "slowest": [
            {"kind": s.kind, "ms": s.ms, "found": s.found, "params": s.params} for s in slowest
        ],
        "empty_results": sum(1 for s in samples if s.found == 0) / len(samples),
    }


async def measure(
    engine: str, size: int, url: str, args: argparse.Namespace, info: dict[str, Any]
) -> dict[str, Any]:
    """Everything measured on one database."""
    mix = build_mix(args.queries, args.seed)
    result: dict[str, Any] = {"engine": engine, "size": size, **info}
    if engine == "sqlite" and not info.get("reused") and not args.skip_before_upkeep:
        async with open_database(url) as ctx:
            with activated(ctx):
                cursors = await warm_up(mix)
                before = await run_mix(mix, cursors, 1, args.seed)
        result["before_upkeep"] = summarise(before)["all"]
        say(f"{engine} {size:,}: before upkeep p99 {result['before_upkeep']['p99_ms']:.1f} ms")
    result["upkeep_s"] = await upkeep(url)
    result["sizes"] = await database_sizes(url)
    load_before = load_average()
    async with open_database(url) as ctx:
        with activated(ctx):
            cursors = await warm_up(mix)
            samples = await run_mix(mix, cursors, args.rounds, args.seed + 1)
            phases = Phases()
            with timed_statements(phases):
                await run_mix(mix, cursors, 1, args.seed + 2)
    result.update(summarise(samples))
    result["load_average"] = {"before": load_before, "after": load_average()}
    per_search = len(mix)
    result["phases_ms_per_search"] = {k: v / per_search for k, v in sorted(phases.ms.items())}
    result["statements_per_search"] = {k: v / per_search for k, v in sorted(phases.calls.items())}
    say(
        f"{engine} {size:,}: p50 {result['all']['p50_ms']:.1f} ms, p99 "
        f"{result['all']['p99_ms']:.1f} ms over {len(samples)} searches"
    )
    return result


async def run_all(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    results = []
    with postgres(args) if "postgres" in args.engines else contextlib.nullcontext() as pg:
        for size in args.sizes:
            for engine in args.engines:
                async with database(engine, size, args, pg, workdir) as (url, info):
                    results.append(await measure(engine, size, url, args, info))
    return results


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, load and measure every engine and size; returns the results."""
    with tempfile.TemporaryDirectory(prefix="quartier-searchbench-") as tmp:
        runs = asyncio.run(run_all(args, Path(tmp)))
    goal = next((r for r in runs if r["engine"] == "sqlite" and r["size"] == GOAL_SIZE), None)
    return {
        "benchmark": "search",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/search_bench.py", *args.argv]),
        "code": code_info(),
        "machine": {
            **base_machine_info(),
            "aiosqlite": metadata.version("aiosqlite"),
            "asyncpg": metadata.version("asyncpg"),
            "sqlite": sqlite3.sqlite_version,
        },
        "settings": {
            "queries": args.queries,
            "rounds": args.rounds,
            "seed": args.seed,
            "mix": KINDS_OF_SEARCH,
        },
        "runs": runs,
        "goal": {
            "what": f"p99 <= {GOAL_P99_MS:g} ms at {GOAL_SIZE:,} listings on SQLite",
            "p99_ms": goal["all"]["p99_ms"] if goal else None,
            "pass": goal["all"]["p99_ms"] <= GOAL_P99_MS if goal else None,
        },
    }


def summary(results: dict[str, Any]) -> str:
    """The report: machine, one row per engine and size, where the time goes, the slowest."""
    m = results["machine"]
    lines = [
        "",
        "Quartier listing search benchmark",
        f"  machine : {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}",
        f"  software: Python {m['python']}, SQLite {m['sqlite']}, tortoise-orm "
        f"{m['tortoise_orm']}, aiosqlite {m['aiosqlite']}, asyncpg {m['asyncpg']}",
        f"  code    : {describe_code(results['code'])}",
        f"  command : {results['command']}",
        "",
    ]
    rows = [("engine", "listings", "p50 ms", "p90 ms", "p99 ms", "max ms", "searches", "load")]
    for r in results["runs"]:
        a = r["all"]
        rows.append(
            (
                r["engine"],
                f"{r['size']:,}",
                f"{a['p50_ms']:.1f}",
                f"{a['p90_ms']:.1f}",
                f"{a['p99_ms']:.1f}",
                f"{a['max_ms']:.1f}",
                str(a["count"]),
                "reused" if r.get("reused") else f"{r.get('load_s', 0):.0f} s",
            )
        )
    lines += table(rows)
    goal = results["goal"]
    if goal["pass"] is not None:
        verdict = "PASS" if goal["pass"] else "MISS"
        lines += ["", f"goal: {goal['what']}: {goal['p99_ms']:.1f} ms, {verdict}"]
    for r in results["runs"]:
        s = r["sizes"]
        lines += [
            "",
            f"{r['engine']} {r['size']:,}: database {s['database_mb']:.0f} MB (listing table "
            f"{s['listing_table_mb']:.0f} MB, search index {s['search_index_mb']:.0f} MB); "
            f"upkeep {r['upkeep_s']:.1f} s; load average {r['load_average']['before']:.2f} -> "
            f"{r['load_average']['after']:.2f}; searches finding nothing: "
            f"{r['empty_results']:.0%}",
        ]
        if "before_upkeep" in r:
            b = r["before_upkeep"]
            lines.append(
                f"  before the upkeep (index as loaded): p50 {b['p50_ms']:.1f}, p99 "
                f"{b['p99_ms']:.1f}, max {b['max_ms']:.1f} ms"
            )
        kinds = [("kind of search", "p50 ms", "p99 ms", "max ms", "n")]
        for kind, p in r["by_kind"].items():
            kinds.append(
                (
                    kind,
                    f"{p['p50_ms']:.1f}",
                    f"{p['p99_ms']:.1f}",
                    f"{p['max_ms']:.1f}",
                    str(p["count"]),
                )
            )
        lines += ["  " + line for line in table(kinds)]
        lines.append("  where the time goes (ms per search, one instrumented pass):")
        for kind, ms in r["phases_ms_per_search"].items():
            calls = r["statements_per_search"][kind]
            lines.append(f"    {kind:<36} {ms:6.2f} ms  ({calls:.2f} statements)")
        lines.append("  slowest:")
        for s in r["slowest"][:5]:
            lines.append(f"    {s['ms']:7.1f} ms  {s['kind']:<18} {json.dumps(s['params'])}")
    lines.append(f"  JSON: {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Quartier listing search benchmark (see the docstring)."
    )
    parser.add_argument("--sizes", default="100000,1000000", help="listings, comma-separated")
    parser.add_argument("--engines", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--queries", type=int, default=400, help="searches in the mix")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the mix")
    parser.add_argument("--seed", type=int, default=42, help="of the listings and the mix")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("QUARTIER_BENCH_POSTGRES", ""),
        help="admin URL of a PostgreSQL server (default: QUARTIER_BENCH_POSTGRES, else a "
        "throwaway cluster)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep and reuse complete databases")
    parser.add_argument("--data-dir", type=Path, help="where SQLite databases go (with --reuse)")
    parser.add_argument(
        "--skip-before-upkeep", action="store_true", help="SQLite: skip the pass before the upkeep"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        print("search_bench: --sizes takes whole numbers, comma-separated", file=sys.stderr)
        return 2
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not args.sizes or any(s < 1 for s in args.sizes) or args.queries < 1 or args.rounds < 1:
        print("search_bench: sizes, queries and rounds must be positive", file=sys.stderr)
        return 2
    if not set(args.engines) <= {"sqlite", "postgres"} or not args.engines:
        print("search_bench: --engines takes sqlite, postgres or both", file=sys.stderr)
        return 2
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    return run_and_report("search_bench", lambda: run_benchmark(args), RESULTS_PATH, summary)


if __name__ == "__main__":
    sys.exit(main())
