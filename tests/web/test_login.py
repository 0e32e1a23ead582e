"""Logging in and out through the forms: the API's checks and limits, CSRF and Origin.

A wrong password re-shows the form with status 401 (the API's status for the same failure),
the username kept and the password not; past the rate limit, 429 with Retry-After.
"""

from __future__ import annotations

import pytest

from tests.api import PASSWORD, admin_token, bearer, member_token
from tests.web.support import ORIGIN, csrf_of, log_in_by_form, page_token

FRENCH = {"Accept-Language": "fr"}


@pytest.fixture
async def bea(node) -> str:
    """A resident, bea; the client is left logged out (the API logins set cookies)."""
    ada = await admin_token(node, "ada")
    token = await member_token(node, ada, "bea")
    node.session.cookie_jar.clear()
    return token


async def test_a_member_logs_in_through_the_form_and_sees_their_home(node, bea):
    token = await page_token(node, "/login")
    form = {"username": "bea", "password": PASSWORD, "csrf_token": token}
    resp = await node.post("/login", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/"
    cookie = resp.cookies["quartier_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    home = await (await node.get("/")).text()
    assert "Welcome, bea" in home
    # The session cookie is a real session: the API knows it.
    me = await node.get("/api/quartier/v1/me")
    assert (await me.json())["username"] == "bea"
    # Logged in, the login page sends the member home.
    resp = await node.get("/login", allow_redirects=False)
    assert resp.status == 303


async def test_the_login_form_s_cookie_is_strict_and_kept_across_pages(node):
    resp = await node.get("/login")
    cookie = resp.cookies["quartier_csrf"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert csrf_of(await resp.text()) == cookie.value
    again = await node.get("/login")
    assert "quartier_csrf" not in again.cookies  # the visitor keeps the one they have
    assert csrf_of(await again.text()) == cookie.value


async def test_a_member_s_form_token_belongs_to_their_session(node, bea):
    anonymous = await page_token(node, "/login")
    await log_in_by_form(node, "bea", PASSWORD)
    first = await page_token(node, "/")
    assert first != anonymous
    assert await page_token(node, "/about") == first
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "bea", PASSWORD)
    assert await page_token(node, "/") != first  # a new session, a new token


async def test_a_wrong_password_shows_the_form_again_with_the_username_kept(node, bea):
    token = await page_token(node, "/login")
    form = {"username": "bea", "password": "not it", "csrf_token": token}
    resp = await node.post("/login", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 401
    page = await resp.text()
    assert "Wrong username or password." in page
    assert 'value="bea"' in page
    assert "not it" not in page
    assert "quartier_session" not in resp.cookies
    # The form can be sent again at once: it carries a valid token.
    form = {"username": "bea", "password": PASSWORD, "csrf_token": csrf_of(page)}
    resp = await node.post("/login", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303


async def test_a_wrong_password_in_french(node, bea):
    resp = await node.get("/login", headers=FRENCH)
    form = {"username": "bea", "password": "x", "csrf_token": csrf_of(await resp.text())}
    resp = await node.post("/login", data=form, headers={**ORIGIN, **FRENCH})
    assert resp.status == 401
    assert "Nom d\u2019utilisateur ou mot de passe incorrect." in await resp.text()


async def test_an_empty_form_is_refused_without_trying(node, bea):
    token = await page_token(node, "/login")
    resp = await node.post("/login", data={"csrf_token": token}, headers=ORIGIN)
    assert resp.status == 422
    assert "Enter your username and your password." in await resp.text()


async def test_the_form_shares_the_api_s_login_rate_limit(make_settings, make_node):
    node = await make_node(make_settings(accounts={"login_max_attempts": 3}))
    ada = await admin_token(node, "ada")
    await member_token(node, ada, "bea")
    node.session.cookie_jar.clear()
    token = await page_token(node, "/login")
    wrong = {"username": "bea", "password": "guess", "csrf_token": token}
    for _ in range(3):
        resp = await node.post("/login", data=wrong, headers=ORIGIN)
        assert resp.status == 401
    resp = await node.post("/login", data=wrong, headers=ORIGIN)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert "Too many attempts" in await resp.text()
    # The same limit holds on the API: one implementation behind both.
    api = await node.post(
        "/api/quartier/v1/sessions", json={"username": "bea", "password": PASSWORD}
    )
    assert api.status == 429


@pytest.mark.parametrize("token", [None, "", "forged-token-forged-token-forged"])
async def test_a_login_without_the_right_token_is_refused(node, bea, token):
    await page_token(node, "/login")  # the visitor has their double-submit cookie
    form = {"username": "bea", "password": PASSWORD}
    if token is not None:
        form["csrf_token"] = token
    resp = await node.post("/login", data=form, headers={**ORIGIN, **FRENCH})
    assert resp.status == 403
    page = await resp.text()
    assert "Action refusée" in page
    assert "Traceback" not in page
    assert "quartier_session" not in resp.cookies


async def test_a_login_without_the_cookie_is_refused(node, bea):
    token = await page_token(node, "/login")
    node.session.cookie_jar.clear()  # a forger has the field's value but not our cookie
    form = {"username": "bea", "password": PASSWORD, "csrf_token": token}
    resp = await node.post("/login", data=form, headers=ORIGIN)
    assert resp.status == 403


@pytest.mark.parametrize("origin", [{"Origin": "https://evil.example"}, {}])
async def test_a_login_from_another_origin_is_refused(node, bea, origin):
    token = await page_token(node, "/login")
    form = {"username": "bea", "password": PASSWORD, "csrf_token": token}
    resp = await node.post("/login", data=form, headers=origin)
    assert resp.status == 403
    assert "Not allowed" in await resp.text()


async def test_logout_revokes_the_session(node, bea):
    await log_in_by_form(node, "bea", PASSWORD)
    session_cookie = node.session.cookie_jar.filter_cookies(node.make_url("/"))[
        "quartier_session"
    ].value
    token = await page_token(node, "/")
    resp = await node.post(
        "/logout", data={"csrf_token": token}, headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/"
    assert resp.cookies["quartier_session"].value == ""
    # The session is gone on the server, not only in this browser.
    assert (await node.get("/api/quartier/v1/me", headers=bearer(session_cookie))).status == 401
    page = await (await node.get("/")).text()
    assert "How to join" in page


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, ORIGIN])
async def test_a_forged_logout_is_refused_and_the_session_lives_on(node, bea, headers):
    await log_in_by_form(node, "bea", PASSWORD)
    # From another origin even with the right token; from ours without it.
    token = await page_token(node, "/") if headers is not ORIGIN else "forged"
    resp = await node.post("/logout", data={"csrf_token": token}, headers=headers)
    assert resp.status == 403
    assert "Not allowed" in await resp.text()
    assert "Welcome, bea" in await (await node.get("/")).text()


async def test_the_anonymous_token_does_not_log_a_member_out(node, bea):
    anonymous = await page_token(node, "/login")
    await log_in_by_form(node, "bea", PASSWORD)
    resp = await node.post("/logout", data={"csrf_token": anonymous}, headers=ORIGIN)
    assert resp.status == 403


async def test_logging_out_of_an_ended_session_just_clears_the_cookie(node, bea):
    await log_in_by_form(node, "bea", PASSWORD)
    token = await page_token(node, "/")
    cookie = node.session.cookie_jar.filter_cookies(node.make_url("/"))["quartier_session"]
    # The session ends elsewhere (another device's "log out everywhere").
    await node.delete(
        "/api/quartier/v1/sessions/current", headers={**bearer(cookie.value), **ORIGIN}
    )
    resp = await node.post(
        "/logout", data={"csrf_token": token}, headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 303
    assert resp.cookies["quartier_session"].value == ""
    foreign = await node.post("/logout", data={}, headers={"Origin": "https://evil.example"})
    assert foreign.status == 403


async def test_the_login_form_leads_back_to_the_page_asked_for_and_never_off_site(node, bea):
    for asked, landing in (
        ("/settings/password", "/settings/password"),
        ("/listings?q=drill", "/listings?q=drill"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("/\nLocation: x", "/"),
    ):
        page = await node.get("/login", params={"next": asked})
        token = csrf_of(await page.text())
        form = {"username": "bea", "password": PASSWORD, "csrf_token": token, "next": asked}
        resp = await node.post("/login", data=form, headers=ORIGIN, allow_redirects=False)
        assert resp.status == 303, asked
        assert resp.headers["Location"] == landing, asked
        node.session.cookie_jar.clear()
    # A members' page sends a visitor to log in, to come back to it.
    resp = await node.get("/settings/password", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login?next=/settings/password"
