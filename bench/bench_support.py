"""What the benchmarks share: progress output, ports, load, the measured code, clean stops,
servers in subprocesses, a node set up with the real CLI, ``wrk`` and its output.

Imported by the ``*_bench.py`` scripts, which run with ``bench/`` on ``sys.path``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import logging
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# Every bench imports this module first: run as a script, the repository's packages (not an
# installed copy) are the ones measured.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
HOST = "127.0.0.1"  # every benchmark listens on loopback only
ACTIVITY_JSON = "application/activity+json"

T = TypeVar("T")


class BenchError(RuntimeError):
    """The benchmark could not run, or what it measured is not what it claims to measure."""


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """The goals table of a report: the header row, a rule, the other rows, aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        row(rows[0], widths),
        row(["-" * w for w in widths], widths),
        *(row(r, widths) for r in rows[1:]),
    ]


def row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so the ``finally`` blocks stop what the benchmark started."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _git(*args: str) -> str | None:
    """A read-only git query in the repository; None when git is unavailable or fails."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode == 0:
            return done.stdout
    return None


def code_info(snapshot: str | None = None) -> dict[str, Any]:
    """Which code was measured: version, the checked-out commit, and the tracked files changed
    on top of it outside ``bench/`` and ``docs/`` (read-only git queries).

    ``snapshot`` is the full commit id when the servers ran an exported copy of that commit
    (see :func:`export_snapshot`) instead of the working tree."""
    head = (_git("rev-parse", "--short", "HEAD") or "").strip() or None
    status = _git("status", "--porcelain", "--untracked-files=no") or ""
    changed = sorted(
        path
        for line in status.splitlines()
        if (path := line[3:].strip()) and not path.startswith(("bench/", "docs/"))
    )
    info: dict[str, Any] = {"quartier": metadata.version("quartier"), "git_head": head}
    if snapshot is not None:
        info["measured"] = f"exported snapshot of {snapshot[:7]} (working tree not used)"
        info["snapshot"] = snapshot
    else:
        info["measured"] = "working tree"
        info["uncommitted_changes"] = changed
    return info


def describe_code(code: dict[str, Any]) -> str:
    """One line for a report: the version, the commit and what exactly ran."""
    text = f"quartier {code['quartier']} at {code['git_head']}"
    if code.get("snapshot"):
        return f"quartier {code['quartier']}, {code['measured']}"
    changed = code.get("uncommitted_changes")
    if changed:
        text += f" + uncommitted changes in {len(changed)} file(s) ({', '.join(changed[:4])}"
        text += ", ...)" if len(changed) > 4 else ")"
    return text


def export_snapshot(rev: str, dest: Path) -> tuple[Path, str]:
    """Export commit ``rev`` of the repository into ``dest`` (``git archive``, read-only for
    the repository); returns the directory to put first on ``PYTHONPATH`` and the full commit.

    Other people may be editing the working tree while a benchmark runs: a snapshot measures
    exactly one commit, and a half-finished edit elsewhere cannot break or change the run."""
    commit = (_git("rev-parse", "--verify", f"{rev}^{{commit}}") or "").strip()
    if not commit:
        raise BenchError(f"not a commit of this repository: {rev}")
    archive = dest / "code.tar"
    with archive.open("wb") as out:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", commit],
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    if done.returncode != 0:
        raise BenchError(f"git archive {commit} failed: {done.stderr.decode(errors='replace')}")
    tree = dest / "code"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    return tree, commit


def free_port() -> int:
    """A currently free loopback port (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def load_average() -> float:
    """One-minute load average: shows whether something else competed for the cores."""
    return os.getloadavg()[0]


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the summary."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


def base_machine_info() -> dict[str, Any]:
    """The machine and the main libraries; each benchmark adds what else it depends on."""
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_total = None
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_total = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_total,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiohttp": metadata.version("aiohttp"),
        "tortoise_orm": metadata.version("tortoise-orm"),
    }


def openssl_version() -> str:
    """The OpenSSL ``cryptography`` is built with (RSA signing and verification speed)."""
    from cryptography.hazmat.backends.openssl.backend import backend

    return str(backend.openssl_version_text())


def machine_info(pinning: str, **extra: str) -> dict[str, Any]:
    """What the figures were measured on: the machine, the libraries of the database and the
    signatures, ``extra`` (the load generator...) and what shares the cores (``pinning``)."""
    return {
        **base_machine_info(),
        "aiosqlite": metadata.version("aiosqlite"),
        "cryptography": metadata.version("cryptography"),
        "openssl": openssl_version(),
        **extra,
        "pinning": pinning,
    }


def verdict(passed: bool) -> str:
    """A goal's result in the report."""
    return "PASS" if passed else "MISS"


def goal(value: float, target: float, *, at_most: bool = False) -> dict[str, Any]:
    """A goal of the results: ``value >= target`` (``<=`` with ``at_most``)."""
    passed = value <= target if at_most else value >= target
    return {"goal": f"{'<=' if at_most else '>='} {target:g}", "value": value, "pass": passed}


# --------------------------------------------------------------------------------------------
# CPU and memory of processes and of the machine


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process it forked, recursively (``serve --processes N``, the bare
    server's ``--processes N``: the parent only supervises, the children do the work)."""
    pids = [pid]
    for parent in pids:  # grows while it is walked: children are appended after their parent
        with contextlib.suppress(OSError):  # gone since
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text(encoding="ascii")
            pids += [int(child) for child in children.split()]
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """:func:`proc_cpu_seconds` of ``pid`` and its descendants, summed."""
    total = 0.0
    for each in process_tree(pid):
        with contextlib.suppress(OSError):
            total += proc_cpu_seconds(each)
    return total


def tree_memory_mb(pid: int) -> dict[str, float]:
    """:func:`memory_mb` of ``pid`` and its descendants, summed (VmHWM: the sum of each
    process's peak)."""
    total = {"VmRSS": 0.0, "VmHWM": 0.0}
    for each in process_tree(pid):
        with contextlib.suppress(OSError):
            for key, value in memory_mb(each).items():
                total[key] += value
    return total


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process (default: this one), in MB
    (10^6 bytes).

    Decimal MB because the goals say MB and it is the stricter reading (80 MB = 76.3 MiB)."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024 / 1e6  # the kernel's "kB" is KiB
    return values


def cpu_times() -> list[int]:
    """The machine's ``cpu`` line of ``/proc/stat`` (user nice system idle iowait irq softirq
    steal ...), in clock ticks."""
    with open("/proc/stat", encoding="ascii") as stat:
        return [int(v) for v in stat.readline().split()[1:]]


def cpu_shares(before: list[int], after: list[int]) -> dict[str, float]:
    """Busy, iowait and steal shares of all cores between two ``cpu_times()``: steal is time
    the hypervisor gave our virtual cores to someone else."""
    delta = [a - b for a, b in zip(after, before, strict=True)]
    total = sum(delta[:8]) or 1
    idle = delta[3] + delta[4]
    return {"busy": (total - idle) / total, "iowait": delta[4] / total, "steal": delta[7] / total}


@dataclass
class CpuWindow:
    """Wall and CPU seconds over a stretch of this process, and of another one (a sink)."""

    wall_s: float
    process_cpu_s: float  # every thread of this process
    main_thread_cpu_s: float  # the event loop's thread; the rest is mostly aiosqlite's thread
    sink_cpu_s: float


class CpuMeter:
    """Reads the clocks at the start; ``stop()`` returns the window. ``other`` reads the other
    process's CPU seconds (``SinkServer.cpu_seconds``)."""

    def __init__(self, other: Callable[[], float]) -> None:
        self._other = other
        self._wall = time.perf_counter()
        self._process = time.process_time()
        self._thread = time.thread_time()
        self._other_cpu = other()

    def stop(self) -> CpuWindow:
        """The window since construction."""
        return CpuWindow(
            wall_s=time.perf_counter() - self._wall,
            process_cpu_s=time.process_time() - self._process,
            main_thread_cpu_s=time.thread_time() - self._thread,
            sink_cpu_s=self._other() - self._other_cpu,
        )


# --------------------------------------------------------------------------------------------
# Servers in subprocesses


class Processes:
    """Every server a run starts; all stopped on exit, whatever happens."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def spawn(
        self, name: str, argv: Sequence[str], env: dict[str, str], cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a server (in ``cwd``, default the work directory) with its output in
        ``<workdir>/<name>.log`` (a pipe nobody reads would block it)."""
        log = (self.workdir / f"{name}.log").open("ab")
        self._logs.append(log)
        proc = subprocess.Popen(
            list(argv), cwd=cwd or self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self._procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        """SIGTERM (the node and the bare servers shut down cleanly on it), then SIGKILL if it
        hangs."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        """Stop every process still running and close the log files."""
        for proc in self._procs:
            self.stop(proc)
        for log in self._logs:
            log.close()


def with_processes(prefix: str, measure: Callable[[Path, Processes], T]) -> T:
    """``measure(workdir, procs)`` in a fresh temporary directory; every process it spawned
    through ``procs`` is stopped and the directory removed afterwards, whatever happens."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(tmp)
        procs = Processes(workdir)
        try:
            return measure(workdir, procs)
        finally:
            procs.close()


def measured_code(code_at: str | None, workdir: Path) -> tuple[str | None, str | None]:
    """``--code-at REV``: that commit exported into ``workdir`` (see :func:`export_snapshot`);
    returns the directory to put first on the measured processes' ``PYTHONPATH`` and the full
    commit, or ``(None, None)`` to measure the working tree."""
    if not code_at:
        return None, None
    tree, snapshot = export_snapshot(code_at, workdir)
    say(f"measuring commit {snapshot[:7]} (exported to {tree})")
    return str(tree), snapshot


def log_tail(workdir: Path, name: str, lines: int = 20) -> str:
    """The end of a server's log, to explain a failure."""
    path = workdir / f"{name}.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment without the caller's QUARTIER_* settings and PYTHONPATH, plus
    ``overrides``.

    A developer's own QUARTIER_* variables (or another code on the path) would otherwise change
    what is measured."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_") and k != "PYTHONPATH"
    }
    env.update(overrides)
    return env


def quartier_bin() -> Path:
    """The ``quartier`` script of the virtualenv running this benchmark."""
    candidate = Path(sys.executable).parent / "quartier"
    if candidate.exists():
        return candidate
    fallback = REPO_ROOT / ".venv" / "bin" / "quartier"
    if fallback.exists():
        return fallback
    raise BenchError("no quartier script next to this Python: run ./run tests first")


def run_cli(
    workdir: Path,
    args: Sequence[str],
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run one ``quartier`` command to completion; raise with its output if it fails.

    ``env`` adds variables to the clean environment (a snapshot's PYTHONPATH, settings)."""
    try:
        done = subprocess.run(
            [str(quartier_bin()), *args],
            cwd=workdir,
            env=clean_env(**(env or {})),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"quartier {' '.join(args)} timed out") from exc
    if done.returncode != 0:
        raise BenchError(f"quartier {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def start_bare(
    procs: Processes, ready_path: str, *options: str, port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """``bench/bare_server.py`` (the same Python and aiohttp as the node) with ``options``
    (``--document FILE``, ``--documents FILE``, ``--api FILE``), on ``port`` (default: a free
    one), once ``ready_path`` answers 200; returns the process and its port."""
    port = port or free_port()
    argv = [sys.executable, str(BENCH_DIR / "bare_server.py"), "--port", str(port), *options]
    started = time.perf_counter()
    proc = procs.spawn("bare", argv, clean_env())
    try:
        wait_ready(proc, port, ready_path, started)
    except BenchError as exc:
        raise BenchError(f"bare server: {exc}\n{log_tail(procs.workdir, 'bare')}") from None
    return proc, port


def http_get(
    port: int, path: str, accept: str = ACTIVITY_JSON, timeout: float = 2.0
) -> tuple[int, bytes]:
    """One GET on 127.0.0.1 with the standard library (no dependency on the code under test)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": accept})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(
    proc: subprocess.Popen[bytes], port: int, path: str, started: float, timeout: float = 30.0
) -> float:
    """Poll ``path`` until it answers 200; returns seconds since ``started``.

    Polls every 5 ms so the measurement resolution is well below the node's 2 s goal."""
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited with status {proc.returncode} before being ready")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = http_get(port, path, timeout=1.0)
            if status == 200:
                return time.perf_counter() - started
        time.sleep(0.005)
    raise BenchError(f"server not ready on port {port} after {timeout:.0f} s")


@dataclass
class Node:
    """A node set up in a temporary directory with the real CLI (``init``, ``migrate``).

    ``env`` goes to every command and to ``serve``: settings (``QUARTIER_*``) and, to measure
    an exported snapshot instead of the working tree, ``PYTHONPATH``; ``serve_args`` to
    ``serve`` only (``--processes N``)."""

    workdir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    serve_args: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """The node's public origin (also its base URL)."""
        return f"http://{HOST}:{self.port}"

    def setup(self) -> None:
        """``quartier init`` and ``quartier migrate``: the documented way to get a node."""
        argv = ["init", "--base-url", self.origin, "--host", HOST, "--port", str(self.port)]
        run_cli(self.workdir, argv, env=self.env)
        run_cli(self.workdir, ["migrate"], env=self.env)

    def cli(self, args: Sequence[str], stdin: str | None = None) -> str:
        """Another ``quartier`` command on this node."""
        return run_cli(self.workdir, args, stdin=stdin, env=self.env)

    def start(
        self, procs: Processes, log_level: str = "WARNING"
    ) -> tuple[subprocess.Popen[bytes], float]:
        """Spawn ``quartier serve``; returns the process and seconds to the first healthy 200."""
        env = clean_env(**self.env, QUARTIER_SERVER_LOG_LEVEL=log_level)
        name = f"node-{log_level.lower()}"
        started = time.perf_counter()
        argv = [str(quartier_bin()), "serve", *self.serve_args]
        proc = procs.spawn(name, argv, env, cwd=self.workdir)
        try:
            ready = wait_ready(proc, self.port, "/healthz", started)
        except BenchError as exc:
            Processes.stop(proc)
            raise BenchError(f"{exc}\n{log_tail(procs.workdir, name)}") from None
        return proc, ready

    def database(self) -> Path:
        """The node's SQLite file (``storage.data_dir`` is ``data`` after ``init``)."""
        path = self.workdir / "data" / "quartier.sqlite3"
        if not path.exists():
            raise BenchError(f"no SQLite database at {path}")
        return path


# --------------------------------------------------------------------------------------------
# wrk


@dataclass
class LoadResult:
    """One load run against one server."""

    target: str
    rps: float
    requests: int
    non_2xx: int
    errors: int
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_ms(text: str) -> float | None:
    """A wrk duration (``812.00us``, ``2.31ms``, ``1.02s``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match[1]) * _WRK_UNITS[match[2]] if match else None


def parse_wrk(target: str, out: str) -> LoadResult:
    """Requests/s, completed requests, error counts and latency percentiles (``--latency``)
    from wrk's output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        raise BenchError(f"cannot parse wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    return LoadResult(
        target=target,
        rps=float(rps[1]),
        requests=int(total[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        errors=sum(int(n) for n in sock.groups()) if sock else 0,
        latency_p50_ms=wrk_ms(p50[1]) if p50 else None,
        latency_p99_ms=wrk_ms(p99[1]) if p99 else None,
    )


def wrk_version() -> str:
    """``wrk 4.1.0 [epoll]``, or ``wrk`` when it does not say."""
    if not shutil.which("wrk"):
        return "wrk (not installed)"
    lines = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout
    first = lines.splitlines()[0] if lines else ""
    return first.split(" Copyright")[0] or "wrk"


def check_clean(result: LoadResult) -> None:
    """A run with failed requests would overstate requests/s: refuse it."""
    if result.non_2xx or result.errors:
        raise BenchError(
            f"{result.target}: {result.non_2xx} non-2xx responses and {result.errors} socket "
            "errors during the load run"
        )


def run_and_report(
    name: str,
    measure: Callable[[], dict[str, Any]],
    results_path: Path,
    summary: Callable[[dict[str, Any]], str],
) -> int:
    """Run ``measure`` (SIGTERM stops it cleanly), save its results as JSON, print the summary;
    returns the exit status (1, with the reason, when the benchmark could not run)."""
    try:
        with sigterm_as_exit():
            results = measure()
    except BenchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(summary(results))
    return 0


def bench_main(
    name: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    results_path: Path,
    summary: Callable[[dict[str, Any]], str],
    prepare: Callable[[argparse.Namespace], str | None] | None = None,
    log_warnings: bool = False,
) -> int:
    """A benchmark's ``main``: parse ``argv`` (recorded with the results as ``args.argv``),
    complete and check the arguments (``prepare`` returns why they are refused: exit status
    2), optionally log WARNINGs of the code measured in this process, then
    :func:`run_and_report`."""
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if prepare is not None and (problem := prepare(args)):
        print(f"{name}: {problem}", file=sys.stderr)
        return 2
    if log_warnings:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run_and_report(name, lambda: run(args), results_path, summary)


def report_header(title: str, results: dict[str, Any], shares: dict[str, float]) -> list[str]:
    """The first lines of a benchmark's report: the machine, its load, the software."""
    m, load = results["machine"], results["load_average_1min"]
    return [
        "",
        title,
        f"  machine : {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}; {m['pinning']}",
        f"  load avg: {load['before']:.2f} before, {load['after']:.2f} after (1 min); over the "
        f"run, all cores: {shares['busy']:.0%} busy, {shares['iowait']:.0%} iowait, "
        f"{shares['steal']:.0%} steal",
        f"  software: Python {m['python']}, aiohttp {m['aiohttp']}, tortoise-orm "
        f"{m['tortoise_orm']}, aiosqlite {m['aiosqlite']}, cryptography {m['cryptography']} "
        f"({m['openssl']})",
    ]


def calls_per_second(
    call: Callable[[], object], seconds: float, *, batch: int = 50, warm_up: int = 50
) -> dict[str, float]:
    """How often ``call`` runs per second in a tight loop on this thread for ``seconds``
    (after ``warm_up`` calls; the clock is read every ``batch`` calls): calls, wall and CPU
    seconds, calls per second."""
    for _ in range(warm_up):
        call()
    count = 0
    started = time.perf_counter()
    cpu_started = time.thread_time()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            call()
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            break
    wall = now - started
    cpu = time.thread_time() - cpu_started
    return {"calls": count, "wall_s": wall, "cpu_s": cpu, "per_s": count / wall}


def signatures_per_second(key: rsa.RSAPrivateKey, data: bytes, seconds: float) -> dict[str, Any]:
    """RSA PKCS#1 v1.5 SHA-256 signatures in a tight loop on this thread for ``seconds``."""
    pad, digest = padding.PKCS1v15(), hashes.SHA256()
    measured = calls_per_second(lambda: key.sign(data, pad, digest), seconds, batch=25, warm_up=20)
    return {"signatures": measured.pop("calls"), **measured}


def verify_rfc9421(url: str, headers: list[tuple[str, str]], body: bytes, key: Any) -> str:
    """Verify an RFC 9421 signed request with http-message-signatures (not our code) and
    ``key``; returns the signature's ``keyid``. The Content-Digest, when covered, is checked
    against ``body``."""
    try:
        from http_message_signatures import (
            HTTPMessageVerifier,
            HTTPSignatureKeyResolver,
            algorithms,
        )
    except ImportError as exc:
        raise BenchError("checking an RFC 9421 signature needs the test extra") from exc

    class Resolver(HTTPSignatureKeyResolver):  # type: ignore[misc]
        def resolve_public_key(self, key_id: str) -> Any:
            return key

    class Fields:
        def __init__(self, lines: list[tuple[str, str]]) -> None:
            self.lines = lines

        def items(self) -> list[tuple[str, str]]:
            return self.lines

        def __iter__(self) -> Iterator[str]:
            return iter(dict.fromkeys(k for k, _ in self.lines))

        def __contains__(self, name: object) -> bool:
            return any(k.lower() == str(name).lower() for k, _ in self.lines)

    @dataclass
    class Message:
        method: str
        url: str
        headers: Fields

    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=Resolver())
    message = Message("POST", url, Fields(headers))
    try:
        results = verifier.verify(message, max_age=None, body=body)
    except Exception as exc:  # the library's own errors: the sample does not verify
        raise BenchError(f"the RFC 9421 sample does not verify: {exc}") from exc
    return str(results[0].parameters.get("keyid", ""))


class Timed:
    """Accumulated wall time of calls to a synchronous or asynchronous function."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a synchronous function (for CPU-bound code, wall time is CPU time)."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        return wrapper

    def coro(self, func: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """Wrap a coroutine function (wall time, suspensions included)."""

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await func(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        return wrapper


@contextlib.contextmanager
def patched(module: Any, name: str, value: Any) -> Iterator[None]:
    """``module.name = value`` for the block (this process only; the files are untouched)."""
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


class SinkServer:
    """``bench/sink_server.py`` in its own process (stopped on exit whatever happens): inboxes
    that answer 202 and count, on ``ports`` ports the kernel picks, each a host of its own for
    the delivery worker; ``software`` is what it says it is in NodeInfo (none served when
    empty; any name but ``quartier`` takes draft-cavage signatures only); ``stall`` more ports
    whose inboxes never answer (a host that hangs)."""

    def __init__(
        self,
        workdir: Path,
        ports: int = 1,
        *,
        software: str = "",
        stall: int = 0,
        name: str = "sink",
    ) -> None:
        self.workdir = workdir
        self.count = ports
        self.software = software
        self.stall = stall
        self.name = name
        self.ports: list[int] = []  # the answering ports, then the stalling ones
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def port(self) -> int:
        """The first port; ``/stats`` and ``/reset`` on any port answer for all."""
        return self.ports[0]

    def start(self, timeout: float = 30.0) -> None:
        """Spawn it and wait until it has written its ports and ``/stats`` answers."""
        ports_file = self.workdir / f"{self.name}-ports.json"
        argv = [sys.executable, str(BENCH_DIR / "sink_server.py"), "--host", HOST]
        argv += ["--ports", str(self.count), "--ports-file", str(ports_file)]
        argv += ["--stall-ports", str(self.stall), "--software", self.software]
        self._log = (self.workdir / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            argv, cwd=self.workdir, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the sink exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self._listening(ports_file):
                return
            time.sleep(0.02)
        raise BenchError(f"the sink was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def _listening(self, ports_file: Path) -> bool:
        if not ports_file.exists():
            return False
        self.ports = json.loads(ports_file.read_text(encoding="ascii"))
        if len(set(self.ports)) != self.count + self.stall:
            raise BenchError(f"the sink listens on {self.ports}, not {self.count + self.stall}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            self.stats()
            return True
        return False

    def describe(self) -> str:
        """For the progress output."""
        ports = f"port {self.port}" if self.count == 1 else f"{self.count} ports"
        what = f" ({self.software})" if self.software else ""
        stall = f", {self.stall} stalling" if self.stall else ""
        return f"{self.name}{what} on {ports}{stall} (pid {self.proc.pid if self.proc else '?'})"

    def inbox(self, n: int, host: int | None = None) -> str:
        """URL of inbox ``n``; on answering port ``host`` (default: ``n`` modulo the ports)."""
        port = self.ports[n % self.count if host is None else host]
        return f"http://{HOST}:{port}/inbox/{n}"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise BenchError(f"sink {method} {path} answered {response.status}")
            data: dict[str, Any] = json.loads(body)
            return data
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        """``{"posts", "distinct", "sample", "nodeinfo_gets"}`` since the last reset (over
        every port)."""
        return self._call("GET", "/stats")

    def reset(self) -> None:
        """Forget the counts and the sample."""
        self._call("POST", "/reset")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the sink process so far."""
        assert self.proc is not None
        return proc_cpu_seconds(self.proc.pid)

    def log_tail(self, lines: int = 20) -> str:
        """The end of the sink's log, to explain a failure."""
        return log_tail(self.workdir, self.name, lines)

    def close(self) -> None:
        """SIGTERM (aiohttp shuts down cleanly on it), SIGKILL if it hangs; close the log."""
        if self.proc is not None:
            Processes.stop(self.proc)
        if self._log is not None:
            self._log.close()


def run_with_sinks(
    prefix: str,
    sinks: Callable[[Path], Sequence[SinkServer]],
    measure: Callable[[Path], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """In a temporary directory, the sinks ``sinks(workdir)`` started, ``measure(workdir)``
    run to the end in an event loop (SIGTERM cancels it cleanly), the sinks stopped whatever
    happens; its results."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(tmp)
        started: list[SinkServer] = []
        try:
            for sink in sinks(workdir):
                started.append(sink)
                sink.start()
                say(sink.describe())
            return asyncio.run(cancel_on_sigterm(measure(workdir)))
        except asyncio.CancelledError:  # SIGTERM while measuring: everything was closed
            raise SystemExit(128 + signal.SIGTERM) from None
        except BenchError:
            for sink in started:
                if tail := sink.log_tail():
                    say(f"{sink.name} log:\n{tail}")
            raise
        finally:
            for sink in started:
                sink.close()


async def cancel_on_sigterm(measure: Awaitable[T]) -> T:
    """Run ``measure``; SIGTERM cancels it, so its ``async with`` blocks close the database and
    the transport (a SystemExit raised inside the event loop would skip them)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    previous = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await measure
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)
