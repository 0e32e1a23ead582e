"""``quartier serve`` start-up, run for real: which public URL the node announces, what it refuses,
and what it warns about (the port trap and local-testing mode, issue 7)."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
from pathlib import Path

import pytest

from node.config import load_settings
from tests.conftest import migrate_as_the_cli_does, write_config
from tests.node.cli_support import Run, Served, failed, free_port, get, ok, runner, serving

ROOT = Path(__file__).resolve().parents[2]
AP_ACCEPT = {"Accept": "application/activity+json"}


# The port trap: the public URL follows the port unless base_url is set


def assert_announces(served: Served, base: str) -> None:
    """Every URL the node hands out starts with ``base``: actor ids, the invite, the logs."""
    status, body = get(f"{base}/actor", AP_ACCEPT)
    assert status == 200
    assert json.loads(body)["id"] == f"{base}/actor"
    status, body = get(f"{base}/.well-known/nodeinfo")
    assert all(link["href"].startswith(f"{base}/") for link in json.loads(body)["links"])
    assert served.wait_for(r"is ready at (\S+)").group(1) == f"{base}/"
    assert served.wait_for(r"curl -X POST (\S+)").group(1) == f"{base}/api/quartier/v1/accounts"
    assert f"public URL {base}/ (from server.host and server.port" in served.log


@pytest.mark.usefixtures("migrated")
def test_the_port_variable_alone_moves_every_announced_url(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
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


@pytest.mark.usefixtures("migrated")
def test_a_configured_base_url_is_kept_and_logged_as_configured(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(tmp_path, env, port, "--port", str(port), "--base-url", base) as served:
        assert served.wait_for(r"is ready at (\S+)").group(1) == f"{base}/"
    assert f"public URL {base}/ (server.base_url)" in served.log


@pytest.mark.usefixtures("migrated")
def test_a_base_url_on_this_machine_at_another_port_is_warned_about(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    # A quartier.toml written by an older 'init' pins base_url to port 8080.
    (tmp_path / "quartier.toml").write_text(
        '[server]\nbase_url = "http://127.0.0.1:8080"\n', encoding="utf-8"
    )
    port = free_port()
    with serving(tmp_path, {**env, "QUARTIER_SERVER_PORT": str(port)}, port) as served:
        banner = served.wait_for(r"WARNING: (.*)").group(1)
    assert f"listens on port {port}" in banner
    assert re.search(
        rf"WARNING .*server\.base_url is http://127\.0\.0\.1:8080 .* {port}", served.log
    )


@pytest.mark.parametrize("how", ["environment", "option"])
@pytest.mark.usefixtures("migrated")
def test_listening_everywhere_without_a_base_url_is_refused_in_one_line(
    quartier: Run, tmp_path: Path, env: dict[str, str], how: str
) -> None:
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


@pytest.mark.usefixtures("migrated")
def test_local_testing_mode_is_warned_about_in_the_log_and_the_banner(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
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


def test_a_second_serve_on_the_same_sqlite_database_stops_before_taking_anything_over(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """The first serve owns the node's leases; a second one (another terminal, another port)
    must refuse at once, not release them and work the same queues."""
    sqlite_env = {**env, "QUARTIER_STORAGE_DATABASE_URL": f"sqlite://{tmp_path}/node.sqlite3"}
    asyncio.run(migrate_as_the_cli_does(tmp_path, sqlite_env))
    port, other = free_port(), free_port()
    with serving(tmp_path, {**sqlite_env, "QUARTIER_SERVER_PORT": str(port)}, port):
        second = runner(tmp_path, {**sqlite_env, "QUARTIER_SERVER_PORT": str(other)})("serve")
        err = failed(second)
        assert "another 'quartier serve' is running on this database" in err
        assert "Traceback" not in err
        with pytest.raises(urllib.error.URLError):  # it never listened
            get(f"http://127.0.0.1:{other}/healthz")
    # Once the first one stopped, a serve starts again.
    with serving(tmp_path, {**sqlite_env, "QUARTIER_SERVER_PORT": str(other)}, other):
        assert get(f"http://127.0.0.1:{other}/healthz")[0] == 200
