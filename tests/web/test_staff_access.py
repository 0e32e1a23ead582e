"""Who may open each staff page and post its forms: the role the API asks for the same
action (admins hold every role); a resident gets the 403 page, a visitor goes to log in, a
forged form is refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from node.members.models import Role
from tests.api import bearer, login
from tests.web.staff_support import (
    FRENCH,
    assert_forbidden_page,
    browse_as,
    staff_member,
)
from tests.web.support import ORIGIN, page_token

# Every staff page and the roles that may open it (besides admins).
PAGES = [
    ("/staff", {Role.MANAGER, Role.MODERATOR}),
    ("/staff/invites", set()),
    ("/staff/members", set()),
    ("/staff/verification", {Role.MANAGER}),
    ("/staff/reports", {Role.MODERATOR}),
    ("/staff/audit", {Role.MODERATOR}),
    ("/staff/partnerships", set()),
    ("/staff/blocks", set()),
    ("/staff/governance", set()),
]
# Every staff form: the page it is on and where it posts.
FORMS = [
    ("/staff/invites", "/staff/invites", {"role": "resident", "note": "x"}),
    ("/staff/members", "/staff/members/ada/role", {"role": "admin"}),
    ("/staff/verification", "/staff/verification/members", {"username": "ada"}),
    ("/staff/partnerships", "/staff/partnerships", {"node": "b.example"}),
    ("/staff/blocks", "/staff/blocks", {"domain": "spam.example"}),
    ("/staff/governance", "/staff/governance", {"messages": "nobody"}),
]


@pytest.mark.parametrize(("path", "_roles"), PAGES)
async def test_a_visitor_is_sent_to_log_in(node, path, _roles):
    resp = await node.get(path, allow_redirects=False)
    assert resp.status == 303
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize(("path", "_roles"), PAGES)
async def test_a_resident_gets_the_403_page(node, path, _roles):
    await staff_member(node, "bea", Role.RESIDENT)
    await browse_as(node, "bea")
    await assert_forbidden_page(await node.get(path))


async def test_the_403_page_is_in_the_visitor_s_language(node):
    await staff_member(node, "bea", Role.RESIDENT)
    await browse_as(node, "bea")
    await assert_forbidden_page(await node.get("/staff/invites", headers=FRENCH), french=True)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MODERATOR])
async def test_each_staff_role_opens_its_pages_and_only_those(node, role):
    await staff_member(node, "cy", role)
    await browse_as(node, "cy")
    for path, roles in PAGES:
        resp = await node.get(path)
        if role in roles:
            assert resp.status == 200, (path, await resp.text())
        else:
            await assert_forbidden_page(resp)


async def test_an_admin_opens_every_page(node):
    await staff_member(node, "ada", Role.ADMIN)
    await browse_as(node, "ada")
    for path, _ in PAGES:
        resp = await node.get(path)
        assert resp.status == 200, (path, await resp.text())
        assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("role", "links", "hidden"),
    [
        (Role.MANAGER, ["/staff/verification"], ["/staff/invites", "/staff/reports"]),
        (Role.MODERATOR, ["/staff/reports", "/staff/audit"], ["/staff/blocks"]),
        (Role.ADMIN, [p for p, _ in PAGES[1:]], []),
    ],
)
async def test_the_index_links_only_the_pages_the_role_may_open(node, role, links, hidden):
    await staff_member(node, "ada" if role is Role.ADMIN else "cy", role)
    await browse_as(node, "ada" if role is Role.ADMIN else "cy")
    page = await (await node.get("/staff")).text()
    for link in links:
        assert f'href="{link}"' in page
    for link in hidden:
        assert f'href="{link}"' not in page


async def test_the_index_in_french(node):
    await staff_member(node, "cy", Role.MODERATOR)
    await browse_as(node, "cy")
    page = await (await node.get("/staff", headers=FRENCH)).text()
    assert "Signalements" in page


@pytest.mark.parametrize(("page", "action", "data"), FORMS)
async def test_a_resident_cannot_post_a_staff_form(node, page, action, data):
    await staff_member(node, "bea", Role.RESIDENT)
    await browse_as(node, "bea")
    token = await page_token(node, "/settings/password")  # a page a resident may open
    resp = await node.post(action, data={"csrf_token": token, **data}, headers=ORIGIN)
    await assert_forbidden_page(resp)


@pytest.mark.parametrize(("page", "action", "data"), FORMS)
@pytest.mark.parametrize("token", ["", "wrong"])
async def test_a_staff_form_without_the_right_token_is_refused(node, page, action, data, token):
    await staff_member(node, "ada", Role.ADMIN)
    await browse_as(node, "ada")
    resp = await node.post(action, data={"csrf_token": token, **data}, headers=ORIGIN)
    await assert_forbidden_page(resp)


@pytest.mark.parametrize(("page", "action", "data"), FORMS)
@pytest.mark.parametrize("origin", [None, "https://evil.example"])
async def test_a_staff_form_from_another_origin_is_refused(node, page, action, data, origin):
    await staff_member(node, "ada", Role.ADMIN)
    await browse_as(node, "ada")
    token = await page_token(node, page)
    headers = {"Origin": origin} if origin else {}
    resp = await node.post(action, data={"csrf_token": token, **data}, headers=headers)
    await assert_forbidden_page(resp)


@pytest.mark.parametrize(("page", "action", "data"), FORMS)
async def test_a_moderator_cannot_post_another_role_s_form(node, page, action, data):
    await staff_member(node, "cy", Role.MODERATOR)
    await browse_as(node, "cy")
    token = await page_token(node, "/staff/reports")
    resp = await node.post(action, data={"csrf_token": token, **data}, headers=ORIGIN)
    await assert_forbidden_page(resp)
    ada = await login(node, "ada")
    blocks = await (
        await node.get("/api/quartier/v1/admin/domain_blocks", headers=bearer(ada))
    ).json()
    assert blocks == []
