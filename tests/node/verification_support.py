"""Steps the verification tests repeat: documents made in the test (no binary fixtures),
uploads, roles, levels and notifications over the API, and what is on disk."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from tests.api import bearer

ADMIN_MEMBERS = "/api/quartier/v1/admin/members"
MY_VERIFICATION = "/api/quartier/v1/me/verification"
MY_DOCUMENT = "/api/quartier/v1/me/verification/document"
DOCUMENTS = "/api/quartier/v1/admin/verification/documents"
EVENTS = "/api/quartier/v1/admin/verification/events"
REVIEW = "/api/quartier/v1/admin/verification/review"
MY_INVITES = "/api/quartier/v1/me/invites"


def marker() -> bytes:
    """A string found nowhere else: where it turns up, the document's plaintext leaked."""
    return f"QUARTIER-MARKER-{uuid.uuid4().hex}".encode()


def pdf(text: bytes, size: int | None = None) -> bytes:
    """A minimal valid one-page PDF showing ``text`` (cross-reference table included); with
    ``size``, padded by a comment line to exactly that many bytes."""
    if size is None:
        return _pdf(text, b"")
    padding = max(0, size - len(_pdf(text, b"")) - 2)
    while True:  # the padding moves the offsets, whose digits may change the length
        data = _pdf(text, b"%" + b"x" * padding + b"\n")
        if len(data) == size:
            return data
        padding += size - len(data)
        if padding < 0:
            raise ValueError(f"a PDF of {size} bytes cannot hold {text!r}")


def _pdf(text: bytes, padding: bytes) -> bytes:
    content = b"BT /F1 12 Tf 20 100 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n" + padding)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def document_form(
    data: bytes, filename: str = "proof.pdf", content_type: str = "application/pdf"
) -> aiohttp.FormData:
    """A multipart body with the document in its ``file`` field."""
    # quote_fields=False: the file name is sent as browsers send it, not percent-encoded
    body = aiohttp.FormData(default_to_multipart=True, quote_fields=False)
    body.add_field("file", io.BytesIO(data), filename=filename, content_type=content_type)
    return body


async def upload_document(
    client: TestClient,
    token: str,
    data: bytes,
    filename: str = "proof.pdf",
    content_type: str = "application/pdf",
) -> aiohttp.ClientResponse:
    return await client.post(
        MY_DOCUMENT, data=document_form(data, filename, content_type), headers=bearer(token)
    )


async def uploaded_document(
    client: TestClient, token: str, data: bytes, filename: str = "proof.pdf"
) -> dict[str, Any]:
    """Upload a proof of residence; asserts 201 and returns its record."""
    resp = await upload_document(client, token, data, filename)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def make_manager(client: TestClient, admin: str, username: str) -> None:
    resp = await client.patch(
        f"{ADMIN_MEMBERS}/{username}", json={"role": "manager"}, headers=bearer(admin)
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["role"] == "manager"


async def set_verified(
    client: TestClient, token: str, username: str, verified: bool = True, **extra: Any
) -> dict[str, Any]:
    """A manager or admin sets a member's verification; the member as staff see them."""
    resp = await client.post(
        f"{ADMIN_MEMBERS}/{username}/verification",
        json={"verified": verified, **extra},
        headers=bearer(token),
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def standing(client: TestClient, token: str) -> dict[str, Any]:
    """``GET /api/quartier/v1/me/verification`` for the token's member."""
    resp = await client.get(MY_VERIFICATION, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def level_of(client: TestClient, token: str, username: str) -> dict[str, Any]:
    """A member's verification as their profile shows it."""
    resp = await client.get(f"/api/quartier/v1/members/{username}", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["verification"]


async def notices(client: TestClient, token: str) -> list[tuple[str, str]]:
    """The member's verification notifications as (type, detail), oldest first."""
    resp = await client.get("/api/quartier/v1/notifications?limit=100", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    rows = await resp.json()
    return [(n["type"], n["detail"]) for n in reversed(rows) if n["type"].startswith("verif")]


async def events(client: TestClient, token: str) -> list[dict[str, Any]]:
    """The verification audit trail, oldest first."""
    resp = await client.get(EVENTS, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return list(reversed(await resp.json()))


def files_under(*folders: Path) -> dict[Path, bytes]:
    """Every file under ``folders`` (the data directory, the database files) and its bytes."""
    found: dict[Path, bytes] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found[path] = path.read_bytes()
    return found


def holding(needle: bytes, *folders: Path) -> list[Path]:
    """The files under ``folders`` whose bytes contain ``needle``."""
    return [path for path, data in files_under(*folders).items() if needle in data]
