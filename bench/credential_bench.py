"""Credential benchmark: verifying a residency credential against a bare Ed25519 verification.

    .venv/bin/python bench/credential_bench.py [--seconds S] [--rounds N]   (or: make bench)

In one run, in one process, on one thread:

* raw: ``Ed25519PublicKey.verify`` of a 64-byte message (``cryptography``) in a tight loop for
  ``--seconds`` (2 s): the price of the signature alone, the eddsa-jcs-2022 hash data being 64
  bytes (two SHA-256 digests);
* full: ``activitypub.attestations.verify_credential`` of a realistic signed
  ``ResidencyCredential`` (built with the node's own builders, signed with a generated key,
  then through ``json.dumps``/``json.loads`` as a remote node receives it): the size and depth
  limits, the structural checks, RFC 8785 canonical JSON of the document and of the proof
  options, two SHA-256, the Ed25519 verification, the validity window and the subject;
* rounds: raw, full, raw, full, ... (``--rounds``, 5, each); the ratio is median(full) /
  median(raw), goal >= 0.5 (a node reading credentials pays at most twice the signature);
* where the time goes: each step of the full verification timed alone (best of 5 ``timeit``
  runs), and, for information, the full verification with ``canonical_json`` forced through the
  ``jcs`` package (pure Python), as it was before its fast path (patched in this process only).

Results are printed and written to ``bench/results/credential.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import timeit
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any

import jcs
from bench_support import (
    BENCH_DIR,
    base_machine_info,
    calls_per_second,
    code_info,
    describe_code,
    load_average,
    openssl_version,
    patched,
    run_and_report,
    say,
    table,
)
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub import proofs
from activitypub.attestations import (
    RESIDENCY_CREDENTIAL,
    StatusEntry,
    read_credential,
    residency_credential,
    sign_credential,
    verify_credential,
)

RESULTS_PATH = BENCH_DIR / "results" / "credential.json"
GOAL_RATIO = 0.5
ISSUER = "https://croix-rousse.example/actor"
MEMBER = "https://croix-rousse.example/users/marie-dupont"
ISSUED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
NOW = ISSUED + timedelta(days=100)


def credential(key: ed25519.Ed25519PrivateKey) -> dict[str, Any]:
    """A signed residency credential as a remote node receives it (parsed JSON)."""
    unsigned = residency_credential(
        credential_id="https://croix-rousse.example/credentials/residency/5b8e0c2f-7d4a",
        issuer=ISSUER,
        subject=MEMBER,
        community_name="Croix-Rousse, pentes et plateau",
        community_area="Lyon 1er et 4e arrondissements",
        method="vouching",
        valid_from=ISSUED,
        valid_until=ISSUED + timedelta(days=365),
        status=StatusEntry("https://croix-rousse.example/credentials/status/1", 94567),
    )
    signed = sign_credential(unsigned, key, f"{ISSUER}#ed25519-key", ISSUED)
    parsed: dict[str, Any] = json.loads(json.dumps(signed))
    return parsed


def microseconds(call: Callable[[], object], number: int = 2000) -> float:
    """Best of 5 ``timeit`` runs, per call, in microseconds."""
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def jcs_only(value: Any) -> bytes:
    """``canonical_json`` as it was before the fast path: the checks, then jcs."""
    proofs._check_json_value(value)
    result: bytes = jcs.canonicalize(value)
    return result


def measure(args: argparse.Namespace) -> dict[str, Any]:
    key = ed25519.Ed25519PrivateKey.generate()
    public_key = key.public_key()
    document = credential(key)
    message = bytes(range(64))
    signature = key.sign(message)

    def raw() -> None:
        public_key.verify(signature, message)

    def full() -> None:
        verify_credential(
            document,
            public_key,
            now=NOW,
            expected_type=RESIDENCY_CREDENTIAL,
            expected_subject=MEMBER,
        )

    full()  # it must verify: a benchmark of a refusal would measure something else
    load_before = load_average()
    rounds: list[dict[str, Any]] = []
    for n in range(args.rounds):
        say(f"round {n + 1}/{args.rounds}: raw Ed25519, then verify_credential")
        rounds.append(
            {
                "raw": calls_per_second(raw, args.seconds),
                "full": calls_per_second(full, args.seconds),
            }
        )
    raw_rate = statistics.median(r["raw"]["per_s"] for r in rounds)
    full_rate = statistics.median(r["full"]["per_s"] for r in rounds)

    say("where the time goes")
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in document["proof"].items() if k != "proofValue"}
    canonical = proofs.canonical_json(unsecured)
    parts = {
        "ed25519_verify_64_bytes": microseconds(raw),
        "verify_credential": microseconds(full),
        "read_credential (limits, structure, key named)": microseconds(
            lambda: read_credential(document, expected_type=RESIDENCY_CREDENTIAL)
        ),
        "verify_proof (canonical JSON, hashes, Ed25519)": microseconds(
            lambda: proofs.verify_proof(document, public_key)
        ),
        "canonical_json(document)": microseconds(lambda: proofs.canonical_json(unsecured)),
        "canonical_json(proof options)": microseconds(lambda: proofs.canonical_json(config)),
        "jcs.canonicalize(document), for comparison": microseconds(
            lambda: jcs.canonicalize(unsecured)
        ),
        "sha256(document)": microseconds(lambda: hashlib.sha256(canonical).digest()),
    }
    with patched(proofs, "canonical_json", jcs_only):
        jcs_rate = calls_per_second(full, args.seconds)["per_s"]
    ratio = full_rate / raw_rate
    return {
        "machine": {
            **base_machine_info(),
            "cryptography": metadata.version("cryptography"),
            "openssl": openssl_version(),
            "jcs": metadata.version("jcs"),
        },
        "code": code_info(),
        "command": " ".join([".venv/bin/python bench/credential_bench.py", *sys.argv[1:]]),
        "load_average_1min": {"before": load_before, "after": load_average()},
        "credential": {
            "bytes": len(json.dumps(document, separators=(",", ":"))),
            "canonical_document_bytes": len(canonical),
        },
        "rounds": rounds,
        "raw_per_s": raw_rate,
        "full_per_s": full_rate,
        "ratio": ratio,
        "goal": {"ratio": f">= {GOAL_RATIO}", "pass": ratio >= GOAL_RATIO},
        "parts_us": parts,
        "full_per_s_with_jcs_only": jcs_rate,
    }


def summary(results: dict[str, Any]) -> str:
    m, load = results["machine"], results["load_average_1min"]
    verdict = "PASS" if results["goal"]["pass"] else "MISS"
    rows = [
        ("metric", "measured", "goal", "result"),
        ("raw Ed25519 verify, 64 B", f"{results['raw_per_s']:,.0f} /s", "-", "-"),
        ("verify_credential", f"{results['full_per_s']:,.0f} /s", "-", "-"),
        ("ratio full / raw", f"{results['ratio']:.2f}", f">= {GOAL_RATIO}", verdict),
        (
            "verify_credential, canonical JSON by jcs only (info)",
            f"{results['full_per_s_with_jcs_only']:,.0f} /s = "
            f"{results['full_per_s_with_jcs_only'] / results['raw_per_s']:.2f}",
            "-",
            "info",
        ),
    ]
    lines = [
        "",
        "Quartier credential benchmark",
        f"  machine : {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux "
        f"{m['kernel']}; one thread",
        f"  load avg: {load['before']:.2f} before, {load['after']:.2f} after (1 min)",
        f"  software: Python {m['python']}, cryptography {m['cryptography']} ({m['openssl']}), "
        f"jcs {m['jcs']}",
        f"  code    : {describe_code(results['code'])}",
        f"  command : {results['command']}",
        f"  credential: {results['credential']['bytes']:,} bytes as compact JSON, "
        f"{results['credential']['canonical_document_bytes']:,} canonical without its proof",
        "",
        *table(rows),
        "",
        "rounds (raw / full, per s): "
        + ", ".join(
            f"{r['raw']['per_s']:,.0f} / {r['full']['per_s']:,.0f}" for r in results["rounds"]
        ),
        "where the time goes (us per call, best of 5):",
        *(f"  {name:50s} {us:7.1f}" for name, us in results["parts_us"].items()),
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each timed loop")
    parser.add_argument("--rounds", type=int, default=5, help="raw/full pairs, interleaved")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(run_and_report("credential_bench", lambda: measure(arguments), RESULTS_PATH, summary))
