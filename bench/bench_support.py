"""What the benchmarks share: progress output, ports, load, the measured code, clean stops.

Imported by the ``*_bench.py`` scripts, which run with ``bench/`` on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # every benchmark listens on loopback only


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


def code_info() -> dict[str, str | None]:
    """Which code was measured: version and the checked-out commit (read-only git query;
    the working tree may carry uncommitted changes on top of it)."""
    head = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        head = done.stdout.strip() or None
    return {"quartier": metadata.version("quartier"), "git_head": head}


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
