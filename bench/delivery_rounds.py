"""Fan-out rounds of the node's own delivery code (``publish``, ``DeliveryWorker``, the outbound
``Transport``, ``SigningKeys``, the per-host ``SchemeMemory``) against sink servers
(``bench_support.SinkServer``), in this process on a migrated database: timed drains, their
CPU, the checks that every row was delivered and that the sink got real, valid signatures; and
the same sink fed unsigned POSTs by the same ``Transport``, the baseline of a fan-out that
costs nothing but HTTP.

Used by ``federation_bench.py``; see docs/performance.md, "Federation".
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bench_support import (
    ACTIVITY_JSON,
    HOST,
    BenchError,
    CpuMeter,
    CpuWindow,
    SinkServer,
    Timed,
    patched,
    verify_rfc9421,
)
from tortoise.transactions import in_transaction

import federation.outbound as outbound
from activitypub.keys import load_private_key
from activitypub.signatures import parse_signature, verify_signature
from activitypub.uris import UriScheme
from federation.models import Delivery, DeliveryState
from federation.outbound import DeliveryPolicy, DeliveryWorker, publish
from federation.signing import SchemeMemory
from federation.transport import Transport
from node.actors.service import SigningKeys, ensure_instance_actor

BASE_URL = "https://bench.example"


def signing_string(sink_port: int) -> bytes:
    """A draft-cavage signing string of the size the worker signs (the covered headers of a POST
    to ``/inbox/999`` on the sink)."""
    return (
        "(request-target): post /inbox/999\n"
        f"host: {HOST}:{sink_port}\n"
        "date: Thu, 26 Nov 2026 21:00:00 GMT\n"
        "digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    ).encode("ascii")


def activity(n: str) -> dict[str, Any]:
    """A Create of a short Note, shaped like what a member publishes."""
    actor = UriScheme(BASE_URL).instance_actor
    object_id = f"{BASE_URL}/objects/{n}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BASE_URL}/activities/{n}",
        "type": "Create",
        "actor": actor,
        "published": "2026-11-26T21:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{actor}/followers"],
        "object": {
            "id": object_id,
            "type": "Note",
            "attributedTo": actor,
            "content": (
                "<p>Lending a ladder (3 m) and a drill this weekend; ask before Saturday noon. "
                "Also giving away a box of tomato seedlings, first come first served.</p>"
            ),
            "published": "2026-11-26T21:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{actor}/followers"],
        },
    }


def utc_now() -> datetime:
    """The worker's clock: real time (the node uses the same)."""
    return datetime.now(UTC)


@dataclass
class Drain:
    """One run of the worker until nothing was due."""

    label: str
    per_host: int
    deliveries: int
    seconds: float
    batches: int
    cpu: CpuWindow
    publish_s: float | None = None
    sign_s: float | None = None  # time inside the signing functions, when timed
    signatures: dict[str, int] | None = None  # per scheme, when timed
    nodeinfo_gets: int = 0  # NodeInfo requests the sink answered during the round
    refused: int = 0  # POSTs the sink refused (401): RFC 9421 knocks followed by draft-cavage
    claim_s: float | None = None  # time inside the claim (SELECT + lease UPDATE)

    @property
    def rate(self) -> float:
        """Deliveries per second."""
        return self.deliveries / self.seconds

    def as_dict(self) -> dict[str, Any]:
        """For the JSON results."""
        return {**asdict(self), "deliveries_per_s": self.rate}


SIGNERS = {"draft-cavage": "sign_request", "RFC 9421": "sign_request_rfc9421"}


@contextlib.contextmanager
def timed_signing() -> Iterator[dict[str, Timed]]:
    """Time every signature the worker makes, per scheme (``sign_request`` for draft-cavage,
    ``sign_request_rfc9421`` for RFC 9421)."""
    timers = {scheme: Timed() for scheme in SIGNERS}
    with contextlib.ExitStack() as stack:
        for scheme, name in SIGNERS.items():
            stack.enter_context(
                patched(outbound, name, timers[scheme].sync(getattr(outbound, name)))
            )
        yield timers


class Bench:
    """The database, transport, keys, scheme memory and sink one run shares."""

    def __init__(
        self, sink: SinkServer, transport: Transport, keys: SigningKeys, signer: str
    ) -> None:
        self.sink = sink
        self.transport = transport
        self.keys = keys
        self.signer = signer
        # One for the run, as the node keeps one: what a host takes is learnt once.
        self.schemes = SchemeMemory(transport, utc_now)
        self._activities = 0

    def worker(self, policy: DeliveryPolicy) -> DeliveryWorker:
        """A delivery worker wired like the node's (``node/app.py``), with ``policy``: RFC 9421
        Ed25519 to hosts that take it, draft-cavage RSA to the others."""
        return DeliveryWorker(
            self.transport,
            self.keys,
            utc_now,
            policy=policy,
            schemes=self.schemes,
            ed25519_keys=self.keys.ed25519,
        )

    async def fanout(
        self,
        label: str,
        inboxes: int,
        policy: DeliveryPolicy,
        *,
        time_signing: bool = False,
        profile: cProfile.Profile | None = None,
    ) -> Drain:
        """``publish()`` one activity to ``inboxes`` sink inboxes, then deliver them all."""
        self.sink.reset()
        self._activities += 1
        doc = activity(f"fanout-{self._activities}")
        started = time.perf_counter()
        async with in_transaction():  # as the node does: in the transaction of the change
            queued = await publish(
                doc, (self.sink.inbox(n) for n in range(inboxes)), self.signer, utc_now()
            )
        publish_s = time.perf_counter() - started
        if queued != inboxes:
            raise BenchError(f"publish() queued {queued} deliveries, not {inboxes}")
        with timed_signing() if time_signing else contextlib.nullcontext() as signing:
            drain = await self.drain(label, policy, inboxes, profile=profile)
        drain.publish_s = publish_s
        if signing is not None:
            drain.sign_s = sum(t.seconds for t in signing.values())
            drain.signatures = {scheme: t.calls for scheme, t in signing.items()}
        stats = await self.check_delivered(doc["id"], inboxes)
        drain.nodeinfo_gets, drain.refused = stats["nodeinfo_gets"], stats["refused"]
        await Delivery.all().delete()  # the next round starts from an empty table
        return drain

    async def drain(
        self,
        label: str,
        policy: DeliveryPolicy,
        expected: int,
        *,
        profile: cProfile.Profile | None = None,
        on_batch: Callable[[int, int], None] | None = None,
        claim: Timed | None = None,
    ) -> Drain:
        """``run_once()`` until it finds nothing due; timed to the end of the last batch."""
        worker = self.worker(policy)
        claim = claim or Timed()
        worker._claim = claim.coro(worker._claim)  # type: ignore[method-assign,assignment]
        done = batches = 0
        meter = CpuMeter(self.sink.cpu_seconds)
        started = last = time.perf_counter()
        if profile is not None:
            profile.enable()
        try:
            while True:
                attempted = await worker.run_once()
                if not attempted:
                    break
                last = time.perf_counter()
                done += attempted
                batches += 1
                if on_batch is not None:
                    on_batch(batches, done)
            await worker.settle()
        finally:
            if profile is not None:
                profile.disable()
        cpu = meter.stop()
        if done != expected:
            raise BenchError(f"{label}: the worker attempted {done} deliveries, not {expected}")
        return Drain(
            label=label,
            per_host=policy.per_host,
            deliveries=done,
            seconds=last - started,
            batches=batches,
            cpu=cpu,
            claim_s=claim.seconds,
        )

    async def check_delivered(self, activity_id: str | None, expected: int) -> dict[str, Any]:
        """Every row delivered, and the sink saw exactly that many distinct inboxes; returns
        the sink's counts."""
        query = Delivery.filter(state=DeliveryState.DELIVERED)
        if activity_id is not None:
            query = query.filter(activity_id=activity_id)
        delivered = await query.count()
        if delivered != expected:
            failed = await Delivery.exclude(state=DeliveryState.DELIVERED).first()
            detail = f" (e.g. {failed.state}: {failed.last_error})" if failed else ""
            raise BenchError(f"{delivered} of {expected} deliveries delivered{detail}")
        stats = self.sink.stats()
        if stats["posts"] != expected or stats["distinct"] != expected:
            raise BenchError(
                f"the sink counted {stats['posts']} POSTs to {stats['distinct']} distinct "
                f"inboxes, not {expected}"
            )
        return stats

    async def check_signature(self, expected: str) -> dict[str, str]:
        """Verify the sink's sample request, signed with the ``expected`` scheme (a key of
        ``SIGNERS``): the figures are for real, valid signatures of that scheme. draft-cavage
        with the project's verifier and the signer's RSA key; RFC 9421 with an independent
        implementation (http-message-signatures, a test extra) and the signer's Ed25519 key."""
        checked = await self._verify_sample()
        if checked["scheme"] != expected:
            raise BenchError(f"the sample was signed {checked['scheme']}, not {expected}")
        return checked

    async def _verify_sample(self) -> dict[str, str]:
        sample = self.sink.stats()["sample"]
        if sample is None:
            raise BenchError("the sink kept no sample request")
        url = f"http://{HOST}:{self.sink.port}{sample['path']}"
        headers = [(str(k), str(v)) for k, v in sample["headers"]]
        body = sample["body"].encode("utf-8")
        if any(k.lower() == "signature-input" for k, _ in headers):
            instance = await ensure_instance_actor()
            key = load_private_key(instance.ed25519_private_pem)
            key_id = verify_rfc9421(url, headers, body, key.public_key())
            return {
                "scheme": "RFC 9421",
                "key_id": key_id,
                "verified_with": "http-message-signatures",
            }
        key_id, rsa_key = await self.keys(self.signer)
        to_verify = parse_signature("POST", url, headers, body, utc_now())
        verify_signature(to_verify, rsa_key.public_key())
        if to_verify.key_id != key_id:
            raise BenchError(f"the sample was signed with {to_verify.key_id}, not {key_id}")
        return {"scheme": "draft-cavage", "key_id": key_id, "verified_with": "activitypub"}

    async def unsigned(self, label: str, inboxes: int, policy: DeliveryPolicy) -> Drain:
        """The baseline: the same activity POSTed to ``inboxes`` sink inboxes by the same
        ``Transport``, unsigned (no Date, Digest or Signature), no database, with the
        policy's limits (``concurrency`` overall, ``per_host`` per host)."""
        self.sink.reset()
        self._activities += 1
        body = json.dumps(activity(f"unsigned-{self._activities}"), separators=(",", ":"))
        data, headers = body.encode("utf-8"), {"Content-Type": ACTIVITY_JSON}
        overall = asyncio.Semaphore(policy.concurrency)
        hosts: dict[int, asyncio.Semaphore] = {}
        failed: list[str] = []

        async def one(n: int) -> None:
            host = hosts.setdefault(n % self.sink.count, asyncio.Semaphore(policy.per_host))
            async with overall, host:
                response = await self.transport.request(
                    "POST", self.sink.inbox(n), headers=headers, body=data
                )
                if not 200 <= response.status < 300:
                    failed.append(f"{self.sink.inbox(n)}: {response.status}")

        meter = CpuMeter(self.sink.cpu_seconds)
        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(inboxes)))
        seconds = time.perf_counter() - started
        cpu = meter.stop()
        if failed:
            raise BenchError(f"{label}: {len(failed)} unsigned POSTs failed, e.g. {failed[0]}")
        stats = self.sink.stats()
        if stats["posts"] != inboxes or stats["distinct"] != inboxes:
            raise BenchError(f"{label}: the sink counted {stats['posts']} POSTs, not {inboxes}")
        return Drain(label, policy.per_host, inboxes, seconds, 1, cpu)
