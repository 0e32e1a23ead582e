"""Steps the account pages' tests share: two neighbours, one logged in through the form, and
posting a page's form as a browser does."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.api import PASSWORD, admin_token, bearer, login, member_token
from tests.web.support import ORIGIN, csrf_of, log_in_by_form, page_token

FRENCH = {"Accept-Language": "fr"}
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def neighbours(node: TestClient) -> dict[str, str]:
    """ada (admin) and bob (resident) exist; bob is logged in by the form in the browser.
    Returns their bearer tokens (other sessions, for checking through the API)."""
    ada = await admin_token(node, "ada")
    bob = await member_token(node, ada, "bob")
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "bob", PASSWORD)
    return {"ada": ada, "bob": bob}


async def post_page_form(
    node: TestClient,
    page: str,
    action: str,
    fields: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> ClientResponse:
    """Open ``page``, then post ``fields`` to ``action`` with its CSRF token, as the browser
    would (without following a redirect)."""
    token = await page_token(node, page)
    return await node.post(
        action,
        data={"csrf_token": token, **fields},
        headers={**ORIGIN, **(headers or {})},
        allow_redirects=False,
    )


async def end_browser_session(node: TestClient, username: str) -> str:
    """End the browser's session from another device (as a lost phone's is): the browser
    keeps its cookie, which no longer works. Every other session ends too; returns the bearer
    token of the device that ended them."""
    jar = node.session.cookie_jar
    browser = jar.filter_cookies(node.make_url("/"))["quartier_session"].value
    other = await login(node, username)  # the API's login sets its own cookie: put it back
    jar.update_cookies({"quartier_session": browser}, node.make_url("/"))
    resp = await node.get("/api/quartier/v1/sessions", headers=bearer(other))
    for session in await resp.json():
        if not session["current"]:
            gone = await node.delete(
                f"/api/quartier/v1/sessions/{session['id']}", headers=bearer(other)
            )
            assert gone.status == 204
    return other


async def relogin_token(resp: ClientResponse) -> str:
    """The (anonymous) token of a form shown again with its login box."""
    return csrf_of(await resp.text())


def assert_escaped(page: str) -> None:
    """A script typed into a field appears as text, never as markup."""
    assert "<script>" not in page
    assert ESCAPED in page
