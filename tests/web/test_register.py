"""Registering with an invite through the form: the API's registration, CSRF and Origin, and
errors shown next to their field with what was typed kept (never the password)."""

from __future__ import annotations

import html

import pytest

from tests.api import PASSWORD, admin_token, bearer, bootstrap_invite
from tests.web.support import ORIGIN, csrf_of, page_token

FRENCH = {"Accept-Language": "fr"}


async def resident_invite(node) -> str:
    """An invite made by an admin over the API; the client is left logged out."""
    ada = await admin_token(node, "ada")
    resp = await node.post("/api/quartier/v1/admin/invites", json={}, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    node.session.cookie_jar.clear()
    return (await resp.json())["code"]


def form_of(token: str, invite: str, **fields: str) -> dict[str, str]:
    base = {
        "csrf_token": token,
        "invite": invite,
        "username": "bea",
        "real_name": "Bea Bee",
        "display_name": "",
        "password": PASSWORD,
    }
    return {**base, **fields}


async def test_registering_with_an_invite_logs_the_member_in(node):
    invite = await resident_invite(node)
    resp = await node.get(f"/register?invite={invite}")
    page = await resp.text()
    assert f'value="{invite}"' in page
    form = form_of(csrf_of(page), invite, display_name="Bea")
    resp = await node.post("/register", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/"
    assert "quartier_session" in resp.cookies
    home = await (await node.get("/")).text()
    assert "Welcome, Bea" in home
    assert 'href="/settings/password"' in home
    me = await (await node.get("/api/quartier/v1/me")).json()
    assert (me["username"], me["real_name"], me["role"]) == ("bea", "Bea Bee", "resident")


async def test_a_bootstrap_invite_works_too(node):
    invite = await bootstrap_invite(node)
    token = await page_token(node, "/register")
    resp = await node.post(
        "/register",
        data=form_of(token, invite, username="ada"),
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303


async def test_an_unknown_invite_keeps_what_was_typed_but_the_password(node):
    token = await page_token(node, "/register")
    form = form_of(token, "nope", real_name="<script>alert(1)</script>")
    resp = await node.post("/register", data=form, headers=ORIGIN)
    assert resp.status == 410
    page = await resp.text()
    assert 'id="invite-error"' in page
    assert 'value="nope"' in page
    assert 'value="bea"' in page
    assert "<script>alert(1)" not in page
    assert html.escape("<script>alert(1)</script>") in page
    assert PASSWORD not in page


async def test_a_used_invite_and_a_taken_username(node):
    invite = await resident_invite(node)
    token = await page_token(node, "/register")
    resp = await node.post(
        "/register", data=form_of(token, invite), headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 303
    node.session.cookie_jar.clear()
    token = await page_token(node, "/register")
    resp = await node.post("/register", data=form_of(token, invite), headers=ORIGIN)
    assert resp.status == 410
    # A fresh invite, but the username is taken: 409 next to the username.
    invite = await resident_invite_again(node)
    token = await page_token(node, "/register")
    resp = await node.post("/register", data=form_of(token, invite), headers=ORIGIN)
    assert resp.status == 409
    assert 'id="username-error"' in await resp.text()


async def resident_invite_again(node) -> str:
    resp = await node.post(
        "/api/quartier/v1/sessions", json={"username": "ada", "password": PASSWORD}
    )
    ada = (await resp.json())["token"]
    resp = await node.post("/api/quartier/v1/admin/invites", json={}, headers=bearer(ada))
    node.session.cookie_jar.clear()
    return (await resp.json())["code"]


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"username": "Not Valid!"}, "username", 422),
        ({"password": "short"}, "password", 422),
        ({"real_name": ""}, "real_name", 422),
    ],
)
async def test_invalid_fields_are_shown_next_to_the_field(node, fields, field, status):
    invite = await resident_invite(node)
    token = await page_token(node, "/register")
    resp = await node.post("/register", data=form_of(token, invite, **fields), headers=ORIGIN)
    assert resp.status == status
    assert f'id="{field}-error"' in await resp.text()
    # The invite was not used: it still works.
    token = await page_token(node, "/register")
    resp = await node.post(
        "/register", data=form_of(token, invite), headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 303


async def test_the_form_in_french(node):
    resp = await node.get("/register", headers=FRENCH)
    page = await resp.text()
    assert "Code d\u2019invitation" in page
    form = form_of(csrf_of(page), "nope")
    resp = await node.post("/register", data=form, headers={**ORIGIN, **FRENCH})
    assert resp.status == 410
    assert "Demandez-en une nouvelle" in await resp.text()


@pytest.mark.parametrize("token", ["", "wrong"])
async def test_a_registration_without_the_right_token_is_refused(node, token):
    invite = await resident_invite(node)
    await page_token(node, "/register")  # the cookie is there; the field is not right
    resp = await node.post("/register", data=form_of(token, invite), headers=ORIGIN)
    assert resp.status == 403
    assert "quartier_session" not in resp.cookies


@pytest.mark.parametrize("origin", [{}, {"Origin": "https://evil.example"}])
async def test_a_registration_from_another_origin_is_refused(node, origin):
    invite = await resident_invite(node)
    token = await page_token(node, "/register")
    resp = await node.post("/register", data=form_of(token, invite), headers=origin)
    assert resp.status == 403


async def test_the_login_page_links_to_registration(node):
    page = await (await node.get("/login")).text()
    assert 'href="/register"' in page
