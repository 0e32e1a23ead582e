"""Export benchmark: a member's data archive (``GET /api/quartier/v1/me/export``) with 10,000
messages and 1,000 listings, timed, and the node's peak memory growth while it streams.

    .venv/bin/python bench/export_bench.py [--messages N] [--listings N] [--exports N]
        (or: make bench; --quick for a short run)

In one run on one machine:

* the node: set up in a temporary directory with the real CLI (``quartier init``, ``quartier
  migrate``, ``quartier admin create alice ... --password-stdin``), started with ``quartier
  serve`` at log level WARNING, listening on 127.0.0.1;
* the data, written before the node starts, directly through the node's models
  (``bulk_create`` in chunks, on the node's own SQLite file): ``--messages`` (10,000) messages
  in ``--conversations`` (200) conversations of alice's, half with bea (another member of the
  node), half with people on other servers, alternating authors, 200-600 characters each;
  ``--listings`` (1,000) local listings of alice's, one in ``--photo-every`` (10) with a photo
  (a file of ``--photo-kb`` (150) random bytes, as incompressible as a JPEG, in the node's media
  directory); one sharing-ledger entry per listing. Nothing else in the archive is large;
* the export: alice logs in (``POST /api/quartier/v1/sessions``), then
  ``GET /api/quartier/v1/me/export`` with her bearer token, read to the end with ``http.client``
  in 64 KiB reads (written to a file, so the benchmark's own memory plays no part),
  ``--exports`` (2) times one after the other. Timed from the request to the last byte;
* memory: the node process's resident set, in MB (10^6 bytes), two ways: ``VmHWM`` (the
  kernel's peak RSS) after resetting it just before each export (``echo 5 >
  /proc/<pid>/clear_refs``, Linux 4.0+), against ``VmRSS`` just before; and ``VmRSS`` sampled
  every 5 ms by a thread of the benchmark while the export runs. The growth is the peak minus
  the RSS before the export; goal <= 50 MB ("streamed": the archive is 16.5 MB with the
  defaults, its files 24.6 MB once uncompressed, and the rows as tortoise models would take more);
* the archive is checked: a valid ZIP whose ``messages.json`` and ``listings.json`` hold
  every message and listing, with every photo under ``photos/``.

Results are printed as a table and written to ``bench/results/export.json``. The node and the
temporary directory are removed on exit, failures and SIGTERM included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_support import (
    BENCH_DIR,
    HOST,
    REPO_ROOT,
    BenchError,
    Node,
    Processes,
    base_machine_info,
    bench_main,
    code_info,
    cpu_shares,
    cpu_times,
    describe_code,
    free_port,
    load_average,
    memory_mb,
    proc_cpu_seconds,
    say,
    table,
)
from tortoise.transactions import in_transaction

from activitypub.uris import UriScheme
from federation.models import SharedItem
from node.actors.models import InstanceActor
from node.conversations.models import Conversation, Message, Participant
from node.db import activated, open_database
from node.listings.models import Audience, Kind, Listing, Status
from node.media.models import Media
from node.media.storage import file_names, new_media_id
from node.members.models import Member

RESULTS_PATH = BENCH_DIR / "results" / "export.json"
PASSWORD = "correct horse battery staple, benchmark edition"  # noqa: S105 - throwaway node
GOAL_GROWTH_MB = 50.0
CHUNK = 1000  # rows per bulk_create
READ_SIZE = 64 * 1024
SAMPLE_EVERY_S = 0.005

WORDS = [
    "ladder",
    "drill",
    "courtyard",
    "saturday",
    "evening",
    "bike",
    "pump",
    "seedlings",
    "tomato",
    "jam",
    "jars",
    "stroller",
    "books",
    "sofa",
    "delivery",
    "tomorrow",
    "thanks",
    "neighbour",
    "key",
    "parcel",
    "garden",
    "hose",
    "borrow",
    "return",
    "kitchen",
    "table",
    "chairs",
    "moving",
    "boxes",
    "printer",
    "ink",
    "cat",
    "sitting",
    "weekend",
    "market",
    "bakery",
]


def sentence(rng: random.Random, low: int, high: int) -> str:
    """Some words, ``low`` to ``high`` characters."""
    target = rng.randint(low, high)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < target:
        words.append(rng.choice(WORDS))
    return " ".join(words).capitalize() + "."


# --------------------------------------------------------------------------------------------
# The data


async def populate(node: Node, args: argparse.Namespace) -> dict[str, Any]:
    """Alice's messages, listings, photos and ledger entries, written through the models."""
    uris = UriScheme(node.origin)
    alice, bea = uris.actor("alice"), uris.actor("bea")
    rng = random.Random(args.seed)  # test data, not security
    media_dir = node.workdir / "data" / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    async with open_database(f"sqlite://{node.database()}") as ctx:
        with activated(ctx):
            keys = (await InstanceActor.get(id=1)).keys  # bea signs with a copy: no keygen
            await Member.create(
                username="bea",
                real_name="Bea Bench",
                display_name="bea",
                password_hash="!",  # noqa: S106 - bea never logs in
                **Member.key_columns(keys),
            )
            now = datetime.now(UTC)
            await _conversations(args, rng, uris, alice, bea, now)
            photos = await _listings(args, rng, uris, alice, media_dir, now)
    return {"seconds": time.perf_counter() - started, "photos": photos}


async def _conversations(
    args: argparse.Namespace,
    rng: random.Random,
    uris: UriScheme,
    alice: str,
    bea: str,
    now: datetime,
) -> None:
    count = args.conversations
    start = now - timedelta(days=365)
    conversations = [
        Conversation(context=uris.url(f"/contexts/{n}"), created_at=start, updated_at=now)
        for n in range(count)
    ]
    async with in_transaction():
        await Conversation.bulk_create(conversations)
    ids = list(await Conversation.all().order_by("id").values_list("id", flat=True))
    others = [bea if n % 2 == 0 else f"https://remote{n % 7}.example/users/p{n}" for n in ids]
    participants = [
        Participant(conversation_id=cid, actor=actor, local=actor.startswith(uris.url("/")))
        for cid, other in zip(ids, others, strict=True)
        for actor in (alice, other)
    ]
    async with in_transaction():
        await Participant.bulk_create(participants, batch_size=CHUNK)
    for first in range(0, args.messages, CHUNK):
        batch = []
        for n in range(first, min(first + CHUNK, args.messages)):
            slot = n % count
            author = alice if n % 3 else others[slot]
            batch.append(
                Message(
                    conversation_id=ids[slot],
                    ap_id=uris.url(f"/messages/{n}") if author == alice else f"{author}/m/{n}",
                    author=author,
                    text=sentence(rng, 200, 600),
                    created_at=start + timedelta(minutes=n),
                )
            )
        async with in_transaction():
            await Message.bulk_create(batch)


async def _listings(
    args: argparse.Namespace,
    rng: random.Random,
    uris: UriScheme,
    alice: str,
    media_dir: Path,
    now: datetime,
) -> int:
    kinds = list(Kind)
    for first in range(0, args.listings, CHUNK):
        batch = []
        for n in range(first, min(first + CHUNK, args.listings)):
            title = sentence(rng, 20, 80)[:200]
            description = sentence(rng, 200, 900)
            batch.append(
                Listing(
                    ap_id=uris.url(f"/listings/{n}"),
                    local=True,
                    author=alice,
                    origin_host=uris.domain,
                    kind=kinds[n % len(kinds)],
                    status=Status.OPEN if n % 4 else Status.EXPIRED,
                    audience=Audience.PARTNERS if n % 2 else Audience.NODE,
                    category="tools",
                    title=title,
                    description=description,
                    description_html=f"<p>{description}</p>",
                    search_text=f"{title} {description}".lower(),
                    latitude=48.85 + rng.random() / 100,
                    longitude=2.35 + rng.random() / 100,
                    published_at=now - timedelta(hours=n),
                    updated_at=now - timedelta(hours=n),
                )
            )
        async with in_transaction():
            await Listing.bulk_create(batch)
    listing_ids = list(await Listing.filter(author=alice).order_by("id").values_list("id", "ap_id"))
    ledger = [
        SharedItem(
            owner=alice,
            kind="listings",
            subject=ap_id,
            activity_type="Create",
            host="partner.example",
            inbox="https://partner.example/inbox",
            shared_at=now,
        )
        for _, ap_id in listing_ids
    ]
    async with in_transaction():
        await SharedItem.bulk_create(ledger, batch_size=CHUNK)
    media = []
    for listing_id, _ in listing_ids[:: args.photo_every]:
        media_id = new_media_id()
        photo, thumbnail = file_names(media_id, "jpg")
        (media_dir / photo).write_bytes(os.urandom(args.photo_kb * 1024))
        (media_dir / thumbnail).write_bytes(os.urandom(8 * 1024))
        media.append(
            Media(
                id=media_id,
                owner=alice,
                listing_id=listing_id,
                content_type="image/jpeg",
                width=1600,
                height=1200,
                size=args.photo_kb * 1024,
                file=photo,
                thumbnail=thumbnail,
                created_at=now,
            )
        )
    async with in_transaction():
        await Media.bulk_create(media, batch_size=CHUNK)
    return len(media)


# --------------------------------------------------------------------------------------------
# The export and the node's memory


class RssSampler(threading.Thread):
    """Reads the node's VmRSS every ``SAMPLE_EVERY_S`` until stopped; keeps the highest."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, memory_mb(self.pid)["VmRSS"])
                self.samples += 1
            time.sleep(SAMPLE_EVERY_S)

    def stop(self) -> float:
        """Stop sampling; the highest VmRSS seen, in MB."""
        self._stop_event.set()
        self.join()
        return self.peak


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (``clear_refs`` 5); False when refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def login(port: int) -> str:
    """Alice's bearer token, through ``POST /api/quartier/v1/sessions``."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        body = json.dumps({"username": "alice", "password": PASSWORD})
        conn.request(
            "POST", "/api/quartier/v1/sessions", body, {"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        data = response.read()
        if response.status != 201:
            raise BenchError(f"login answered {response.status}: {data[:200]!r}")
        return str(json.loads(data)["token"])
    finally:
        conn.close()


def export(port: int, token: str, pid: int, dest: Path) -> dict[str, Any]:
    """One export, read to the end into ``dest``; its time and the node's memory."""
    time.sleep(1.0)  # let the node settle (the last request's buffers, the collector)
    cleared = reset_peak(pid)
    before = memory_mb(pid)
    cpu_before = proc_cpu_seconds(pid)
    sampler = RssSampler(pid)
    sampler.start()
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    size = 0
    started = time.perf_counter()
    first_byte = None
    try:
        conn.request(
            "GET", "/api/quartier/v1/me/export", headers={"Authorization": f"Bearer {token}"}
        )
        response = conn.getresponse()
        if response.status != 200:
            raise BenchError(f"export answered {response.status}: {response.read()[:200]!r}")
        with dest.open("wb") as out:
            while chunk := response.read(READ_SIZE):
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
                out.write(chunk)
        seconds = time.perf_counter() - started
    finally:
        conn.close()
        sampled_peak = sampler.stop()
    after = memory_mb(pid)
    hwm_peak = after["VmHWM"] if cleared else None
    peaks = [p for p in (sampled_peak, hwm_peak) if p is not None]
    return {
        "seconds": seconds,
        "first_byte_s": first_byte,
        "bytes": size,
        "node_cpu_s": proc_cpu_seconds(pid) - cpu_before,
        "rss_before_mb": before["VmRSS"],
        "rss_after_mb": after["VmRSS"],
        "vmhwm_reset": cleared,
        "vmhwm_peak_mb": hwm_peak,
        "sampled_peak_mb": sampled_peak,
        "samples": sampler.samples,
        "growth_mb": max(peaks) - before["VmRSS"],
    }


def check_archive(path: Path, args: argparse.Namespace, photos: int) -> dict[str, int]:
    """The archive holds every message, listing and photo (read from the file, streamed)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        with archive.open("messages.json") as f:
            messages = len(json.load(f))
        with archive.open("listings.json") as f:
            listings = len(json.load(f))
        uncompressed = sum(info.file_size for info in archive.infolist())
    found = {
        "messages": messages,
        "listings": listings,
        "photos": sum(1 for n in names if n.startswith("photos/")),
    }
    wanted = {"messages": args.messages, "listings": args.listings, "photos": photos}
    if found != wanted:
        raise BenchError(f"the archive holds {found}, not {wanted}")
    return {**found, "uncompressed_bytes": uncompressed}


# --------------------------------------------------------------------------------------------
# The run


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Set the node up, fill it, start it, export; returns the results."""
    load_before = load_average()
    cpu_before = cpu_times()
    with tempfile.TemporaryDirectory(prefix="quartier-exportbench-") as tmp:
        workdir = Path(tmp)
        procs = Processes(workdir)
        try:
            node = Node(workdir / "node", free_port())
            node.workdir.mkdir()
            node.setup()
            node.cli(
                ["admin", "create", "alice", "--real-name", "Alice Bench", "--password-stdin"],
                stdin=PASSWORD + "\n",
            )
            filled = asyncio.run(populate(node, args))
            say(
                f"{args.messages:,} messages, {args.listings:,} listings, {filled['photos']} "
                f"photos written in {filled['seconds']:.1f} s"
            )
            proc, ready = node.start(procs)
            say(f"node ready in {ready:.2f} s (pid {proc.pid})")
            token = login(node.port)
            exports = []
            for n in range(args.exports):
                dest = workdir / f"export-{n}.zip"
                result = export(node.port, token, proc.pid, dest)
                result["contents"] = check_archive(dest, args, filled["photos"])
                dest.unlink()
                exports.append(result)
                say(
                    f"export {n + 1}/{args.exports}: {result['bytes'] / 1e6:.1f} MB in "
                    f"{result['seconds']:.2f} s; node RSS {result['rss_before_mb']:.1f} MB "
                    f"before, peak growth {result['growth_mb']:+.1f} MB"
                )
        finally:
            procs.close()
    growth = max(e["growth_mb"] for e in exports)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/export_bench.py", *args.argv]),
        "machine": {**base_machine_info(), "pinning": "none: node and benchmark share the cores"},
        "code": code_info(),
        "load_average_1min": {"before": load_before, "after": load_average()},
        "machine_cpu_shares": cpu_shares(cpu_before, cpu_times()),
        "settings": {
            "messages": args.messages,
            "conversations": args.conversations,
            "listings": args.listings,
            "photos": filled["photos"],
            "photo_kb": args.photo_kb,
            "exports": args.exports,
            "database": "SQLite, the node's file",
            "memory": "VmHWM reset by clear_refs before each export, and VmRSS sampled every "
            f"{SAMPLE_EVERY_S * 1000:g} ms; MB = 10^6 bytes",
        },
        "populate_s": filled["seconds"],
        "exports": exports,
        "goals": {
            "rss_growth": {
                "goal": f"<= {GOAL_GROWTH_MB:g} MB",
                "value": growth,
                "pass": growth <= GOAL_GROWTH_MB,
            }
        },
    }


def summary(results: dict[str, Any]) -> str:
    """The human-readable report."""
    s, goal, m = results["settings"], results["goals"]["rss_growth"], results["machine"]
    load, shares = results["load_average_1min"], results["machine_cpu_shares"]
    rows: list[tuple[str, str, str, str]] = [("metric", "measured", "goal", "result")]
    for n, e in enumerate(results["exports"], 1):
        rows.append(
            (
                f"export {n}: time (first byte)",
                f"{e['seconds']:.2f} s ({e['first_byte_s']:.3f} s), {e['bytes'] / 1e6:.1f} MB "
                f"({e['contents']['uncompressed_bytes'] / 1e6:.1f} MB uncompressed)",
                "-",
                "-",
            )
        )
        hwm = f"{e['vmhwm_peak_mb']:.1f}" if e["vmhwm_peak_mb"] is not None else "n/a"
        rows.append(
            (
                f"export {n}: node RSS growth",
                f"{e['growth_mb']:+.1f} MB ({e['rss_before_mb']:.1f} -> peak VmHWM {hwm}, "
                f"sampled {e['sampled_peak_mb']:.1f}; after {e['rss_after_mb']:.1f})",
                goal["goal"],
                "PASS" if e["growth_mb"] <= GOAL_GROWTH_MB else "MISS",
            )
        )
    lines = [
        "",
        "Quartier export benchmark",
        f"  machine : {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux "
        f"{m['kernel']}; Python {m['python']}, aiohttp {m['aiohttp']}, tortoise-orm "
        f"{m['tortoise_orm']}",
        f"  load avg: {load['before']:.2f} before, {load['after']:.2f} after; all cores "
        f"{shares['busy']:.0%} busy",
        f"  code    : {describe_code(results['code'])}",
        f"  command : {results['command']}",
        f"  data    : {s['messages']:,} messages in {s['conversations']} conversations, "
        f"{s['listings']:,} listings, {s['photos']} photos of {s['photo_kb']} KiB "
        f"(written in {results['populate_s']:.1f} s)",
        "",
        *table(rows),
        "",
        "  node CPU per export: "
        + ", ".join(f"{e['node_cpu_s']:.2f} s" for e in results["exports"]),
        f"  memory: {s['memory']}",
        f"  JSON: {RESULTS_PATH.relative_to(REPO_ROOT)}",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Quartier export benchmark (see the docstring).")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--listings", type=int, default=1_000)
    parser.add_argument("--photo-every", type=int, default=10, help="one listing in N has a photo")
    parser.add_argument("--photo-kb", type=int, default=150, help="size of each photo, KiB")
    parser.add_argument("--exports", type=int, default=2, help="exports, one after the other")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument(
        "--quick", action="store_true", help="a short run: 1,000 messages, 100 listings, 1 export"
    )
    return parser


def _prepare(args: argparse.Namespace) -> str | None:
    if args.quick:
        args.messages, args.listings, args.conversations, args.exports = 1_000, 100, 20, 1
    if min(args.messages, args.conversations, args.listings, args.photo_every, args.exports) < 1:
        return "counts must be positive"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    return bench_main(
        "export_bench", _parser(), argv, run_benchmark, RESULTS_PATH, summary, _prepare, True
    )


if __name__ == "__main__":
    sys.exit(main())
