from tests.api import admin_token, bearer, member_token


async def test_admin_invites_resident_who_registers_logs_in_and_edits_profile(node):
    admin = await admin_token(node)
    token = await member_token(node, admin, "bob")
    resp = await node.get("/api/quartier/v1/me", headers=bearer(token))
    assert resp.status == 200
    me = await resp.json()
    assert me["username"] == "bob"
    assert me["role"] == "resident"
    resp = await node.patch(
        "/api/quartier/v1/me", json={"bio": "I lend drills"}, headers=bearer(token)
    )
    assert resp.status == 200
    assert (await resp.json())["bio"] == "I lend drills"
    resp = await node.get("/users/bob", headers={"Accept": "application/activity+json"})
    assert resp.status == 200
    actor = await resp.json()
    assert actor["summary"] == "<p>I lend drills</p>"
