"""Members and roles through the staff page: the API's role change and its rule."""

from __future__ import annotations

import pytest

from node.members.models import Role
from tests.api import bearer
from tests.web.staff_support import FRENCH, browse_as, post_form, staff_member


@pytest.fixture
async def ada(node) -> str:
    token = await staff_member(node, "ada", Role.ADMIN)
    await staff_member(node, "bea", Role.RESIDENT)
    await browse_as(node, "ada")
    return token


async def test_the_members_are_listed_with_role_and_verification(node, ada):
    page = await (await node.get("/staff/members")).text()
    assert "bea" in page
    assert "Bea" in page
    assert "not verified" in page
    french = await (await node.get("/staff/members", headers=FRENCH)).text()
    assert "2 membres." in french
    assert "non vérifié" in french


async def test_a_role_is_changed(node, ada):
    resp = await post_form(node, "/staff/members", "/staff/members/bea/role", {"role": "manager"})
    assert resp.status == 303
    assert resp.headers["Location"] == "/staff/members"
    members = await (await node.get("/api/quartier/v1/admin/members", headers=bearer(ada))).json()
    assert {m["username"]: m["role"] for m in members}["bea"] == "manager"


async def test_the_last_admin_is_not_demoted(node, ada):
    resp = await post_form(
        node, "/staff/members", "/staff/members/ada/role", {"role": "resident"}, FRENCH
    )
    assert resp.status == 409
    page = await resp.text()
    assert 'id="role-ada-error"' in page
    assert "au moins un administrateur" in page
    members = await (await node.get("/api/quartier/v1/admin/members", headers=bearer(ada))).json()
    assert {m["username"]: m["role"] for m in members}["ada"] == "admin"


async def test_an_unknown_role_or_member(node, ada):
    resp = await post_form(node, "/staff/members", "/staff/members/bea/role", {"role": "<script>"})
    assert resp.status == 422
    assert "<script>" not in await resp.text()
    resp = await post_form(node, "/staff/members", "/staff/members/nobody/role", {"role": "admin"})
    assert resp.status == 404
