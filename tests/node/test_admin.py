"""Administration over the real HTTP API: invites, members and roles."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from node.db import activated
from node.http.keys import DATABASE, SETTINGS
from node.members.models import Invite, LoginSession
from tests.api import admin_token, bearer, error_of, login, member_token, register

INVITES = "/api/quartier/v1/admin/invites"
MEMBERS = "/api/quartier/v1/admin/members"


async def create_invite(node, admin: str, **body: Any) -> dict[str, Any]:
    resp = await node.post(INVITES, json=body, headers=bearer(admin))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def invite_list(node, admin: str, query: str = "") -> list[dict[str, Any]]:
    resp = await node.get(f"{INVITES}{query}", headers=bearer(admin))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_creating_an_invite_shows_its_code_once_with_role_note_and_expiry(node, clock):
    admin = await admin_token(node)
    invite = await create_invite(node, admin, role="manager", note="flat 3B", ttl_hours=2)
    assert isinstance(invite["code"], str)
    assert len(invite["code"]) >= 16
    assert invite["role"] == "manager"
    assert invite["note"] == "flat 3B"
    assert datetime.fromisoformat(invite["expires_at"]) == clock.now + timedelta(hours=2)
    assert invite["used_at"] is None
    assert invite["revoked_at"] is None
    member = await register(node, invite["code"], "mary")
    assert member["role"] == "manager"


async def test_an_invite_ttl_is_honoured(node, clock):
    admin = await admin_token(node)
    invite = await create_invite(node, admin, ttl_hours=2)
    clock.advance(hours=2, seconds=1)
    body = {"invite": invite["code"], "username": "late", "password": "x" * 12, "real_name": "L"}
    resp = await node.post("/api/quartier/v1/accounts", json=body)
    await error_of(resp, 410, "invite_unusable")


async def test_invites_default_to_resident_and_the_configured_lifetime(node, clock):
    admin = await admin_token(node)
    invite = await create_invite(node, admin)
    assert invite["role"] == "resident"
    assert invite["note"] == ""
    hours = node.app[SETTINGS].accounts.invite_ttl_hours
    assert datetime.fromisoformat(invite["expires_at"]) == clock.now + timedelta(hours=hours)


async def test_invite_list_never_shows_codes_and_hides_spent_invites_by_default(node, clock):
    admin = await admin_token(node)
    used = await create_invite(node, admin, note="used")
    revoked = await create_invite(node, admin, note="revoked")
    expiring = await create_invite(node, admin, note="expiring", ttl_hours=1)
    fresh = await create_invite(node, admin, note="fresh", ttl_hours=48)
    await register(node, used["code"], "bob")
    resp = await node.delete(f"{INVITES}/{revoked['id']}", headers=bearer(admin))
    assert resp.status == 204
    clock.advance(hours=2)

    resp = await node.get(INVITES, headers=bearer(admin))
    text = await resp.text()
    for invite in (used, revoked, expiring, fresh):
        assert invite["code"] not in text
    usable = json.loads(text)
    assert [i["id"] for i in usable] == [fresh["id"]]
    assert all("code" not in i for i in usable)

    resp = await node.get(f"{INVITES}?all=true", headers=bearer(admin))
    text = await resp.text()
    for invite in (used, revoked, expiring, fresh):
        assert invite["code"] not in text
    # Also listed: the (used) bootstrap invite ada registered with.
    everything = {i["note"]: i for i in json.loads(text)}
    assert set(everything) == {"", "used", "revoked", "expiring", "fresh"}
    assert all("code" not in i for i in everything.values())
    assert everything["used"]["used_at"] is not None
    assert everything["revoked"]["revoked_at"] is not None
    assert everything["fresh"]["used_at"] is None
    assert everything["fresh"]["revoked_at"] is None


async def test_the_all_flag_takes_true_false_1_or_0_and_refuses_anything_else(node):
    admin = await admin_token(node)
    # ada's bootstrap invite is used: listed with all, hidden without.
    spent = [i["id"] for i in await invite_list(node, admin, "?all=true")]
    assert len(spent) == 1
    for query, listed in (("?all=1", spent), ("?all=TRUE", spent), ("?all=0", []), ("", [])):
        assert [i["id"] for i in await invite_list(node, admin, query)] == listed, query
    assert await invite_list(node, admin, "?all=false") == []
    for value in ("maybe", "yes", "", "2", "true%00"):
        resp = await node.get(f"{INVITES}?all={value}", headers=bearer(admin))
        error = await error_of(resp, 422, "validation_failed")
        assert [d["field"] for d in error["details"]] == ["all"], value


async def test_revoking_invites(node):
    admin = await admin_token(node)
    unused = await create_invite(node, admin)
    used = await create_invite(node, admin)
    await register(node, used["code"], "bob")

    resp = await node.delete(f"{INVITES}/{unused['id']}", headers=bearer(admin))
    assert resp.status == 204
    assert unused["id"] not in [i["id"] for i in await invite_list(node, admin)]
    body = {"invite": unused["code"], "username": "eve", "password": "x" * 12, "real_name": "E"}
    resp = await node.post("/api/quartier/v1/accounts", json=body)
    await error_of(resp, 410, "invite_unusable")

    resp = await node.delete(f"{INVITES}/{used['id']}", headers=bearer(admin))
    await error_of(resp, 409, "conflict")
    (listed,) = [i for i in await invite_list(node, admin, "?all=true") if i["id"] == used["id"]]
    assert listed["revoked_at"] is None

    resp = await node.delete(f"{INVITES}/999999", headers=bearer(admin))
    await error_of(resp, 404, "not_found")


ADMIN_CALLS = [
    ("POST", INVITES, {}),
    ("GET", INVITES, None),
    ("GET", f"{INVITES}?all=true", None),
    ("DELETE", f"{INVITES}/1", None),
    ("GET", MEMBERS, None),
    ("PATCH", f"{MEMBERS}/ada", {"role": "resident"}),
]


async def test_residents_cannot_use_admin_endpoints(node):
    admin = await admin_token(node)
    bob = await member_token(node, admin, "bob")
    before = await invite_list(node, admin, "?all=true")
    for method, path, body in ADMIN_CALLS:
        resp = await node.request(method, path, json=body, headers=bearer(bob))
        await error_of(resp, 403, "forbidden")
    # Nothing changed: no invite created or revoked, ada is still an admin.
    assert await invite_list(node, admin, "?all=true") == before
    resp = await node.get("/api/quartier/v1/me", headers=bearer(admin))
    assert (await resp.json())["role"] == "admin"


async def test_admin_endpoints_require_authentication(node):
    await admin_token(node)
    node.session.cookie_jar.clear()  # the login left a session cookie in the test client
    for method, path, body in ADMIN_CALLS:
        resp = await node.request(method, path, json=body)
        await error_of(resp, 401, "unauthorized")


async def test_invalid_invite_requests_are_refused_naming_the_field(node):
    admin = await admin_token(node)
    before = await invite_list(node, admin, "?all=true")
    for body, field in (
        ({"role": "overlord"}, "role"),
        ({"role": 1}, "role"),
        ({"ttl_hours": 0}, "ttl_hours"),
        ({"ttl_hours": -5}, "ttl_hours"),
        ({"ttl_hours": 24 * 365 + 1}, "ttl_hours"),
        ({"ttl_hours": "2"}, "ttl_hours"),
        ({"note": "n" * 201}, "note"),
        ({"code": "my-own-code"}, "code"),
    ):
        resp = await node.post(INVITES, json=body, headers=bearer(admin))
        error = await error_of(resp, 422, "validation_failed")
        assert {d["field"] for d in error["details"]} == {field}, body
    assert await invite_list(node, admin, "?all=true") == before


async def test_member_list_shows_real_names_and_roles(node):
    admin = await admin_token(node)
    await member_token(node, admin, "bob")
    resp = await node.get(MEMBERS, headers=bearer(admin))
    assert resp.status == 200
    members = await resp.json()
    assert [(m["username"], m["real_name"], m["role"]) for m in members] == [
        ("ada", "Ada Lovelace", "admin"),
        ("bob", "Bob", "resident"),
    ]


async def test_changing_a_members_role(node):
    admin = await admin_token(node)
    bob = await member_token(node, admin, "bob")
    resp = await node.patch(f"{MEMBERS}/bob", json={"role": "moderator"}, headers=bearer(admin))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["role"] == "moderator"
    resp = await node.get("/api/quartier/v1/me", headers=bearer(bob))
    assert (await resp.json())["role"] == "moderator"
    # Promoted to admin, bob can use the admin endpoints with his existing session.
    resp = await node.patch(f"{MEMBERS}/BOB", json={"role": "admin"}, headers=bearer(admin))
    assert resp.status == 200
    resp = await node.get(MEMBERS, headers=bearer(bob))
    assert resp.status == 200
    # An unknown member or role is refused.
    resp = await node.patch(f"{MEMBERS}/nobody", json={"role": "admin"}, headers=bearer(admin))
    await error_of(resp, 404, "not_found")
    resp = await node.patch(f"{MEMBERS}/bob", json={"role": "king"}, headers=bearer(admin))
    await error_of(resp, 422, "validation_failed")


async def test_the_last_admin_cannot_be_demoted(node):
    admin = await admin_token(node)
    await member_token(node, admin, "bob")
    resp = await node.patch(f"{MEMBERS}/ada", json={"role": "resident"}, headers=bearer(admin))
    await error_of(resp, 409, "conflict")
    resp = await node.get("/api/quartier/v1/me", headers=bearer(admin))
    assert (await resp.json())["role"] == "admin"
    # With a second admin, the first may step down.
    resp = await node.patch(f"{MEMBERS}/bob", json={"role": "admin"}, headers=bearer(admin))
    assert resp.status == 200
    resp = await node.patch(f"{MEMBERS}/ada", json={"role": "resident"}, headers=bearer(admin))
    assert resp.status == 200
    assert (await resp.json())["role"] == "resident"
    resp = await node.get(MEMBERS, headers=bearer(admin))
    await error_of(resp, 403, "forbidden")


async def test_the_database_stores_only_hashes_of_invite_codes_and_tokens(node):
    admin = await admin_token(node)
    invite = await create_invite(node, admin)
    spare = await create_invite(node, admin)
    await register(node, invite["code"], "bob")
    token = await login(node, "bob")
    with activated(node.app[DATABASE]):
        code_hashes = await Invite.all().values_list("code_hash", flat=True)
        token_hashes = await LoginSession.all().values_list("token_hash", flat=True)
    assert len(code_hashes) == 3  # ada's bootstrap invite and the two above
    assert len(token_hashes) == 2  # ada's and bob's sessions
    for stored in code_hashes:
        assert stored not in (invite["code"], spare["code"])
        assert invite["code"] not in stored
        assert spare["code"] not in stored
    for stored in token_hashes:
        assert stored not in (token, admin)
        assert token not in stored
        assert admin not in stored
