"""Helpers for the web pages' tests: a browser's Origin, and the CSRF token a page carries."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

# make_settings' base URL: what a browser on the node's own pages sends as Origin.
ORIGIN = {"Origin": "http://127.0.0.1:8080"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    """The CSRF token in a page's form."""
    found = _TOKEN.search(page)
    assert found is not None, page
    return found.group(1)


async def page_token(client: TestClient, path: str) -> str:
    """Open ``path`` as a browser would (keeping its cookies) and return its form's token."""
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return csrf_of(await resp.text())


async def log_in_by_form(client: TestClient, username: str, password: str) -> None:
    """Log in through the login form; asserts the redirect home."""
    token = await page_token(client, "/login")
    form = {"username": username, "password": password, "csrf_token": token}
    resp = await client.post("/login", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303, await resp.text()
