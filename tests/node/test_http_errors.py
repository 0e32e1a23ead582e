"""HTTP edge behaviour: body limits, hostile JSON, JSON errors, request ids, health, hashing."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp

from node.db import activated
from node.http.keys import DATABASE
from node.members.models import Member
from tests.api import PASSWORD, bootstrap_invite, register

JSON = {"Content-Type": "application/json"}
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def error_of(resp: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    """Assert a JSON error response without internals and return its ``error`` object."""
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == "application/json"
    assert "Traceback" not in text
    assert ".py" not in text
    error = json.loads(text)["error"]
    assert error["code"] == code, text
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


async def test_bodies_over_the_configured_limit_are_refused(make_settings, make_node):
    node = await make_node(make_settings(server={"max_body_bytes": 2048}))
    login = {"username": "nobody", "password": PASSWORD}
    # Under the limit (padded with JSON whitespace) the request is handled normally.
    small = json.dumps(login) + " " * 1500
    resp = await node.post("/api/quartier/v1/sessions", data=small, headers=JSON)
    await error_of(resp, 401, "invalid_credentials")
    big = json.dumps({**login, "label": "x" * 4000})
    resp = await node.post("/api/quartier/v1/sessions", data=big, headers=JSON)
    await error_of(resp, 413, "payload_too_large")
    resp = await node.post("/api/quartier/v1/accounts", data=" " * 10_000 + "{}", headers=JSON)
    await error_of(resp, 413, "payload_too_large")


async def test_deeply_nested_json_is_a_client_error(node):
    depth = 100_000
    for document in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        resp = await node.post("/api/quartier/v1/sessions", data=document, headers=JSON)
        await error_of(resp, 400, "invalid_json")
    # The node is still serving.
    resp = await node.get("/healthz")
    assert resp.status == 200


async def test_invalid_utf8_json_is_a_client_error(node):
    resp = await node.post(
        "/api/quartier/v1/sessions", data=b'{"username": "\xff\xfe"}', headers=JSON
    )
    await error_of(resp, 400, "invalid_json")


async def test_unknown_routes_are_json_404s(node):
    for path in ("/nope", "/api/quartier/v1/nope", "/api/quartier/v1/admin/invites/not-a-number"):
        resp = await node.get(path)
        await error_of(resp, 404, "not_found")


async def test_wrong_methods_are_json_405s_with_allow(node):
    resp = await node.put("/api/quartier/v1/me", json={})
    await error_of(resp, 405, "method_not_allowed")
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed
    assert "PUT" not in allowed
    resp = await node.delete("/healthz")
    await error_of(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]


async def test_every_response_carries_a_request_id(make_settings, make_node):
    node = await make_node(make_settings(server={"max_body_bytes": 2048}))
    responses = [
        await node.get("/healthz"),
        await node.get("/"),
        await node.get("/nope"),
        await node.put("/api/quartier/v1/me"),
        await node.get("/api/quartier/v1/me"),
        await node.post("/api/quartier/v1/accounts", json={"x": 1}),
        await node.post("/api/quartier/v1/accounts", data="nope", headers=JSON),
        await node.post(
            "/api/quartier/v1/accounts", data="x", headers={"Content-Type": "text/plain"}
        ),
        await node.post("/api/quartier/v1/sessions", data=" " * 4096, headers=JSON),
    ]
    assert [r.status for r in responses] == [200, 200, 404, 405, 401, 422, 400, 415, 413]
    ids = [r.headers.get("X-Request-Id", "") for r in responses]
    assert all(SANE_REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


async def test_a_sane_client_request_id_is_echoed_back(node):
    for request_id in ("abc-123", "trace.ID_42", "x" * 64):
        resp = await node.get("/healthz", headers={"X-Request-Id": request_id})
        assert resp.headers["X-Request-Id"] == request_id
    resp = await node.get("/nope", headers={"X-Request-Id": "lost-page-1"})
    assert resp.status == 404
    assert resp.headers["X-Request-Id"] == "lost-page-1"


async def test_a_malicious_client_request_id_is_replaced(node):
    for request_id in ("a" * 200, "x" * 65, "two words", "<script>", "id;rm -rf /", "ünïcode"):
        resp = await node.get("/healthz", headers={"X-Request-Id": request_id})
        echoed = resp.headers["X-Request-Id"]
        assert echoed != request_id
        assert SANE_REQUEST_ID.match(echoed), echoed


async def test_health_check_reports_ok(node):
    resp = await node.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ok"


async def test_error_bodies_never_leak_internals(node):
    hostile = [
        ("POST", "/api/quartier/v1/accounts", b"{", JSON),
        ("POST", "/api/quartier/v1/accounts", b'{"invite": {"$gt": ""}}', JSON),
        (
            "POST",
            "/api/quartier/v1/accounts",
            b'{"invite":"x","username":"a","password":1e999}',
            JSON,
        ),
        ("POST", "/api/quartier/v1/sessions", b'{"username": NaN, "password": Infinity}', JSON),
        ("POST", "/api/quartier/v1/sessions", b'{"username": "\\u0000", "password": "x"}', JSON),
        ("PATCH", "/api/quartier/v1/me", b"{}", {"Authorization": "Bearer \u00e9"}),
        ("GET", "/api/quartier/v1/members/%00", b"", {}),
        (
            "DELETE",
            "/api/quartier/v1/sessions/999999999999999999",
            b"",
            {"Authorization": "Bearer x"},
        ),
    ]
    for method, path, data, headers in hostile:
        resp = await node.request(method, path, data=data, headers=headers)
        text = await resp.text()
        assert 400 <= resp.status < 500, (path, resp.status, text)
        assert "Traceback" not in text
        assert 'File "' not in text
        assert json.loads(text)["error"]["code"]


async def test_passwords_are_stored_as_argon2id_hashes(node):
    await register(node, await bootstrap_invite(node), "ada")
    with activated(node.app[DATABASE]):
        member = await Member.get(username="ada")
    assert member.password_hash.startswith("$argon2id$")
    assert PASSWORD not in member.password_hash
