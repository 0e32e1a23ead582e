"""Saved-search alerts benchmark: what matching one new listing against every saved search of
the node costs, inside the transaction that stores the listing.

    .venv/bin/python bench/alerts_bench.py [--saved 1000,5000] [--listings 300]
                                          (or: make bench)

For each count of saved searches, on a fresh SQLite database migrated by the node's own
migrations: members holding 5 saved searches each, their parameters drawn from the search
benchmark's realistic mix (``bench/search_bench.py``, order and paging left out as an alert
keeps neither) and saved through ``SavedSearches.save``; then ``--listings`` generated
listings (``bench/listing_corpus.py``), each inserted and announced with
``SavedSearches.announce`` in one transaction, as ``ListingService.create`` does. The first
``--warm`` of them are untimed (the cache of parsed searches fills); p50, p99 and max of the
others, the transaction's insert and commit included, and how many alerts they wrote.

No goal in the issue; the figure tells how long a new listing holds SQLite's write lock.
Results are printed and written to ``bench/results/alerts.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_support import (
    BENCH_DIR,
    base_machine_info,
    code_info,
    describe_code,
    say,
    table,
)
from listing_corpus import generate
from search_bench import build_mix, percentiles, remove_sqlite
from tortoise.transactions import in_transaction

from activitypub.uris import UriScheme
from node.db import activated, apply_migrations, open_database
from node.listings.models import Listing, SavedSearch
from node.listings.saved import SavedSearches
from node.listings.search import index_fields, matches
from node.members.models import Member
from node.notifications.models import Notification
from node.notifications.service import NotificationService

RESULTS_PATH = BENCH_DIR / "results" / "alerts.json"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
PER_MEMBER = 5
NOT_SAVED = ("sort", "limit", "cursor")


def clock() -> datetime:
    return NOW


async def fill(saved: SavedSearches, count: int, seed: int) -> None:
    """``count`` saved searches, ``PER_MEMBER`` to a member."""
    await Member.bulk_create(
        [
            Member(
                username=f"m{n}",
                real_name=f"Member {n}",
                display_name=f"Member {n}",
                password_hash="-",  # noqa: S106 - nobody logs in here
                # nobody signs anything here either: keys are not what is measured
                rsa_private_pem="-",
                rsa_public_pem="-",
                ed25519_private_pem="-",
                ed25519_multibase="-",
            )
            for n in range(count // PER_MEMBER)
        ]
    )
    members = await Member.all().order_by("id")
    mix = build_mix(count, seed)
    for n, (_, params) in enumerate(mix):
        kept = {k: v for k, v in params.items() if k not in NOT_SAVED}
        await saved.save(members[n // PER_MEMBER], f"alert {n}", kept)


async def pieces(saved: SavedSearches, listing: Listing, rounds: int = 20) -> dict[str, float]:
    """The parts of one announce, each the median of ``rounds``: reading the (id, member)
    pairs, matching the listing against every parsed search, writing its alerts (rolled
    back)."""
    reads, matching, writes = [], [], []
    queries = list(saved._queries.values())
    for _ in range(rounds):
        started = time.perf_counter()
        rows = await SavedSearch.all().order_by("id").values_list("id", "member_id")
        reads.append(time.perf_counter() - started)
        started = time.perf_counter()
        hits = [q for q in queries if q is not None and matches(listing, q)]
        matching.append(time.perf_counter() - started)
        pairs = [(member_id, search_id) for search_id, member_id in rows[: len(hits)]]
        started = time.perf_counter()
        with contextlib.suppress(RolledBack):
            async with in_transaction():
                await saved._notifications.notify_matches(
                    pairs, actor=listing.author, listing_id=listing.id
                )
                raise RolledBack
        writes.append(time.perf_counter() - started)
    return {
        "read_pairs": statistics.median(reads) * 1000,
        "match_all": statistics.median(matching) * 1000,
        "write_alerts": statistics.median(writes) * 1000,
        "alerts": len(hits),
    }


class RolledBack(Exception):
    """Leaves a measuring transaction without its writes."""


async def measure(count: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = f"sqlite://{workdir / f'alerts_{count}.sqlite3'}"
    await apply_migrations(url)
    uris = UriScheme("https://croix-rousse.example")
    async with open_database(url) as ctx:
        with activated(ctx):
            saved = SavedSearches(uris, clock, NotificationService(uris, clock))
            say(f"{count:,} saved searches: saving")
            await fill(saved, count, args.seed)
            timings: list[float] = []
            alerts: list[int] = []
            for n, g in enumerate(generate(args.listings + args.warm, args.seed + 1, NOW)):
                started = time.perf_counter()
                async with in_transaction():
                    listing = await Listing.create(
                        ap_id=f"https://{g.origin_host}/listings/{n}",
                        local=g.local,
                        author=g.author,
                        origin_host=g.origin_host,
                        kind=g.kind,
                        status="open",
                        audience=g.audience,
                        category=g.category,
                        title=g.title,
                        description=g.description,
                        price_minor=g.price_minor,
                        currency=g.currency,
                        latitude=g.latitude,
                        longitude=g.longitude,
                        radius_m=500,
                        search_text=index_fields(g.title, g.description),
                        published_at=NOW,
                        updated_at=NOW,
                        expires_at=g.expires_at,
                    )
                    told = await saved.announce(listing)
                if n >= args.warm:
                    timings.append((time.perf_counter() - started) * 1000)
                    alerts.append(told)
            written = await Notification.all().count()
            breakdown = await pieces(saved, listing)
    remove_sqlite(workdir / f"alerts_{count}.sqlite3")
    return {
        "saved_searches": count,
        "listings": len(timings),
        "ms": percentiles(timings),
        "alerts_per_listing": sum(alerts) / len(alerts),
        "notifications_written": written,
        "pieces_ms": breakdown,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": base_machine_info(),
        "code": code_info(),
        "command": " ".join(["bench/alerts_bench.py", *sys.argv[1:]]),
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="quartier-alerts-") as tmp:
        for count in args.saved:
            results["runs"].append(await measure(count, args, Path(tmp)))
    return results


def report(results: dict[str, Any]) -> str:
    lines = [
        "Saved-search alerts: insert + announce of one new listing, in one transaction (SQLite)",
        describe_code(results["code"]),
        "",
    ]
    rows = [["saved searches", "listings", "p50 ms", "p99 ms", "max ms", "alerts/listing"]]
    for run in results["runs"]:
        ms = run["ms"]
        rows.append(
            [
                f"{run['saved_searches']:,}",
                str(run["listings"]),
                f"{ms['p50_ms']:.1f}",
                f"{ms['p99_ms']:.1f}",
                f"{ms['max_ms']:.1f}",
                f"{run['alerts_per_listing']:.1f}",
            ]
        )
    lines += table(rows)
    lines += ["", "Parts of one announce (medians, the last listing):"]
    for run in results["runs"]:
        p = run["pieces_ms"]
        lines.append(
            f"  {run['saved_searches']:,}: read pairs {p['read_pairs']:.1f} ms, match all"
            f" {p['match_all']:.1f} ms, write {p['alerts']} alerts {p['write_alerts']:.1f} ms"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--saved",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1000, 5000],
        help="counts of saved searches, comma-separated",
    )
    parser.add_argument("--listings", type=int, default=300, help="timed new listings")
    parser.add_argument("--warm", type=int, default=20, help="untimed new listings first")
    parser.add_argument("--seed", type=int, default=8)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    outcome = asyncio.run(main(arguments))
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(outcome, indent=2) + "\n")
    print(report(outcome))
