"""``quartier serve`` start-up, run for real: which public URL the node announces, what it refuses,
and what it warns about (the port trap and local-testing mode, issue 7)."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from node.config import load_settings
from tests.conftest import write_config
from tests.node.cli_support import QUARTIER, TIMEOUT, Run, failed, ok, runner

ROOT = Path(__file__).resolve().parents[2]
AP_ACCEPT = {"Accept": "application/activity+json"}


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
    with SIGTERM afterwards and check it stopped cleanly."""
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
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0, served.log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        if process.stdout:
            process.stdout.close()
    assert "Traceback" not in served.log


# The port trap: the public URL follows the port unless base_url is set


def assert_announces(served: Served, base: str) -> None:
    """Every URL the node hands out starts with ``base``: actor ids, the invite, the logs."""
    status, body = get(f"{base}/actor", AP_ACCEPT)
    assert status == 200
    assert json.loads(body)["id"] == f"{base}/actor"
    status, body = get(f"{base}/.well-known/nodeinfo")
    assert all(link["href"].startswith(f"{base}/") for link in json.loads(body)["links"])
    assert served.wait_for(r"is ready at (\S+)").group(1) == f"{base}/"
    assert served.wait_for(r"curl -X POST (\S+)").group(1) == f"{base}/api/v1/accounts"
    assert f"public URL {base}/ (from server.host and server.port" in served.log


def test_the_port_variable_alone_moves_every_announced_url(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    ok(quartier("migrate"))
    port = free_port()
    with serving(tmp_path, {**env, "QUARTIER_SERVER_PORT": str(port)}, port) as served:
        assert_announces(served, f"http://127.0.0.1:{port}")
    assert "WARNING" not in served.log


def test_the_port_option_moves_every_announced_url_of_a_node_made_by_init(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    # './run node --port P' does exactly this: init (no options), migrate, serve --port P.
    ok(quartier("init"))
    ok(quartier("migrate"))
    port = free_port()
    with serving(tmp_path, env, port, "--port", str(port)) as served:
        assert_announces(served, f"http://127.0.0.1:{port}")


def test_a_port_set_in_the_file_written_by_init_moves_the_url(
    quartier: Run, tmp_path: Path
) -> None:
    ok(quartier("init"))
    path = tmp_path / "quartier.toml"
    path.write_text(path.read_text().replace("port = 8080", "port = 9000"), encoding="utf-8")
    assert load_settings(path, environ={}).server.base_url == "http://127.0.0.1:9000"
    env_port = load_settings(path, environ={"QUARTIER_SERVER_PORT": "9100"})
    assert env_port.uris.actor("ada") == "http://127.0.0.1:9100/users/ada"


def test_a_configured_base_url_is_kept_and_logged_as_configured(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    ok(quartier("migrate"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(tmp_path, env, port, "--port", str(port), "--base-url", base) as served:
        assert served.wait_for(r"is ready at (\S+)").group(1) == f"{base}/"
    assert f"public URL {base}/ (server.base_url)" in served.log


def test_a_base_url_on_this_machine_at_another_port_is_warned_about(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    # A quartier.toml written by an older 'init' pins base_url to port 8080.
    (tmp_path / "quartier.toml").write_text(
        '[server]\nbase_url = "http://127.0.0.1:8080"\n', encoding="utf-8"
    )
    ok(quartier("migrate"))
    port = free_port()
    with serving(tmp_path, {**env, "QUARTIER_SERVER_PORT": str(port)}, port) as served:
        banner = served.wait_for(r"WARNING: (.*)").group(1)
    assert f"listens on port {port}" in banner
    assert re.search(
        rf"WARNING .*server\.base_url is http://127\.0\.0\.1:8080 .* {port}", served.log
    )


@pytest.mark.parametrize("how", ["environment", "option"])
def test_listening_everywhere_without_a_base_url_is_refused_in_one_line(
    quartier: Run, tmp_path: Path, env: dict[str, str], how: str
) -> None:
    ok(quartier("migrate"))
    if how == "environment":
        everywhere = runner(tmp_path, {**env, "QUARTIER_SERVER_HOST": "0.0.0.0"})  # noqa: S104
        result = everywhere("serve")
    else:
        result = quartier("serve", "--host", "0.0.0.0")  # noqa: S104
    err = failed(result)
    assert len(err.strip().splitlines()) == 1, err
    assert "server.base_url" in err
    assert "QUARTIER_SERVER_BASE_URL" in err
    assert "'0.0.0.0'" in err


def test_listening_everywhere_with_a_base_url_is_accepted(tmp_path: Path) -> None:
    settings = load_settings(
        write_config(tmp_path, ""),
        environ={
            "QUARTIER_SERVER_HOST": "0.0.0.0",  # noqa: S104
            "QUARTIER_SERVER_BASE_URL": "https://tilleuls.example",
        },
    )
    assert settings.uris.actor("ada") == "https://tilleuls.example/users/ada"


# Local-testing mode


def test_local_testing_mode_is_warned_about_in_the_log_and_the_banner(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    ok(quartier("migrate"))
    port = free_port()
    serve_env = {**env, "QUARTIER_SERVER_PORT": str(port), "QUARTIER_FEDERATION_LOCAL_TESTING": "1"}
    with serving(tmp_path, serve_env, port) as served:
        banner = served.wait_for(r"WARNING: (.*local_testing.*)").group(1)
    assert "safety checks are off" in banner
    warning = [line for line in served.log.splitlines() if " WARNING " in line]
    assert len(warning) == 1
    assert "federation.local_testing is on" in warning[0]
    assert "private or loopback addresses" in warning[0]


# The ./run script and the options of serve


def test_run_node_advertises_only_options_serve_takes(quartier: Run) -> None:
    script = (ROOT / "run").read_text(encoding="utf-8")
    usage = re.search(r'echo "usage: \./run node ([^"]*)"', script)
    assert usage, "no usage line for ./run node"
    advertised = re.findall(r"(--?[a-z][a-z-]*)", usage.group(1))
    assert "--port" in advertised
    help_text = ok(quartier("serve", "--help"))
    for option in advertised:
        assert re.search(rf"(^|[\s,\[]){re.escape(option)}\b", help_text), option
