"""Profile and settings through the pages: display name, bio and the member's page language
(the API's profile update), and the sessions page."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.api import bearer, login
from tests.web.account_support import (
    FRENCH,
    SCRIPT,
    assert_escaped,
    end_browser_session,
    neighbours,
    post_page_form,
    relogin_token,
)
from tests.web.support import ORIGIN, page_token

ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
async def tokens(node) -> dict[str, str]:
    return await neighbours(node)


async def me(node, token: str) -> dict:
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert resp.status == 200
    return await resp.json()


def settings(**fields: str) -> dict[str, str]:
    return {"display_name": "Bob (3B)", "bio": "", "language": "", **fields}


@pytest.mark.parametrize("path", ["/settings", "/settings/sessions"])
async def test_a_visitor_is_sent_to_log_in(node, path):
    resp = await node.get(path, allow_redirects=False)
    assert resp.status == 303
    assert unquote(resp.headers["Location"]) == f"/login?next={path}"


async def test_the_settings_show_the_profile_and_link_the_rest(node, tokens):
    page = await (await node.get("/settings")).text()
    assert 'value="bob"' in page
    assert 'href="/settings/password"' in page
    assert 'href="/settings/sessions"' in page
    assert '<option value="" selected>' in page


async def test_saving_the_profile(node, tokens):
    fields = settings(bio="Flat 3B.\nI lend tools.")
    resp = await post_page_form(node, "/settings", "/settings", fields)
    assert resp.status == 303
    assert resp.headers["Location"] == "/settings?saved"
    profile = await me(node, tokens["bob"])
    assert profile["display_name"] == "Bob (3B)"
    assert profile["bio"] == "Flat 3B.\nI lend tools."
    assert profile["language"] == ""
    page = await (await node.get("/settings?saved")).text()
    assert "Your settings are saved." in page


async def test_an_empty_display_name_is_refused_with_what_was_typed(node, tokens):
    resp = await post_page_form(
        node, "/settings", "/settings", settings(display_name="", bio="kept")
    )
    assert resp.status == 422
    page = await resp.text()
    assert 'id="display_name-error"' in page
    assert 'aria-describedby="display_name-error"' in page
    assert ">kept</textarea>" in page
    assert (await me(node, tokens["bob"]))["display_name"] == "bob"


async def test_an_unknown_language_is_refused(node, tokens):
    resp = await post_page_form(node, "/settings", "/settings", settings(language="de"))
    assert resp.status == 422
    assert 'id="language-error"' in await resp.text()
    assert (await me(node, tokens["bob"]))["language"] == ""


async def test_a_script_in_the_profile_is_text(node, tokens):
    resp = await post_page_form(
        node, "/settings", "/settings", settings(display_name=SCRIPT, bio=SCRIPT)
    )
    assert resp.status == 303
    assert_escaped(await (await node.get("/settings")).text())
    assert_escaped(await (await node.get("/")).text())  # "Welcome, <name>"


async def test_the_settings_in_french(node, tokens):
    page = await (await node.get("/settings", headers=FRENCH)).text()
    assert "Langue des pages" in page
    assert "Celle de mon navigateur" in page


async def test_a_member_who_chose_french_gets_french_pages(node, tokens):
    resp = await post_page_form(node, "/settings", "/settings", settings(language="fr"))
    assert resp.status == 303
    for path in ("/", "/settings", "/messages"):
        resp = await node.get(path, headers=ENGLISH)
        assert resp.headers["Content-Language"] == "fr"
        page = await resp.text()
        assert '<html lang="fr">' in page
    # Back to following the browser.
    resp = await post_page_form(node, "/settings", "/settings", settings(language=""))
    assert resp.status == 303
    resp = await node.get("/", headers=ENGLISH)
    assert resp.headers["Content-Language"] == "en"


async def test_the_language_is_set_and_shown_by_the_api(node, tokens):
    resp = await node.patch(
        "/api/quartier/v1/me", json={"language": "fr"}, headers=bearer(tokens["bob"])
    )
    assert resp.status == 200
    assert (await resp.json())["language"] == "fr"
    assert (await me(node, tokens["bob"]))["language"] == "fr"
    resp = await node.get("/settings", headers=ENGLISH)
    assert '<option value="fr" selected>' in await resp.text()
    bad = await node.patch(
        "/api/quartier/v1/me", json={"language": "xx"}, headers=bearer(tokens["bob"])
    )
    assert bad.status == 422
    assert (await bad.json())["error"]["details"][0]["field"] == "language"
    null = await node.patch(
        "/api/quartier/v1/me", json={"language": None}, headers=bearer(tokens["bob"])
    )
    assert null.status == 422


@pytest.mark.parametrize("token", ["", "wrong"])
async def test_saving_without_the_right_token_is_refused(node, tokens, token):
    resp = await node.post("/settings", data={"csrf_token": token, **settings()}, headers=ORIGIN)
    assert resp.status == 403
    assert (await me(node, tokens["bob"]))["display_name"] == "bob"


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_saving_from_another_origin_is_refused(node, tokens, headers):
    token = await page_token(node, "/settings")
    resp = await node.post("/settings", data={"csrf_token": token, **settings()}, headers=headers)
    assert resp.status == 403
    assert (await me(node, tokens["bob"]))["display_name"] == "bob"


async def test_settings_sent_after_the_session_ended_are_kept(node, tokens):
    token = await page_token(node, "/settings")
    tokens["bob"] = await end_browser_session(node, "bob")
    fields = settings(bio="Typed before the session ended")
    resp = await node.post("/settings", data={"csrf_token": token, **fields}, headers=ORIGIN)
    assert resp.status == 401
    page = await resp.text()
    assert "Typed before the session ended" in page
    form = {
        "csrf_token": await relogin_token(resp),
        **fields,
        "relogin_username": "bob",
        "relogin_password": "correct horse battery staple",
    }
    resp = await node.post("/settings", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303
    assert (await me(node, tokens["bob"]))["bio"] == "Typed before the session ended"


async def test_the_sessions_page_marks_this_one(node, tokens):
    resp = await node.get("/settings/sessions")
    assert resp.status == 200
    page = await resp.text()
    assert page.count("/revoke") == 2  # the browser's and the API's
    assert "This session" in page
    french = await (await node.get("/settings/sessions", headers=FRENCH)).text()
    assert "Cette session" in french


async def test_ending_another_session(node, tokens):
    sessions = await (
        await node.get("/api/quartier/v1/sessions", headers=bearer(tokens["bob"]))
    ).json()
    api_session = next(s for s in sessions if s["current"])["id"]
    resp = await post_page_form(
        node, "/settings/sessions", f"/settings/sessions/{api_session}/revoke", {}
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/settings/sessions"
    assert (await node.get("/api/quartier/v1/me", headers=bearer(tokens["bob"]))).status == 401
    assert (await node.get("/settings/sessions")).status == 200  # this one stays


async def test_ending_this_session_logs_out(node, tokens):
    sessions = await (
        await node.get("/api/quartier/v1/sessions", headers=bearer(tokens["bob"]))
    ).json()
    browser = next(s for s in sessions if not s["current"])["id"]
    resp = await post_page_form(
        node, "/settings/sessions", f"/settings/sessions/{browser}/revoke", {}
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/"
    assert (await node.get("/settings", allow_redirects=False)).status == 303


async def test_ending_someone_elses_session_is_not_found(node, tokens):
    ada = await login(node, "ada")
    node.session.cookie_jar.clear()
    from tests.web.support import log_in_by_form

    await log_in_by_form(node, "bob", "correct horse battery staple")
    sessions = await (await node.get("/api/quartier/v1/sessions", headers=bearer(ada))).json()
    resp = await post_page_form(
        node, "/settings/sessions", f"/settings/sessions/{sessions[0]['id']}/revoke", {}
    )
    assert resp.status == 404
    assert (await node.get("/api/quartier/v1/me", headers=bearer(ada))).status == 200


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_ending_a_session_from_another_origin_is_refused(node, tokens, headers):
    token = await page_token(node, "/settings/sessions")
    sessions = await (
        await node.get("/api/quartier/v1/sessions", headers=bearer(tokens["bob"]))
    ).json()
    resp = await node.post(
        f"/settings/sessions/{sessions[0]['id']}/revoke",
        data={"csrf_token": token},
        headers=headers,
    )
    assert resp.status == 403
    assert (await node.get("/api/quartier/v1/me", headers=bearer(tokens["bob"]))).status == 200
