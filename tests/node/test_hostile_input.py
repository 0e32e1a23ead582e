"""Hostile and malformed input over real HTTP: races, forged headers, undecodable bytes,
surrogates, absurd numbers and paths. Every answer must be a deliberate 4xx, never a 500."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from activitypub.media_types import ACTIVITY_JSON
from node.db import activated
from node.http.keys import DATABASE, SETTINGS
from node.members.models import Member, Role
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
WEBFINGER = "/.well-known/webfinger"
DOMAIN = "127.0.0.1:8080"


def detail_fields(error: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in error["details"]}


def max_attempts(node: TestClient) -> int:
    return node.app[SETTINGS].accounts.login_max_attempts


# Raw HTTP, for bytes no well-behaved client library would send


async def raw_request(node: TestClient, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, without the blank line) and ``body`` over a
    fresh connection; return the status code and the response body."""
    reader, writer = await asyncio.open_connection(node.server.host, node.server.port)
    try:
        request = head + b"\r\n"
        request += f"Host: {node.server.host}:{node.server.port}\r\n".encode()
        request += b"Connection: close\r\n"
        if body:
            request += f"Content-Length: {len(body)}\r\n".encode()
        writer.write(request + b"\r\n" + body)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = response.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    version, status, *_ = status_line.split(b" ", 2)
    assert version.startswith(b"HTTP/1."), response[:200]
    return int(status), payload


# Rate limits that hold under concurrency and behind proxies


async def test_concurrent_wrong_passwords_cannot_all_slip_past_the_limit(node):
    await register(node, await bootstrap_invite(node), "ada")
    allowed = max_attempts(node)
    assert allowed == 5

    async def attempt() -> int:
        body = {"username": "ada", "password": "not the password"}
        resp = await node.post(SESSIONS, json=body)
        await resp.read()
        return resp.status

    statuses = await asyncio.gather(*(attempt() for _ in range(12)))
    assert sorted(statuses) == [401] * allowed + [429] * (12 - allowed)


async def _failed_login(node: TestClient, n: int, forwarded_for: str | None) -> int:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    # A new unknown username each time: only the per-address count can add up.
    body = {"username": f"nobody{n}", "password": PASSWORD}
    resp = await node.post(SESSIONS, json=body, headers=headers)
    await resp.read()
    return resp.status


async def test_behind_a_trusted_proxy_the_forwarded_client_address_is_limited(
    make_settings, make_node
):
    node = await make_node(make_settings(server={"trusted_proxies": ["127.0.0.1"]}))
    allowed = max_attempts(node)
    for n in range(allowed):
        assert await _failed_login(node, n, "203.0.113.7") == 401
    assert await _failed_login(node, 100, "203.0.113.7") == 429
    # Another client behind the same proxy has its own allowance.
    assert await _failed_login(node, 101, "203.0.113.8") == 401
    # A client cannot escape by writing a hop of its own on the left: the right-most hop,
    # appended by our proxy, is the one believed.
    assert await _failed_login(node, 102, "198.51.100.1, 203.0.113.7") == 429


async def test_without_trusted_proxies_forwarded_for_is_ignored(node):
    allowed = max_attempts(node)
    for n in range(allowed):
        assert await _failed_login(node, n, f"203.0.113.{n + 1}") == 401
    assert await _failed_login(node, 100, "198.51.100.99") == 429
    assert await _failed_login(node, 101, None) == 429


# Undecodable header bytes


@pytest.mark.parametrize(
    "header",
    [b"Authorization: Bearer \xff\xfe", b"Cookie: quartier_session=\xff"],
    ids=["bearer", "cookie"],
)
async def test_non_utf8_credentials_are_unauthorized_not_a_crash(node, header):
    status, body = await raw_request(node, b"GET /api/quartier/v1/me HTTP/1.1\r\n" + header)
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "unauthorized"


async def test_a_non_utf8_user_agent_becomes_a_printable_session_label(node):
    await register(node, await bootstrap_invite(node), "ada")
    credentials = json.dumps({"username": "ada", "password": PASSWORD}).encode()
    head = (
        b"POST /api/quartier/v1/sessions HTTP/1.1\r\n"
        b"Content-Type: application/json\r\n"
        b"User-Agent: Mozilla \xe9\xff"
    )
    status, body = await raw_request(node, head, credentials)
    assert status == 201, body
    token = json.loads(body)["token"]
    resp = await node.get(SESSIONS, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    (session,) = await resp.json()
    label = session["label"]
    assert label.startswith("Mozilla")
    assert label.isprintable()
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in label)
    label.encode("utf-8")  # strict: raises on any surrogate left behind


# Strings Python can hold but UTF-8 cannot


async def test_an_invite_code_with_a_lone_surrogate_is_simply_unusable(node):
    await bootstrap_invite(node)
    body = {
        "invite": "\ud800",
        "username": "bob",
        "password": PASSWORD,
        "real_name": "Bob Ross",
    }
    raw = json.dumps(body)  # ensure_ascii: the surrogate travels as the escape \ud800
    assert "\\ud800" in raw
    resp = await node.post(ACCOUNTS, data=raw, headers={"Content-Type": "application/json"})
    # Refused either as a code that matches no invite, or as a field that is not valid text;
    # never a 500 from hashing or storing it.
    if resp.status == 422:
        error = await error_of(resp, 422, "validation_failed")
        assert detail_fields(error) == {"invite"}
    else:
        await error_of(resp, 410, "invite_unusable")


# Numbers and paths out of range


@pytest.mark.parametrize("page", ["²", "9" * 5000], ids=["superscript-two", "5000-digits"])
async def test_absurd_page_numbers_are_refused(node, page):
    resp = await node.get("/actor/outbox", params={"page": page}, headers={"Accept": ACTIVITY_JSON})
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {"page"}


async def test_ids_beyond_any_integer_column_are_not_found(node):
    admin = await admin_token(node)
    resp = await node.delete(f"{SESSIONS}/99999999999", headers=bearer(admin))
    await error_of(resp, 404, "not_found")
    resp = await node.delete("/api/quartier/v1/admin/invites/99999999999", headers=bearer(admin))
    await error_of(resp, 404, "not_found")
    # Both still work for real ids.
    resp = await node.get("/api/quartier/v1/me", headers=bearer(admin))
    assert resp.status == 200


async def test_webfinger_refuses_an_encoded_nul_in_the_handle(node):
    resp = await node.get(WEBFINGER, params={"resource": f"acct:a%00b@{DOMAIN}"})
    await error_of(resp, 400, "bad_request")


@pytest.mark.parametrize("username", ["a%00b", "x" * 5000], ids=["nul", "5000-chars"])
async def test_impossible_member_names_are_not_found(node, username):
    token = await admin_token(node)
    resp = await node.get(f"/api/quartier/v1/members/{username}", headers=bearer(token))
    await error_of(resp, 404, "not_found")


async def test_an_encoded_newline_in_the_path_cannot_forge_a_log_line(node, caplog):
    token = await admin_token(node)
    caplog.set_level(logging.INFO)
    for headers in (bearer(token), {}):
        resp = await node.get("/api/quartier/v1/members/x%0Aforged%20line", headers=headers)
        assert resp.status in (401, 404), await resp.text()
    request_logs = [r.getMessage() for r in caplog.records if r.name == "node.http.middleware"]
    assert len(request_logs) >= 2, request_logs
    for message in request_logs:
        assert "\n" not in message
        assert "\r" not in message
    assert sum("/api/quartier/v1/members/x%0Aforged%20line" in m for m in request_logs) == 2, (
        request_logs
    )


async def test_guessing_the_current_password_with_a_stolen_session_is_limited(node):
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    change = "/api/quartier/v1/me/password"
    new_password = "a much better passphrase"
    for n in range(max_attempts(node)):
        body = {"current_password": f"guess number {n}", "new_password": new_password}
        resp = await node.post(change, json=body, headers=bearer(token))
        await error_of(resp, 422, "validation_failed")
    body = {"current_password": PASSWORD, "new_password": new_password}
    resp = await node.post(change, json=body, headers=bearer(token))
    await error_of(resp, 429, "too_many_requests")
    assert int(resp.headers["Retry-After"]) >= 1
    # The password did not change.
    await login(node, "ada", PASSWORD)


# The node actor's handle


async def test_on_a_dotless_host_the_node_actors_handle_is_reserved(make_settings, make_node):
    node = await make_node(make_settings(server={"base_url": "http://localhost:8080"}))
    code = await bootstrap_invite(node, Role.RESIDENT)
    body = {"invite": code, "username": "localhost", "password": PASSWORD, "real_name": "Lo Cal"}
    resp = await node.post(ACCOUNTS, json=body)
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {"username"}
    resp = await node.get(WEBFINGER, params={"resource": "acct:localhost@localhost:8080"})
    assert resp.status == 200, await resp.text()
    doc = await resp.json(content_type=None)
    assert doc["subject"] == "acct:localhost@localhost:8080"
    assert doc["aliases"] == ["http://localhost:8080/actor"]
    assert [link["href"] for link in doc["links"]] == ["http://localhost:8080/actor"]
    # The invite was not spent on the refused name.
    await register(node, code, "lo")


async def test_webfinger_answers_with_the_canonical_subject_not_the_raw_resource(node):
    resp = await node.get(WEBFINGER, params={"resource": f"acct:@127.0.0.1@{DOMAIN}"})
    assert resp.status == 200, await resp.text()
    doc = await resp.json(content_type=None)
    assert doc["subject"] == f"acct:127.0.0.1@{DOMAIN}"
    assert doc["aliases"] == ["http://127.0.0.1:8080/actor"]


# Headers the HTTP specifications require


async def test_unauthorized_answers_say_how_to_authenticate(node):
    resp = await node.get("/api/quartier/v1/me")
    await error_of(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_not_acceptable_answers_vary_on_accept(node):
    resp = await node.get("/users/x", headers={"Accept": "text/html"})
    await error_of(resp, 406, "not_acceptable")
    assert "Accept" in [v.strip() for v in resp.headers.get("Vary", "").split(",")]


# Names


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"real_name": "   "}, "real_name"),
        ({"real_name": "Bob\u200b"}, "real_name"),
        ({"display_name": "Bob\x07"}, "display_name"),
        ({"display_name": "Bob\u202eevil"}, "display_name"),
    ],
    ids=["blank-real-name", "zero-width-real-name", "bell-display-name", "bidi-display-name"],
)
async def test_registration_refuses_unprintable_names(node, overrides, field):
    code = await bootstrap_invite(node, Role.RESIDENT)
    body = {
        "invite": code,
        "username": "bob",
        "password": PASSWORD,
        "real_name": "Bob Ross",
        **overrides,
    }
    resp = await node.post(ACCOUNTS, json=body)
    error = await error_of(resp, 422, "validation_failed")
    assert detail_fields(error) == {field}
    await register(node, code, "bob")  # the invite was not spent


async def test_profile_update_refuses_unprintable_names(node):
    assert not "\u200b".isprintable()
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    before = await resp.json()
    for body, field in (
        ({"real_name": "\u200b"}, "real_name"),
        ({"display_name": "Ada\x1b[31m"}, "display_name"),
        ({"display_name": "Ada\nLovelace"}, "display_name"),
    ):
        resp = await node.patch("/api/quartier/v1/me", json=body, headers=bearer(token))
        error = await error_of(resp, 422, "validation_failed")
        assert detail_fields(error) == {field}, body
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert await resp.json() == before


# Roles


async def test_two_admins_demoting_each_other_at_once_leave_an_admin(node):
    ada = await admin_token(node)
    bea = await member_token(node, ada, "bea")
    resp = await node.patch(
        "/api/quartier/v1/admin/members/bea", json={"role": "admin"}, headers=bearer(ada)
    )
    assert resp.status == 200, await resp.text()

    async def demote(token: str, other: str) -> int:
        resp = await node.patch(
            f"/api/quartier/v1/admin/members/{other}",
            json={"role": "resident"},
            headers=bearer(token),
        )
        await resp.read()
        return resp.status

    # Two idle keep-alive connections first, so both requests start at once instead of one
    # waiting for a new connection while the other runs to completion.
    async def health() -> None:
        resp = await node.get("/healthz")
        await resp.read()

    await asyncio.gather(*(health() for _ in range(4)))
    statuses = await asyncio.gather(demote(ada, "bea"), demote(bea, "ada"))
    assert sorted(statuses)[0] == 200, statuses
    assert sorted(statuses)[1] in (403, 409), statuses
    with activated(node.app[DATABASE]):
        admins = await Member.filter(role=Role.ADMIN).values_list("username", flat=True)
    assert len(admins) == 1, admins
    # Whoever remains is still an admin over HTTP.
    (remaining,) = admins
    token = ada if remaining == "ada" else bea
    resp = await node.get("/api/quartier/v1/admin/members", headers=bearer(token))
    assert resp.status == 200, await resp.text()
