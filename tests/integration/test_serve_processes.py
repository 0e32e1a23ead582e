"""``quartier serve --processes N``: several node processes on one port (PostgreSQL).

Each process has its own event loop, inbox writer and workers; they share the port
(SO_REUSEPORT) and the database. Run for real: the console script in a subprocess, a fake
remote server on 127.0.0.1 whose actor signs deliveries, and the database read afterwards.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from activitypub.signatures import sign_request
from federation.models import InboundMessage
from node.db import activated, open_database
from tests.conftest import POSTGRES_ADMIN_URL, migrate_as_the_cli_does
from tests.node.cli_support import QUARTIER, clean_environment, free_port, runner
from tests.node.test_inbox import RemoteActor, start_remote

postgres_only = pytest.mark.skipif(
    not POSTGRES_ADMIN_URL, reason="several serve processes need PostgreSQL (SQLite: one writer)"
)
READY = re.compile(r"is ready at \S+ \(listening on \S+, process (\d+) of (\d+), pid (\d+)[^)]*\)")
TIMEOUT = 120


@dataclass
class Served:
    """A running ``quartier serve --processes N``: the parent and its children's pids."""

    process: asyncio.subprocess.Process
    port: int
    children: dict[int, int]  # process number -> pid
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def serving(
    tmp_path: Path, database_url: str, count: int, *options: str
) -> AsyncIterator[Served]:
    """``quartier serve --processes count [options]`` on a free port, once every process
    listens; killed at the end if the test left it running."""
    env = clean_environment(database_url, QUARTIER_FEDERATION_LOCAL_TESTING="true")
    await migrate_as_the_cli_does(tmp_path, env)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            str(QUARTIER),
            "serve",
            "--port",
            str(port),
            "--processes",
            str(count),
            *options,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    served = Served(process, port, {}, log)
    try:
        assert process.stdout is not None
        async with asyncio.timeout(TIMEOUT):
            while len(served.children) < count:
                line = (await process.stdout.readline()).decode()
                assert line, f"serve ended before it was ready:\n{log.read_text()}"
                if match := READY.search(line):
                    number, total, pid = (int(group) for group in match.groups())
                    assert total == count
                    served.children[number] = pid
        # The rest of the output (the first admin's invite) must not fill the pipe.
        drain = asyncio.create_task(process.stdout.read())
        yield served
        await drain
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def established(pid: int, port: int) -> int:
    """How many connections to ``port`` the process ``pid`` holds open (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def post_signed(
    session: aiohttp.ClientSession, base: str, actor: RemoteActor, activity: dict
) -> int:
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST", f"{base}/inbox", body, actor.key_id, actor.rsa_key, datetime.now(UTC)
    )
    headers["Content-Type"] = "application/activity+json"
    async with session.post(f"{base}/inbox", data=io.BytesIO(body), headers=headers) as resp:
        await resp.read()
        return resp.status


def likes_of(actor: RemoteActor, count: int) -> list[dict]:
    """``count`` distinct Likes by ``actor``."""
    return [
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor.base}/likes/{n}",
            "type": "Like",
            "actor": actor.id,
            "object": f"{actor.base}/notes/{n}",
        }
        for n in range(count)
    ]


@postgres_only
async def test_two_serve_processes_store_every_accepted_delivery_exactly_once(
    database_url, tmp_path, aiohttp_server
):
    remote = await start_remote(aiohttp_server)
    alice = remote.add("alice")
    likes = likes_of(alice, 300)
    async with serving(tmp_path, database_url, 2) as served:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:
            # Every activity once, and the first fifty a second time at the same moment (a
            # sender's retry): whichever process each copy reaches, it is stored once.
            sends = [*likes, *likes[:50]]
            statuses = await asyncio.gather(
                *(post_signed(session, served.base, alice, like) for like in sends)
            )
            # Both processes took connections (the kernel spreads them by address and port).
            held = {n: established(pid, served.port) for n, pid in served.children.items()}
        assert Counter(statuses) == {202: 350}
        assert all(held.values()), held

        served.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(served.process.wait(), TIMEOUT) == 0, served.log.read_text()
    assert not any(alive(pid) for pid in served.children.values())
    log = served.log.read_text()
    assert "Traceback" not in log
    async with open_database(database_url) as ctx:
        with activated(ctx):
            stored = await InboundMessage.all().values_list("activity_id", flat=True)
    assert Counter(stored) == Counter(like["id"] for like in likes)


async def states(database_url: str) -> Counter[str]:
    async with open_database(database_url) as ctx:
        with activated(ctx):
            found = await InboundMessage.all().values_list("state", flat=True)
    return Counter(str(state) for state in found)


@postgres_only
async def test_serve_without_workers_leaves_the_queues_to_quartier_worker(
    database_url, tmp_path, aiohttp_server
):
    remote = await start_remote(aiohttp_server)
    alice = remote.add("alice")
    likes = likes_of(alice, 20)
    async with serving(tmp_path, database_url, 2, "--no-workers") as served:
        async with aiohttp.ClientSession() as session:
            statuses = [await post_signed(session, served.base, alice, like) for like in likes]
        assert statuses == [202] * 20
        await asyncio.sleep(1)  # a worker in serve would have taken them by now
        assert await states(database_url) == {"pending": 20}

        env = clean_environment(database_url, QUARTIER_FEDERATION_LOCAL_TESTING="true")
        worker = await asyncio.create_subprocess_exec(
            str(QUARTIER),
            "worker",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(TIMEOUT):
                # The database says when the worker is done: no event to wait on.
                while (await states(database_url))["pending"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            _, errors = await worker.communicate()
        assert "Traceback" not in errors.decode()
        assert sum((await states(database_url)).values()) == 20
        served.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(served.process.wait(), TIMEOUT) == 0


@postgres_only
async def test_a_process_that_dies_stops_the_others_and_serve_fails(database_url, tmp_path):
    async with serving(tmp_path, database_url, 2) as served:
        os.kill(served.children[2], signal.SIGKILL)
        assert await asyncio.wait_for(served.process.wait(), TIMEOUT) == 1
    assert not alive(served.children[1])  # stopped, not left serving on the port alone
    assert "process 2 (pid" in served.log.read_text()
    assert "ended unexpectedly (killed by SIGKILL): stopping the others" in served.log.read_text()


@postgres_only
async def test_several_processes_refuse_a_port_another_server_listens_on(database_url, tmp_path):
    # SO_REUSEPORT alone would let the processes join a server already on the port (one
    # started with the same option, say a forgotten 'serve --processes'): checked first.
    env = clean_environment(database_url)
    quartier = runner(tmp_path, env)
    await migrate_as_the_cli_does(tmp_path, env)
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = quartier("serve", "--port", str(port), "--processes", "2")
    assert result.returncode == 1, result.stderr
    assert result.stderr.endswith(
        f"quartier: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert "ready" not in result.stdout


async def test_several_processes_are_refused_on_sqlite_and_fewer_than_one_everywhere(
    tmp_path,
):
    sqlite = clean_environment(f"sqlite://{tmp_path / 'node.sqlite3'}")
    result = runner(tmp_path, sqlite)("serve", "--processes", "2")
    assert result.returncode == 1
    assert result.stderr == (
        "quartier: several serve processes need PostgreSQL: SQLite has a single writer, so "
        "'quartier serve' on SQLite runs one process (drop --processes)\n"
    )
    assert not (tmp_path / "node.sqlite3").exists()  # refused before touching the database
    result = runner(tmp_path, sqlite)("serve", "--processes", "0")
    assert result.returncode == 1
    assert result.stderr == "quartier: --processes must be at least 1 (got 0)\n"
    result = runner(tmp_path, sqlite)("serve", "--no-workers")
    assert result.returncode == 1
    assert result.stderr.startswith("quartier: --no-workers needs PostgreSQL: on SQLite, ")
    assert not (tmp_path / "node.sqlite3").exists()
