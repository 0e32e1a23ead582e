"""Domain blocks through the staff page: the API's block and unblock, and their errors."""

from __future__ import annotations

import pytest

from node.members.models import Role
from tests.api import PASSWORD, bearer, login
from tests.web.staff_support import ESCAPED, FRENCH, SCRIPT, browse_as, post_form, staff_member
from tests.web.support import ORIGIN, csrf_of, page_token

API = "/api/quartier/v1/admin/domain_blocks"


@pytest.fixture
async def ada(node) -> str:
    token = await staff_member(node, "ada", Role.ADMIN)
    await browse_as(node, "ada")
    return token


async def test_a_server_is_blocked_and_unblocked(node, ada):
    data = {"domain": "Spam.Example", "severity": "silence", "reason": SCRIPT}
    resp = await post_form(node, "/staff/blocks", "/staff/blocks", data)
    assert resp.status == 303
    assert resp.headers["Location"] == "/staff/blocks"
    blocks = await (await node.get(API, headers=bearer(ada))).json()
    assert [(b["domain"], b["severity"], b["reason"]) for b in blocks] == [
        ("spam.example", "silence", SCRIPT)
    ]
    page = await (await node.get("/staff/blocks")).text()
    assert "spam.example" in page
    assert ESCAPED in page
    assert SCRIPT not in page
    resp = await post_form(node, "/staff/blocks", "/staff/blocks/spam.example/remove", {})
    assert resp.status == 303
    assert await (await node.get(API, headers=bearer(ada))).json() == []
    resp = await post_form(node, "/staff/blocks", "/staff/blocks/spam.example/remove", {})
    assert resp.status == 404
    assert resp.content_type == "text/html"


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
    assert f'id="{field}-error"' in page
    assert SCRIPT not in page
    if field != "reason":
        assert f"kept {ESCAPED}" in page
    assert await (await node.get(API, headers=bearer(ada))).json() == []


async def test_a_second_block_of_a_domain_is_a_conflict_in_french(node, ada):
    data = {"domain": "spam.example", "severity": "suspend", "reason": ""}
    assert (await post_form(node, "/staff/blocks", "/staff/blocks", data)).status == 303
    resp = await post_form(node, "/staff/blocks", "/staff/blocks", data, FRENCH)
    assert resp.status == 409
    assert "Ce domaine est déjà bloqué." in await resp.text()


async def test_a_block_posted_after_the_session_ended_is_kept_and_sent_after_logging_in(node, ada):
    token = await page_token(node, "/staff/blocks")
    # The browser's session ends elsewhere (a password change from another session).
    new = "another long passphrase"
    resp = await node.post(
        "/api/quartier/v1/me/password",
        json={"current_password": PASSWORD, "new_password": new},
        headers=bearer(ada),
    )
    assert resp.status in (200, 204), await resp.text()
    data = {"csrf_token": token, "domain": "spam.example", "severity": "suspend", "reason": SCRIPT}
    resp = await node.post("/staff/blocks", data=data, headers=ORIGIN)
    assert resp.status == 401
    page = await resp.text()
    assert 'name="relogin_username"' in page
    assert page.count('name="relogin_username"') == 1  # only in the form that was posted
    assert 'value="spam.example"' in page
    assert ESCAPED in page
    assert SCRIPT not in page
    again = {
        **data,
        "csrf_token": csrf_of(page),
        "relogin_username": "ada",
        "relogin_password": new,
    }
    resp = await node.post("/staff/blocks", data=again, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303
    blocks = await (await node.get(API, headers=bearer(await login(node, "ada", new)))).json()
    assert [b["domain"] for b in blocks] == ["spam.example"]
