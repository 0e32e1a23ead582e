"""Signed deliveries for inbox load tests: remote senders with their own RSA-2048 keys (their
Mastodon-shaped actor documents served by ``bench/bare_server.py``), ``Create``/``Note``
deliveries signed with the project's own ``sign_request`` by a process pool on every core
(never during a measurement), written as raw requests, one file per ``wrk`` thread, for
``bench/inbox_feed.lua``.

Used by ``inbox_bench.py``; see docs/performance.md, "Inbox ingestion".
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, TypeVar

from bench_support import (
    ACTIVITY_JSON,
    REPO_ROOT,
    BenchError,
    say,
)

T = TypeVar("T")
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
USER_AGENT = "http.rb/5.2.0 (Mastodon/4.3.2; +http://127.0.0.1/)"

# --------------------------------------------------------------------------------------------
# Remote senders and their deliveries


@dataclass(frozen=True)
class Sender:
    """A remote actor on the bare server: its document and its private key (PEM)."""

    actor_id: str
    key_id: str
    private_pem: str
    document: dict[str, Any]


def actor_document(origin: str, name: str, public_pem: str) -> dict[str, Any]:
    """A Mastodon-shaped ``Person``."""
    actor = f"{origin}/users/{name}"
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://w3id.org/security/v1",
            {
                "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
                "toot": "http://joinmastodon.org/ns#",
                "discoverable": "toot:discoverable",
                "indexable": "toot:indexable",
            },
        ],
        "id": actor,
        "type": "Person",
        "following": f"{actor}/following",
        "followers": f"{actor}/followers",
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "preferredUsername": name,
        "name": name.capitalize(),
        "summary": "<p>Benchmark sender</p>",
        "url": f"{origin}/@{name}",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": False,
        "published": "2025-01-01T00:00:00Z",
        "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem},
        "tag": [],
        "attachment": [],
        "endpoints": {"sharedInbox": f"{origin}/inbox"},
    }


def _new_key(_: int) -> tuple[str, str]:
    """An RSA-2048 key pair as PEM (private PKCS#8, public SubjectPublicKeyInfo), made by the
    project's own key generation (imported here: it runs in the pool's processes)."""
    from activitypub.keys import generate_actor_keys

    keys = generate_actor_keys()
    return keys.rsa_private_pem, keys.rsa_public_pem


def make_senders(code_path: str | None, origin: str, count: int) -> list[Sender]:
    """``count`` senders on ``origin``, keys generated on every core (by the measured code)."""
    context = multiprocessing.get_context("fork")
    with context.Pool(os.cpu_count() or 1, _init_worker, (None, code_path)) as keygen:
        pairs = keygen.map(_new_key, range(count))
    senders = []
    for i, (private, public) in enumerate(pairs):
        name = f"sender{i}"
        doc = actor_document(origin, name, public)
        senders.append(Sender(doc["id"], doc["publicKey"]["id"], private, doc))
    return senders


@dataclass(frozen=True)
class Plan:
    """What every delivery of the run shares: who sends, where, and the numbering.

    Delivery ``n`` comes from sender ``n % len(senders)``; its status number is ``base + n``,
    so activity ids are unique over the whole run and ``n`` can be read back from a stored id.
    """

    senders: tuple[Sender, ...]
    node_origin: str
    base: int

    def status_url(self, n: int) -> str:
        """The Note's id (Mastodon: ``/users/<name>/statuses/<snowflake>``)."""
        sender = self.senders[n % len(self.senders)]
        return f"{sender.actor_id}/statuses/{self.base + n}"

    def activity_id(self, n: int) -> str:
        """The Create's id (Mastodon: the status URL plus ``/activity``)."""
        return f"{self.status_url(n)}/activity"

    def number(self, activity_id: str) -> int | None:
        """``n`` of an activity id made by :meth:`activity_id`, None for another id."""
        match = re.search(r"/statuses/(\d+)/activity$", activity_id)
        return int(match[1]) - self.base if match else None


_LOREM = "Lending a ladder (3 m) and a drill this weekend; ask before Saturday noon."


def delivery_body(plan: Plan, n: int, published: str) -> bytes:
    """``Create`` of a public ``Note`` as Mastodon sends it (compact JSON, ~1.4 KB; the
    ``replies`` collection Mastodon adds is left out to stay near the usual size)."""
    sender = plan.senders[n % len(plan.senders)]
    actor = sender.actor_id
    status = plan.status_url(n)
    origin = actor.rsplit("/users/", 1)[0]
    number = plan.base + n
    content = f"<p>{_LOREM} #{n}</p>"
    audience: dict[str, Any] = {"to": [PUBLIC], "cc": [f"{actor}/followers"]}
    activity = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {
                "ostatus": "http://ostatus.org#",
                "atomUri": "ostatus:atomUri",
                "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
                "conversation": "ostatus:conversation",
                "sensitive": "as:sensitive",
                "toot": "http://joinmastodon.org/ns#",
                "votersCount": "toot:votersCount",
            },
        ],
        "id": f"{status}/activity",
        "type": "Create",
        "actor": actor,
        "published": published,
        **audience,
        "object": {
            "id": status,
            "type": "Note",
            "summary": None,
            "inReplyTo": None,
            "published": published,
            "url": f"{origin}/@{actor.rsplit('/', 1)[1]}/{number}",
            "attributedTo": actor,
            **audience,
            "sensitive": False,
            "atomUri": status,
            "inReplyToAtomUri": None,
            "conversation": f"tag:127.0.0.1,2026-11-26:objectId={number}:objectType=Conversation",
            "content": content,
            "contentMap": {"en": content},
            "attachment": [],
            "tag": [],
        },
    }
    return json.dumps(activity, separators=(",", ":")).encode("utf-8")


# Per worker process of the pool: the plan and the loaded private keys.
_WORKER: dict[str, Any] = {}


def _init_worker(plan: Plan | None, code_path: str | None) -> None:
    """Pool initializer: default signals (the parent handles Ctrl-C and SIGTERM), the measured
    code first on the path, the senders' keys loaded once."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if code_path is not None:
        sys.path.insert(0, code_path)
    elif str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    if plan is not None:
        from cryptography.hazmat.primitives import serialization

        _WORKER["plan"] = plan
        _WORKER["keys"] = [
            serialization.load_pem_private_key(s.private_pem.encode("ascii"), password=None)
            for s in plan.senders
        ]


def _build(span: tuple[int, int]) -> list[bytes]:
    """Raw requests for deliveries ``span[0] .. span[1] - 1`` (in a pool worker)."""
    from activitypub.signatures import sign_request

    plan: Plan = _WORKER["plan"]
    keys = _WORKER["keys"]
    now = datetime.now(UTC)
    published = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    url = f"{plan.node_origin}/inbox"
    out = []
    for n in range(*span):
        body = delivery_body(plan, n, published)
        sender_index = n % len(plan.senders)
        headers = sign_request(
            "POST", url, body, plan.senders[sender_index].key_id, keys[sender_index], now
        )
        lines = [
            "POST /inbox HTTP/1.1",
            f"Host: {headers['Host']}",
            f"User-Agent: {USER_AGENT}",
            f"Date: {headers['Date']}",
            f"Digest: {headers['Digest']}",
            f"Signature: {headers['Signature']}",
            f"Content-Type: {ACTIVITY_JSON}",
            f"Content-Length: {len(body)}",
            "Accept-Encoding: gzip",
        ]
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)
    return out


@dataclass
class RequestPool:
    """Deliveries ``first .. first + len(raw) - 1``, split into one file per wrk thread."""

    first: int
    raw: list[bytes]
    prefix: Path
    slices: list[tuple[int, int]]  # per thread: (offset into raw, count)
    build_s: float

    def body(self, n: int) -> bytes:
        """The body sent for delivery ``n``."""
        return self.raw[n - self.first].split(b"\r\n\r\n", 1)[1]

    def remove(self) -> None:
        """Delete the files (they can be large)."""
        for thread in range(len(self.slices)):
            Path(f"{self.prefix}.{thread}.bin").unlink(missing_ok=True)


def build_pool(
    pool: Pool, first: int, count: int, threads: int, prefix: Path, chunk: int = 500
) -> RequestPool:
    """Sign ``count`` fresh deliveries on every core and write the wrk slices."""
    started = time.perf_counter()
    spans = [(a, min(a + chunk, first + count)) for a in range(first, first + count, chunk)]
    raw = [r for part in pool.map(_build, spans) for r in part]
    build_s = time.perf_counter() - started
    slices = []
    per_thread = -(-count // threads)
    for thread in range(threads):
        offset = thread * per_thread
        size = max(0, min(per_thread, count - offset))
        with open(f"{prefix}.{thread}.bin", "wb") as out:
            for request in raw[offset : offset + size]:
                out.write(b"%d\n" % len(request))
                out.write(request)
        slices.append((offset, size))
    return RequestPool(first, raw, prefix, slices, build_s)


class PoolExhausted(BenchError):
    """A node round used up its requests before the end: the figure would be wrong."""


class Signers:
    """A pool of signing processes on every core, and the numbering of the deliveries it
    signs: each call to :meth:`fresh` signs deliveries never signed before in the run."""

    def __init__(self, pool: Pool, threads: int, workdir: Path) -> None:
        self._pool = pool
        self._threads = threads
        self._workdir = workdir
        self._next = 0

    def fresh(self, count: int, name: str) -> RequestPool:
        """``count`` new signed deliveries, written as ``<workdir>/<name>.<thread>.bin``."""
        pool = build_pool(self._pool, self._next, count, self._threads, self._workdir / name)
        self._next += count
        say(f"{name}: {count:,} signed deliveries in {pool.build_s:.1f} s")
        return pool

    @contextmanager
    def pool(self, count: int, name: str) -> Iterator[RequestPool]:
        """:meth:`fresh`, its files removed after the block."""
        requests = self.fresh(count, name)
        try:
            yield requests
        finally:
            requests.remove()

    def until_enough(
        self, count: int, name: str, run: Callable[[RequestPool], T], after: Callable[[], object]
    ) -> tuple[T, bytes]:
        """``run`` on a fresh pool of ``count``; when a pool runs out (:class:`PoolExhausted`),
        ``after()``, then again with twice as many. Returns what ``run`` returned and the first
        raw request of the pool (an example for the results)."""
        while True:
            with self.pool(count, name) as requests:
                try:
                    return run(requests), requests.raw[0]
                except PoolExhausted:
                    pass
            after()
            count *= 2
            say(f"{name} pool ran out; again with {count:,}")


@contextmanager
def signing_pool(
    plan: Plan, code_path: str | None, threads: int, workdir: Path
) -> Iterator[Signers]:
    """Processes on every core (forked) with the measured code first on their path and the
    plan's senders' keys loaded; closed on exit."""
    context = multiprocessing.get_context("fork")
    with context.Pool(os.cpu_count() or 1, _init_worker, (plan, code_path)) as pool:
        yield Signers(pool, threads, workdir)
