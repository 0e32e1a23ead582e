"""Invites through the staff page: the API's options, the link shown once, revoking."""

from __future__ import annotations

import re
from html import unescape

import pytest

from node.members.models import Role
from tests.api import bearer, register
from tests.web.staff_support import ESCAPED, FRENCH, SCRIPT, browse_as, post_form, staff_member

LINK = re.compile(r'id="invite-link" type="text" readonly value="([^"]+)"')


@pytest.fixture
async def ada(node) -> str:
    token = await staff_member(node, "ada", Role.ADMIN)
    await browse_as(node, "ada")
    return token


async def test_an_invite_is_made_and_its_link_registers_a_neighbour(node, ada):
    resp = await post_form(
        node,
        "/staff/invites",
        "/staff/invites",
        {"role": "moderator", "note": "Flat 2", "ttl_hours": "48"},
    )
    assert resp.status == 201
    page = await resp.text()
    link = unescape(LINK.search(page).group(1))
    assert link.startswith("http://127.0.0.1:8080/register?invite=")
    assert 'data-copy="invite-link"' in page
    assert "js/copy.js" in page
    code = link.partition("invite=")[2]
    member = await register(node, code, "cy")
    assert member["role"] == "moderator"
    # The API sees the same invite, used.
    invites = await (
        await node.get("/api/quartier/v1/admin/invites?all=true", headers=bearer(ada))
    ).json()
    assert invites[0]["note"] == "Flat 2"
    assert invites[0]["used_at"]
    listing = await (await node.get("/staff/invites?all=true")).text()
    assert "Flat 2" in listing
    assert "used on" in listing


async def test_the_invites_page_in_french(node, ada):
    resp = await post_form(node, "/staff/invites", "/staff/invites", {"role": "resident"}, FRENCH)
    assert "Lien d\u2019invitation" in await resp.text()
    assert (
        "Invitations utilisables" in await (await node.get("/staff/invites", headers=FRENCH)).text()
    )


async def test_a_script_in_the_note_is_shown_as_text(node, ada):
    resp = await post_form(
        node, "/staff/invites", "/staff/invites", {"role": "resident", "note": SCRIPT}
    )
    assert resp.status == 201
    page = await (await node.get("/staff/invites")).text()
    assert SCRIPT not in page
    assert ESCAPED in page


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ttl_hours": "0"}, "ttl_hours"),
        ({"ttl_hours": "soon"}, "ttl_hours"),
        ({"note": "x" * 201}, "note"),
        ({"role": "mayor"}, "role"),
    ],
)
async def test_an_invalid_invite_shows_the_form_again(node, ada, fields, field):
    data = {"role": "resident", "note": f"kept {SCRIPT}", **fields}
    resp = await post_form(node, "/staff/invites", "/staff/invites", data)
    assert resp.status == 422
    page = await resp.text()
    assert f'id="{field}-error"' in page
    if field != "note":
        assert f"kept {ESCAPED}" in page
    assert SCRIPT not in page
    invites = await (await node.get("/api/quartier/v1/admin/invites", headers=bearer(ada))).json()
    assert invites == []


async def test_an_invite_is_revoked(node, ada):
    made = await node.post(
        "/api/quartier/v1/admin/invites", json={"note": "spare"}, headers=bearer(ada)
    )
    invite = await made.json()
    resp = await post_form(node, "/staff/invites", f"/staff/invites/{invite['id']}/revoke", {})
    assert resp.status == 303
    assert resp.headers["Location"] == "/staff/invites"
    assert (
        await (await node.get("/api/quartier/v1/admin/invites", headers=bearer(ada))).json() == []
    )
    resp = await node.post(
        "/api/quartier/v1/accounts",
        json={
            "invite": invite["code"],
            "username": "zed",
            "password": "x" * 12,
            "real_name": "Zed",
        },
    )
    assert resp.status == 410
