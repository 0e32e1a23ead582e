"""The ``quartier`` console script, run for real as a subprocess.

Every run happens in the test's temporary directory with no QUARTIER_* variable from the outer
environment except the test database, so it works on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.cli.parser import _Command, build_parser
from node.config import load_settings
from node.db import activated, open_database
from node.http.keys import DATABASE
from node.members.models import Invite, Member, Role
from tests.api import PASSWORD, login
from tests.conftest import FakeClock, NodeFactory
from tests.node.cli_support import (
    INVITE_CODE,
    QUARTIER,
    TIMEOUT,
    Run,
    clean_environment,
    failed,
    free_port,
    ok,
)


def create_alice(quartier: Run) -> None:
    """alice, an admin, created with the CLI (on a ``migrated`` database)."""
    ok(
        quartier(
            "admin", "create", "alice", "--real-name", "Alice A", "--password-stdin", stdin=PASSWORD
        )
    )


# Help


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["migrate"],
        ["serve"],
        ["invite"],
        ["invite", "create"],
        ["members"],
        ["members", "list"],
        ["members", "show"],
        ["admin"],
        ["admin", "create"],
    ],
    ids=lambda c: " ".join(c) or "quartier",
)
def test_help_exits_zero(quartier: Run, command: list[str]) -> None:
    out = ok(quartier(*command, "--help"))
    assert out.startswith("usage: quartier")


def test_top_level_help_lists_every_command(quartier: Run) -> None:
    out = ok(quartier("--help"))
    for command in ("init", "migrate", "serve", "invite", "members", "admin"):
        assert command in out


def commands(parser: argparse.ArgumentParser) -> Iterator[_Command]:
    """Every command of ``parser`` and its subparsers."""
    run = parser.get_default("run")
    if run is not None:
        yield run
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from commands(sub)


def test_every_command_names_a_function_of_its_module() -> None:
    # The parser names each command by module and function, imported only when it runs: a
    # misspelt one would show only when someone runs that command.
    found = list(commands(build_parser()))
    assert len(found) >= 32  # as many as there were when they were first named so
    for command in found:
        assert callable(command.resolve()), command


def test_version(quartier: Run) -> None:
    assert ok(quartier("--version")).startswith("quartier ")


# init


def test_init_writes_a_commented_file_that_loads(quartier: Run, tmp_path: Path) -> None:
    out = ok(quartier("init"))
    path = tmp_path / "quartier.toml"
    assert "quartier.toml" in out
    text = path.read_text(encoding="utf-8")
    assert sum(1 for line in text.splitlines() if line.startswith("#")) >= 5
    settings = load_settings(path, environ={})
    assert settings.server.base_url == "http://127.0.0.1:8080"
    assert settings.community.name == "My neighbourhood"


def test_init_honours_base_url_name_host_and_port(quartier: Run, tmp_path: Path) -> None:
    name = 'Les Pâquis "Nord"'
    ok(
        quartier(
            "init",
            "--base-url",
            "https://paquis.example",
            "--name",
            name,
            "--host",
            "192.168.1.20",
            "--port",
            "9090",
        )
    )
    settings = load_settings(tmp_path / "quartier.toml", environ={})
    assert settings.server.base_url == "https://paquis.example"
    assert settings.community.name == name
    assert settings.server.host == "192.168.1.20"
    assert settings.server.port == 9090


def test_init_writes_to_the_named_config_file(quartier: Run, tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    ok(quartier("init", "-c", "etc/node.toml", "--name", "Named"))
    assert not (tmp_path / "quartier.toml").exists()
    assert load_settings(tmp_path / "etc" / "node.toml", environ={}).community.name == "Named"


def test_init_refuses_to_overwrite_without_force(quartier: Run, tmp_path: Path) -> None:
    path = tmp_path / "quartier.toml"
    path.write_text("# my careful edits\n", encoding="utf-8")
    err = failed(quartier("init"))
    assert "already exists" in err
    assert "--force" in err
    assert path.read_text(encoding="utf-8") == "# my careful edits\n"


def test_init_force_overwrites(quartier: Run, tmp_path: Path) -> None:
    path = tmp_path / "quartier.toml"
    path.write_text("# old\n", encoding="utf-8")
    ok(quartier("init", "--force", "--name", "Fresh"))
    assert load_settings(path, environ={}).community.name == "Fresh"


def test_init_with_invalid_base_url_fails_and_leaves_no_file(quartier: Run, tmp_path: Path) -> None:
    err = failed(quartier("init", "--base-url", "https://lilas.example/app"))
    assert "server.base_url" in err
    # Otherwise the next, corrected 'quartier init' is refused with "already exists".
    assert not (tmp_path / "quartier.toml").exists()


# migrate and serve on an unmigrated database


def test_serve_refuses_an_unmigrated_database(quartier: Run) -> None:
    err = failed(quartier("serve"))
    assert "quartier migrate" in err


@pytest.mark.parametrize(
    "command",
    [["invite", "create"], ["members", "list"], ["members", "show", "alice"]],
    ids=" ".join,
)
def test_commands_refuse_an_unmigrated_database(quartier: Run, command: list[str]) -> None:
    err = failed(quartier(*command))
    assert "quartier migrate" in err


def test_migrate_applies_then_reports_up_to_date(quartier: Run) -> None:
    first = ok(quartier("migrate"))
    assert "applied" in first
    assert "0001_initial" in first
    second = ok(quartier("migrate"))
    assert "up to date" in second
    assert "applied" not in second


@pytest.mark.usefixtures("migrated")
def test_the_migrated_fixture_leaves_the_database_as_migrate_does(quartier: Run) -> None:
    # The other commands' tests start from this fixture instead of running migrate: had it
    # left anything out (a migration, the document key), migrate would find work to do.
    assert ok(quartier("migrate")) == "the schema is up to date\n"


# invite create


@pytest.mark.usefixtures("migrated")
async def test_invite_code_from_cli_registers_over_http(
    quartier: Run, make_node: NodeFactory, make_settings: Any, clock: FakeClock
) -> None:
    out = await asyncio.to_thread(
        lambda: ok(
            quartier("invite", "create", "--role", "manager", "--ttl-hours", "2", "--note", "x")
        )
    )
    assert "role: manager" in out
    match = INVITE_CODE.search(out)
    assert match, out
    # The CLI uses the real clock; the node under test must agree on what "now" is.
    clock.now = datetime.now(UTC)
    client = await make_node(make_settings(), migrate=False)
    body = {
        "invite": match.group(1),
        "username": "mona",
        "password": PASSWORD,
        "real_name": "Mona Manager",
    }
    resp = await client.post("/api/quartier/v1/accounts", json=body)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["role"] == "manager"
    assert await login(client, "mona")
    with activated(client.app[DATABASE]):
        invite = await Invite.get(note="x").prefetch_related("used_by")
    assert invite.role is Role.MANAGER
    assert invite.used_by is not None
    assert invite.used_by.username == "mona"
    # Single use: the same code cannot register a second account.
    resp = await client.post("/api/quartier/v1/accounts", json={**body, "username": "mona2"})
    assert resp.status == 410
    # Valid for the requested two hours, not the configured default of a week.
    out = await asyncio.to_thread(lambda: ok(quartier("invite", "create", "--ttl-hours", "2")))
    code = INVITE_CODE.search(out)
    assert code, out
    clock.now = datetime.now(UTC) + timedelta(hours=2, minutes=1)
    resp = await client.post(
        "/api/quartier/v1/accounts", json={**body, "invite": code.group(1), "username": "late"}
    )
    assert resp.status == 410


@pytest.mark.usefixtures("migrated")
def test_invite_create_with_unknown_role_is_a_usage_error(quartier: Run) -> None:
    err = failed(quartier("invite", "create", "--role", "bogus"), status=2)
    assert "bogus" in err


@pytest.mark.usefixtures("migrated")
def test_invite_create_with_zero_ttl_is_a_usage_error(quartier: Run) -> None:
    err = failed(quartier("invite", "create", "--ttl-hours", "0"), status=2)
    assert "--ttl-hours" in err


# admin create


@pytest.mark.usefixtures("migrated")
async def test_admin_create_reads_the_password_from_stdin(quartier: Run, database_url: str) -> None:
    await asyncio.to_thread(create_alice, quartier)
    async with open_database(database_url) as ctx:
        with activated(ctx):
            alice = await Member.get(username="alice")
    assert alice.role is Role.ADMIN
    assert alice.real_name == "Alice A"
    # Real names stay on the node: the public name defaults to the username.
    assert alice.display_name == "alice"
    assert PASSWORD not in alice.password_hash


@pytest.mark.usefixtures("migrated")
async def test_admin_create_honours_display_name(quartier: Run, database_url: str) -> None:
    args = ["admin", "create", "bea", "--real-name", "Béatrice B", "--display-name", "Bea"]
    await asyncio.to_thread(lambda: ok(quartier(*args, "--password-stdin", stdin=PASSWORD)))
    async with open_database(database_url) as ctx:
        with activated(ctx):
            bea = await Member.get(username="bea")
    assert (bea.display_name, bea.real_name, bea.role) == ("Bea", "Béatrice B", Role.ADMIN)


@pytest.mark.usefixtures("migrated")
async def test_admin_created_by_cli_can_log_in(
    quartier: Run, make_node: NodeFactory, settings: Any
) -> None:
    await asyncio.to_thread(create_alice, quartier)
    client = await make_node(settings, migrate=False)
    assert await login(client, "alice", PASSWORD)


@pytest.mark.usefixtures("migrated")
def test_admin_create_refuses_a_taken_username(quartier: Run) -> None:
    create_alice(quartier)
    err = failed(
        quartier(
            "admin", "create", "Alice", "--real-name", "Other", "--password-stdin", stdin=PASSWORD
        )
    )
    assert "taken" in err


@pytest.mark.usefixtures("migrated")
def test_admin_create_refuses_a_short_password_and_says_why(quartier: Run) -> None:
    err = failed(
        quartier("admin", "create", "bob", "--real-name", "Bob", "--password-stdin", stdin="short")
    )
    assert "password" in err
    # The user must learn what is required, not only that it was refused.
    assert "10" in err
    members = json.loads(ok(quartier("members", "list", "--json")))
    assert members == []


# members


@pytest.mark.usefixtures("migrated")
def test_members_list_is_empty_at_first(quartier: Run) -> None:
    assert "no members yet" in ok(quartier("members", "list"))
    assert json.loads(ok(quartier("members", "list", "--json"))) == []


@pytest.mark.usefixtures("migrated")
def test_members_list_text_and_json(quartier: Run) -> None:
    create_alice(quartier)
    text = ok(quartier("members", "list"))
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["USERNAME", "ROLE"]
    assert lines[1].split()[:2] == ["alice", "admin"]
    assert "Alice A" in lines[1]
    members = json.loads(ok(quartier("members", "list", "--json")))
    assert [(m["username"], m["role"], m["real_name"]) for m in members] == [
        ("alice", "admin", "Alice A")
    ]
    assert members[0]["actor"] == "http://127.0.0.1:8080/users/alice"


@pytest.mark.usefixtures("migrated")
def test_members_show(quartier: Run) -> None:
    create_alice(quartier)
    member = json.loads(ok(quartier("members", "show", "alice")))
    assert member["username"] == "alice"
    assert member["real_name"] == "Alice A"
    assert member["role"] == "admin"


@pytest.mark.usefixtures("migrated")
def test_members_show_unknown_member(quartier: Run) -> None:
    err = failed(quartier("members", "show", "nobody"))
    assert "no such member" in err


# Configuration errors


CONFIG_COMMANDS = [
    ["migrate"],
    ["serve"],
    ["invite", "create"],
    ["members", "list"],
    ["members", "show", "alice"],
    ["admin", "create", "bob", "--real-name", "Bob", "--password-stdin"],
]


@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=" ".join)
def test_wrong_type_in_config_file_stops_every_command(
    quartier: Run, tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "quartier.toml").write_text('[server]\nport = "abc"\n', encoding="utf-8")
    err = failed(quartier(*command, stdin=PASSWORD))
    assert "server.port" in err
    assert "quartier.toml" in err


@pytest.mark.parametrize("command", [["migrate"], ["members", "list"]], ids=" ".join)
def test_config_option_after_the_command_is_used(
    quartier: Run, tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "bad.toml").write_text('[server]\nport = "abc"\n', encoding="utf-8")
    err = failed(quartier(*command, "-c", "bad.toml", stdin=PASSWORD))
    assert "server.port" in err
    assert "bad.toml" in err


@pytest.mark.parametrize("command", [["migrate"], ["members", "list"]], ids=" ".join)
def test_config_option_before_the_command_is_used(
    quartier: Run, tmp_path: Path, command: list[str]
) -> None:
    # 'quartier --help' shows -c at the top level: 'quartier -c FILE COMMAND' must honour it.
    (tmp_path / "bad.toml").write_text('[server]\nport = "abc"\n', encoding="utf-8")
    err = failed(quartier("-c", "bad.toml", *command, stdin=PASSWORD))
    assert "server.port" in err
    assert "bad.toml" in err


def test_missing_named_config_file_is_reported(quartier: Run) -> None:
    err = failed(quartier("members", "list", "-c", "absent.toml"))
    assert "absent.toml" in err
    assert "quartier init" in err


def test_unknown_quartier_variable_is_reported(tmp_path: Path, database_url: str) -> None:
    result = subprocess.run(
        [str(QUARTIER), "migrate"],
        cwd=tmp_path,
        env=clean_environment(database_url, QUARTIER_SERVER_PROTT="8080"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    err = failed(result)
    assert "QUARTIER_SERVER_PROTT" in err


# serve, for real


def http_json(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310 (127.0.0.1 only)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.mark.usefixtures("migrated")
def test_serve_runs_prints_a_first_admin_invite_and_stops_on_sigterm(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve_env = {**env, "QUARTIER_SERVER_PORT": str(port), "QUARTIER_SERVER_BASE_URL": base}
    log_path = tmp_path / "serve.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [str(QUARTIER), "serve"],
            cwd=tmp_path,
            env=serve_env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    lines: queue.Queue[str] = queue.Queue()
    stdout_lines: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + 20
        healthy = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = http_json(f"{base}/healthz") == (200, {"status": "ok", "database": "ok"})
            except OSError:  # not listening yet
                healthy = False
            if healthy:
                break
            time.sleep(0.1)
        assert healthy, f"node did not become healthy; exit status {process.poll()}"

        code = None
        while code is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            stdout_lines.append(line)
            if match := INVITE_CODE.search(line):
                code = match.group(1)
        assert code, "no invite code printed:\n" + "".join(stdout_lines)
        assert any("is ready at" in line and base in line for line in stdout_lines)

        status, member = http_json(
            f"{base}/api/quartier/v1/accounts",
            {"invite": code, "username": "root_admin", "password": PASSWORD, "real_name": "R A"},
        )
        assert status == 201, member
        assert member["role"] == "admin"
        assert member["actor"] == f"{base}/users/root_admin"

        process.send_signal(signal.SIGTERM)
        status_code = process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        if process.stdout:
            process.stdout.close()
    stderr = log_path.read_text(encoding="utf-8")
    assert status_code == 0, stderr
    assert "Traceback" not in stderr
    # The admin registered over HTTP is in the database the CLI reads.
    members = json.loads(ok(quartier("members", "list", "--json")))
    assert [(m["username"], m["role"]) for m in members] == [("root_admin", "admin")]


def test_an_unreachable_database_is_a_clear_error_without_the_password(tmp_path: Path):
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    env = clean_environment("postgres://quartier:s3cret-pw@127.0.0.1:1/quartier")
    for args in (("migrate",), ("members", "list"), ("serve",)):
        result = subprocess.run(
            [str(QUARTIER), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        message = failed(result)
        assert "cannot use the database at postgres://quartier:***@127.0.0.1:1/quartier" in message
        assert "s3cret-pw" not in result.stdout + result.stderr


@pytest.mark.usefixtures("migrated")
def test_serve_on_a_port_already_taken_says_so(quartier: Run, env: dict[str, str]):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env["QUARTIER_SERVER_PORT"] = str(port)
        message = failed(quartier("serve"))
    assert f"cannot listen on 127.0.0.1:{port}" in message


# Hardening


def test_init_writes_the_file_named_by_quartier_config(
    quartier: Run, tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "sub").mkdir()
    target = tmp_path / "sub" / "q.toml"
    env["QUARTIER_CONFIG"] = str(target)
    out = ok(quartier("init", "--name", "Via the variable"))
    assert str(target) in out
    assert not (tmp_path / "quartier.toml").exists()
    assert load_settings(target, environ={}).community.name == "Via the variable"


def test_init_into_a_missing_directory_is_a_clean_error(quartier: Run, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "q.toml"
    err = failed(quartier("-c", str(target), "init"))
    assert "cannot write" in err
    assert str(target) in err
    assert not (tmp_path / "missing").exists()


@pytest.mark.usefixtures("migrated")
def test_invite_create_refuses_an_overlong_note_naming_it(quartier: Run) -> None:
    err = failed(quartier("invite", "create", "--note", "n" * 300))
    assert "note" in err
    assert "invite code" not in err
    assert "--ttl-hours" not in err


@pytest.mark.usefixtures("migrated")
def test_invite_create_with_an_absurd_ttl_is_a_usage_error(quartier: Run) -> None:
    result = quartier("invite", "create", "--ttl-hours", "999999999")
    err = failed(result, status=2)
    assert "--ttl-hours" in err
    assert "invite code" not in result.stdout


@pytest.mark.usefixtures("migrated")
def test_admin_create_refuses_an_empty_real_name_naming_it(quartier: Run) -> None:
    err = failed(
        quartier("admin", "create", "bob", "--real-name", "", "--password-stdin", stdin=PASSWORD)
    )
    assert "real_name" in err
    assert json.loads(ok(quartier("members", "list", "--json"))) == []


def serve_once(tmp_path: Path, env: dict[str, str]) -> str:
    """Run ``quartier serve`` until it prints its first-admin invite, stop it with SIGTERM and
    return the printed code."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve_env = {**env, "QUARTIER_SERVER_PORT": str(port), "QUARTIER_SERVER_BASE_URL": base}
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    log_path = tmp_path / f"serve-{port}.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [str(QUARTIER), "serve"],
            cwd=tmp_path,
            env=serve_env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        code = None
        deadline = time.monotonic() + TIMEOUT
        while code is None and time.monotonic() < deadline and process.poll() is None:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            seen.append(line)
            if match := INVITE_CODE.search(line):
                code = match.group(1)
        assert code, "no invite code printed:\n" + "".join(seen)
        # A request answered after the code was printed proves serve reached its wait for
        # signals (it installs the handlers right after printing, without yielding).
        healthy = False
        while not healthy and time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = http_json(f"{base}/healthz")[0] == 200
            except OSError:
                time.sleep(0.1)
        assert healthy, f"node did not answer; exit status {process.poll()}"
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        if process.stdout:
            process.stdout.close()
    stderr = log_path.read_text(encoding="utf-8")
    assert status == 0, stderr
    assert "Traceback" not in stderr
    return code


@pytest.mark.usefixtures("migrated")
async def test_serve_revokes_only_its_own_first_admin_invites(
    quartier: Run,
    tmp_path: Path,
    env: dict[str, str],
    make_node: NodeFactory,
    make_settings: Any,
    clock: FakeClock,
) -> None:
    out = await asyncio.to_thread(
        lambda: ok(quartier("invite", "create", "--role", "admin", "--note", "for Zoé"))
    )
    match = INVITE_CODE.search(out)
    assert match, out
    made_by_hand = match.group(1)
    first = await asyncio.to_thread(serve_once, tmp_path, env)
    second = await asyncio.to_thread(serve_once, tmp_path, env)
    assert first != second
    clock.now = datetime.now(UTC)
    client = await make_node(make_settings(), migrate=False)

    def body(code: str, username: str) -> dict[str, str]:
        return {"invite": code, "username": username, "password": PASSWORD, "real_name": "Z"}

    # The code serve printed first was replaced by the second one...
    resp = await client.post("/api/quartier/v1/accounts", json=body(first, "early"))
    assert resp.status == 410, await resp.text()
    # ...but the admin invite made with 'invite create' survived both starts.
    resp = await client.post("/api/quartier/v1/accounts", json=body(made_by_hand, "zoe"))
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["role"] == "admin"
    resp = await client.post("/api/quartier/v1/accounts", json=body(second, "late"))
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["role"] == "admin"
