"""A node killed (SIGKILL) while it processes incoming direct messages loses none of them.

The node runs for real (``quartier serve``, its own process, SQLite in WAL mode); a fake remote
server on 127.0.0.1 publishes its sender's key; a burst of signed direct messages is posted and
the node is killed while its worker stores them. After the restart, every message the node had
accepted (202) must be in the conversation, none twice, within seconds: a restarted node takes
over the work its dead predecessor held instead of waiting for the leases to run out.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub.signatures import sign_request
from tests.conftest import migrate_as_the_cli_does
from tests.integration.conftest import free_port
from tests.node.cli_support import clean_environment, ok, runner, serving

MESSAGES = 300
PASSWORD = "a long enough passphrase"


def rows(database: Path, query: str) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        return db.execute(query).fetchall()


async def test_a_node_killed_while_storing_direct_messages_loses_and_doubles_none(
    tmp_path: Path, aiohttp_server
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    remote = web.Application()
    remote_base = ""

    async def actor(request: web.Request) -> web.Response:
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": f"{remote_base}/users/alice",
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": f"{remote_base}/users/alice/inbox",
            "publicKey": {
                "id": f"{remote_base}/users/alice#main-key",
                "owner": f"{remote_base}/users/alice",
                "publicKeyPem": pem.decode(),
            },
        }
        return web.json_response(doc, content_type="application/activity+json")

    remote.router.add_get("/users/alice", actor)
    server = await aiohttp_server(remote)
    remote_base = f"http://127.0.0.1:{server.port}"
    alice = f"{remote_base}/users/alice"

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = tmp_path / "data" / "quartier.sqlite3"
    env = clean_environment(
        f"sqlite://{database}",
        QUARTIER_SERVER_PORT=str(port),
        QUARTIER_SERVER_BASE_URL=base,
        QUARTIER_STORAGE_DATA_DIR=str(tmp_path / "data"),
        QUARTIER_FEDERATION_LOCAL_TESTING="true",
    )
    run = runner(tmp_path, env)
    await migrate_as_the_cli_does(tmp_path, env)
    ok(run("admin", "create", "bob", "--real-name", "Bob", "--password-stdin", stdin=PASSWORD))
    bob = f"{base}/users/bob"

    def dm(n: int) -> bytes:
        note = {
            "id": f"{alice}/notes/{n}",
            "type": "Note",
            "attributedTo": alice,
            "to": [bob],
            "content": f"<p>message {n}</p>",
            "context": f"{remote_base}/contexts/1",
            "published": f"2026-11-26T10:{n // 60:02d}:{n % 60:02d}Z",
        }
        if n:
            note["inReplyTo"] = f"{alice}/notes/{n - 1}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{alice}/activities/{n}",
            "type": "Create",
            "actor": alice,
            "to": [bob],
            "object": note,
        }
        return json.dumps(activity).encode()

    accepted: set[int] = set()

    async def send(session: aiohttp.ClientSession, n: int) -> None:
        body = dm(n)
        headers = sign_request(
            "POST", f"{base}/inbox", body, f"{alice}#main-key", key, datetime.now(UTC)
        )
        headers["Content-Type"] = "application/activity+json"
        try:
            async with session.post(f"{base}/inbox", data=body, headers=headers) as resp:
                if resp.status == 202:
                    accepted.add(n)
        except aiohttp.ClientError:
            pass  # the node died under this request: not accepted, the sender would retry

    with serving(tmp_path, env, port) as served:
        async with aiohttp.ClientSession() as session:
            burst = asyncio.gather(*(send(session, n) for n in range(MESSAGES)))
            # Kill as soon as the worker has stored some messages and not yet all of them.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                await asyncio.sleep(0.01)
                stored = rows(database, "select count(*) from conversation_message")[0][0]
                if stored > 0:
                    break
            os.kill(served.process.pid, signal.SIGKILL)
            await burst
            # Reaped before serving() looks: a SIGKILL not yet delivered would read as still
            # running there, and be stopped again (and fail) as if the test had not killed it.
            served.process.wait(timeout=30)
    stored_at_kill = rows(database, "select count(*) from conversation_message")[0][0]
    assert 0 < stored_at_kill < len(accepted), "the kill did not land mid-processing"

    with serving(tmp_path, env, port):
        deadline = time.monotonic() + 20  # seconds, not the five minutes of a lease
        pending = "select count(*) from inbound_message where state = 'pending'"
        while time.monotonic() < deadline:
            if rows(database, pending) == [(0,)]:
                break
            await asyncio.sleep(0.1)
        assert rows(database, pending) == [(0,)], "the restarted node did not take the work over"
        failed = rows(
            database, "select activity_id, last_error from inbound_message where state = 'failed'"
        )
        stored_ids = [r[0] for r in rows(database, "select ap_id from conversation_message")]
    assert failed == []
    assert len(stored_ids) == len(set(stored_ids)), "a message was stored twice"
    sent = {f"{alice}/notes/{n}" for n in range(MESSAGES)}
    # A message the node committed just before the kill may never have had its 202 back: the
    # sender retries it (and the id deduplicates), so it may be stored though not counted here.
    assert {f"{alice}/notes/{n}" for n in accepted} <= set(stored_ids) <= sent
    assert rows(database, "select count(*) from conversation") == [(1,)]
