"""Cross-site request forgery tokens and origin checks for the web pages' forms.

A logged-in member's token is an HMAC of their session token under the node's web key: it
needs no storage, changes with each session and is useless to anyone without the session.
An anonymous form (login) uses a double-submit cookie: a random value in an ``HttpOnly``,
``SameSite=Strict`` cookie that the form must echo in its hidden field. Every state-changing
form also has to come from our own ``Origin``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

from aiohttp import web

from node.http.keys import SETTINGS

CSRF_COOKIE = "quartier_csrf"
CSRF_FIELD = "csrf_token"
WEB_KEY = web.AppKey("web_key", bytes)
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{40,64}")  # secrets.token_urlsafe(32) is 43


def session_csrf_token(app: web.Application, session_token: str) -> str:
    """The form token of a logged-in session."""
    digest = hmac.new(app[WEB_KEY], b"csrf:" + session_token.encode(), hashlib.sha256)
    return digest.hexdigest()


def anonymous_csrf_token(request: web.Request) -> tuple[str, bool]:
    """The double-submit token of an anonymous visitor, and whether it is new (to be set as a
    cookie on the response)."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    # Only a value we could have made is kept: the page echoes it into its form.
    if _TOKEN_SHAPE.fullmatch(existing):
        return existing, False
    return secrets.token_urlsafe(32), True


def set_csrf_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    """Give the visitor their double-submit cookie. ``Strict``: no other site's page can make
    the browser send it; ``HttpOnly``: no script needs to read it."""
    response.set_cookie(
        CSRF_COOKIE,
        token,
        path="/",
        httponly=True,
        secure=request.app[SETTINGS].server.base_url.startswith("https://"),
        samesite="Strict",
    )


def same_origin(request: web.Request) -> bool:
    """Whether a state-changing request comes from a page of ours. A browser sends ``Origin``
    on every form POST; a missing one is refused like a foreign one."""
    return request.headers.get("Origin") == request.app[SETTINGS].server.base_url


def form_is_genuine(
    request: web.Request, form: Mapping[str, object], session_token: str | None
) -> bool:
    """Whether a posted form comes from our own page: our origin, and the token that page
    carried (for ``session_token``'s session, or the visitor's double-submit cookie)."""
    if not same_origin(request):
        return False
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not sent:
        return False
    if session_token is not None:
        expected = session_csrf_token(request.app, session_token)
    else:
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected:
            return False
    return hmac.compare_digest(sent.encode(), expected.encode())
