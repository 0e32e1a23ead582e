"""Registration, login, sessions, cookies and profiles over the real HTTP API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from node.http.keys import SETTINGS
from node.members.models import Role
from tests.api import (
    PASSWORD,
    admin_token,
    bearer,
    bootstrap_invite,
    error_of,
    login,
    member_token,
    register,
)

ACCOUNTS = "/api/quartier/v1/accounts"
SESSIONS = "/api/quartier/v1/sessions"
COOKIE = "quartier_session"
# Another loopback source address: the limiter keys logins by client address.
OTHER_ADDRESS = "127.0.0.2"


def detail_fields(error: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in error["details"]}


def registration(code: str, /, username: str = "bob", **overrides: Any) -> dict[str, Any]:
    body = {"invite": code, "username": username, "password": PASSWORD, "real_name": "Bob Ross"}
    return {**body, **overrides}


def set_cookie(resp: aiohttp.ClientResponse, name: str = COOKIE) -> tuple[str, dict[str, str]]:
    """Value and attributes (lower-cased names) of the ``Set-Cookie`` for ``name``."""
    headers = [h for h in resp.headers.getall("Set-Cookie", []) if h.startswith(f"{name}=")]
    assert len(headers) == 1, resp.headers.getall("Set-Cookie", [])
    first, *attributes = (part.strip() for part in headers[0].split(";"))
    value = first.partition("=")[2].strip('"')
    attrs = {}
    for attribute in attributes:
        key, _, attr_value = attribute.partition("=")
        attrs[key.strip().lower()] = attr_value.strip()
    return value, attrs


def forget_cookies(client: TestClient) -> None:
    """The test client keeps cookies like a browser; drop them to act as an anonymous caller."""
    client.session.cookie_jar.clear()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@asynccontextmanager
async def client_at(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client whose connections come from another loopback address."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def login_status(
    session: aiohttp.ClientSession, node: TestClient, username: str, password: str
) -> int:
    body = {"username": username, "password": password}
    async with session.post(node.make_url(SESSIONS), json=body) as resp:
        return resp.status


# Registration


async def test_registration_creates_member_with_invite_role_and_lowercased_username(node):
    code = await bootstrap_invite(node, Role.MODERATOR)
    resp = await node.post(ACCOUNTS, json=registration(code, "Grace_H", real_name="Grace Hopper"))
    assert resp.status == 201, await resp.text()
    member = await resp.json()
    assert member["username"] == "grace_h"
    assert member["role"] == "moderator"
    assert member["real_name"] == "Grace Hopper"
    # Real names stay on the node unless chosen: the public name defaults to the username.
    assert member["display_name"] == "grace_h"
    assert "password" not in json.dumps(member).lower()
    # The lower-cased name is the one to log in with, whatever the case typed.
    token = await login(node, "GRACE_H")
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert (await resp.json())["username"] == "grace_h"


async def test_registration_keeps_a_chosen_display_name(node):
    code = await bootstrap_invite(node, Role.RESIDENT)
    member = await register(node, code, "grace", real_name="Grace Hopper", display_name="Amazing")
    assert member["display_name"] == "Amazing"
    assert member["real_name"] == "Grace Hopper"
    assert member["role"] == "resident"


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b'{"invite": "x",}', b"\xff\xfe{}"],
    ids=["garbage", "empty", "trailing-comma", "not-utf8"],
)
async def test_registration_refuses_unparseable_json(node, raw):
    resp = await node.post(ACCOUNTS, data=raw, headers={"Content-Type": "application/json"})
    await error_of(resp, 400, "invalid_json")


@pytest.mark.parametrize("document", [[], ["invite", "bob"], "bob", 42, None])
async def test_registration_refuses_json_that_is_not_an_object(node, document):
    resp = await node.post(
        ACCOUNTS, data=json.dumps(document), headers={"Content-Type": "application/json"}
    )
    await error_of(resp, 400, "invalid_json")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_registration_refuses_bodies_that_are_not_json(node, content_type):
    code = await bootstrap_invite(node)
    resp = await node.post(
        ACCOUNTS, data=json.dumps(registration(code)), headers={"Content-Type": content_type}
    )
    await error_of(resp, 415, "unsupported_media_type")


async def test_registration_names_every_missing_field(node):
    resp = await node.post(ACCOUNTS, json={"invite": "abc"})
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {"username", "password", "real_name"}


async def test_registration_refuses_unknown_fields_such_as_a_self_chosen_role(node):
    code = await bootstrap_invite(node, Role.RESIDENT)
    resp = await node.post(ACCOUNTS, json=registration(code, role="admin"))
    error = await error_of(resp, 422, "validation_failed")
    assert error["details"] == [{"field": "role", "message": "unknown field"}]
    # Nothing was created and the invite still works, as a resident.
    member = await register(node, code, "bob")
    assert member["role"] == "resident"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", 12345678901234),
        ("username", ["bob"]),
        ("real_name", None),
        ("invite", 7),
        ("display_name", 3),
    ],
)
async def test_registration_refuses_wrong_types_naming_the_field(node, field, value):
    code = await bootstrap_invite(node)
    resp = await node.post(ACCOUNTS, json=registration(code, **{field: value}))
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {field}


@pytest.mark.parametrize(
    "username",
    ["bob smith", "bob!", "émile", "bob-ross", "", "b" * 31, "admin", "Admin", "root"],
)
async def test_registration_refuses_invalid_or_reserved_usernames(node, username):
    code = await bootstrap_invite(node)
    resp = await node.post(ACCOUNTS, json=registration(code, username))
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {"username"}


async def test_registration_refuses_short_passwords_without_spending_the_invite(node):
    code = await bootstrap_invite(node)
    for password in ("short", "123456789"):
        resp = await node.post(ACCOUNTS, json=registration(code, password=password))
        error = await error_of(resp, 422, "validation_failed")
        assert detail_fields(error) == {"password"}
    # Ten characters is enough, and the invite was not consumed by the failures.
    await register(node, code, "bob", password="0123456789")
    await login(node, "bob", "0123456789")


async def test_registration_with_an_unknown_invite_is_refused(node):
    await bootstrap_invite(node)
    resp = await node.post(ACCOUNTS, json=registration("not-a-real-invite-code"))
    await error_of(resp, 410, "invite_unusable")


async def test_registration_with_an_expired_invite_is_refused(node, clock):
    early, late = await bootstrap_invite(node), await bootstrap_invite(node)
    ttl = node.app[SETTINGS].accounts.invite_ttl_hours
    clock.advance(hours=ttl - 1)
    await register(node, early, "bob")
    clock.advance(hours=2)
    resp = await node.post(ACCOUNTS, json=registration(late, "carol"))
    await error_of(resp, 410, "invite_unusable")


async def test_an_invite_works_only_once(node):
    code = await bootstrap_invite(node)
    await register(node, code, "bob")
    resp = await node.post(ACCOUNTS, json=registration(code, "carol"))
    await error_of(resp, 410, "invite_unusable")


async def test_registration_with_a_revoked_invite_is_refused(node):
    admin = await admin_token(node)
    resp = await node.post("/api/quartier/v1/admin/invites", json={}, headers=bearer(admin))
    invite = await resp.json()
    resp = await node.delete(
        f"/api/quartier/v1/admin/invites/{invite['id']}", headers=bearer(admin)
    )
    assert resp.status == 204
    resp = await node.post(ACCOUNTS, json=registration(invite["code"], "bob"))
    await error_of(resp, 410, "invite_unusable")


async def test_taken_username_is_a_conflict_and_does_not_spend_the_invite(node):
    admin = await admin_token(node)
    await member_token(node, admin, "bob")
    code = await bootstrap_invite(node, Role.RESIDENT)
    resp = await node.post(ACCOUNTS, json=registration(code, "BOB"))
    await error_of(resp, 409, "conflict")
    member = await register(node, code, "carol")
    assert member["username"] == "carol"


async def test_guessing_invite_codes_from_one_address_is_rate_limited(node):
    code = await bootstrap_invite(node)
    attempts = node.app[SETTINGS].accounts.login_max_attempts
    for n in range(attempts):
        resp = await node.post(ACCOUNTS, json=registration(f"guess-{n}"))
        await error_of(resp, 410, "invite_unusable")
    resp = await node.post(ACCOUNTS, json=registration(code))
    await error_of(resp, 429, "too_many_requests")
    assert int(resp.headers["Retry-After"]) >= 1


# Login


async def test_login_returns_a_token_a_session_and_a_safe_cookie(node, clock):
    await register(node, await bootstrap_invite(node), "ada")
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["token_type"] == "Bearer"
    assert len(body["token"]) >= 32
    assert body["session"]["current"] is True
    ttl = timedelta(days=node.app[SETTINGS].accounts.session_ttl_days)
    assert parse_time(body["session"]["expires_at"]) == clock.now + ttl
    assert parse_time(body["expires_at"]) == clock.now + ttl
    assert body["member"]["username"] == "ada"
    value, attrs = set_cookie(resp)
    assert value == body["token"]
    assert "httponly" in attrs
    assert attrs["samesite"].lower() == "lax"
    assert attrs["path"] == "/"
    assert int(attrs["max-age"]) == int(ttl.total_seconds())
    assert "secure" not in attrs  # the node is served over plain http
    forget_cookies(node)
    resp = await node.get("/api/quartier/v1/me", headers=bearer(body["token"]))
    assert resp.status == 200
    assert (await resp.json())["username"] == "ada"


async def test_login_cookie_is_secure_when_the_node_is_served_over_https(make_settings, make_node):
    node = await make_node(make_settings(server={"base_url": "https://q.example"}))
    await register(node, await bootstrap_invite(node), "ada")
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    assert resp.status == 201
    _, attrs = set_cookie(resp)
    assert "secure" in attrs
    assert "httponly" in attrs
    assert attrs["samesite"].lower() == "lax"


async def test_wrong_password_and_unknown_user_are_indistinguishable(node):
    await register(node, await bootstrap_invite(node), "ada")
    wrong = await node.post(SESSIONS, json={"username": "ada", "password": "wrong password!"})
    unknown = await node.post(SESSIONS, json={"username": "nobody", "password": PASSWORD})
    wrong_error = await error_of(wrong, 401, "invalid_credentials")
    unknown_error = await error_of(unknown, 401, "invalid_credentials")
    assert wrong_error == unknown_error
    assert COOKIE not in wrong.cookies
    assert COOKIE not in unknown.cookies


async def test_too_many_failed_logins_lock_the_account_until_the_window_passes(node, clock):
    await register(node, await bootstrap_invite(node), "ada")
    accounts = node.app[SETTINGS].accounts
    for _ in range(accounts.login_max_attempts):
        resp = await node.post(SESSIONS, json={"username": "ada", "password": "not the password"})
        await error_of(resp, 401, "invalid_credentials")
    # Locked: even the right password is refused, and the client is told when to retry.
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    error = await error_of(resp, 429, "too_many_requests")
    assert int(resp.headers["Retry-After"]) == accounts.login_window_seconds
    assert error["details"]["retry_after"] == accounts.login_window_seconds
    clock.advance(seconds=accounts.login_window_seconds - 300)
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    await error_of(resp, 429, "too_many_requests")
    assert int(resp.headers["Retry-After"]) == 300
    clock.advance(seconds=300)
    await login(node, "ada")


async def test_the_account_lock_holds_from_another_address(node):
    await register(node, await bootstrap_invite(node), "ada")
    for _ in range(node.app[SETTINGS].accounts.login_max_attempts):
        resp = await node.post(SESSIONS, json={"username": "ada", "password": "not the password"})
        assert resp.status == 401
    async with client_at(OTHER_ADDRESS) as other:
        assert await login_status(other, node, "ada", PASSWORD) == 429


async def test_an_address_guessing_many_usernames_is_locked_out(node):
    await register(node, await bootstrap_invite(node), "ada")
    for n in range(node.app[SETTINGS].accounts.login_max_attempts):
        resp = await node.post(SESSIONS, json={"username": f"user{n}", "password": PASSWORD})
        assert resp.status == 401
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    await error_of(resp, 429, "too_many_requests")
    # Neighbours elsewhere are not locked out by that address.
    async with client_at(OTHER_ADDRESS) as other:
        assert await login_status(other, node, "ada", PASSWORD) == 201


async def test_a_successful_login_resets_the_account_failure_count(node):
    await register(node, await bootstrap_invite(node), "ada")
    allowed = node.app[SETTINGS].accounts.login_max_attempts
    for _ in range(allowed - 1):
        resp = await node.post(SESSIONS, json={"username": "ada", "password": "not the password"})
        assert resp.status == 401
    await login(node, "ada")
    # From another address (fresh per-address count) the account has its full allowance again.
    async with client_at(OTHER_ADDRESS) as other:
        for _ in range(allowed - 1):
            assert await login_status(other, node, "ada", "not the password") == 401
        assert await login_status(other, node, "ada", PASSWORD) == 201


# Sessions


async def test_logout_revokes_the_token_and_clears_the_cookie(node):
    await register(node, await bootstrap_invite(node), "ada")
    other = await login(node, "ada")
    token = await login(node, "ada")
    resp = await node.delete(f"{SESSIONS}/current", headers=bearer(token))
    assert resp.status == 204
    value, attrs = set_cookie(resp)
    assert value == ""
    assert int(attrs["max-age"]) == 0
    forget_cookies(node)
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    await error_of(resp, 401, "unauthorized")
    resp = await node.delete(f"{SESSIONS}/current", headers=bearer(token))
    await error_of(resp, 401, "unauthorized")
    # Only that session ended.
    resp = await node.get("/api/quartier/v1/me", headers=bearer(other))
    assert resp.status == 200


async def test_listing_sessions_marks_the_current_one_and_never_shows_tokens(node):
    await register(node, await bootstrap_invite(node), "ada")
    resp = await node.post(
        SESSIONS, json={"username": "ada", "password": PASSWORD, "label": "phone"}
    )
    phone = await resp.json()
    laptop_token = await login(node, "ada")
    resp = await node.get(SESSIONS, headers=bearer(laptop_token))
    assert resp.status == 200
    text = await resp.text()
    assert phone["token"] not in text
    assert laptop_token not in text
    sessions = json.loads(text)
    assert len(sessions) == 2
    by_id = {s["id"]: s for s in sessions}
    assert by_id[phone["session"]["id"]]["label"] == "phone"
    assert by_id[phone["session"]["id"]]["current"] is False
    (current,) = [s for s in sessions if s["current"]]
    assert current["id"] != phone["session"]["id"]


async def test_revoking_another_of_my_sessions(node):
    await register(node, await bootstrap_invite(node), "ada")
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    lost_phone = await resp.json()
    token = await login(node, "ada")
    forget_cookies(node)
    session_id = lost_phone["session"]["id"]
    resp = await node.delete(f"{SESSIONS}/{session_id}", headers=bearer(token))
    assert resp.status == 204
    resp = await node.get("/api/quartier/v1/me", headers=bearer(lost_phone["token"]))
    await error_of(resp, 401, "unauthorized")
    resp = await node.get(SESSIONS, headers=bearer(token))
    assert [s["current"] for s in await resp.json()] == [True]
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert resp.status == 200
    resp = await node.delete(f"{SESSIONS}/{session_id}", headers=bearer(token))
    await error_of(resp, 404, "not_found")


async def test_revoking_someone_elses_session_is_not_found_and_leaves_it_alive(node):
    admin = await admin_token(node)
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    ada_session = await resp.json()
    bob = await member_token(node, admin, "bob")
    resp = await node.delete(f"{SESSIONS}/{ada_session['session']['id']}", headers=bearer(bob))
    await error_of(resp, 404, "not_found")
    resp = await node.get("/api/quartier/v1/me", headers=bearer(ada_session["token"]))
    assert resp.status == 200
    assert (await resp.json())["username"] == "ada"


async def test_sessions_expire_after_the_configured_lifetime(node, clock):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    forget_cookies(node)
    days = node.app[SETTINGS].accounts.session_ttl_days
    clock.advance(days=days - 1)
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert resp.status == 200
    clock.advance(days=1, seconds=1)
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    await error_of(resp, 401, "unauthorized")
    resp = await node.get(SESSIONS, headers=bearer(token))
    await error_of(resp, 401, "unauthorized")


async def test_malformed_authorization_headers_are_refused(node):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    forget_cookies(node)
    for header in (
        f"Basic {token}",
        f"Token {token}",
        token,
        "Bearer",
        "Bearer    ",
        "Bearer not-a-real-token",
        f"Bearer {token}x",
    ):
        resp = await node.get("/api/quartier/v1/me", headers={"Authorization": header})
        await error_of(resp, 401, "unauthorized")
    resp = await node.get("/api/quartier/v1/me", headers={"Authorization": f"bearer {token}"})
    assert resp.status == 200


async def test_no_credentials_at_all_is_unauthorized(node):
    for method, path in (
        ("GET", "/api/quartier/v1/me"),
        ("GET", SESSIONS),
        ("PATCH", "/api/quartier/v1/me"),
    ):
        resp = await node.request(method, path, json={})
        await error_of(resp, 401, "unauthorized")


# Cookie authentication


async def test_the_session_cookie_alone_authenticates_reads(node):
    await register(node, await bootstrap_invite(node), "ada")
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    cookie, _ = set_cookie(resp)
    forget_cookies(node)
    resp = await node.get("/api/quartier/v1/me", cookies={COOKIE: cookie})
    assert resp.status == 200
    assert (await resp.json())["username"] == "ada"
    resp = await node.get("/api/quartier/v1/me", cookies={COOKIE: "forged"})
    await error_of(resp, 401, "unauthorized")


async def test_cookie_writes_must_come_from_the_nodes_own_origin(node):
    await register(node, await bootstrap_invite(node), "ada")
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    cookie, _ = set_cookie(resp)
    forget_cookies(node)
    base_url = node.app[SETTINGS].server.base_url
    change = {"bio": "changed"}
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        resp = await node.patch(
            "/api/quartier/v1/me", json=change, cookies={COOKIE: cookie}, headers=headers
        )
        await error_of(resp, 403, "forbidden")
    resp = await node.get("/api/quartier/v1/me", cookies={COOKIE: cookie})
    assert (await resp.json())["bio"] == ""
    resp = await node.patch(
        "/api/quartier/v1/me", json=change, cookies={COOKIE: cookie}, headers={"Origin": base_url}
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["bio"] == "changed"
    # Logging out through the cookie is a write too.
    resp = await node.delete(f"{SESSIONS}/current", cookies={COOKIE: cookie})
    await error_of(resp, 403, "forbidden")
    resp = await node.get("/api/quartier/v1/me", cookies={COOKIE: cookie})
    assert resp.status == 200


# Profile


async def test_reading_and_updating_my_profile(node):
    await register(node, await bootstrap_invite(node), "ada", real_name="Ada Lovelace")
    token = await login(node, "ada")
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    me = await resp.json()
    assert me["real_name"] == "Ada Lovelace"
    assert me["display_name"] == "ada"
    resp = await node.patch(
        "/api/quartier/v1/me",
        json={"display_name": "  Ada  ", "bio": "Engines"},
        headers=bearer(token),
    )
    assert resp.status == 200
    updated = await resp.json()
    assert updated["display_name"] == "Ada"
    assert updated["bio"] == "Engines"
    assert updated["real_name"] == "Ada Lovelace"
    resp = await node.patch(
        "/api/quartier/v1/me", json={"real_name": "Augusta Ada King"}, headers=bearer(token)
    )
    assert resp.status == 200
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    me = await resp.json()
    assert (me["display_name"], me["real_name"], me["bio"]) == (
        "Ada",
        "Augusta Ada King",
        "Engines",
    )


async def test_invalid_profile_updates_are_refused_and_change_nothing(node):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    before = await resp.json()
    for body, field in (
        ({"display_name": ""}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"real_name": ""}, "real_name"),
        ({"display_name": 5}, "display_name"),
        ({"bio": "x" * 5001}, "bio"),
        ({"nickname": "Addie"}, "nickname"),
        ({"role": "admin"}, "role"),
        ({"username": "root2"}, "username"),
    ):
        resp = await node.patch("/api/quartier/v1/me", json=body, headers=bearer(token))
        error = await error_of(resp, 422, "validation_failed")
        assert detail_fields(error) == {field}, body
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert await resp.json() == before


async def test_null_profile_fields_are_refused_naming_the_field(node):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    resp = await node.patch("/api/quartier/v1/me", json={"bio": "Engines"}, headers=bearer(token))
    assert resp.status == 200
    for field in ("bio", "display_name", "real_name"):
        resp = await node.patch("/api/quartier/v1/me", json={field: None}, headers=bearer(token))
        error = await error_of(resp, 422, "validation_failed")
        assert detail_fields(error) == {field}
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert (await resp.json())["bio"] == "Engines"
    # Clearing the bio is an empty string.
    resp = await node.patch("/api/quartier/v1/me", json={"bio": ""}, headers=bearer(token))
    assert (await resp.json())["bio"] == ""


async def test_changing_password_ends_other_sessions_only(node):
    await register(node, await bootstrap_invite(node), "ada")
    phone = await login(node, "ada")
    token = await login(node, "ada")
    forget_cookies(node)
    new_password = "a much better passphrase"
    resp = await node.post(
        "/api/quartier/v1/me/password",
        json={"current_password": "not my password", "new_password": new_password},
        headers=bearer(token),
    )
    # Not 401: the session is fine, and clients take 401 for "you are logged out".
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {"current_password"}
    assert "WWW-Authenticate" not in resp.headers
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert resp.status == 200
    resp = await node.get("/api/quartier/v1/me", headers=bearer(phone))
    assert resp.status == 200  # a wrong current password changes nothing
    resp = await node.post(
        "/api/quartier/v1/me/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=bearer(token),
    )
    assert resp.status == 204, await resp.text()
    resp = await node.get("/api/quartier/v1/me", headers=bearer(phone))
    await error_of(resp, 401, "unauthorized")
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert resp.status == 200
    await login(node, "ada", new_password)
    resp = await node.post(SESSIONS, json={"username": "ada", "password": PASSWORD})
    await error_of(resp, 401, "invalid_credentials")


async def test_a_too_short_new_password_is_refused_naming_the_field(node):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    resp = await node.post(
        "/api/quartier/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(token),
    )
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {"new_password"}
    await login(node, "ada", PASSWORD)


async def test_neighbour_profiles_are_for_members_and_real_names_for_staff(node):
    admin = await admin_token(node)
    bob = await member_token(node, admin, "bob")
    await member_token(node, admin, "carol")
    forget_cookies(node)
    resp = await node.get("/api/quartier/v1/members/carol")
    await error_of(resp, 401, "unauthorized")
    resp = await node.get("/api/quartier/v1/members/carol", headers=bearer(bob))
    assert resp.status == 200
    carol = await resp.json()
    assert carol["username"] == "carol"
    assert carol["display_name"] == "carol"
    assert "real_name" not in carol
    resp = await node.get("/api/quartier/v1/members/carol", headers=bearer(admin))
    assert (await resp.json())["real_name"] == "Carol"
    resp = await node.get("/api/quartier/v1/members/bob", headers=bearer(bob))
    assert (await resp.json())["real_name"] == "Bob"
    resp = await node.get("/api/quartier/v1/members/nobody", headers=bearer(bob))
    await error_of(resp, 404, "not_found")


async def test_nul_characters_are_refused_before_reaching_the_database(node):
    # PostgreSQL rejects NUL in text; it must be a 422 naming the field, never a 500.
    code = await bootstrap_invite(node, Role.RESIDENT)
    resp = await node.post(ACCOUNTS, json=registration(code, "nul", real_name="Ada\x00Lovelace"))
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {"real_name"}
    member = await register(node, code, "nul")  # the invite was not consumed
    assert member["username"] == "nul"
