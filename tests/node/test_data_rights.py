"""Data rights over real HTTP: a member's export holds everything they created, item by item;
erasure removes it here and tells the servers that received it."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

import pytest

from federation.models import Delivery
from moderation.models import AuditEntry
from node.db import activated
from node.http.keys import DATABASE, EXPORTER, SETTINGS
from node.media.models import Media
from node.verification.models import ResidenceDocument
from tests.api import PASSWORD, bearer, bootstrap_invite, error_of
from tests.node.conftest import deliver_all
from tests.node.test_inbox import NODE
from tests.node.test_media_access import forget_cookies
from tests.node.verification_support import pdf, uploaded_document

pytestmark = pytest.mark.local_testing


async def archive_of(resp) -> zipfile.ZipFile:
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == "application/zip"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="quartier-bea-')
    return zipfile.ZipFile(io.BytesIO(await resp.read()))


def part(archive: zipfile.ZipFile, name: str):
    return json.loads(archive.read(name))


async def test_an_export_holds_everything_the_member_created(node, people, bea_world, remote):
    archive = await archive_of(
        await node.get("/api/quartier/v1/me/export", headers=bearer(people["bea"]))
    )
    assert "README.txt" in archive.namelist()
    profile = part(archive, "profile.json")
    assert (profile["username"], profile["real_name"]) == ("bea", "Bea")
    assert profile["verification"]["level"] == "verified"
    [listing] = part(archive, "listings.json")
    assert listing["title"] == "Sofa"
    assert listing["ap_id"] == bea_world["listing"]["url"]
    texts = sorted(m["text"] for m in part(archive, "messages.json"))
    assert texts == ["Hello cyd", "Hi zoe"]
    participants = {p["actor"] for p in part(archive, "conversations.json")}
    assert f"{NODE}/users/cyd" in participants
    vouches = part(archive, "vouches.json")
    assert [v["member__username"] for v in vouches["given"]] == ["cyd"]
    assert vouches["received"] == []
    [credential] = part(archive, "credentials.json")
    assert credential["document"]["credentialSubject"]["id"] == f"{NODE}/users/bea"
    assert credential["revoked_at"] is None
    ledger = part(archive, "sharing.json")
    assert [(e["kind"], e["host"]) for e in ledger] == [
        ("messages", remote.base.removeprefix("http://"))
    ]
    photo_id = bea_world["photo"]["id"]
    [photo_name] = [n for n in archive.namelist() if n.startswith("photos/")]
    assert photo_name.startswith(f"photos/{photo_id}")
    with activated(node.app[DATABASE]):
        stored = await Media.get(id=photo_id)
    assert archive.read(photo_name) == (node.app[SETTINGS].media_path / stored.file).read_bytes()
    # Nobody else's listings or messages are in it.
    cyd_archive = zipfile.ZipFile(
        io.BytesIO(
            await (
                await node.get("/api/quartier/v1/me/export", headers=bearer(people["cyd"]))
            ).read()
        )
    )
    assert part(cyd_archive, "listings.json") == []
    assert part(cyd_archive, "sharing.json") == []


async def test_an_export_asked_twice_at_once_is_sent_once(node, people, bea_world):
    exporter = node.app[EXPORTER]
    real = exporter.archive
    started, release = asyncio.Event(), asyncio.Event()

    async def held(member):
        # The real archive, held after its first part so that the second request comes
        # while the first is still being sent.
        first = True
        async for chunk in real(member):
            yield chunk
            if first:
                started.set()
                await release.wait()
                first = False

    exporter.archive = held
    first = asyncio.create_task(
        node.get("/api/quartier/v1/me/export", headers=bearer(people["bea"]))
    )
    await started.wait()
    second = await node.get("/api/quartier/v1/me/export", headers=bearer(people["bea"]))
    await error_of(second, 409, "conflict")
    other = await node.get("/api/quartier/v1/me/export", headers=bearer(people["cyd"]))
    assert other.status == 200  # another member's export is not held up
    release.set()
    archive = await archive_of(await first)
    assert part(archive, "profile.json")["username"] == "bea"
    third = await node.get("/api/quartier/v1/me/export", headers=bearer(people["bea"]))
    assert third.status == 200  # once sent, asked again freely


async def test_only_admins_export_or_erase_someone_else(node, people):
    for method, path in (
        ("GET", "/api/quartier/v1/admin/members/bea/export"),
        ("POST", "/api/quartier/v1/admin/members/bea/erasure"),
    ):
        resp = await node.request(method, path, json={}, headers=bearer(people["cyd"]))
        await error_of(resp, 403, "forbidden")
    forget_cookies(node)
    await error_of(await node.get("/api/quartier/v1/me/export"), 401, "unauthorized")
    await error_of(
        await node.post("/api/quartier/v1/me/erasure", json={"password": "x"}), 401, "unauthorized"
    )
    resp = await node.get(
        "/api/quartier/v1/admin/members/nobody/export", headers=bearer(people["ada"])
    )
    await error_of(resp, 404, "not_found")
    resp = await node.get(
        "/api/quartier/v1/admin/members/bea/export", headers=bearer(people["ada"])
    )
    assert resp.status == 200
    with activated(node.app[DATABASE]):
        [entry] = await AuditEntry.filter(action="account.exported")
    assert (entry.actor, entry.target) == ("ada", f"{NODE}/users/bea")


async def test_erasure_removes_the_account_here_and_tells_who_received_its_content(
    node, people, bea_world, remote
):
    bea = people["bea"]
    resp = await node.post(
        "/api/quartier/v1/me/erasure", json={"password": "wrong"}, headers=bearer(bea)
    )
    await error_of(resp, 422, "validation_failed")
    resp = await node.post("/api/quartier/v1/me/erasure", json={}, headers=bearer(bea))
    await error_of(resp, 422, "validation_failed")
    resp = await node.post(
        "/api/quartier/v1/me/erasure",
        data=b"{",
        headers={**bearer(bea), "Content-Type": "application/json"},
    )
    await error_of(resp, 400, "invalid_json")
    with activated(node.app[DATABASE]):
        photo = await Media.get(id=bea_world["photo"]["id"])
    photo_file = node.app[SETTINGS].media_path / photo.file
    assert photo_file.exists()
    credential_url = (
        await (await node.get("/users/bea", headers={"Accept": "application/activity+json"})).json()
    )["residencyCredential"]

    resp = await node.post(
        "/api/quartier/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(bea)
    )
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"erased": "bea", "servers_told": 1, "messages_withdrawn": 1}

    # Here: the actor is gone for good, the login too, the name stays taken.
    resp = await node.get("/users/bea", headers={"Accept": "application/activity+json"})
    assert resp.status == 410
    assert (await resp.json())["type"] == "Tombstone"
    forget_cookies(node)
    resp = await node.post(
        "/api/quartier/v1/sessions", json={"username": "bea", "password": PASSWORD}
    )
    assert resp.status == 401
    resp = await node.get("/api/quartier/v1/listings", headers=bearer(people["cyd"]))
    assert [item["title"] for item in (await resp.json())["listings"]] == []
    assert not photo_file.exists()
    resp = await node.get(credential_url.removeprefix(NODE))
    assert resp.status in (404, 410)
    invite = await bootstrap_invite(node)
    resp = await node.post(
        "/api/quartier/v1/accounts",
        json={
            "invite": invite,
            "username": "bea",
            "password": "another passphrase",
            "real_name": "B",
        },
    )
    await error_of(resp, 409, "conflict")
    # cyd's conversation keeps a trace that a message was there, without its text.
    cyd = people["cyd"]
    [conversation] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(cyd))
    ).json()
    messages = await (
        await node.get(f"/api/quartier/v1/conversations/{conversation['id']}", headers=bearer(cyd))
    ).json()
    assert "Hello cyd" not in json.dumps(messages)

    # There: zoe's server gets the Delete of the message it got, and of the account.
    await deliver_all(node)
    deletes = [body for _, body in remote.delivered if body["type"] == "Delete"]
    assert sorted(
        d["object"] if isinstance(d["object"], str) else d["object"]["type"] for d in deletes
    ) == sorted([f"{NODE}/users/bea", "Tombstone"])
    with activated(node.app[DATABASE]):
        dead = await Delivery.filter(state="dead").count()
        [entry] = await AuditEntry.filter(action="account.erased")
    assert dead == 0  # signed with the key the erased account keeps for that
    assert (entry.actor, entry.target) == ("bea", f"{NODE}/users/bea")


async def test_the_only_admin_is_not_erased(node, people):
    resp = await node.post(
        "/api/quartier/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(people["ada"])
    )
    error = await error_of(resp, 409, "conflict")
    assert "only admin" in error["message"]


async def test_an_admin_erases_a_member_with_a_reason_and_their_proof_of_residence_goes(
    node, people
):
    await uploaded_document(node, people["cyd"], pdf(b"my lease"))
    with activated(node.app[DATABASE]):
        [document] = await ResidenceDocument.all()
    document_file = node.app[SETTINGS].documents_path / str(document.storage_name)
    assert document_file.exists()
    resp = await node.post(
        "/api/quartier/v1/admin/members/cyd/erasure",
        json={"reason": "<script>asked by letter</script>"},
        headers=bearer(people["ada"]),
    )
    assert resp.status == 200, await resp.text()
    with activated(node.app[DATABASE]):
        [entry] = await AuditEntry.filter(action="account.erased")
    assert (entry.actor, entry.reason) == ("ada", "<script>asked by letter</script>")
    assert not document_file.exists()
    resp = await node.post(
        "/api/quartier/v1/admin/members/cyd/erasure", json={}, headers=bearer(people["ada"])
    )
    await error_of(resp, 404, "not_found")
    await error_of(
        await node.get("/api/quartier/v1/me", headers=bearer(people["cyd"])), 401, "unauthorized"
    )
