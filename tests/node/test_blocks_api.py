"""Domain blocks through the admin API, over real HTTP."""

from __future__ import annotations

from node.db import activated
from node.http.keys import DATABASE, FEDERATION_POLICY
from tests.api import admin_token, bearer, error_of, member_token

PATH = "/api/quartier/v1/admin/domain_blocks"


async def test_an_admin_adds_lists_and_removes_blocks(node, clock):
    admin = await admin_token(node)
    resp = await node.post(
        PATH, json={"domain": "Spam.Example", "reason": "floods us"}, headers=bearer(admin)
    )
    assert resp.status == 201, await resp.text()
    assert await resp.json() == {
        "domain": "spam.example",
        "reason": "floods us",
        "severity": "suspend",
        "created_at": "2026-11-26T12:00:00Z",
    }
    resp = await node.post(PATH, json={"domain": "münchen.de"}, headers=bearer(admin))
    assert (await resp.json())["domain"] == "xn--mnchen-3ya.de"

    resp = await node.get(PATH, headers=bearer(admin))
    assert resp.status == 200
    assert [(b["domain"], b["reason"]) for b in await resp.json()] == [
        ("spam.example", "floods us"),
        ("xn--mnchen-3ya.de", ""),
    ]

    resp = await node.delete(f"{PATH}/SPAM.example", headers=bearer(admin))
    assert resp.status == 204, await resp.text()
    resp = await node.get(PATH, headers=bearer(admin))
    assert [b["domain"] for b in await resp.json()] == ["xn--mnchen-3ya.de"]
    # Each change is in the audit log, by whom.
    audit = await (
        await node.get("/api/quartier/v1/moderation/audit", headers=bearer(admin))
    ).json()
    assert [(e["actor"], e["action"], e["target"], e["reason"]) for e in audit] == [
        ("ada", "domain.unblock", "spam.example", ""),
        ("ada", "domain.suspend", "xn--mnchen-3ya.de", ""),
        ("ada", "domain.suspend", "spam.example", "floods us"),
    ]


async def test_bad_input_gets_clear_errors(node):
    admin = await admin_token(node)
    cases = [
        ({"domain": "https://spam.example/users/x"}, "domain", "not a URL"),
        ({"domain": "spam.example/x"}, "domain", "not a URL"),
        ({"domain": "*.spam.example"}, "domain", "covers subdomains already"),
        ({"domain": "spam..example"}, "domain", "not a valid domain"),
        ({"domain": "a:b:c"}, "domain", "not a host name or an IP address"),
        ({"domain": "127.0.0.1:8080"}, "domain", "this node's own host"),
        ({"domain": "127.0.0.1"}, "domain", "this node's own host"),
        ({"domain": ""}, "domain", "at least 1 character"),
        ({"domain": "spam.example", "reason": "x" * 1001}, "reason", "at most 1000"),
        ({"domain": 42}, "domain", "string"),
        ({"domain": "spam.example", "severity": "mute"}, "severity", "'suspend' or 'silence'"),
        ({"domain": "spam.example", "level": "silence"}, "level", "unknown field"),
    ]
    for body, field, says in cases:
        resp = await node.post(PATH, json=body, headers=bearer(admin))
        error = await error_of(resp, 422, "validation_failed")
        [detail] = error["details"]
        assert detail["field"] == field, error
        assert says in detail["message"], error
    resp = await node.get(PATH, headers=bearer(admin))
    assert await resp.json() == []


async def test_a_silenced_server_is_not_blocked_and_severity_is_optional(node):
    admin = await admin_token(node)
    body = {"domain": "loud.example", "severity": "silence"}
    resp = await node.post(PATH, json=body, headers=bearer(admin))
    assert (await resp.json())["severity"] == "silence"
    policy = node.app[FEDERATION_POLICY]
    with activated(node.app[DATABASE]):
        assert not await policy.blocks.is_blocked("loud.example")
        assert await policy.blocks.is_silenced("a.loud.example")
        assert not await policy.blocks.is_silenced("notloud.example")


async def test_a_duplicate_is_a_conflict_and_an_unknown_domain_is_not_found(node):
    admin = await admin_token(node)
    await node.post(PATH, json={"domain": "spam.example"}, headers=bearer(admin))
    resp = await node.post(PATH, json={"domain": "SPAM.example."}, headers=bearer(admin))
    error = await error_of(resp, 409, "conflict")
    assert error["message"] == "spam.example is already blocked"
    resp = await node.delete(f"{PATH}/other.example", headers=bearer(admin))
    error = await error_of(resp, 404, "not_found")
    assert error["message"] == "other.example is not blocked"
    resp = await node.delete(f"{PATH}/spam.example%2Fx", headers=bearer(admin))
    await error_of(resp, 422, "validation_failed")
    resp = await node.delete(f"{PATH}/zz::1", headers=bearer(admin))
    await error_of(resp, 422, "validation_failed")


async def test_only_admins_see_or_change_blocks(node):
    admin = await admin_token(node)
    resident = await member_token(node, admin, "res")
    await node.post(PATH, json={"domain": "spam.example"}, headers=bearer(admin))
    node.session.cookie_jar.clear()  # logging in set a session cookie: no credentials at all
    for method, path, body in [
        ("GET", PATH, None),
        ("POST", PATH, {"domain": "other.example"}),
        ("DELETE", f"{PATH}/spam.example", None),
    ]:
        resp = await node.request(method, path, json=body, headers=bearer(resident))
        await error_of(resp, 403, "forbidden")
        resp = await node.request(method, path, json=body)
        await error_of(resp, 401, "unauthorized")
    resp = await node.get(PATH, headers=bearer(admin))
    assert [b["domain"] for b in await resp.json()] == ["spam.example"]
