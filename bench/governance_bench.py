"""Governance benchmark: fan-out with the community's policy in full and the ledger on, against
the same fan-out with the policy open and the ledger off.

    .venv/bin/python bench/governance_bench.py [--hosts K] [--activities N] [--rounds N]
        (or: make bench; --quick for a short run)

In one run on one machine, with the node's own code (``publish``, ``DeliveryWorker``, the
outbound ``Transport``, ``SigningKeys``, ``FederationPolicy.refuse_deliveries`` as the worker's
``refuse`` hook, ``PolicyStore`` with ``node.config.parse_policy``, ``DomainBlocks``) on a
migrated SQLite database in a temporary directory:

* the remote side: ``--hosts`` (50) inboxes, each on its own 127.0.0.1 port (its own host for
  the worker's per-host limit and for the policy), served by one sink process
  (``bench/sink_server.py --ports N``: one application on every port; answers 202 at once
  and counts); each host an active ``Partnership``;
* the content: ``--members`` (4) members (``Member`` rows signing with their own key); each
  round every member publishes listings (a ``Create`` of a ``Note`` carrying FEP-0837's
  ``purpose``/``publishes``) and messages (a ``Create`` of a ``Note`` to one person) in turn,
  ``--activities`` (20) activities in all, each queued by ``publish()`` for every inbox: 1,000
  deliveries a round with the defaults;
* two configurations, same worker settings (the node's ``DeliveryPolicy`` defaults: batches
  of 200, 4 per host, 32 at a time):

  - **full**: ``federation_mode = "allowlist"``, ``listings = "partners"``, ``messages =
    "partners"``, the ledger on (``DeliveryPolicy.ledger``): every delivery is checked against
    the policy and the host's partnership, and every one delivered is written to the sharing
    ledger (``SharedItem``) with its outcome;
  - **off**: the default policy (open federation, everything public), the ledger off; the
    ``refuse`` hook is still there, as in every node (blocks, the mode), but answers from
    memory;

  and, for where the time goes, the two mixed ones (**full, no ledger** and **off + ledger**);
* rounds: one warm-up per configuration, then ``--rounds`` (5) interleaved rounds of each
  (off, full, off, full, ...), each timed from the first claim to the end of the last
  ``run_once`` (the last 2xx, its outcome and its ledger rows committed). Every round checks
  that every row was delivered, that the sink counted every POST, and, with the ledger on,
  that the ledger holds exactly one entry per delivery. The figure is median(full) /
  median(off); goal >= 0.9. The median of each full round's rate over the off round just
  before it is shown too: it holds better when other work on the machine comes and goes;
* where the time goes: the time inside the ``refuse`` hook, inside the partnership lookup and
  inside the ledger's inserts, summed over one timed round of each configuration (concurrent
  deliveries overlap, so hook times are wall time of overlapping calls, an upper bound).

Results are printed as a table and written to ``bench/results/governance.json``. Everything
listens on 127.0.0.1; the sink process and the temporary directory are removed on exit,
failures and SIGTERM included.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_support import (
    BENCH_DIR,
    HOST,
    REPO_ROOT,
    BenchError,
    SinkServer,
    Timed,
    bench_main,
    code_info,
    cpu_shares,
    cpu_times,
    describe_code,
    load_average,
    machine_info,
    patched,
    report_header,
    say,
    table,
)
from listing_bench import add_partners, with_sinks
from tortoise.transactions import in_transaction

import federation.outbound as outbound
import federation.policy as federation_policy
from activitypub.uris import UriScheme
from federation.models import Delivery, DeliveryState, SharedItem
from federation.outbound import DeliveryPolicy, DeliveryWorker, publish
from federation.policy import FederationPolicy
from federation.transport import Transport, TransportSettings, open_transport
from moderation.blocks import DomainBlocks
from moderation.policy_store import PolicyStore
from moderation.restrictions import ActorRestrictions
from node.actors.service import SigningKeys, ensure_instance_actor
from node.config import parse_policy
from node.db import activated, apply_migrations, open_database
from node.members.models import Member

RESULTS_PATH = BENCH_DIR / "results" / "governance.json"
BASE_URL = "https://bench.example"
GOAL_RATIO = 0.9

# The community's policy in full: restrictive, but every delivery of the benchmark is allowed
# (every host is an active partner), so both configurations send exactly the same requests.
FULL_POLICY = {"federation_mode": "allowlist", "listings": "partners", "messages": "partners"}


@dataclass(frozen=True)
class Config:
    """One way of running the same fan-out."""

    name: str
    policy: dict[str, str]  # governance settings over the defaults
    ledger: bool


FULL = Config("full", FULL_POLICY, ledger=True)
OFF = Config("off", {}, ledger=False)
FULL_NO_LEDGER = Config("full, no ledger", FULL_POLICY, ledger=False)
OFF_LEDGER = Config("off + ledger", {}, ledger=True)


def utc_now() -> datetime:
    """The worker's clock: real time (the node uses the same)."""
    return datetime.now(UTC)


def listing(uris: UriScheme, author: str, n: str) -> dict[str, Any]:
    """A member's listing as the node publishes it: a Note with FEP-0837's terms."""
    actor = uris.actor(author)
    note = f"{actor}/listings/{n}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note}/activity",
        "type": "Create",
        "actor": actor,
        "published": "2026-11-26T21:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": actor,
            "name": "Aluminium ladder, 3 m, and a cordless drill",
            "content": (
                "<p>Lending my 3 m aluminium ladder (folds to 1.6 m) and a cordless drill with "
                "two batteries. Pick up in the courtyard, evenings after 6 pm.</p>"
            ),
            "purpose": "offer",
            "publishes": {"type": "Intent", "action": "lend", "resourceConformsTo": "tools"},
            "published": "2026-11-26T21:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }


def message(uris: UriScheme, author: str, n: str, to: str) -> dict[str, Any]:
    """A member's direct message to a person on another node."""
    actor = uris.actor(author)
    note = f"{actor}/messages/{n}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note}/activity",
        "type": "Create",
        "actor": actor,
        "published": "2026-11-26T21:00:00Z",
        "to": [to],
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": actor,
            "content": (
                "<p>Hello! Is the ladder still free on Saturday morning? I can come at 10.</p>"
            ),
            "published": "2026-11-26T21:00:00Z",
            "to": [to],
        },
    }


@dataclass
class Round:
    """One fan-out through the worker."""

    config: str
    deliveries: int
    seconds: float
    batches: int
    ledger_rows: int
    refuse_s: float | None = None  # inside the refuse hook (overlapping calls), when timed
    partnership_s: float | None = None  # inside the partnership lookups, when timed
    partnership_calls: int | None = None
    ledger_s: float | None = None  # inside the ledger's inserts, when timed
    flush_s: float | None = None  # inside the outcome flushes (ledger included), when timed

    @property
    def rate(self) -> float:
        """Deliveries per second."""
        return self.deliveries / self.seconds


@contextlib.contextmanager
def step_timers(policy: FederationPolicy) -> Iterator[dict[str, Timed]]:
    """Time the ``refuse`` hook, the partnership lookup, the ledger's inserts and the flushes
    (this process only; the files are untouched)."""
    timers = {name: Timed() for name in ("refuse", "partnership", "ledger", "flush")}
    with contextlib.ExitStack() as stack:
        refuse = timers["refuse"].coro(policy.refuse_deliveries)
        stack.enter_context(patched(policy, "refuse_deliveries", refuse))
        lookup = timers["partnership"].coro(federation_policy.partnerships_of)
        stack.enter_context(patched(federation_policy, "partnerships_of", lookup))
        ledger = timers["ledger"].coro(outbound._record_shared)
        stack.enter_context(patched(outbound, "_record_shared", ledger))
        flush = timers["flush"].coro(outbound._Results.flush)
        stack.enter_context(patched(outbound._Results, "flush", flush))
        yield timers


class Bench:
    """The database, transport, keys, sinks and members one run shares."""

    def __init__(
        self,
        args: argparse.Namespace,
        sinks: SinkServer,
        transport: Transport,
        members: list[str],
    ) -> None:
        self.args = args
        self.sinks = sinks
        self.transport = transport
        self.uris = UriScheme(BASE_URL)
        self.keys = SigningKeys(self.uris)  # shared: the node loads each key once
        self.members = members
        self._published = 0
        self._policies: dict[tuple[tuple[str, str], ...], FederationPolicy] = {}

    def policy(self, config: Config) -> FederationPolicy:
        """The federation policy of ``config``, built as the node builds it (one per settings,
        kept: the node keeps its policy, with its caches, for its lifetime)."""
        key = tuple(sorted(config.policy.items()))
        if key not in self._policies:
            clock = utc_now
            self._policies[key] = FederationPolicy(
                PolicyStore(config.policy, parse_policy, clock),
                DomainBlocks(self.uris.domain, clock),
                self.uris.instance_actor,
                ActorRestrictions(clock),
            )
        return self._policies[key]

    def worker(self, config: Config, policy: FederationPolicy) -> DeliveryWorker:
        """A delivery worker wired like the node's (``node/app.py``)."""
        settings = DeliveryPolicy(
            batch_size=self.args.batch_size,
            per_host=self.args.per_host,
            concurrency=self.args.concurrency,
            ledger=config.ledger,
        )
        return DeliveryWorker(
            self.transport, self.keys, utc_now, policy=settings, refuse=policy.refuse_deliveries
        )

    async def queue(self) -> tuple[int, list[str]]:
        """The round's activities, each queued for every inbox; returns (rows, activity ids)."""
        inboxes = [self.sinks.inbox(n) for n in range(self.sinks.count)]
        ids: list[str] = []
        for i in range(self.args.activities):
            self._published += 1
            author = self.members[i % len(self.members)]
            n = str(self._published)
            if i % 2 == 0:
                doc = listing(self.uris, author, n)
            else:
                doc = message(self.uris, author, n, f"http://{HOST}:{self.sinks.ports[0]}/u/zoe")
            ids.append(doc["id"])
            async with in_transaction():  # as the node does: in the transaction of the change
                await publish(doc, inboxes, self.uris.actor(author), utc_now())
        return len(ids) * len(inboxes), ids

    async def round(self, config: Config, *, timed: bool = False) -> Round:
        """Queue the round's deliveries, deliver them all, check them; returns the timing."""
        self.sinks.reset()
        policy = self.policy(config)
        expected, ids = await self.queue()
        ledger_before = await SharedItem.all().count()
        with step_timers(policy) if timed else contextlib.nullcontext() as timers:
            worker = self.worker(config, policy)
            done = batches = 0
            started = last = time.perf_counter()
            while attempted := await worker.run_once():
                last = time.perf_counter()
                done += attempted
                batches += 1
        if done != expected:
            raise BenchError(f"{config.name}: {done} deliveries attempted, not {expected}")
        ledger_rows = await SharedItem.all().count() - ledger_before
        await self.check(config, expected, ids, ledger_rows)
        await Delivery.all().delete()  # the next round starts from an empty queue
        result = Round(config.name, done, last - started, batches, ledger_rows)
        if isinstance(timers, dict):
            result.refuse_s = timers["refuse"].seconds
            result.partnership_s = timers["partnership"].seconds
            result.partnership_calls = timers["partnership"].calls
            result.ledger_s = timers["ledger"].seconds
            result.flush_s = timers["flush"].seconds
        return result

    async def check(self, config: Config, expected: int, ids: list[str], ledger: int) -> None:
        """Every row delivered, every POST counted by the sinks, the ledger as configured."""
        delivered = await Delivery.filter(
            state=DeliveryState.DELIVERED, activity_id__in=ids
        ).count()
        if delivered != expected:
            failed = await Delivery.exclude(state=DeliveryState.DELIVERED).first()
            detail = f" (e.g. {failed.state}: {failed.last_error})" if failed else ""
            raise BenchError(f"{config.name}: {delivered} of {expected} delivered{detail}")
        stats = self.sinks.stats()
        if stats["posts"] != expected or stats["distinct"] != self.sinks.count:
            raise BenchError(
                f"{config.name}: the sinks counted {stats['posts']} POSTs to "
                f"{stats['distinct']} inboxes, not {expected} to {self.sinks.count}"
            )
        wanted = expected if config.ledger else 0
        if ledger != wanted:
            raise BenchError(f"{config.name}: {ledger} ledger entries, not {wanted}")


# --------------------------------------------------------------------------------------------
# The run


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Start the sinks, set up the database, measure everything; returns the results."""
    return with_sinks(
        "quartier-govbench-", args.hosts, lambda workdir, sinks: _measure(args, workdir, sinks)
    )


async def _measure(args: argparse.Namespace, workdir: Path, sinks: SinkServer) -> dict[str, Any]:
    load_before = load_average()
    cpu_before = cpu_times()
    url = f"sqlite://{workdir / 'bench.sqlite3'}"
    applied = await apply_migrations(url)
    say(f"database migrated ({len(applied)} migrations) in {workdir}")
    settings = TransportSettings(
        user_agent="Quartier-bench/governance", allow_private=True, allow_http=True
    )
    async with open_database(url) as ctx, open_transport(settings) as transport:
        with activated(ctx):
            await add_partners(sinks)
            members = await add_members(args.members)
            bench = Bench(args, sinks, transport, members)
            results = await _rounds(args, bench)
    results["load_average_1min"] = {"before": load_before, "after": load_average()}
    results["machine_cpu_shares"] = cpu_shares(cpu_before, cpu_times())
    return results


async def add_members(count: int) -> list[str]:
    """``count`` members, each with the RSA key it signs its deliveries with (the Application
    actor's, copied: generating one per member would only slow the set-up)."""
    keys = (await ensure_instance_actor()).keys
    names = [f"member{n}" for n in range(count)]
    for name in names:
        await Member.create(
            username=name,
            real_name=f"Member {name}",
            display_name=name,
            password_hash="!",  # noqa: S106 - no login in this benchmark
            **Member.key_columns(keys),
        )
    return names


async def _rounds(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    configs = (OFF, FULL, OFF_LEDGER, FULL_NO_LEDGER)
    for config in configs:  # warm-up: keys loaded, connections open, policies read
        warm = await bench.round(config)
        say(f"warm-up {config.name}: {warm.rate:,.0f} deliveries/s")
    rounds: list[Round] = []
    for n in range(args.rounds):
        for config in configs if args.ladder else (OFF, FULL):
            done = await bench.round(config)
            rounds.append(done)
            say(f"round {n + 1}/{args.rounds} {config.name}: {done.rate:,.0f} deliveries/s")
    rates = {
        config.name: statistics.median(r.rate for r in rounds if r.config == config.name)
        for config in configs
        if any(r.config == config.name for r in rounds)
    }
    ratio = rates[FULL.name] / rates[OFF.name]
    # Each full round against the off round just before it: other load on the machine drifts
    # over a run, and a pair shares its moment.
    offs = [r.rate for r in rounds if r.config == OFF.name]
    fulls = [r.rate for r in rounds if r.config == FULL.name]
    paired = statistics.median(f / o for f, o in zip(fulls, offs, strict=True))
    breakdown = []
    for config in (OFF, FULL):
        timed = await bench.round(config, timed=True)
        breakdown.append(timed)
        say(f"timed round {config.name}: {timed.rate:,.0f} deliveries/s")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/governance_bench.py", *args.argv]),
        "machine": machine_info("none: the worker process and the sink process share the cores"),
        "code": code_info(),
        "settings": {
            "hosts": args.hosts,
            "members": args.members,
            "activities_per_round": args.activities,
            "deliveries_per_round": args.activities * args.hosts,
            "rounds": args.rounds,
            "worker": {
                "batch_size": args.batch_size,
                "per_host": args.per_host,
                "concurrency": args.concurrency,
            },
            "full_policy": FULL_POLICY,
            "database": "SQLite (tortoise, aiosqlite), file in a temporary directory",
        },
        "rounds": [_round_dict(r) for r in rounds],
        "deliveries_per_s": rates,
        "ratio": ratio,
        "paired_ratio": paired,
        "breakdown": [_round_dict(r) for r in breakdown],
        "goals": {"ratio": {"goal": f">= {GOAL_RATIO}", "value": ratio, "pass": ratio >= 0.9}},
    }


def _round_dict(r: Round) -> dict[str, Any]:
    data = asdict(r)
    data["deliveries_per_s"] = r.rate
    return data


# --------------------------------------------------------------------------------------------
# Report


def summary(results: dict[str, Any]) -> str:
    """The human-readable report: machine, goal with PASS/MISS, details."""
    rates, goal = results["deliveries_per_s"], results["goals"]["ratio"]
    s = results["settings"]
    verdict = "PASS" if goal["pass"] else "MISS"
    rows = [
        ("metric", "measured", "goal", "result"),
        *((f"deliveries/s, {name}", f"{rate:,.0f}", "-", "-") for name, rate in rates.items()),
        ("ratio full / off (medians)", f"{results['ratio']:.2f}", goal["goal"], verdict),
        ("ratio full / off, median of pairs", f"{results['paired_ratio']:.2f}", "-", "info"),
    ]
    lines = [
        *report_header("Quartier governance benchmark", results, results["machine_cpu_shares"]),
        f"  code    : {describe_code(results['code'])}",
        f"  command : {results['command']}",
        f"  fan-out : {s['activities_per_round']} activities x {s['hosts']} partner hosts = "
        f"{s['deliveries_per_round']:,} deliveries a round; worker {s['worker']}",
        "",
        *table(rows),
        "",
        "details",
        "  rounds (deliveries/s): "
        + ", ".join(f"{r['config']} {r['deliveries_per_s']:,.0f}" for r in results["rounds"]),
    ]
    for r in results["breakdown"]:
        per = 1000 / r["deliveries"]
        lines.append(
            f"  timed round {r['config']} ({r['deliveries_per_s']:,.0f}/s), ms per delivery: "
            f"wall {r['seconds'] * per:.3f}; refuse hook {r['refuse_s'] * per:.3f} "
            f"(partnership lookups {r['partnership_calls']}, {r['partnership_s'] * per:.3f}); "
            f"flushes {r['flush_s'] * per:.3f} (ledger inserts {r['ledger_s'] * per:.3f})"
        )
    lines.append(f"  JSON: {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Quartier governance benchmark (see the docstring)."
    )
    parser.add_argument("--hosts", type=int, default=50, help="partner hosts (sink ports)")
    parser.add_argument("--members", type=int, default=4, help="members publishing")
    parser.add_argument("--activities", type=int, default=20, help="activities per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per config")
    defaults = DeliveryPolicy()
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--per-host", type=int, default=defaults.per_host)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument(
        "--no-ladder",
        dest="ladder",
        action="store_false",
        help="measure only full and off (not the two mixed configurations)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run: 10 hosts, 10 activities, 2 rounds"
    )
    return parser


def _prepare(args: argparse.Namespace) -> str | None:
    if args.quick:
        args.hosts, args.activities, args.rounds = 10, 10, 2
    if min(args.hosts, args.members, args.activities, args.rounds) < 1:
        return "counts must be positive"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    return bench_main(
        "governance_bench", _parser(), argv, run_benchmark, RESULTS_PATH, summary, _prepare, True
    )


if __name__ == "__main__":
    sys.exit(main())
