"""Where a benchmarked process spends its time: py-spy samples of a server (``inbox_bench.py
--py-spy``) and cProfile of the benchmark's own event loop (``federation_bench.py``), grouped
by thread, task, package and line, and the report lines for them.
"""

from __future__ import annotations

import cProfile
import linecache
import pstats
import re
import signal
import subprocess
import sysconfig
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bench_support import BenchError, Processes, clean_env, log_tail

T = TypeVar("T")

# --------------------------------------------------------------------------------------------
# py-spy: a node (``quartier serve``) sampled from outside

# From the leaf up, the first frame whose file matches names the sample's category.
_CATEGORIES = (
    ("cryptography (RSA verify, key loading)", ("cryptography/",)),
    ("signatures: parse, digest, RSA verify (activitypub/signatures)", ("activitypub/",)),
    ("JSON (stdlib json)", ("json/",)),
    ("SQL text (pypika)", ("pypika",)),
    ("tortoise ORM (loop side)", ("tortoise/",)),
    ("aiosqlite (loop side: queue, futures)", ("aiosqlite/",)),
    ("aiohttp server (parse, write, handler plumbing)", ("aiohttp/", "multidict/", "yarl/")),
    ("federation (inbox accept, worker, dispatch)", ("federation/",)),
    ("moderation (policy)", ("moderation/",)),
    ("node (middlewares, handler, services)", ("node/",)),
    ("asyncio event loop, selectors, logging", ("asyncio/", "selectors.py", "logging/")),
)


def _frame_file(frame: str) -> str:
    match = re.search(r"\(([^()]*?)(?::\d+)?\)$", frame)
    return match[1] if match else frame


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        path = _frame_file(frame)
        for name, markers in _CATEGORIES:
            if any(marker in path for marker in markers):
                return name
    return "other"


# Which task an event-loop sample belongs to: the first of these found in its stack.
_TASKS = (
    ("inbound worker (processing stored rows)", ("federation/worker.py",)),
    ("group-commit writer (federation/ingest.py)", ("federation/ingest.py",)),
    (
        "inbox request (handler: parse, verify, policy, store)",
        ("node/http/inbox.py", "federation/inbound.py"),
    ),
    ("node middlewares", ("node/http/middleware.py",)),
    ("delivery worker, retention", ("federation/outbound.py", "federation/retention.py")),
)


def _task(frames: list[str]) -> str:
    for name, markers in _TASKS:
        if any(marker in frame for frame in frames for marker in markers):
            return name
    return "server and event loop (aiohttp, asyncio: outside the handler)"


_WAITING = re.compile(r"\.(get|select|poll|wait|acquire)\(")


def _source_line(frame: str, roots: Sequence[str]) -> str:
    """The source line a py-spy frame (``func (path:line)``) points at, or ''."""
    match = re.search(r"\(([^()]*?):(\d+)\)$", frame)
    if not match:
        return ""
    path, number = match[1], int(match[2])
    for root in ("", *roots):
        candidate = Path(root) / path if root else Path(path)
        if candidate.is_file():
            return linecache.getline(str(candidate), number)
    return ""


def pyspy_breakdown(raw: str, requests: int, rate: int, roots: Sequence[str]) -> dict[str, Any]:
    """Samples of ``py-spy record --format raw --threads`` grouped by thread, by category on
    the event-loop thread, and by leaf line.

    py-spy drops samples it sees idle, but counts some blocking waits as active (epoll, a
    queue's ``get``); a sample whose leaf line waits (``.get(``, ``.select(``, ``.poll(``,
    ``.wait(``, ``.acquire(``) is counted apart as waiting. ``roots`` are where the relative
    paths py-spy prints can be read from."""
    threads: dict[str, dict[str, int]] = {}
    categories: dict[str, int] = {}
    tasks: dict[str, int] = {}
    leaves: dict[str, int] = {}
    waits: dict[str, bool] = {}
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames and frames[0].startswith("process "):  # --subprocesses: the process first
            frames = frames[1:]
        if frames and "MainThread" in frames[0]:
            thread = "event loop (MainThread)"
        elif any("aiosqlite/core.py" in f for f in frames):
            thread = "aiosqlite's thread (SQL, commits)"
        else:
            thread = "other threads"
        leaf = frames[-1]
        if leaf not in waits:
            waits[leaf] = bool(_WAITING.search(_source_line(leaf, roots)))
        slot = threads.setdefault(thread, {"active": 0, "waiting": 0})
        slot["waiting" if waits[leaf] else "active"] += count
        if waits[leaf]:
            continue
        if thread.startswith("event loop"):
            category = _category(frames[1:])
            categories[category] = categories.get(category, 0) + count
            task = _task(frames[1:])
            tasks[task] = tasks.get(task, 0) + count
        key = f"{thread.split(' ')[0]} | {leaf}"
        leaves[key] = leaves.get(key, 0) + count

    def per_request_ms(samples: int) -> float:
        return samples / rate / max(requests, 1) * 1000

    loop_total = sum(categories.values()) or 1
    return {
        "rate_hz": rate,
        "requests": requests,
        "threads": {
            name: {
                "active_samples": n["active"],
                "waiting_samples": n["waiting"],
                "active_ms_per_request": per_request_ms(n["active"]),
            }
            for name, n in sorted(threads.items(), key=lambda kv: -kv[1]["active"])
        },
        "event_loop_tasks": [
            {"task": name, "share": n / loop_total, "ms_per_request": per_request_ms(n)}
            for name, n in sorted(tasks.items(), key=lambda kv: -kv[1])
        ],
        "event_loop_categories": [
            {"category": name, "share": n / loop_total, "ms_per_request": per_request_ms(n)}
            for name, n in sorted(categories.items(), key=lambda kv: -kv[1])
        ],
        "top_leaf_lines": [
            {"leaf": name, "samples": n, "ms_per_request": per_request_ms(n)}
            for name, n in sorted(leaves.items(), key=lambda kv: -kv[1])[:20]
        ],
    }


def record_pyspy(
    py_spy: str, pid: int, rate: int, procs: Processes, run: Callable[[], T]
) -> tuple[T, str]:
    """``run()`` while py-spy samples process ``pid`` (``--threads``, raw format); returns
    what ``run`` returned and py-spy's raw output.

    py-spy samples from its start to its stop: the second it takes to attach is in, but py-spy
    drops idle samples by default, so that second adds little."""
    workdir = procs.workdir
    out = workdir / f"pyspy-{pid}.txt"
    argv = [py_spy, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw"]
    argv += ["--threads", "--subprocesses", "--output", str(out)]  # serve --processes: its children
    spy = procs.spawn("py-spy", argv, clean_env())
    time.sleep(1.0)  # py-spy attaches
    if spy.poll() is not None:
        raise BenchError(f"py-spy exited at once:\n{log_tail(workdir, 'py-spy')}")
    try:
        result = run()
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            Processes.stop(spy)
    if not out.exists():
        raise BenchError(f"py-spy wrote nothing:\n{log_tail(workdir, 'py-spy')}")
    return result, out.read_text(errors="replace")


def pyspy_lines(prof: dict[str, Any]) -> list[str]:
    """The report's lines for a :func:`pyspy_breakdown` (with ``rps_under_profiler``)."""
    lines = [
        f"  py-spy, {prof['rps_under_profiler']:,.0f} req/s under the profiler, "
        f"{prof['requests']:,} requests; active samples per request, by thread:"
    ]
    lines += [
        f"    {name:<40} {t['active_ms_per_request']:.3f} ms "
        f"({t['waiting_samples']:,} samples waiting not counted)"
        for name, t in prof["threads"].items()
    ]
    lines.append("  event-loop thread by task:")
    lines += [
        f"    {t['task']:<64} {t['share']:6.1%}  {t['ms_per_request']:.3f} ms"
        for t in prof["event_loop_tasks"]
    ]
    lines.append("  event-loop thread by package (the innermost one known):")
    lines += [
        f"    {c['category']:<64} {c['share']:6.1%}  {c['ms_per_request']:.3f} ms"
        for c in prof["event_loop_categories"]
    ]
    lines.append("  top leaf lines (ms per request):")
    lines += [
        f"    {f['ms_per_request']:.3f}  {f['leaf'][:120]}" for f in prof["top_leaf_lines"][:12]
    ]
    return lines


# --------------------------------------------------------------------------------------------
# cProfile: the benchmark's own event loop (the delivery worker runs in it)

_CPROFILE_CATEGORIES = (
    ("signing (RSA or Ed25519, digest) in C", ()),
    ("signature headers (activitypub, Python)", ("/activitypub/",)),
    (
        "HTTP client (aiohttp, yarl, multidict, transport)",
        ("/aiohttp/", "/yarl/", "/multidict/", "/propcache/", "/aiohappyeyeballs/", "transport.py"),
    ),
    ("ORM (tortoise, pypika, aiosqlite, loop side)", ("/tortoise/", "/pypika", "/aiosqlite/")),
    ("delivery worker (federation/outbound.py)", ("/federation/outbound.py",)),
    ("event loop (asyncio, selectors)", ("/asyncio/", "selectors.py")),
    ("idle (waiting in epoll)", ()),
)


_STDLIB = sysconfig.get_paths()["stdlib"]
Categories = Sequence[tuple[str, Sequence[str]]]


def category_of(
    key: tuple[str, int, str],
    stats: dict[Any, Any],
    files: Categories,
    c_functions: Categories,
    *,
    stdlib_by_caller: bool = False,
    max_depth: int = 5,
    depth: int = 0,
) -> str:
    """The category of a pstats entry: a C function by its name (``c_functions``), a Python
    one by its file (``files``; first match wins); a C function that matches none, and with
    ``stdlib_by_caller`` a standard-library one (``copy``, ``inspect``...), by its heaviest
    caller's category, up to ``max_depth`` callers up; else "other"."""
    filename, _, name = key
    if filename == "~":
        for category, markers in c_functions:
            if any(marker in name for marker in markers):
                return category
    else:
        for category, markers in files:
            if any(marker in filename for marker in markers):
                return category
        if not (stdlib_by_caller and filename.startswith(_STDLIB)):
            return "other"
    callers = stats[key][4]
    if callers and depth < max_depth:
        heaviest = max(callers, key=lambda c: callers[c][2])
        return category_of(
            heaviest,
            stats,
            files,
            c_functions,
            stdlib_by_caller=stdlib_by_caller,
            max_depth=max_depth,
            depth=depth + 1,
        )
    return "other"


def category_totals(
    profile: cProfile.Profile, categorize: Callable[[Any, dict[Any, Any]], str]
) -> tuple[dict[Any, Any], dict[str, float]]:
    """A profile's pstats entries, and their own time (tottime) summed by category."""
    raw: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {}
    for key, entry in raw.items():
        category = categorize(key, raw)
        totals[category] = totals.get(category, 0.0) + entry[2]
    return raw, totals


_C_FUNCTIONS = (
    (
        "signing (RSA or Ed25519, digest) in C",
        ("RSAPrivateKey", "Ed25519PrivateKey", "_hashlib", "openssl"),
    ),
    ("idle (waiting in epoll)", ("epoll",)),
)


def profile_breakdown(profile: cProfile.Profile, deliveries: int) -> dict[str, Any]:
    """The main thread's profiled time grouped by category, and the top functions."""
    raw, totals = category_totals(
        profile, lambda key, stats: category_of(key, stats, _CPROFILE_CATEGORIES, _C_FUNCTIONS)
    )
    total = sum(totals.values())
    top = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:20]
    return {
        "profiled_s": total,
        "deliveries": deliveries,
        "categories": [
            {
                "category": name,
                "seconds": seconds,
                "share": seconds / total if total else 0.0,
                "ms_per_delivery": seconds * 1000 / deliveries,
            }
            for name, seconds in sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
        ],
        "top_functions": [
            {
                "function": f"{Path(key[0]).name}:{key[1]}({key[2]})",
                "calls": entry[1],
                "tottime_s": entry[2],
                "cumtime_s": entry[3],
            }
            for key, entry in top
        ],
    }


def cprofile_lines(prof: dict[str, Any]) -> list[str]:
    """The report's lines for a :func:`profile_breakdown` (with
    ``deliveries_per_s_under_profiler``)."""
    return [
        f"  cProfile, event-loop thread ({prof['deliveries_per_s_under_profiler']:,.0f} "
        "deliveries/s under the profiler; proportions only):",
        *(
            f"    {c['category']:<52} {c['share']:6.1%}  {c['ms_per_delivery']:.3f} ms/delivery"
            for c in prof["categories"]
        ),
    ]
