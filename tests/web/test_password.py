"""Changing the password through the form: the API's change (other sessions end), errors
re-shown, CSRF and Origin."""

from __future__ import annotations

import pytest

from tests.api import PASSWORD, admin_token, bearer, login
from tests.web.support import ORIGIN, log_in_by_form, page_token

NEW = "a brand new passphrase"
FRENCH = {"Accept-Language": "fr"}


@pytest.fixture
async def ada(node) -> str:
    """ada is logged in by the form; returns the bearer token of another session."""
    await admin_token(node, "ada")
    other = await login(node, "ada")
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "ada", PASSWORD)
    return other


def form_of(token: str, current: str = PASSWORD, new: str = NEW, again: str | None = None):
    return {
        "csrf_token": token,
        "current_password": current,
        "new_password": new,
        "confirmation": NEW if again is None else again,
    }


async def test_a_visitor_is_sent_to_log_in(node):
    resp = await node.get("/settings/password", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login?next=/settings/password"


async def test_changing_the_password_ends_the_other_sessions(node, ada):
    token = await page_token(node, "/settings/password")
    resp = await node.post("/settings/password", data=form_of(token), headers=ORIGIN)
    assert resp.status == 200
    assert "Your password is changed" in await resp.text()
    assert (await node.get("/api/quartier/v1/me", headers=bearer(ada))).status == 401
    # This session stays; the new password works.
    assert "Welcome" in await (await node.get("/")).text()
    assert await login(node, "ada", NEW)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"current": "not the password"}, "current_password"),
        ({"again": "something else"}, "confirmation"),
        ({"new": "short", "again": "short"}, "new_password"),
    ],
)
async def test_errors_are_shown_next_to_the_field(node, ada, fields, field):
    token = await page_token(node, "/settings/password")
    resp = await node.post("/settings/password", data=form_of(token, **fields), headers=ORIGIN)
    assert resp.status == 422
    page = await resp.text()
    assert f'id="{field}-error"' in page
    assert "not the password" not in page
    assert await login(node, "ada", PASSWORD)  # unchanged


async def test_a_wrong_password_in_french(node, ada):
    token = await page_token(node, "/settings/password")
    form = form_of(token, current="not the password")
    resp = await node.post("/settings/password", data=form, headers={**ORIGIN, **FRENCH})
    assert resp.status == 422
    assert "votre mot de passe actuel" in await resp.text()


@pytest.mark.parametrize("token", ["", "wrong"])
async def test_a_change_without_the_right_token_is_refused(node, ada, token):
    resp = await node.post("/settings/password", data=form_of(token), headers=ORIGIN)
    assert resp.status == 403
    assert await login(node, "ada", PASSWORD)


@pytest.mark.parametrize("origin", [{}, {"Origin": "https://evil.example"}])
async def test_a_change_from_another_origin_is_refused(node, ada, origin):
    token = await page_token(node, "/settings/password")
    resp = await node.post("/settings/password", data=form_of(token), headers=origin)
    assert resp.status == 403
    assert await login(node, "ada", PASSWORD)
