"""The node's deliveries: signed with its members' keys, checkable with the published keys."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from activitypub.signatures import parse_signature, verify_signature
from federation.models import Delivery, DeliveryState
from federation.outbound import publish
from node.actors.service import SigningKeys
from node.db import activated, open_database
from node.http.keys import DATABASE, DELIVERY_WORKER, SETTINGS
from tests.api import bootstrap_invite, register
from tests.conftest import migrate_schema

pytestmark = pytest.mark.local_testing

NODE = "http://127.0.0.1:8080"
QUARTIER = Path(sys.executable).parent / "quartier"


async def test_a_members_delivery_verifies_with_the_key_their_actor_publishes(
    node, clock, aiohttp_server
):
    received = []

    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        url = f"http://127.0.0.1:{request.url.port}{request.raw_path}"
        to_verify = parse_signature("POST", url, list(request.headers.items()), body, clock())
        # What any remote server does: fetch the key's actor from the node, over HTTP.
        actor_doc = await (
            await node.get("/users/ada", headers={"Accept": "application/activity+json"})
        ).json()
        assert to_verify.key_id == actor_doc["publicKey"]["id"]
        pem = actor_doc["publicKey"]["publicKeyPem"].encode()
        verify_signature(to_verify, serialization.load_pem_public_key(pem))
        received.append(json.loads(body))
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    remote = await aiohttp_server(app)
    await register(node, await bootstrap_invite(node), "ada")
    activity = {"id": f"{NODE}/activities/1", "type": "Create", "actor": f"{NODE}/users/ada"}
    with activated(node.app[DATABASE]):
        await publish(
            activity, [f"http://127.0.0.1:{remote.port}/inbox"], f"{NODE}/users/ada", clock.now
        )
        assert await node.app[DELIVERY_WORKER].run_once() == 1
        [row] = await Delivery.all()
    assert received == [activity]
    assert row.state == DeliveryState.DELIVERED


async def test_a_delivery_for_an_actor_that_is_not_ours_never_goes_out(node, clock, aiohttp_server):
    sent = []

    async def inbox(request: web.Request) -> web.Response:
        sent.append(await request.read())
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    remote = await aiohttp_server(app)
    with activated(node.app[DATABASE]):
        await publish(
            {"id": f"{NODE}/a/1"},
            [f"http://127.0.0.1:{remote.port}/inbox"],
            f"{NODE}/users/ghost",
            clock.now,
        )
        await node.app[DELIVERY_WORKER].run_once()
        [row] = await Delivery.all()
    # a deleted (or foreign) signer cannot sign: the row is dead, nothing is sent unsigned
    assert (row.state, sent) == (DeliveryState.DEAD, [])
    assert "not a local actor" in row.last_error


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(QUARTIER), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_deliveries_cli_lists_and_requeues_dead_deliveries(database_url, tmp_path, clock):
    await migrate_schema(database_url)
    async with open_database(database_url) as ctx:
        with activated(ctx):
            await publish(
                {"id": "https://here.example/a/1"},
                ["https://peer.example/inbox", "https://other.example/inbox"],
                "https://here.example/users/ada",
                clock.now,
            )
            await Delivery.filter(inbox="https://peer.example/inbox").update(
                state=DeliveryState.DEAD, last_status=500, last_error="answered 500"
            )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_")}
    env["QUARTIER_STORAGE_DATABASE_URL"] = database_url
    listed = run(env, tmp_path, "deliveries", "list", "--state", "dead", "--json")
    assert listed.returncode == 0, listed.stderr
    [dead] = json.loads(listed.stdout)
    assert (dead["inbox"], dead["last_status"], dead["last_error"]) == (
        "https://peer.example/inbox",
        500,
        "answered 500",
    )
    text = run(env, tmp_path, "deliveries", "list")
    assert "https://other.example/inbox" in text.stdout
    assert "answered 500" in text.stdout
    assert run(env, tmp_path, "deliveries", "retry").returncode == 2
    assert run(env, tmp_path, "deliveries", "list", "--limit", "0").returncode == 2
    assert "queued again: 0" in run(env, tmp_path, "deliveries", "retry", "999999").stdout
    assert "queued again: 1" in run(env, tmp_path, "deliveries", "retry", str(dead["id"])).stdout
    async with open_database(database_url) as ctx:
        with activated(ctx):
            row = await Delivery.get(id=dead["id"])
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 0)


async def test_a_signing_key_is_loaded_once_for_concurrent_deliveries(node, clock):
    await register(node, await bootstrap_invite(node), "ada")
    keys = SigningKeys(node.app[SETTINGS].uris)
    with activated(node.app[DATABASE]):
        results = await asyncio.gather(*(keys(f"{NODE}/users/ada") for _ in range(20)))
        with pytest.raises(LookupError):
            await keys(f"{NODE}/users/ghost")
    assert len({id(key) for _, key in results}) == 1  # one load, shared
    assert {key_id for key_id, _ in results} == {f"{NODE}/users/ada#main-key"}


async def test_deliveries_cli_counts_every_try_of_a_delivered_row_and_clears_its_error(
    node, clock, aiohttp_server, tmp_path
):
    answers = {"/first": [202], "/later": [503, 202]}  # each path's answers, in order

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=answers[request.path].pop(0))

    app = web.Application()
    app.router.add_post("/{path}", inbox)
    remote = await aiohttp_server(app)
    await register(node, await bootstrap_invite(node), "ada")
    base = f"http://127.0.0.1:{remote.port}"
    with activated(node.app[DATABASE]):
        await publish(
            {"id": f"{NODE}/a/1"},
            [f"{base}/first", f"{base}/later"],
            f"{NODE}/users/ada",
            clock.now,
        )
        await node.app[DELIVERY_WORKER].run_once()  # /later answers 503: retried later
        clock.advance(minutes=5)
        assert await node.app[DELIVERY_WORKER].run_once() == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_")}
    env["QUARTIER_STORAGE_DATABASE_URL"] = node.app[SETTINGS].database_url
    listed = run(env, tmp_path, "deliveries", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    by_inbox = {row["inbox"]: row for row in json.loads(listed.stdout)}
    assert [
        (row["state"], row["attempts"], row["last_status"], row["last_error"])
        for row in (by_inbox[f"{base}/first"], by_inbox[f"{base}/later"])
    ] == [("delivered", 1, 202, ""), ("delivered", 2, 202, "")]
    text = run(env, tmp_path, "deliveries", "list").stdout
    assert "answered 503" not in text
    assert f"delivered      1    202 {base}/first" in text
