"""The verification queue through the staff pages: a proof's details and document (served
as the API serves it), approving, rejecting with a reason, a manager's direct verification."""

from __future__ import annotations

import pytest

from node.members.models import Role
from tests.api import bearer
from tests.node.media_support import jpeg
from tests.node.verification_support import level_of, pdf, uploaded_document
from tests.web.staff_support import ESCAPED, FRENCH, SCRIPT, browse_as, post_form, staff_member


@pytest.fixture
async def proof(node) -> dict:
    """bea sent a photo of a letter; cy, a manager, is browsing. Returns ids and tokens."""
    await staff_member(node, "ada", Role.ADMIN)
    bea = await staff_member(node, "bea", Role.RESIDENT)
    cy = await staff_member(node, "cy", Role.MANAGER)
    document = await uploaded_document(node, bea, jpeg((400, 300)), "letter.jpg")
    await browse_as(node, "cy")
    return {"id": document["id"], "bea": bea, "cy": cy}


async def test_the_queue_lists_the_proof_and_its_page_shows_the_document(node, proof):
    page = await (await node.get("/staff/verification")).text()
    assert f'href="/staff/verification/{proof["id"]}"' in page
    assert "Bea" in page
    page = await (await node.get(f"/staff/verification/{proof['id']}")).text()
    assert f'<img class="proof" src="/staff/verification/{proof["id"]}/document" alt="' in page
    assert "letter.jpg" in page
    french = await (await node.get(f"/staff/verification/{proof['id']}", headers=FRENCH)).text()
    assert "Justificatif de domicile" in french


async def test_the_document_is_served_as_the_api_serves_it(node, proof):
    page = await node.get(f"/staff/verification/{proof['id']}/document")
    api = await node.get(
        f"/api/quartier/v1/admin/verification/documents/{proof['id']}/file",
        headers=bearer(proof["cy"]),
    )
    assert page.status == api.status == 200
    assert await page.read() == await api.read()
    for header in (
        "Content-Type",
        "Content-Disposition",
        "Cache-Control",
        "X-Content-Type-Options",
        "Content-Security-Policy",
    ):
        assert page.headers[header] == api.headers[header], header
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Content-Disposition"].startswith("attachment;")


async def test_a_resident_cannot_read_the_document(node, proof):
    await browse_as(node, "bea")
    resp = await node.get(f"/staff/verification/{proof['id']}/document")
    assert resp.status == 403
    assert resp.content_type == "text/html"
    assert b"\xff\xd8" not in await resp.read()


async def test_approving_verifies_the_member(node, proof):
    path = f"/staff/verification/{proof['id']}"
    resp = await post_form(node, path, f"{path}/approve", {})
    assert resp.status == 303
    assert resp.headers["Location"] == "/staff/verification"
    assert (await level_of(node, proof["cy"], "bea"))["level"] == "verified"
    assert (await node.get(path)).status == 404  # decided: no longer waiting


async def test_a_rejection_needs_a_reason(node, proof):
    path = f"/staff/verification/{proof['id']}"
    resp = await post_form(node, path, f"{path}/reject", {"reason": "  "})
    assert resp.status == 422
    assert 'id="reason-error"' in await resp.text()
    resp = await post_form(node, path, f"{path}/reject", {"reason": SCRIPT + "x" * 500})
    assert resp.status == 422
    page = await resp.text()
    assert SCRIPT not in page
    assert ESCAPED in page
    resp = await post_form(node, path, f"{path}/reject", {"reason": "Blurred: send it again"})
    assert resp.status == 303
    mine = await (
        await node.get("/api/quartier/v1/me/verification", headers=bearer(proof["bea"]))
    ).json()
    assert "Blurred: send it again" in str(mine)
    assert (await level_of(node, proof["cy"], "bea"))["level"] != "verified"


async def test_a_manager_verifies_a_member_they_know(node, proof):
    data = {"username": "bea", "verified": "true", "reason": "my neighbour"}
    resp = await post_form(node, "/staff/verification", "/staff/verification/members", data)
    assert resp.status == 303
    assert (await level_of(node, proof["cy"], "bea"))["level"] == "verified"


async def test_a_direct_verification_errors(node, proof):
    data = {"username": SCRIPT, "verified": "true"}
    resp = await post_form(node, "/staff/verification", "/staff/verification/members", data)
    assert resp.status == 422
    page = await resp.text()
    assert 'id="username-error"' in page
    assert ESCAPED in page
    assert SCRIPT not in page
    data = {"username": "bea", "verified": "false", "found_false": "true", "reason": ""}
    resp = await post_form(node, "/staff/verification", "/staff/verification/members", data, FRENCH)
    assert resp.status == 422
    assert "s\u2019est révélée fausse" in await resp.text()


async def test_a_pdf_is_a_link_not_an_image(node):
    await staff_member(node, "ada", Role.ADMIN)
    bea = await staff_member(node, "bea", Role.RESIDENT)
    document = await uploaded_document(node, bea, pdf(b"Electricity bill"))
    await browse_as(node, "ada")
    page = await (await node.get(f"/staff/verification/{document['id']}")).text()
    assert "<img" not in page
    assert f'href="/staff/verification/{document["id"]}/document"' in page
