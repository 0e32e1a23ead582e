"""The OAuth consent page (GET/POST /oauth/authorize): a member allows an app to act for them.

Logged-out members go through the web login first (``next=`` brings them back). An unknown
client or an unregistered redirect URI gets an error page and never a redirect (RFC 6749
§4.1.2.1): the redirect would otherwise go wherever the request says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from node.http.keys import OAUTH
from node.members.models import LoginSession
from node.oauth import scopes as scope_set
from node.oauth.models import OAuthApp
from node.oauth.service import OOB, redirect_uris_of
from node.web.common import Form, member_form, member_session, page
from node.web.setup import SECURITY_HEADERS, render

routes = web.RouteTableDef()
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
MAX_STATE = 1000


@dataclass(frozen=True)
class AuthorizationRequest:
    """A valid authorization request: what the consent page shows and the code will carry."""

    app: OAuthApp
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None

    def hidden(self) -> dict[str, str]:
        """The request as the consent form carries it back."""
        return {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": self.state or "",
            "code_challenge": self.code_challenge or "",
            "code_challenge_method": "S256" if self.code_challenge else "",
        }


class Refused(Exception):
    """A request the client made wrong: sent back to it as ``error=`` (its redirect URI is
    known to be its own)."""

    def __init__(self, redirect: web.HTTPFound) -> None:
        super().__init__("refused")
        self.redirect = redirect


def _redirect(uri: str, values: dict[str, str]) -> web.HTTPFound:
    separator = "&" if urlsplit(uri).query else "?"
    return web.HTTPFound(f"{uri}{separator}{urlencode(values)}")


def _back(uri: str, state: str | None, **values: str) -> web.HTTPFound:
    if state is not None:
        values["state"] = state
    return _redirect(uri, values)


async def _parse(
    request: web.Request, values: Mapping[str, Any]
) -> AuthorizationRequest | web.Response:
    """The authorization request in ``values``, or the error page to show."""
    text = {name: str(values.get(name, "")) for name in _FIELDS}
    app = await request.app[OAUTH].app_by_client_id(text["client_id"])
    if app is None:
        return _error(request, "invalid_client")
    redirect_uri = text["redirect_uri"]
    if redirect_uri not in redirect_uris_of(app):
        return _error(request, "invalid_redirect_uri")
    # Mastodon.py sends Python's None as the string "None": echoed as given.
    state = text["state"][:MAX_STATE] if "state" in values and text["state"] else None
    if text["response_type"] != "code":
        raise Refused(_back(redirect_uri, state, error="unsupported_response_type"))
    asked = scope_set.parse(text["scope"]) or ["read"]
    if scope_set.unknown(asked) or not scope_set.is_subset(asked, scope_set.parse(app.scopes)):
        raise Refused(_back(redirect_uri, state, error="invalid_scope"))
    challenge = text["code_challenge"] or None
    if challenge is not None and (
        text["code_challenge_method"] != "S256" or not _CHALLENGE.fullmatch(challenge)
    ):
        raise Refused(
            _back(
                redirect_uri,
                state,
                error="invalid_request",
                error_description="code_challenge_method must be S256",
            )
        )
    return AuthorizationRequest(app, redirect_uri, asked, state, challenge)


def _error(request: web.Request, kind: str) -> web.Response:
    return render(request, "oauth/error.html", {"kind": kind}, status=400)


def _form_action(redirect_uri: str) -> str:
    """The page's CSP with the app's redirect URI allowed as a form's destination: browsers
    apply ``form-action`` to the redirect that follows the consent form."""
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    if redirect_uri == OOB:
        return csp
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https"):
        source = f"{parts.scheme}://{parts.netloc}"
    else:
        source = f"{parts.scheme}:"
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*:(//[A-Za-z0-9.\-:\[\]]+)?", source):
        return csp
    return csp.replace("form-action 'self'", f"form-action 'self' {source}")


async def _consent(
    request: web.Request,
    asked: AuthorizationRequest,
    session: LoginSession | None,
    status: int = 200,
) -> web.Response:
    context = {
        "app": asked.app,
        "scopes": asked.scopes,
        "hidden": asked.hidden(),
    }
    response = await page(request, "oauth/authorize.html", context, session=session, status=status)
    response.headers["Content-Security-Policy"] = _form_action(asked.redirect_uri)
    return response


@routes.get("/oauth/authorize", name="web.oauth_authorize")
async def authorize(request: web.Request) -> web.Response:
    """The consent page naming the app, its website and the scopes it asks for."""
    try:
        asked = await _parse(request, request.query)
    except Refused as exc:
        raise exc.redirect from None
    if isinstance(asked, web.Response):
        return asked
    session = await member_session(request)
    return await _consent(request, asked, session)


@routes.post("/oauth/authorize", name="web.oauth_authorize_post")
async def decide(request: web.Request) -> web.Response:
    """Approve (a code, sent to the app) or deny (``error=access_denied``)."""
    form = await request.post()
    try:
        asked = await _parse(request, form)
    except Refused as exc:
        raise exc.redirect from None
    if isinstance(asked, web.Response):
        return asked
    parsed = asked

    async def again(_: Form) -> tuple[str, dict[str, Any]]:
        context = {"app": parsed.app, "scopes": parsed.scopes, "hidden": parsed.hidden()}
        return "oauth/authorize.html", context

    posted = await member_form(request, again, form)
    if isinstance(posted, web.Response):
        return posted
    _, session = posted
    if "approve" not in form:
        if parsed.redirect_uri == OOB:
            return render(request, "oauth/error.html", {"kind": "access_denied"}, status=200)
        raise _back(parsed.redirect_uri, parsed.state, error="access_denied")
    code = await request.app[OAUTH].issue_code(
        parsed.app,
        session.member,
        parsed.redirect_uri,
        " ".join(parsed.scopes),
        parsed.code_challenge,
    )
    if parsed.redirect_uri == OOB:
        # Shown, not redirected to: the member copies it into the app.
        return await page(
            request, "oauth/code.html", {"app": parsed.app, "code": code}, session=session
        )
    raise _back(parsed.redirect_uri, parsed.state, code=code)
