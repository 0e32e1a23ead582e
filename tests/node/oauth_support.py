"""Steps the OAuth tests repeat: register an app, go through the consent page, exchange."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aiohttp.test_utils import TestClient

from tests.web.support import ORIGIN, csrf_of

REDIRECT = "com.example.app:/oauth-callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 Appendix B
HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


async def register_app(
    client: TestClient, scopes: str = "read write follow", redirect: str = REDIRECT
) -> dict[str, Any]:
    """Register an app the way Mastodon.py does (a form); returns the CredentialApplication."""
    form = {
        "client_name": "Test App",
        "redirect_uris": redirect,
        "scopes": scopes,
        "website": "https://app.example",
    }
    resp = await client.post("/api/v1/apps", data=form)
    assert resp.status == 200, await resp.text()
    return await resp.json()


def authorize_url(app: dict[str, Any], **extra: str) -> str:
    """The /oauth/authorize URL an app sends the browser to."""
    query = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uris"][0],
        "scope": "read write",
        **extra,
    }
    return "/oauth/authorize?" + urlencode(query)


async def consent_form(client: TestClient, url: str) -> dict[str, str]:
    """Open the consent page (logged in) and return its form's fields."""
    resp = await client.get(url)
    assert resp.status == 200, await resp.text()
    html = await resp.text()
    fields = dict(HIDDEN.findall(html))
    fields["csrf_token"] = csrf_of(html)
    return fields


async def approve(client: TestClient, url: str) -> dict[str, list[str]]:
    """Approve on the consent page; returns the redirect's query."""
    form = await consent_form(client, url)
    resp = await client.post(
        "/oauth/authorize", data={**form, "approve": "1"}, headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 302, await resp.text()
    return parse_qs(urlsplit(resp.headers["Location"]).query)


async def exchange(client: TestClient, app: dict[str, Any], code: str, **extra: str) -> Any:
    """POST /oauth/token with the code; returns the response."""
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app["redirect_uris"][0],
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        **extra,
    }
    return await client.post("/oauth/token", data=body)
