"""Helpers for the staff pages' tests: members of each role logged in by the form, a staff
form posted as a browser would, and the checks every staff page must pass."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from node.db import activated
from node.http.keys import DATABASE, MEMBERS
from node.members.models import Role
from tests.api import PASSWORD, admin_token, bearer, member_token
from tests.web.support import ORIGIN, csrf_of, log_in_by_form

FRENCH = {"Accept-Language": "fr"}
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def staff_member(node: TestClient, username: str, role: Role) -> str:
    """A member with ``role`` (ada, an admin, is made first if needed); returns their bearer
    token. The browser is not logged in."""
    members = node.app[MEMBERS]
    with activated(node.app[DATABASE]):
        has_admin = await members.has_admin()
    admin = await admin_token(node, "ada") if not has_admin else None
    if username == "ada":
        assert admin is not None
        return admin
    if admin is None:
        from tests.api import login

        admin = await login(node, "ada")
    token = await member_token(node, admin, username)
    if role is not Role.RESIDENT:
        resp = await node.patch(
            f"/api/quartier/v1/admin/members/{username}",
            json={"role": role.value},
            headers=bearer(admin),
        )
        assert resp.status == 200, await resp.text()
    return token


async def browse_as(node: TestClient, username: str) -> None:
    """The browser logs in as ``username`` through the login form."""
    node.session.cookie_jar.clear()
    await log_in_by_form(node, username, PASSWORD)


async def post_form(
    node: TestClient,
    page_path: str,
    action: str,
    data: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> ClientResponse:
    """Open ``page_path``, then post ``data`` with its token to ``action`` from our origin."""
    resp = await node.get(page_path)
    assert resp.status == 200, await resp.text()
    token = csrf_of(await resp.text())
    return await node.post(
        action,
        data={"csrf_token": token, **data},
        headers={**ORIGIN, **(headers or {})},
        allow_redirects=False,
    )


async def assert_forbidden_page(resp: ClientResponse, french: bool = False) -> None:
    """The 403 page: HTML, in the visitor's language, no trace."""
    text = await resp.text()
    assert resp.status == 403, text
    assert resp.content_type == "text/html"
    assert "Traceback" not in text
    assert ("Action refusée" if french else "Not allowed") in text, text
