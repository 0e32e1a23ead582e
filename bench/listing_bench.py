"""Listing benchmark: a ``partners`` listing created, then delivered to 50 partner nodes.

    .venv/bin/python bench/listing_bench.py [--partners N] [--rounds N] [--profile-rounds N]
        [--variant-rounds N]   (or: make bench)

In one run on one machine, with the node's own code on a migrated SQLite database in a
temporary directory:

* the node: the real application (``node.app.create_app(settings, run_worker=False)``) served by
  ``aiohttp.test_utils.TestServer`` on 127.0.0.1, settings as ``quartier serve`` loads them
  (``load_settings``) with ``federation.local_testing`` (plain http to loopback partners) and,
  for the benchmark only, ``listings.creations_per_hour`` and ``listings.max_open_per_member``
  raised to 10,000 (the defaults, 20 an hour and 50 open, would stop the rounds); one member
  made with ``MemberService.create_member`` and a session from ``open_session``;
* the partners: ``--partners`` (50) ``Partnership`` rows, state ``active``, each on its own
  127.0.0.1 port (the worker limits concurrency per host, so distinct hosts matter): one sink
  process (``bench/sink_server.py --ports 50``: one application on 50 listening sockets)
  answers 202 at once and counts;
* creation: ``POST /api/quartier/v1/listings`` (bearer token, a ``lend`` of 3 lines of text with a
  place, ``audience: partners``) through ``TestClient``: middlewares, authentication, the form,
  ``ListingService.create``, whose transaction queues the neighbourhood group's ``Announce``
  of the listing's ``Create`` for every partner inbox (``GroupService.announce``,
  ``publish``). Timed as the client sees it (HTTP, same process) and inside the service
  (``ListingService.create``, patched with a timer in this process only), with the federation
  part (``_send``: the Note, the Announce, the ``Delivery`` rows) and ``publish`` alone timed
  too. The same creation with ``audience: node`` (nothing queued), interleaved, is the
  baseline;
* delivery: right after each creation, the node's own ``DeliveryWorker`` (``app[DELIVERY_WORKER]``:
  default policy, the federation policy's ``refuse`` hook, ``SigningKeys``, the transport)
  driven by ``run_once()`` until it finds nothing due; timed from the end of the creation to
  the end of the last ``run_once`` that delivered (the last 2xx and its UPDATE inside). Each
  request is signed with the group's RSA-2048 key (draft-cavage ``rsa-sha256``);
  ``sign_request`` is timed (synchronous: its wall time is its CPU time). Every round checks
  that the listing's 50 rows are ``delivered``, one activity to 50 distinct inboxes, and that
  the sink counted 50 POSTs to 50 distinct inboxes; one request's signature is verified with
  the group's public key;
* rounds: one cold round first (empty key cache, no open connections; reported apart), then
  ``--rounds`` (100) rounds ``partners, node, partners, node, ...``; creation p50/p99, delivery
  median, deliveries/s (partners / delivery time) against RSA-2048 signatures/s on one core
  (``cryptography`` in a tight loop, before and after the rounds, the higher counts);
* where the time goes: process and event-loop-thread CPU of each creation and delivery (the
  rest of the process is mostly aiosqlite's thread; the test client's share of a creation is
  on the event-loop thread too), the sink's CPU; then ``--profile-rounds`` (10) more rounds
  under cProfile, the event-loop thread's time of creation and of delivery grouped by
  package, and the cumulative time of the node's main steps;
* a throwaway variant, for information (``--variant-rounds`` (20) pairs, interleaved with
  rounds of the node as is): the delivery policy's partnership ``SELECT`` of the batch's
  hosts (``federation.peers.partnerships_of``; one per delivery before the governance benchmark)
  answered from one ``SELECT`` of all partnerships, patched in this process only (see
  :func:`partnerships_read_once`);
* the size of the ``Announce`` body and of the signed request's headers.

Delivered rows and listings are kept from round to round, as a node keeps them. Results are
printed as a table and written to ``bench/results/listing.json``. Everything listens on
127.0.0.1; the sink process and the temporary directory are removed on exit, failures and
SIGTERM included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
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
    run_with_sinks,
    say,
    signatures_per_second,
    table,
)
from cryptography.hazmat.primitives.asymmetric import rsa
from profiles import category_of, category_totals

import federation.outbound as outbound
import federation.policy as federation_policy
import node.groups.service as group_service
from activitypub.keys import load_private_key
from activitypub.signatures import parse_signature, verify_signature
from activitypub.uris import UriScheme
from federation.models import Delivery, DeliveryState, Partnership, PartnershipState
from federation.outbound import DeliveryWorker
from node.app import create_app
from node.config import Settings, load_settings
from node.db import activated, apply_migrations
from node.groups.models import NEIGHBOURHOOD, LocalGroup
from node.http.keys import DATABASE, DELIVERY_WORKER, GROUPS, LISTINGS, MEMBERS
from node.members.models import Role
from node.verification.vault import create_key

RESULTS_PATH = BENCH_DIR / "results" / "listing.json"
BASE_URL = "https://bench.example"
PASSWORD = "correct horse battery staple, benchmark edition"  # noqa: S105 - throwaway node
# Raised for the benchmark only (defaults: 20 an hour, 50 open): every round creates one.
LISTING_LIMITS = {"creations_per_hour": 10_000, "max_open_per_member": 10_000}

LISTING: dict[str, Any] = {
    "kind": "lend",
    "title": "Aluminium ladder, 3 m, and a cordless drill",
    "description": (
        "Lending my 3 m aluminium ladder (folds to 1.6 m, fits in a small car) and a cordless "
        "drill with two batteries and a box of bits.\n\nPick up in the courtyard, evenings "
        "after 6 pm or Saturday morning. Please bring them back clean; ask if you need the "
        "wall plugs too."
    ),
    "category": "tools",
    "details": {"duration_days": 7},
    "availability": "Evenings after 6 pm, Saturday mornings",
    "location": {"latitude": 48.8566, "longitude": 2.3522},
}


# --------------------------------------------------------------------------------------------
# Timing


# The steps timed in every round; sequential within a creation, so the sums are exact.
STEPS = ("service", "send", "publish", "sign", "claim")


@contextlib.contextmanager
def step_timers(app: web.Application, worker: DeliveryWorker) -> Iterator[dict[str, Timed]]:
    """Time ``ListingService.create`` and ``_send`` (the Note, the Announce, the rows),
    ``publish`` inside it, ``sign_request`` and the worker's claim."""
    timers = {name: Timed() for name in STEPS}
    listings = app[LISTINGS]
    with contextlib.ExitStack() as stack:
        stack.enter_context(patched(listings, "create", timers["service"].coro(listings.create)))
        stack.enter_context(patched(listings, "_send", timers["send"].coro(listings._send)))
        publish = timers["publish"].coro(group_service.publish)
        stack.enter_context(patched(group_service, "publish", publish))
        sign = timers["sign"].sync(outbound.sign_request)
        stack.enter_context(patched(outbound, "sign_request", sign))
        stack.enter_context(patched(worker, "_claim", timers["claim"].coro(worker._claim)))
        yield timers


@contextlib.contextmanager
def partnerships_read_once() -> Iterator[Callable[[], None]]:
    """Throwaway variant (this process only): the delivery policy's partnership lookup
    answered from one ``SELECT`` of every partnership, made at the first lookup after
    ``forget()``, instead of the policy's ``SELECT`` of the batch's hosts. The policy's own
    code runs otherwise unchanged (blocks, mode, states). It measured the per-batch lookup
    before the policy made it (one ``SELECT`` per delivery then); now both read once a batch,
    and the pair should come out even."""
    Known = dict[str, dict[PartnershipState, frozenset[str]]]
    loading: asyncio.Task[Known] | None = None

    def forget() -> None:
        nonlocal loading
        loading = None

    async def load() -> Known:
        rows = await Partnership.all().values_list("peer_host", "state", "peer_actor")
        found: dict[str, dict[PartnershipState, set[str]]] = {}
        for peer, state, actor in rows:
            states = found.setdefault(str(peer), {})
            states.setdefault(PartnershipState(str(state)), set()).add(str(actor))
        return {
            peer: {state: frozenset(a) for state, a in states.items()}
            for peer, states in found.items()
        }

    async def lookup(hosts: Iterable[str]) -> Known:
        nonlocal loading
        if loading is None:  # one load for every batch until forget()
            loading = asyncio.ensure_future(load())
        known = await asyncio.shield(loading)
        return {host: known[host] for host in {h.lower() for h in hosts} if host in known}

    with patched(federation_policy, "partnerships_of", lookup):
        yield forget


def quantile(values: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (linear interpolation between the closest ranks)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# --------------------------------------------------------------------------------------------
# One round


@dataclass
class Round:
    """One creation, and for ``partners`` the delivery of what it queued."""

    audience: str
    http_ms: float  # POST /api/quartier/v1/listings as the client sees it
    service_ms: float  # ListingService.create
    send_ms: float  # ListingService._send: Note, Announce, partner inboxes, Delivery rows
    publish_ms: float  # publish(): the bulk INSERT of the rows
    create_thread_cpu_ms: float  # event-loop thread CPU during the POST (client included)
    create_process_cpu_ms: float  # every thread (aiosqlite's too)
    deliveries: int = 0
    deliver_ms: float = 0.0  # end of the creation -> end of the last run_once that delivered
    batches: int = 0
    sign_ms: float = 0.0  # sign_request, summed
    claim_ms: float = 0.0
    deliver_thread_cpu_ms: float = 0.0
    deliver_process_cpu_ms: float = 0.0
    sink_cpu_ms: float = 0.0

    @property
    def end_to_end_ms(self) -> float:
        """From sending the POST to the last delivery recorded."""
        return self.http_ms + self.deliver_ms


class Bench:
    """The node, its member, its partners' sinks and worker one run shares."""

    def __init__(
        self, client: TestClient, sinks: SinkServer, token: str, timers: dict[str, Timed]
    ) -> None:
        self.client = client
        self.app = client.app
        self.sinks = sinks
        self.worker: DeliveryWorker = self.app[DELIVERY_WORKER]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timers = timers
        self.inboxes = {sinks.inbox(n) for n in range(sinks.count)}
        self.first_activity: str | None = None

    async def create(self, audience: str) -> Round:
        """POST one listing; times it."""
        before = {name: t.seconds for name, t in self.timers.items()}
        thread, process = time.thread_time(), time.process_time()
        started = time.perf_counter()
        response = await self.client.post(
            "/api/quartier/v1/listings",
            json={**LISTING, "audience": audience},
            headers=self.headers,
        )
        text = await response.text()
        http_s = time.perf_counter() - started
        thread, process = time.thread_time() - thread, time.process_time() - process
        if response.status != 201:
            raise BenchError(
                f"POST /api/quartier/v1/listings answered {response.status}: {text[:500]}"
            )
        spent = {name: (t.seconds - before[name]) * 1000 for name, t in self.timers.items()}
        return Round(
            audience=audience,
            http_ms=http_s * 1000,
            service_ms=spent["service"],
            send_ms=spent["send"],
            publish_ms=spent["publish"],
            create_thread_cpu_ms=thread * 1000,
            create_process_cpu_ms=process * 1000,
        )

    async def round(
        self,
        audience: str,
        profiles: dict[str, cProfile.Profile] | None = None,
        *,
        variant: bool = False,
    ) -> Round:
        """Create a listing; for ``partners``, deliver everything it queued and check it
        (with ``variant``, under :func:`partnerships_read_once`)."""
        if not variant:
            return await self._round(audience, profiles)
        with partnerships_read_once() as forget:
            forget()
            return await self._round(audience, profiles)

    async def _round(self, audience: str, profiles: dict[str, cProfile.Profile] | None) -> Round:
        first_id = await self._last_delivery_id()
        self.sinks.reset()
        profile = profiles["create"] if profiles else None
        if profile:
            profile.enable()
        try:
            result = await self.create(audience)
        finally:
            if profile:
                profile.disable()
        if audience != "partners":
            queued = await Delivery.filter(id__gt=first_id).count()
            if queued:
                raise BenchError(f"a {audience} listing queued {queued} deliveries")
            return result
        before = {name: t.seconds for name, t in self.timers.items()}
        sink_cpu = self.sinks.cpu_seconds()
        thread, process = time.thread_time(), time.process_time()
        started = last = time.perf_counter()
        profile = profiles["deliver"] if profiles else None
        if profile:
            profile.enable()
        try:
            while attempted := await self.worker.run_once():
                last = time.perf_counter()
                # Within the timed window: the last, empty claim is outside it.
                result.sign_ms = (self.timers["sign"].seconds - before["sign"]) * 1000
                result.claim_ms = (self.timers["claim"].seconds - before["claim"]) * 1000
                result.deliver_thread_cpu_ms = (time.thread_time() - thread) * 1000
                result.deliver_process_cpu_ms = (time.process_time() - process) * 1000
                result.deliveries += attempted
                result.batches += 1
        finally:
            if profile:
                profile.disable()
        result.deliver_ms = (last - started) * 1000
        result.sink_cpu_ms = (self.sinks.cpu_seconds() - sink_cpu) * 1000
        await self._check(first_id, result)
        return result

    async def _last_delivery_id(self) -> int:
        ids = await Delivery.all().order_by("-id").limit(1).values_list("id", flat=True)
        return int(ids[0]) if ids else 0

    async def _check(self, first_id: int, result: Round) -> None:
        """The round's rows: one activity, every partner inbox once, all delivered; the sink
        saw as many POSTs to as many distinct inboxes."""
        rows = await Delivery.filter(id__gt=first_id).values_list("activity_id", "inbox", "state")
        activities = {str(a) for a, _, _ in rows}
        inboxes = {str(i) for _, i, _ in rows}
        delivered = sum(1 for _, _, state in rows if state == DeliveryState.DELIVERED)
        expected = self.sinks.count
        if len(activities) != 1 or inboxes != self.inboxes or delivered != expected:
            raise BenchError(
                f"the listing queued {len(rows)} rows for {len(activities)} activities and "
                f"{len(inboxes)} inboxes; {delivered} delivered (expected one activity to "
                f"each of the {expected} partners)"
            )
        if result.deliveries != expected:
            raise BenchError(f"the worker attempted {result.deliveries}, not {expected}")
        stats = self.sinks.stats()
        if stats["posts"] != expected or stats["distinct"] != expected:
            raise BenchError(
                f"the sinks counted {stats['posts']} POSTs to {stats['distinct']} distinct "
                f"inboxes, not {expected}"
            )
        self.first_activity = self.first_activity or activities.pop()

    async def announce_info(self) -> dict[str, Any]:
        """Size and shape of what a partner receives, and its signature verified."""
        assert self.first_activity is not None
        row = await Delivery.filter(activity_id=self.first_activity).first()
        assert row is not None
        body = row.body.encode("utf-8")
        doc = json.loads(body)
        sample = self.sinks.stats()["sample"]
        if sample is None:
            raise BenchError("the sinks kept no sample request")
        headers = [tuple(h) for h in sample["headers"]]
        group = await LocalGroup.get(slug=NEIGHBOURHOOD)
        key = load_private_key(group.rsa_private_pem)
        assert isinstance(key, rsa.RSAPrivateKey)
        port = next(int(v.rsplit(":", 1)[1]) for k, v in headers if k.lower() == "host")
        to_verify = parse_signature(
            "POST",
            f"http://{HOST}:{port}{sample['path']}",
            headers,
            sample["body"].encode("utf-8"),
            datetime.now(UTC),
        )
        verify_signature(to_verify, key.public_key())
        group_actor = self.app[GROUPS].neighbourhood
        if to_verify.key_id != UriScheme.rsa_key_id(group_actor):
            raise BenchError(f"signed with {to_verify.key_id}, not the group's key")
        inner = doc.get("object", {})
        shape = f"{doc.get('type')}({inner.get('type')}({inner.get('object', {}).get('type')}))"
        return {
            "body_bytes": len(body),
            "request_header_bytes": sum(len(k) + len(v) + 4 for k, v in headers),
            "shape": shape,
            "signer": group_actor,
            "verified_key_id": to_verify.key_id,
            "signing_string_bytes": len(_signing_string(sample["path"], port)),
            "group_key": key,
        }


def _signing_string(path: str, port: int) -> bytes:
    """The draft-cavage signing string of a POST to a partner (its size is what counts)."""
    return (
        f"(request-target): post {path}\n"
        f"host: {HOST}:{port}\n"
        "date: Thu, 26 Nov 2026 21:00:00 GMT\n"
        "digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    ).encode("ascii")


# --------------------------------------------------------------------------------------------
# Where the time goes (cProfile)

# First match wins: the specific before the general.
_CATEGORIES = (
    ("HTTP signature headers (activitypub/signatures.py)", ("/activitypub/signatures",)),
    ("ActivityPub documents (activitypub/, babel)", ("/activitypub/", "/babel/")),
    ("rich text (node/rich_text.py, nh3)", ("/node/rich_text", "/nh3")),
    ("validation (pydantic)", ("/pydantic",)),
    ("JSON (json)", ("/json/",)),
    ("ORM (tortoise, pypika, aiosqlite; event-loop side)", (
        "/tortoise/", "/pypika", "/aiosqlite/",
    )),
    ("policy check (federation/policy.py, peers.py, moderation/)", (
        "/federation/policy.py", "/federation/peers.py", "/moderation/",
    )),
    ("delivery worker and transport (federation/)", ("/federation/",)),
    ("node code (listings, groups, members, http)", ("/node/",)),
    ("aiohttp, yarl, multidict (client and server)", (
        "/aiohttp/", "/yarl/", "/multidict/", "/propcache/", "/aiohappyeyeballs/",
    )),
    ("event loop (asyncio, selectors)", ("/asyncio/", "selectors.py")),
)  # fmt: skip
_SIGNING = "RSA signing and digests (C)"
_IDLE = "idle (waiting in epoll)"

# (file suffix, function): the steps whose cumulative time is reported.
_STEPS = {
    "create": (
        ("node/http/listings.py", "create", "POST handler (everything server-side)"),
        ("node/http/auth.py", "authenticate", "authenticate (session lookup)"),
        ("node/http/parsing.py", "read_json", "read and validate the form"),
        ("node/listings/service.py", "create", "ListingService.create"),
        ("node/listings/service.py", "_columns", "columns (rich text, snap)"),
        ("node/listings/service.py", "_send", "_send (Note, Announce, rows)"),
        ("node/listings/federation.py", "document", "the listing's Note"),
        ("node/groups/service.py", "announce", "GroupService.announce"),
        ("node/groups/service.py", "partner_inboxes", "partner_inboxes (SELECT)"),
        ("federation/outbound.py", "publish", "publish (json.dumps, bulk INSERT)"),
        ("node/listings/render.py", "listing_to_api", "the 201 body"),
    ),
    "deliver": (
        ("federation/outbound.py", "run_once", "run_once"),
        ("federation/outbound.py", "_claim", "claim (SELECT, lease UPDATE)"),
        ("federation/outbound.py", "_deliver", "_deliver (per row)"),
        ("federation/policy.py", "refuse_deliveries", "refuse hook (blocks, partnerships)"),
        ("federation/peers.py", "partnerships_of", "partnerships_of (SELECT per batch)"),
        ("activitypub/signatures.py", "sign_request", "sign_request"),
        ("federation/transport.py", "request", "Transport.request (aiohttp client)"),
        ("federation/outbound.py", "flush", "record outcomes (UPDATE)"),
    ),
}


def _category_of(key: tuple[str, int, str], stats: dict[Any, Any]) -> str:
    c_functions = ((_SIGNING, ("RSAPrivateKey", "_hashlib", "openssl")), (_IDLE, ("epoll",)))
    return category_of(key, stats, _CATEGORIES, c_functions, stdlib_by_caller=True, max_depth=8)


def profile_breakdown(profile: cProfile.Profile, phase: str, units: int) -> dict[str, Any]:
    """The event-loop thread's profiled time by category, per unit (listing or delivery), and
    the cumulative time of the phase's steps."""
    raw, totals = category_totals(profile, _category_of)
    busy = sum(s for c, s in totals.items() if c != _IDLE)
    steps = []
    for suffix, function, label in _STEPS[phase]:
        found = [e for k, e in raw.items() if k[0].endswith(suffix) and k[2] == function]
        if found:
            steps.append({"step": label, "ms_per_unit": sum(e[3] for e in found) * 1000 / units})
    top = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:15]
    return {
        "units": units,
        "busy_s": busy,
        "categories": [
            {
                "category": name,
                "share_of_busy": seconds / busy if busy and name != _IDLE else None,
                "ms_per_unit": seconds * 1000 / units,
            }
            for name, seconds in sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
        ],
        "steps_cumulative": steps,
        "top_functions": [
            {
                "function": f"{Path(key[0]).name}:{key[1]}({key[2]})",
                "calls": entry[1],
                "tottime_ms_per_unit": entry[2] * 1000 / units,
            }
            for key, entry in top
        ],
    }


# --------------------------------------------------------------------------------------------
# The run


def node_settings(workdir: Path) -> Settings:
    """The node's settings, loaded as ``quartier serve`` loads them (an empty file of ours,
    so no quartier.toml or QUARTIER_* variable of the caller leaks in)."""
    config = workdir / "quartier.toml"
    config.write_text("", encoding="utf-8")
    env = {
        "QUARTIER_SERVER_BASE_URL": BASE_URL,
        "QUARTIER_STORAGE_DATA_DIR": str(workdir / "data"),
        "QUARTIER_FEDERATION_LOCAL_TESTING": "true",
        **{f"QUARTIER_LISTINGS_{k.upper()}": str(v) for k, v in LISTING_LIMITS.items()},
    }
    return load_settings(config, environ=env)


async def add_partners(sinks: SinkServer) -> None:
    """An active partnership with each sink port."""
    now = datetime.now(UTC)
    await Partnership.bulk_create(
        [
            Partnership(
                peer_actor=f"http://{HOST}:{port}/actor",
                peer_host=f"{HOST}:{port}",
                peer_inbox=sinks.inbox(n),
                initiated_by_us=True,
                state=PartnershipState.ACTIVE,
                follow_activity_id=f"{BASE_URL}/partnerships/{n}",
                follow_activity={},
                created_at=now,
                updated_at=now,
            )
            for n, port in enumerate(sinks.ports)
        ]
    )


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Start the sinks, set up the node, measure everything; returns the results."""
    return with_sinks(
        "quartier-listingbench-", args.partners, lambda w, sinks: _measure(args, w, sinks)
    )


def with_sinks(
    prefix: str, count: int, measure: Callable[[Path, SinkServer], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """In a temporary directory, ``count`` partner inboxes (one sink process, a port each)
    started, ``measure(workdir, sinks)`` run to the end (SIGTERM cancels it cleanly), the
    sinks stopped whatever happens; its results."""
    sinks: list[SinkServer] = []

    def start(workdir: Path) -> list[SinkServer]:
        sinks.append(SinkServer(workdir, count, name="sinks"))
        return sinks

    return run_with_sinks(prefix, start, lambda workdir: measure(workdir, sinks[0]))


async def _measure(args: argparse.Namespace, workdir: Path, sinks: SinkServer) -> dict[str, Any]:
    load_before = load_average()
    cpu_before = cpu_times()
    settings = node_settings(workdir)
    applied = await apply_migrations(settings.database_url)
    create_key(settings.document_key_path)  # as quartier migrate does: serve refuses without it
    say(f"database migrated ({len(applied)} migrations) in {workdir}")
    app = create_app(settings, run_worker=False)
    async with TestClient(TestServer(app, host=HOST)) as client:
        with activated(app[DATABASE]):
            await add_partners(sinks)
            members = app[MEMBERS]
            member = await members.create_member(
                username="bench", password=PASSWORD, real_name="Bench Member", role=Role.RESIDENT
            )
            _, secret = await members.open_session(member, "listing_bench")
            with step_timers(app, app[DELIVERY_WORKER]) as timers:
                bench = Bench(client, sinks, secret.secret, timers)
                results = await _rounds(args, bench, settings)
    results["load_average_1min"] = {"before": load_before, "after": load_average()}
    results["machine_cpu_shares"] = cpu_shares(cpu_before, cpu_times())
    return results


async def _rounds(args: argparse.Namespace, bench: Bench, settings: Settings) -> dict[str, Any]:
    cold = await bench.round("partners", None)
    say(
        f"cold round: created in {cold.http_ms:.1f} ms, {cold.deliveries} delivered in "
        f"{cold.deliver_ms:.1f} ms"
    )
    announce = await bench.announce_info()
    key = announce.pop("group_key")
    data = _signing_string("/inbox/49", bench.sinks.ports[-1])
    sign_before = signatures_per_second(key, data, args.sign_seconds)
    say(f"RSA-2048 signing: {sign_before['per_s']:,.0f} signatures/s")

    partners: list[Round] = []
    node_only: list[Round] = []
    for n in range(args.rounds):
        partners.append(await bench.round("partners", None))
        node_only.append(await bench.round("node", None))
        if (n + 1) % max(1, args.rounds // 5) == 0:
            say(
                f"round {n + 1}/{args.rounds}: partners created in {partners[-1].http_ms:.1f} "
                f"ms, delivered in {partners[-1].deliver_ms:.1f} ms; node only "
                f"{node_only[-1].http_ms:.1f} ms"
            )
    # The throwaway variant against the node as is, interleaved (info: not the figures above).
    paired: dict[str, list[Round]] = {"as_is": [], "partnerships_read_once": []}
    for _ in range(args.variant_rounds):
        paired["as_is"].append(await bench.round("partners"))
        paired["partnerships_read_once"].append(await bench.round("partners", variant=True))
    if args.variant_rounds:
        say(
            "partnerships read once per batch (variant): delivered in "
            f"{statistics.median(r.deliver_ms for r in paired['partnerships_read_once']):.1f} "
            f"ms, as is {statistics.median(r.deliver_ms for r in paired['as_is']):.1f} ms"
        )
    sign_after = signatures_per_second(key, data, args.sign_seconds)
    say(f"RSA-2048 signing again: {sign_after['per_s']:,.0f} signatures/s")
    sign_rate = max(sign_before["per_s"], sign_after["per_s"])

    profiled = None
    if args.profile_rounds:
        profiles = {"create": cProfile.Profile(), "deliver": cProfile.Profile()}
        under: list[Round] = []
        for _ in range(args.profile_rounds):
            under.append(await bench.round("partners", profiles))
        deliveries = sum(r.deliveries for r in under)
        profiled = {
            "rounds": args.profile_rounds,
            "create": profile_breakdown(profiles["create"], "create", len(under)),
            "deliver": profile_breakdown(profiles["deliver"], "deliver", deliveries),
            "create_ms_under_profiler": statistics.median(r.http_ms for r in under),
            "deliver_ms_under_profiler": statistics.median(r.deliver_ms for r in under),
        }
        say(f"{args.profile_rounds} rounds under cProfile")

    deliver_ms = statistics.median(r.deliver_ms for r in partners)
    rate = bench.sinks.count / (deliver_ms / 1000)
    worker = bench.worker
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/listing_bench.py", *args.argv]),
        "machine": machine_info(
            "none: the node (event loop, aiosqlite thread) and the sinks share the cores"
        ),
        "code": code_info(),
        "settings": {
            "partners": bench.sinks.count,
            "rounds": args.rounds,
            "profile_rounds": args.profile_rounds,
            "sign_seconds": args.sign_seconds,
            "listing_limits_raised": LISTING_LIMITS,
            "listing": LISTING,
            "worker_policy": {
                "batch_size": worker.policy.batch_size,
                "per_host": worker.policy.per_host,
                "concurrency": worker.policy.concurrency,
                "flush_every": worker.policy.flush_every,
            },
            "transport_max_connections": worker._transport.settings.max_connections,
            "base_url": settings.server.base_url,
            "database": "SQLite (tortoise, aiosqlite), file in a temporary directory",
        },
        "announce": announce,
        "signing": {
            "key": "RSA-2048 (the neighbourhood group's)",
            "scheme": "PKCS#1 v1.5, SHA-256, cryptography, one thread",
            "message_bytes": len(data),
            "before": sign_before,
            "after": sign_after,
            "per_s": sign_rate,
        },
        "creation": {
            "partners": _spread(partners, ("http_ms", "service_ms", "send_ms", "publish_ms")),
            "node_only": _spread(node_only, ("http_ms", "service_ms")),
            "cpu_partners": _spread(partners, ("create_thread_cpu_ms", "create_process_cpu_ms")),
            "cpu_node_only": _spread(node_only, ("create_thread_cpu_ms", "create_process_cpu_ms")),
        },
        "delivery": {
            "deliver_ms": _spread(partners, ("deliver_ms",))["deliver_ms"],
            "deliveries_per_s": rate,
            "ratio_to_signing": rate / sign_rate,
            "end_to_end_ms": _spread(partners, ("end_to_end_ms",))["end_to_end_ms"],
            "per_delivery_ms": {
                "wall": deliver_ms / bench.sinks.count,
                **{
                    name: statistics.median(getattr(r, name) for r in partners) / bench.sinks.count
                    for name in PER_DELIVERY
                },
            },
            "batches": sorted({r.batches for r in partners}),
            "sink_cpu_ms_per_delivery": sum(r.sink_cpu_ms for r in partners)
            / sum(r.deliveries for r in partners),
        },
        "variant_partnerships_read_once": {
            "what": (
                "throwaway, this process only: the delivery policy's partnership_actors "
                "answered from one SELECT of all partnerships per round instead of one per "
                "delivery; interleaved with rounds of the node as is"
            ),
            "rounds": args.variant_rounds,
            **{
                name: {
                    "deliver_ms": _spread(rounds, ("deliver_ms",))["deliver_ms"],
                    "deliver_thread_cpu_ms": _spread(rounds, ("deliver_thread_cpu_ms",))[
                        "deliver_thread_cpu_ms"
                    ],
                    "deliveries_per_s": bench.sinks.count
                    / (statistics.median(r.deliver_ms for r in rounds) / 1000),
                }
                for name, rounds in paired.items()
                if rounds
            },
        },
        "cold_round": _round_dict(cold),
        "rounds": [_round_dict(r) for r in partners],
        "node_only_rounds": [_round_dict(r) for r in node_only],
        "profile": profiled,
    }


PER_DELIVERY = (
    "sign_ms",
    "claim_ms",
    "deliver_thread_cpu_ms",
    "deliver_process_cpu_ms",
)


def _spread(rounds: Sequence[Round], names: Sequence[str]) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        values = [float(getattr(r, name)) for r in rounds]
        out[name] = {
            "p50": statistics.median(values),
            "p90": quantile(values, 90),
            "p99": quantile(values, 99),
            "min": min(values),
            "max": max(values),
            "first_10_median": statistics.median(values[:10]),
            "last_10_median": statistics.median(values[-10:]),
        }
    return out


def _round_dict(r: Round) -> dict[str, Any]:
    return {**asdict(r), "end_to_end_ms": r.end_to_end_ms}


# --------------------------------------------------------------------------------------------
# Report


def summary(results: dict[str, Any]) -> str:
    """The human-readable report."""
    c, d, s, a = (results[k] for k in ("creation", "delivery", "signing", "announce"))
    p, n = c["partners"], c["node_only"]
    partners = results["settings"]["partners"]
    cold = results["cold_round"]

    def p50_p99(stat: dict[str, float]) -> str:
        return f"{stat['p50']:.1f} / {stat['p99']:.1f} ms"

    count = len(results["rounds"])
    rows = [
        ("metric", "measured"),
        (f"create, audience partners: POST p50 / p99 ({count})", p50_p99(p["http_ms"])),
        ("  of which ListingService.create p50 / p99", p50_p99(p["service_ms"])),
        ("  of which _send (Note, Announce, rows) p50", f"{p['send_ms']['p50']:.1f} ms"),
        (f"  of which publish ({partners} rows) p50", f"{p['publish_ms']['p50']:.1f} ms"),
        ("create, audience node (no deliveries): POST p50 / p99", p50_p99(n["http_ms"])),
        ("  of which ListingService.create p50 / p99", p50_p99(n["service_ms"])),
        (
            f"deliver {partners} (end of create -> last recorded), median",
            f"{d['deliver_ms']['p50']:.1f} ms (p90 {d['deliver_ms']['p90']:.1f})",
        ),
        (
            "deliveries/s (one listing's fan-out)",
            f"{d['deliveries_per_s']:,.0f} = {d['ratio_to_signing']:.2f} of signing",
        ),
        ("RSA-2048 signatures/s, one core", f"{s['per_s']:,.0f}"),
        ("POST sent -> all delivered, p50 / p99", p50_p99(d["end_to_end_ms"])),
        (
            "Announce body / signed request headers",
            f"{a['body_bytes']:,} B / {a['request_header_bytes']} B",
        ),
        (
            "cold round (first after start), create / deliver",
            f"{cold['http_ms']:.1f} / {cold['deliver_ms']:.1f} ms",
        ),
    ]  # fmt: skip
    per = d["per_delivery_ms"]
    cpu = c["cpu_partners"]
    lines = [
        *report_header("Quartier listing benchmark", results, results["machine_cpu_shares"]),
        f"  code    : {describe_code(results['code'])}",
        f"  command : {results['command']}",
        "",
        *table(rows),
        "",
        "details",
        f"  what a partner receives: {a['shape']}, signed by {a['signer']} "
        f"(signature verified); worker policy {results['settings']['worker_policy']}",
        f"  creation CPU p50 (partners): event-loop thread {cpu['create_thread_cpu_ms']['p50']:.1f}"
        f" ms (test client included), whole process {cpu['create_process_cpu_ms']['p50']:.1f} ms",
        f"  per delivery (medians): wall {per['wall']:.2f} ms; sign_request {per['sign_ms']:.2f} "
        f"ms; claim {per['claim_ms']:.2f} ms; event-loop thread CPU "
        f"{per['deliver_thread_cpu_ms']:.2f} ms, process {per['deliver_process_cpu_ms']:.2f} ms; "
        f"sink CPU {d['sink_cpu_ms_per_delivery']:.2f} ms; batches per listing {d['batches']}",
        f"  drift: create p50 first 10 {p['http_ms']['first_10_median']:.1f} ms, last 10 "
        f"{p['http_ms']['last_10_median']:.1f} ms; deliver first 10 "
        f"{d['deliver_ms']['first_10_median']:.1f} ms, last 10 "
        f"{d['deliver_ms']['last_10_median']:.1f} ms",
    ]
    v = results["variant_partnerships_read_once"]
    if v["rounds"]:
        was, now = v["as_is"], v["partnerships_read_once"]
        lines.append(
            f"  variant (throwaway): partnerships read once per batch instead of per delivery, "
            f"{v['rounds']} interleaved pairs: deliver median {now['deliver_ms']['p50']:.1f} ms "
            f"({now['deliveries_per_s']:,.0f}/s) against {was['deliver_ms']['p50']:.1f} ms "
            f"({was['deliveries_per_s']:,.0f}/s) as is; event-loop CPU "
            f"{now['deliver_thread_cpu_ms']['p50']:.1f} against "
            f"{was['deliver_thread_cpu_ms']['p50']:.1f} ms"
        )
    prof = results["profile"]
    if prof:
        for phase, unit in (("create", "listing"), ("deliver", "delivery")):
            part = prof[phase]
            lines.append(
                f"  cProfile, event-loop thread, {phase} ({prof['rounds']} rounds; under the "
                f"profiler, proportions only), ms per {unit}:"
            )
            lines += [
                f"    {cat['category']:<60} {cat['ms_per_unit']:7.3f}"
                + (f"  {cat['share_of_busy']:6.1%}" if cat["share_of_busy"] is not None else "")
                for cat in part["categories"]
            ]
            lines.append("    cumulative, by step:")
            lines += [
                f"      {step['step']:<58} {step['ms_per_unit']:7.3f}"
                for step in part["steps_cumulative"]
            ]
    lines.append(f"  JSON: {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Quartier listing benchmark (see the docstring).")
    parser.add_argument("--partners", type=int, default=50, help="partner nodes (sink ports)")
    parser.add_argument("--rounds", type=int, default=100, help="measured rounds of each kind")
    parser.add_argument("--profile-rounds", type=int, default=10, help="0: no cProfile")
    parser.add_argument(
        "--variant-rounds", type=int, default=20, help="pairs: as is / partnerships read once"
    )
    parser.add_argument("--sign-seconds", type=float, default=2.0, help="signing loop length")
    return parser


def _check(args: argparse.Namespace) -> str | None:
    if args.partners < 1 or args.rounds < 1 or min(args.profile_rounds, args.variant_rounds) < 0:
        return "counts must be positive"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    return bench_main(
        "listing_bench", _parser(), argv, run_benchmark, RESULTS_PATH, summary, _check, True
    )


if __name__ == "__main__":
    sys.exit(main())
