"""OAuth as Mastodon clients speak it: apps, the consent page, codes with PKCE, tokens, scopes."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from aiohttp.test_utils import TestClient

from node.oauth import scopes as scope_set
from node.oauth.service import pkce_challenge, pkce_matches
from tests.api import admin_token, bearer, login, member_token
from tests.node.oauth_support import (
    CHALLENGE,
    HIDDEN,
    REDIRECT,
    VERIFIER,
    approve,
    authorize_url,
    consent_form,
    exchange,
    register_app,
)
from tests.web.support import ORIGIN, csrf_of, log_in_by_form

PASSWORD = "correct horse battery staple"


def test_s256_matches_rfc_7636_appendix_b() -> None:
    assert pkce_challenge(VERIFIER) == CHALLENGE
    assert pkce_matches(VERIFIER, CHALLENGE)
    assert not pkce_matches(VERIFIER[:-1] + "A", CHALLENGE)
    assert not pkce_matches("short", pkce_challenge("short"))  # RFC 7636: 43 to 128 chars


async def _logged_in(node: TestClient) -> str:
    token = await admin_token(node, "ada")
    node.session.cookie_jar.clear()  # the API login's cookie: the browser logs in by form
    await log_in_by_form(node, "ada", PASSWORD)
    return token


async def _code(node: TestClient, app: dict[str, Any], **extra: str) -> str:
    query = await approve(node, authorize_url(app, **extra))
    return query["code"][0]


async def test_full_code_flow_with_pkce(node: TestClient) -> None:
    app = await register_app(node)
    assert app["redirect_uris"] == [REDIRECT]
    assert app["scopes"] == ["read", "write", "follow"]
    assert isinstance(app["id"], str)
    assert app["client_secret"]

    # A visitor is sent to the login page first, to come back here.
    resp = await node.get(authorize_url(app), allow_redirects=False)
    assert resp.status == 303
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/login"
    back = urlsplit(unquote(parse_qs(location.query)["next"][0]))
    assert back.path == "/oauth/authorize"
    assert parse_qs(back.query) == parse_qs(urlsplit(authorize_url(app)).query)
    await _logged_in(node)

    page = await node.get(
        authorize_url(app, code_challenge=CHALLENGE, code_challenge_method="S256", state="xyz")
    )
    html = await page.text()
    assert "Test App" in html
    assert "https://app.example" in html
    assert "post, change and delete on your behalf" in html
    assert "com.example.app:" in page.headers["Content-Security-Policy"]

    query = await approve(
        node,
        authorize_url(app, code_challenge=CHALLENGE, code_challenge_method="S256", state="xyz"),
    )
    assert query["state"] == ["xyz"]
    resp = await exchange(node, app, query["code"][0], code_verifier=VERIFIER)
    assert resp.status == 200, await resp.text()
    token = await resp.json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "read write"
    assert isinstance(token["created_at"], int)

    me = await node.get("/api/quartier/v1/me", headers=bearer(token["access_token"]))
    assert me.status == 200
    assert (await me.json())["username"] == "ada"
    verified = await node.get(
        "/api/v1/apps/verify_credentials", headers=bearer(token["access_token"])
    )
    assert (await verified.json())["name"] == "Test App"
    assert "client_secret" not in await verified.json()


async def test_consent_page_in_french(node: TestClient) -> None:
    await _logged_in(node)
    app = await register_app(node)
    resp = await node.get(authorize_url(app), headers={"Accept-Language": "fr"})
    html = await resp.text()
    assert "Autoriser une application" in html
    assert "publier, modifier et supprimer en votre nom" in html


async def test_client_credentials_and_basic_auth(node: TestClient) -> None:
    app = await register_app(node)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    resp = await node.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status == 200, await resp.text()
    token = await resp.json()
    assert token["scope"] == "read"
    verified = await node.get(
        "/api/v1/apps/verify_credentials", headers=bearer(token["access_token"])
    )
    assert verified.status == 200
    # An app token acts for no member.
    me = await node.get("/api/quartier/v1/me", headers=bearer(token["access_token"]))
    assert me.status == 401

    too_much = await node.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "push",
        },
    )
    assert too_much.status == 400
    assert (await too_much.json())["error"] == "invalid_scope"


async def test_app_registration_input(node: TestClient) -> None:
    listed = await node.post(
        "/api/v1/apps",
        json={
            "client_name": "Ivory",
            "redirect_uris": [
                "com.tapbots.Ivory.10217:/request_token",
                "urn:ietf:wg:oauth:2.0:oob",
            ],
            "scopes": "read:statuses write:media push",
        },
    )
    assert listed.status == 200, await listed.text()
    body = await listed.json()
    assert body["redirect_uris"] == [
        "com.tapbots.Ivory.10217:/request_token",
        "urn:ietf:wg:oauth:2.0:oob",
    ]
    assert body["website"] is None
    assert body["vapid_key"] == ""
    query = await node.post("/api/v1/apps?client_name=Q&redirect_uris=https://q.example/cb")
    assert query.status == 200
    assert (await query.json())["scopes"] == ["read"]
    for uri in ("javascript:alert(1)", "data:text/html,x", "VBScript:x", "not a uri", "/relative"):
        resp = await node.post("/api/v1/apps", data={"client_name": "X", "redirect_uris": uri})
        assert resp.status == 422, uri
        assert set(await resp.json()) == {"error"}
    unknown = await node.post(
        "/api/v1/apps",
        data={"client_name": "X", "redirect_uris": REDIRECT, "scopes": "read admin:write"},
    )
    assert unknown.status == 422
    nameless = await node.post("/api/v1/apps", data={"redirect_uris": REDIRECT})
    assert nameless.status == 422


async def test_metadata(node: TestClient) -> None:
    resp = await node.get("/.well-known/oauth-authorization-server")
    meta = await resp.json()
    assert meta["issuer"] == "http://127.0.0.1:8080/"
    assert meta["token_endpoint"] == "http://127.0.0.1:8080/oauth/token"
    assert meta["revocation_endpoint"] == "http://127.0.0.1:8080/oauth/revoke"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["grant_types_supported"] == ["authorization_code", "client_credentials"]
    assert "read:statuses" in meta["scopes_supported"]
    assert "follow" in meta["scopes_supported"]
    assert meta["app_registration_endpoint"].endswith("/api/v1/apps")


async def test_unknown_client_or_redirect_is_a_page_not_a_redirect(node: TestClient) -> None:
    await _logged_in(node)
    app = await register_app(node)
    bad_client = await node.get(authorize_url({**app, "client_id": "nope"}), allow_redirects=False)
    assert bad_client.status == 400
    assert "not registered" in await bad_client.text()
    evil = {**app, "redirect_uris": ["https://evil.example/cb"]}
    bad_uri = await node.get(authorize_url(evil), allow_redirects=False)
    assert bad_uri.status == 400
    assert "Location" not in bad_uri.headers
    # A known redirect URI gets errors sent back to it.
    scope = await node.get(authorize_url(app, scope="push", state="s"), allow_redirects=False)
    assert scope.status == 302
    assert parse_qs(urlsplit(scope.headers["Location"]).query) == {
        "error": ["invalid_scope"],
        "state": ["s"],
    }


async def test_deny_and_oob(node: TestClient) -> None:
    await _logged_in(node)
    app = await register_app(node)
    form = await consent_form(node, authorize_url(app, state="s1"))
    resp = await node.post(
        "/oauth/authorize", data={**form, "deny": "1"}, headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 302
    assert parse_qs(urlsplit(resp.headers["Location"]).query) == {
        "error": ["access_denied"],
        "state": ["s1"],
    }

    oob_app = await register_app(node, redirect="urn:ietf:wg:oauth:2.0:oob")
    form = await consent_form(node, authorize_url(oob_app))
    shown = await node.post("/oauth/authorize", data={**form, "approve": "1"}, headers=ORIGIN)
    assert shown.status == 200
    html = await shown.text()
    code = html.split('id="oauth-code" type="text" readonly value="')[1].split('"')[0]
    token = await exchange(node, oob_app, code)
    assert token.status == 200, await token.text()


async def test_consent_form_csrf(node: TestClient) -> None:
    await _logged_in(node)
    app = await register_app(node)
    form = await consent_form(node, authorize_url(app))
    for data, headers in (
        ({**form, "approve": "1", "csrf_token": "forged"}, ORIGIN),
        ({k: v for k, v in form.items() if k != "csrf_token"} | {"approve": "1"}, ORIGIN),
        ({**form, "approve": "1"}, {"Origin": "https://evil.example"}),
    ):
        resp = await node.post(
            "/oauth/authorize", data=data, headers=headers, allow_redirects=False
        )
        assert resp.status == 403
        assert "Location" not in resp.headers


async def test_bad_exchanges(node: TestClient, clock: Any) -> None:
    await _logged_in(node)
    app = await register_app(node)
    pkce = {"code_challenge": CHALLENGE, "code_challenge_method": "S256"}

    async def grant_error(resp: Any, status: int, error: str) -> None:
        assert resp.status == status, await resp.text()
        assert (await resp.json())["error"] == error
        assert "error_description" in await resp.json()

    code = await _code(node, app)
    await grant_error(
        await exchange(node, app, code, redirect_uri="https://other.example/"), 400, "invalid_grant"
    )

    code = await _code(node, app)
    await grant_error(await exchange(node, app, code, client_secret="wrong"), 401, "invalid_client")
    # Reused: the first use gave a token; the second fails and revokes that token.
    first = await exchange(node, app, code)
    assert first.status == 200
    issued = (await first.json())["access_token"]
    await grant_error(await exchange(node, app, code), 400, "invalid_grant")
    assert (await node.get("/api/quartier/v1/me", headers=bearer(issued))).status == 401

    code = await _code(node, app)
    clock.advance(minutes=11)
    await grant_error(await exchange(node, app, code), 400, "invalid_grant")

    code = await _code(node, app, **pkce)
    await grant_error(await exchange(node, app, code, code_verifier="x" * 43), 400, "invalid_grant")
    code = await _code(node, app, **pkce)
    await grant_error(await exchange(node, app, code), 400, "invalid_grant")

    await grant_error(
        await node.post("/oauth/token", data={"grant_type": "password"}),
        400,
        "unsupported_grant_type",
    )


async def test_revoke(node: TestClient) -> None:
    await _logged_in(node)
    app = await register_app(node)
    other = await register_app(node)
    code = await _code(node, app)
    token = (await (await exchange(node, app, code)).json())["access_token"]
    foreign = await node.post(
        "/oauth/revoke",
        data={
            "client_id": other["client_id"],
            "client_secret": other["client_secret"],
            "token": token,
        },
    )
    assert foreign.status == 403
    assert (await node.get("/api/quartier/v1/me", headers=bearer(token))).status == 200
    body = {"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token}
    assert (await node.post("/oauth/revoke", data=body)).status == 200
    assert (await node.get("/api/quartier/v1/me", headers=bearer(token))).status == 401
    again = await node.post("/oauth/revoke", data=body)
    assert again.status == 200
    assert await again.json() == {}


async def test_scopes_enforced_and_sessions_keep_full_access(node: TestClient) -> None:
    session_token = await _logged_in(node)
    assert (await node.get("/api/quartier/v1/me", headers=bearer(session_token))).status == 200
    app = await register_app(node, scopes="read write follow")
    code = await _code(node, app, scope="write:statuses follow")
    token = (await (await exchange(node, app, code)).json())["access_token"]
    refused = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert refused.status == 403
    assert "outside the authorized scopes" in await refused.text()
    code = await _code(node, app, scope="read:accounts")
    narrow = (await (await exchange(node, app, code)).json())["access_token"]
    assert (await node.get("/api/quartier/v1/me", headers=bearer(narrow))).status == 200


async def test_tokens_are_listed_and_revoked_with_sessions(node: TestClient) -> None:
    ada = await admin_token(node, "ada")
    bea = await member_token(node, ada, "bea")
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "ada", PASSWORD)
    app = await register_app(node)
    token = (await (await exchange(node, app, await _code(node, app))).json())["access_token"]
    sessions = await (await node.get("/api/quartier/v1/sessions", headers=bearer(ada))).json()
    listed = [s for s in sessions if s.get("label") == "Test App"]
    assert len(listed) == 1, sessions
    # Another member cannot end it; its owner can.
    other = await node.delete(f"/api/quartier/v1/sessions/{listed[0]['id']}", headers=bearer(bea))
    assert other.status == 404
    ended = await node.delete(f"/api/quartier/v1/sessions/{listed[0]['id']}", headers=bearer(ada))
    assert ended.status == 204
    assert (await node.get("/api/quartier/v1/me", headers=bearer(token))).status == 401
    assert await login(node, "ada")


async def test_sessions_page_lists_the_app_and_ends_its_token(node: TestClient) -> None:
    await _logged_in(node)
    app = await register_app(node)
    token = (await (await exchange(node, app, await _code(node, app))).json())["access_token"]
    listed = await (await node.get("/api/quartier/v1/sessions", headers=bearer(token))).json()
    mine = [row for row in listed if row["label"] == "Test App"]
    assert mine[0]["scopes"] == ["read", "write"]
    html = await (await node.get("/settings/sessions")).text()
    assert "Test App" in html
    assert "App access:" in html
    found = re.search(r'action="/settings/sessions/(\d+)/revoke"', html.split("Test App")[1])
    assert found is not None
    form = {"csrf_token": csrf_of(html)}
    ended = await node.post(
        f"/settings/sessions/{found.group(1)}/revoke",
        data=form,
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert ended.status == 303
    assert (await node.get("/api/quartier/v1/me", headers=bearer(token))).status == 401


async def test_consent_page_escapes_the_app(node: TestClient) -> None:
    await _logged_in(node)
    resp = await node.post(
        "/api/v1/apps",
        data={
            "client_name": "<script>alert(1)</script>",
            "redirect_uris": REDIRECT,
            "website": "javascript:alert(1)",
            "scopes": "read write",
        },
    )
    app = await resp.json()
    assert app["website"] is None  # only web addresses are kept: it is shown as a link
    html = await (await node.get(authorize_url(app))).text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_consent_after_the_session_ended_asks_to_log_in_again(node: TestClient) -> None:
    await _logged_in(node)
    app = await register_app(node)
    form = await consent_form(node, authorize_url(app, state="st"))
    sessions = await (await node.get("/api/quartier/v1/sessions")).json()
    current = next(row for row in sessions if row["current"])
    ended = await node.delete(f"/api/quartier/v1/sessions/{current['id']}", headers=ORIGIN)
    assert ended.status == 204
    asked = await node.post(
        "/oauth/authorize", data={**form, "approve": "1"}, headers=ORIGIN, allow_redirects=False
    )
    assert asked.status == 401
    html = await asked.text()
    assert 'name="relogin_username"' in html
    assert "Test App" in html
    relogin = {
        **dict(HIDDEN.findall(html)),
        "csrf_token": csrf_of(html),
        "relogin_username": "ada",
        "relogin_password": PASSWORD,
        "approve": "1",
    }
    done = await node.post("/oauth/authorize", data=relogin, headers=ORIGIN, allow_redirects=False)
    assert done.status == 302, await done.text()
    query = parse_qs(urlsplit(done.headers["Location"]).query)
    assert query["state"] == ["st"]
    assert (await exchange(node, app, query["code"][0])).status == 200


def test_scope_hierarchy() -> None:
    assert scope_set.permits("read", "read:statuses")
    assert not scope_set.permits("read", "write:statuses")
    assert scope_set.permits("write", "write:media")
    assert scope_set.permits("follow", "write:follows")
    assert scope_set.permits("follow", "read:mutes")
    assert not scope_set.permits("follow", "read:statuses")
    assert scope_set.permits("read:accounts write:statuses", "read:accounts")
    assert not scope_set.permits("read:accounts", "read")
    assert not scope_set.permits("push profile", "read:accounts")
    assert scope_set.is_subset(["read:statuses", "follow"], ["read", "follow"])
    assert not scope_set.is_subset(["write"], ["write:statuses"])
    assert scope_set.parse("read+write  read") == ["read", "write"]


async def test_an_apps_token_on_quartiers_own_api(node: TestClient) -> None:
    """Reading needs read, changing needs write, and staff endpoints are closed to apps even
    for an admin's token (no app gets staff powers)."""
    await _logged_in(node)
    app = await register_app(node, scopes="read write")
    tokens = {}
    for scope in ("read", "write"):
        resp = await exchange(node, app, await _code(node, app, scope=scope))
        tokens[scope] = bearer((await resp.json())["access_token"])
    node.session.cookie_jar.clear()
    assert (await node.get("/api/quartier/v1/listings/mine", headers=tokens["read"])).status == 200
    listing = {"kind": "give", "title": "Chair", "category": "furniture"}
    refused = await node.post("/api/quartier/v1/listings", json=listing, headers=tokens["read"])
    assert refused.status == 403
    made = await node.post("/api/quartier/v1/listings", json=listing, headers=tokens["write"])
    assert made.status == 201, await made.text()
    staff = await node.get("/api/quartier/v1/admin/invites", headers=tokens["read"])
    assert staff.status == 403
    assert "staff" in (await staff.json())["error"]["message"]
