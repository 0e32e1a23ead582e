"""Domain blocks through the staff page: the API's block and unblock, and their errors."""

from __future__ import annotations

import pytest

from node.members.models import Role
from tests.api import bearer
from tests.web.staff_support import ESCAPED, FRENCH, SCRIPT, browse_as, post_form, staff_member

API = "/api/v1/admin/domain_blocks"


@pytest.fixture
async def ada(node) -> str:
    token = await staff_member(node, "ada", Role.ADMIN)
    await browse_as(node, "ada")
    return token


async def test_a_server_is_blocked_and_unblocked(node, ada):
    data = {"domain": "Spam.Example", "severity": "silence", "reason": SCRIPT}
    resp = await post_form(node, "/staff/blocks", "/staff/blocks", data)
    assert resp.status == 303 and resp.headers["Location"] == "/staff/blocks"
    blocks = await (await node.get(API, headers=bearer(ada))).json()
    assert [(b["domain"], b["severity"], b["reason"]) for b in blocks] == [
        ("spam.example", "silence", SCRIPT)
    ]
    page = await (await node.get("/staff/blocks")).text()
    assert "spam.example" in page and ESCAPED in page and SCRIPT not in page
    resp = await post_form(node, "/staff/blocks", "/staff/blocks/spam.example/remove", {})
    assert resp.status == 303
    assert await (await node.get(API, headers=bearer(ada))).json() == []
    resp = await post_form(node, "/staff/blocks", "/staff/blocks/spam.example/remove", {})
    assert resp.status == 404 and resp.content_type == "text/html"


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"domain": "not a domain"}, "domain", 422),
        ({"domain": ""}, "domain", 422),
        ({"severity": "nuke"}, "severity", 422),
        ({"reason": "x" * 5000}, "reason", 422),
    ],
)
async def test_an_invalid_block_shows_the_form_again(node, ada, fields, field, status):
    data = {"domain": "spam.example", "severity": "suspend", "reason": f"kept {SCRIPT}", **fields}
    resp = await post_form(node, "/staff/blocks", "/staff/blocks", data)
    assert resp.status == status
    page = await resp.text()
    assert f'id="{field}-error"' in page and SCRIPT not in page
    if field != "reason":
        assert f"kept {ESCAPED}" in page
    assert await (await node.get(API, headers=bearer(ada))).json() == []


async def test_a_second_block_of_a_domain_is_a_conflict_in_french(node, ada):
    data = {"domain": "spam.example", "severity": "suspend", "reason": ""}
    assert (await post_form(node, "/staff/blocks", "/staff/blocks", data)).status == 303
    resp = await post_form(node, "/staff/blocks", "/staff/blocks", data, FRENCH)
    assert resp.status == 409
    assert "Ce domaine est déjà bloqué." in await resp.text()
