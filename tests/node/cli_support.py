"""Running the ``quartier`` console script for real, as tests do: helpers and constants,
and ``serving``: ``quartier serve`` in its own process for as long as a test needs it.

The fixtures built on them (``env``, ``quartier``) are in tests/node/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

QUARTIER = Path(sys.executable).parent / "quartier"
TIMEOUT = 60
INVITE_CODE = re.compile(r"invite code: (\S+)")

Run = Callable[..., subprocess.CompletedProcess[str]]


def clean_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment without the caller's QUARTIER_* settings, on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_")}
    env["QUARTIER_STORAGE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def runner(directory: Path, env: dict[str, str]) -> Run:
    """``run(*args)``: ``quartier ARGS`` in ``directory``; the completed process (text)."""

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(QUARTIER), *args],
            cwd=directory,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    return run


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """Assert success without a traceback and return stdout."""
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def failed(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """Assert a clean failure (status, no traceback) and return stderr."""
    assert result.returncode == status, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (127.0.0.1 only)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Served:
    """A running ``quartier serve``: its standard output so far, and its log file."""

    process: subprocess.Popen[str]
    log_path: Path
    stdout: list[str] = field(default_factory=list)
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first stdout match of ``pattern``, reading lines as they come."""
        deadline = time.monotonic() + TIMEOUT
        regex = re.compile(pattern)
        for line in self.stdout:
            if match := regex.search(line):
                return match
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.stdout.append(line)
            if match := regex.search(line):
                return match
        raise AssertionError(f"no {pattern!r} in the output:\n" + "".join(self.stdout))

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")


@contextlib.contextmanager
def serving(directory: Path, env: dict[str, str], port: int, *args: str) -> Iterator[Served]:
    """Run ``quartier serve ARGS`` until it answers /healthz on 127.0.0.1:``port``; stop it
    with SIGTERM afterwards and check it stopped cleanly (unless the test killed it)."""
    log_path = directory / "serve.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [str(QUARTIER), "serve", *args],
            cwd=directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    served = Served(process, log_path)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            served.lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + TIMEOUT
        healthy = False
        while not healthy and time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = get(f"http://127.0.0.1:{port}/healthz")[0] == 200
            except OSError:  # not listening yet
                time.sleep(0.1)
        assert healthy, f"serve did not become healthy (exit {process.poll()}):\n{served.log}"
        yield served
        if process.poll() is None:  # not killed by the test itself
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=TIMEOUT) == 0, served.log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        if process.stdout:
            process.stdout.close()
    assert "Traceback" not in served.log
