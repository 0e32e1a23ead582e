"""The federation benchmark's fan-out scenarios, on ``delivery_rounds.Bench`` (the worker wired
as the node's: RFC 9421 Ed25519 where the host takes it, draft-cavage elsewhere): to
draft-cavage inboxes against the RSA signing rate (with a cold start, a breakdown and a cProfile
round), and to Quartier inboxes (RFC 9421) against unsigned POSTs of the same activity.

Used by ``federation_bench.py``; see docs/performance.md, "Federation".
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
from typing import Any

from bench_support import Timed, patched, say, signatures_per_second
from cryptography.hazmat.primitives.asymmetric import rsa
from delivery_rounds import Bench, Drain, signing_string
from profiles import profile_breakdown

import node.actors.service as actor_service
from activitypub.keys import load_private_key
from federation.outbound import DeliveryPolicy


async def cavage_rounds(
    bench: Bench, rsa_pem: str, args: argparse.Namespace, fast: DeliveryPolicy
) -> tuple[dict[str, Any], dict[str, Any]]:
    """RSA-2048 signatures/s before and after; a cold-start fan-out (empty key cache, no
    connections), a warm-up, ``args.rounds`` interleaved rounds with ``fast`` and with the
    node's default ``per_host``; then a round with signing timed and one under cProfile
    (neither counts). Returns the results' ``signing`` and ``fanout`` sections."""
    key = load_private_key(rsa_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    data = signing_string(bench.sink.port)

    sign_before = signatures_per_second(key, data, args.sign_seconds)
    say(f"RSA-2048 signing: {sign_before['per_s']:,.0f} signatures/s")

    default_host = DeliveryPolicy().per_host
    slow = DeliveryPolicy(
        batch_size=args.batch_size, per_host=default_host, concurrency=args.concurrency
    )
    # Cold start: the first fan-out after the node starts (empty key cache, no connections).
    key_loads = Timed()
    with patched(actor_service, "load_private_key", key_loads.sync(load_private_key)):
        cold = await bench.fanout("cold start", args.fanout, fast)
    say(
        f"cold-start fan-out: {cold.rate:,.0f} deliveries/s; {key_loads.calls} private key "
        f"loads ({key_loads.seconds:.2f} s)"
    )
    warm = await bench.fanout("warm-up", args.fanout, fast)
    signature = await bench.check_signature("draft-cavage")
    say(
        f"warm-up fan-out: {warm.rate:,.0f} deliveries/s; sample signature verified: "
        f"{signature['scheme']}, {signature['key_id']}; NodeInfo fetched "
        f"{cold.nodeinfo_gets + warm.nodeinfo_gets} times, {cold.refused + warm.refused} knocks "
        "refused"
    )
    rounds: list[Drain] = []
    for round_ in range(args.rounds):
        for policy in (fast, slow):
            drain = await bench.fanout(f"per_host={policy.per_host}", args.fanout, policy)
            rounds.append(drain)
            say(
                f"round {round_ + 1}/{args.rounds} per_host={policy.per_host}: "
                f"{drain.rate:,.0f} deliveries/s"
            )
    sign_after = signatures_per_second(key, data, args.sign_seconds)
    say(f"RSA-2048 signing again: {sign_after['per_s']:,.0f} signatures/s")
    sign_rate = max(sign_before["per_s"], sign_after["per_s"])
    fast_rate = statistics.median(d.rate for d in rounds if d.per_host == fast.per_host)
    slow_rate = statistics.median(d.rate for d in rounds if d.per_host == slow.per_host)
    ratio = fast_rate / sign_rate

    # Where the time goes: signing timed exactly (not in the figures above), then cProfile.
    timed = await bench.fanout("breakdown", args.fanout, fast, time_signing=True)
    say(
        f"breakdown round: {timed.rate:,.0f} deliveries/s, signing {timed.sign_s or 0:.3f} s "
        f"({timed.signatures})"
    )
    profiled = None
    if not args.no_profile:
        profile = cProfile.Profile()
        drain = await bench.fanout("cProfile", args.fanout, fast, profile=profile)
        profiled = profile_breakdown(profile, drain.deliveries)
        profiled["deliveries_per_s_under_profiler"] = drain.rate
        say(f"profiled round: {drain.rate:,.0f} deliveries/s under cProfile")
    signing = {
        "key": "RSA-2048 (the Application actor's, from SigningKeys)",
        "scheme": "PKCS#1 v1.5, SHA-256, cryptography, one thread",
        "message_bytes": len(data),
        "before": sign_before,
        "after": sign_after,
        "per_s": sign_rate,
    }
    counted = [cold, warm, *rounds]
    fanout = {
        "verified_sample_key_id": signature["key_id"],
        "sample_signature": signature,
        "nodeinfo_gets": sum(d.nodeinfo_gets for d in counted),
        "refused_knocks": sum(d.refused for d in counted),
        "cold_start": {
            **cold.as_dict(),
            "private_key_loads": key_loads.calls,
            "private_key_load_s": key_loads.seconds,
        },
        "warmup": warm.as_dict(),
        "rounds": [d.as_dict() for d in rounds],
        "per_host_fast": fast.per_host,
        "deliveries_per_s": fast_rate,
        "deliveries_per_s_default_per_host": slow_rate,
        "ratio": ratio,
        "ratio_default_per_host": slow_rate / sign_rate,
        "breakdown_round": timed.as_dict(),
        "profile": profiled,
    }
    return signing, fanout


async def quartier_rounds(bench: Bench, args: Any, policy: DeliveryPolicy) -> dict[str, Any]:
    """Fan-out to a sink that is a Quartier node, interleaved with unsigned POSTs of the same
    activity to it by the same transport; after one warm-up of each (where the worker may
    learn what the host takes); then one round with signing timed (not counted)."""
    unsigned_warm = await bench.unsigned("unsigned warm-up", args.fanout, policy)
    signed_warm = await bench.fanout("signed warm-up", args.fanout, policy)
    signature = await bench.check_signature("RFC 9421")
    say(
        f"Quartier inboxes, warm-up: signed {signed_warm.rate:,.0f}, unsigned "
        f"{unsigned_warm.rate:,.0f} deliveries/s; sample verified: {signature['scheme']}, "
        f"{signature['key_id']}"
    )
    rounds: list[Drain] = []
    for r in range(args.rounds):
        unsigned = await bench.unsigned("unsigned", args.fanout, policy)
        signed = await bench.fanout("signed", args.fanout, policy)
        rounds += [unsigned, signed]
        say(
            f"Quartier round {r + 1}/{args.rounds}: signed {signed.rate:,.0f}, unsigned "
            f"{unsigned.rate:,.0f} deliveries/s"
        )
    signed_rate = statistics.median(d.rate for d in rounds if d.label == "signed")
    unsigned_rate = statistics.median(d.rate for d in rounds if d.label == "unsigned")
    timed = await bench.fanout("breakdown", args.fanout, policy, time_signing=True)
    say(
        f"Quartier breakdown round: {timed.rate:,.0f} deliveries/s, signing "
        f"{timed.sign_s or 0:.3f} s ({timed.signatures})"
    )
    signed_drains = [signed_warm, *(d for d in rounds if d.label == "signed")]
    return {
        "sample_signature": signature,
        "warmup": {"unsigned": unsigned_warm.as_dict(), "signed": signed_warm.as_dict()},
        "rounds": [d.as_dict() for d in rounds],
        "signed_per_s": signed_rate,
        "unsigned_per_s": unsigned_rate,
        "ratio": signed_rate / unsigned_rate,
        "nodeinfo_gets": sum(d.nodeinfo_gets for d in signed_drains),
        "refused_knocks": sum(d.refused for d in signed_drains),
        "breakdown_round": timed.as_dict(),
    }


def breakdown_line(t: dict[str, Any], label: str = "") -> str:
    """The report's line for a breakdown round (a :class:`Drain` with ``sign_s``)."""
    cpu, per = t["cpu"], 1000 / t["deliveries"]
    return (
        f"  {label}breakdown round ({t['deliveries_per_s']:,.0f} deliveries/s, per delivery): "
        f"wall {t['seconds'] * per:.2f} ms; worker process CPU {cpu['process_cpu_s'] * per:.2f} ms "
        f"(event-loop thread {cpu['main_thread_cpu_s'] * per:.2f} ms, other threads "
        f"{(cpu['process_cpu_s'] - cpu['main_thread_cpu_s']) * per:.2f} ms); "
        f"signing {(t['sign_s'] or 0) * per:.2f} ms {t['signatures']}; "
        f"claim {t['claim_s'] * per:.2f} ms; "
        f"sink CPU {cpu['sink_cpu_s'] * per:.2f} ms"
    )
