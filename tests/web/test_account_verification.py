"""Verification through the pages: where I stand, sending a proof of residence (the API's
reading, limits and service: nothing stored when refused), vouching for a neighbour."""

from __future__ import annotations

import io
from urllib.parse import unquote

import aiohttp
import pytest

from tests.api import PASSWORD, bearer, member_token
from tests.node.verification_support import pdf
from tests.web.account_support import (
    FRENCH,
    SCRIPT,
    assert_escaped,
    neighbours,
    post_page_form,
)
from tests.web.support import ORIGIN, log_in_by_form, page_token


@pytest.fixture
async def tokens(node) -> dict[str, str]:
    return await neighbours(node)


async def verified_bob(node, tokens: dict[str, str]) -> dict[str, str]:
    """ada verifies bob; cyd, a new neighbour, is not verified; bob is logged in again."""
    resp = await node.post(
        "/api/quartier/v1/admin/members/bob/verification",
        json={"verified": True, "reason": "known to the caretaker"},
        headers=bearer(tokens["ada"]),
    )
    assert resp.status == 200, await resp.text()
    tokens["cyd"] = await member_token(node, tokens["ada"], "cyd")
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "bob", PASSWORD)
    return tokens


def proof_form(
    token: str | None, data: bytes, name: str = "bill.pdf", kind: str = "application/pdf"
):
    body = aiohttp.FormData(default_to_multipart=True, quote_fields=False)
    if token is not None:
        body.add_field("csrf_token", token)
    body.add_field("file", io.BytesIO(data), filename=name, content_type=kind)
    return body


async def documents(node, token: str) -> list[dict]:
    resp = await node.get("/api/quartier/v1/me/verification", headers=bearer(token))
    assert resp.status == 200
    return (await resp.json())["documents"]


async def test_a_visitor_is_sent_to_log_in(node):
    resp = await node.get("/verification", allow_redirects=False)
    assert resp.status == 303
    assert unquote(resp.headers["Location"]) == "/login?next=/verification"


async def test_an_unverified_member_sees_where_they_stand(node, tokens):
    page = await (await node.get("/verification")).text()
    assert "You are not verified yet." in page
    assert "2 vouches from verified neighbours verify you." in page
    assert 'enctype="multipart/form-data"' in page
    assert 'action="/verification/vouch"' not in page  # only verified members vouch
    french = await (await node.get("/verification", headers=FRENCH)).text()
    assert "Vous n\u2019êtes pas encore vérifié." in french


async def test_sending_a_proof(node, tokens):
    token = await page_token(node, "/verification")
    resp = await node.post(
        "/verification/proof",
        data=proof_form(token, pdf(b"Bob, flat 3B")),
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/verification?done=proof"
    [document] = await documents(node, tokens["bob"])
    assert document["state"] == "pending"
    page = await (await node.get("/verification?done=proof")).text()
    assert "Your proof of residence is sent." in page
    assert "waiting for a manager" in page


async def test_a_file_of_the_wrong_type_is_refused_and_not_kept(node, tokens):
    token = await page_token(node, "/verification")
    resp = await node.post(
        "/verification/proof",
        data=proof_form(token, b"just some text", "bill.txt", "text/plain"),
        headers={**ORIGIN, **FRENCH},
    )
    assert resp.status == 415
    page = await resp.text()
    assert 'id="file-error"' in page
    assert "PDF, JPEG ou PNG" in page
    assert await documents(node, tokens["bob"]) == []


async def test_a_file_too_large_is_refused_and_not_kept(make_node, make_settings):
    node = await make_node(make_settings(verification={"document_max_bytes": "2048"}))
    tokens = await neighbours(node)
    token = await page_token(node, "/verification")
    resp = await node.post(
        "/verification/proof", data=proof_form(token, pdf(b"big", size=8192)), headers=ORIGIN
    )
    assert resp.status == 413
    page = await resp.text()
    assert "This file is too large." in page
    assert 'aria-describedby="file-error"' in page
    assert await documents(node, tokens["bob"]) == []


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_a_proof_without_the_right_token_is_refused(node, tokens, token):
    resp = await node.post("/verification/proof", data=proof_form(token, pdf(b"x")), headers=ORIGIN)
    assert resp.status == 403
    assert "text/html" in resp.headers["Content-Type"]
    assert await documents(node, tokens["bob"]) == []


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_a_proof_from_another_origin_is_refused(node, tokens, headers):
    token = await page_token(node, "/verification")
    resp = await node.post(
        "/verification/proof", data=proof_form(token, pdf(b"x")), headers=headers
    )
    assert resp.status == 403
    assert await documents(node, tokens["bob"]) == []


async def test_a_proof_from_a_visitor_is_sent_to_log_in(node, tokens):
    token = await page_token(node, "/verification")
    node.session.cookie_jar.clear()
    resp = await node.post(
        "/verification/proof",
        data=proof_form(token, pdf(b"x")),
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login?next=")
    assert await documents(node, tokens["bob"]) == []


async def test_a_verified_member_vouches_for_a_neighbour(node, tokens):
    await verified_bob(node, tokens)
    page = await (await node.get("/verification")).text()
    assert "You are a verified neighbour." in page
    resp = await post_page_form(node, "/verification", "/verification/vouch", {"username": "cyd"})
    assert resp.status == 303
    assert resp.headers["Location"] == "/verification?vouched=cyd"
    cyd = await (
        await node.get("/api/quartier/v1/me/verification", headers=bearer(tokens["cyd"]))
    ).json()
    assert cyd["vouched_by"] == ["bob"]
    page = await (await node.get("/verification?vouched=cyd")).text()
    assert "You vouched for @cyd." in page
    assert "@cyd" in page.split("You vouch for:")[1]


async def test_vouching_for_nobody_known(node, tokens):
    await verified_bob(node, tokens)
    resp = await post_page_form(
        node, "/verification", "/verification/vouch", {"username": SCRIPT}, headers=FRENCH
    )
    assert resp.status == 404
    page = await resp.text()
    assert "Personne n\u2019a ce nom d\u2019utilisateur." in page
    assert 'aria-describedby="username-error"' in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


async def test_an_unverified_member_cannot_vouch(node, tokens):
    await member_token(node, tokens["ada"], "cyd")
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "bob", PASSWORD)
    resp = await post_page_form(node, "/verification", "/verification/vouch", {"username": "cyd"})
    assert resp.status == 403
    assert "only verified members vouch" in await resp.text()


async def test_a_script_in_the_vouch_form_is_text(node, tokens):
    await verified_bob(node, tokens)
    resp = await post_page_form(node, "/verification", "/verification/vouch", {"username": SCRIPT})
    assert_escaped(await resp.text())


@pytest.mark.parametrize("token", ["", "wrong"])
async def test_vouching_without_the_right_token_is_refused(node, tokens, token):
    await verified_bob(node, tokens)
    resp = await node.post(
        "/verification/vouch", data={"csrf_token": token, "username": "cyd"}, headers=ORIGIN
    )
    assert resp.status == 403
    cyd = await (
        await node.get("/api/quartier/v1/me/verification", headers=bearer(tokens["cyd"]))
    ).json()
    assert cyd["vouched_by"] == []


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_vouching_from_another_origin_is_refused(node, tokens, headers):
    await verified_bob(node, tokens)
    token = await page_token(node, "/verification")
    resp = await node.post(
        "/verification/vouch", data={"csrf_token": token, "username": "cyd"}, headers=headers
    )
    assert resp.status == 403
    cyd = await (
        await node.get("/api/quartier/v1/me/verification", headers=bearer(tokens["cyd"]))
    ).json()
    assert cyd["vouched_by"] == []
