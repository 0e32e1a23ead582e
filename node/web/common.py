"""What every page handler shares: the browser's session, rendering with a CSRF token, pages
only members (or only staff) may open, and member forms that survive an expired session.

A member's form posted after their session ended (expired, or revoked from another device)
must not lose what they typed: ``member_form`` shows the same form again, filled in, with a
login box inside it (status 401). Sending it logs them in and carries out the form in one step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy

from node.errors import InvalidCredentials, TooManyRequests
from node.http.accounts import log_in
from node.http.auth import SESSION_COOKIE
from node.http.keys import MEMBERS
from node.members.models import LoginSession, Role
from node.members.service import MAX_PASSWORD_LENGTH
from node.web.i18n import MEMBER_LANGUAGE
from node.web.security import (
    anonymous_csrf_token,
    form_is_genuine,
    session_csrf_token,
    set_csrf_cookie,
)
from node.web.setup import NEW_SESSION, error_page, render, retry_later

Form = MultiDictProxy[Any]
# How a handler shows its form again from what was posted: the template and its context.
FormAgain = Callable[[Form], Awaitable[tuple[str, dict[str, Any]]]]
RELOGIN_USERNAME = "relogin_username"
RELOGIN_PASSWORD = "relogin_password"  # noqa: S105 (a form field's name)
MAX_USERNAME = 30  # as the API's Login body


def session_token(request: web.Request) -> str | None:
    """The session secret this request acts with: one just opened by ``member_form`` (its
    cookie is only set on the response), else the browser's cookie."""
    fresh: str | None = request.get(NEW_SESSION)
    return fresh or request.cookies.get(SESSION_COOKIE)


async def current_session(request: web.Request) -> LoginSession | None:
    """The session of the browser's cookie, if it is live (a revoked or expired one is
    treated as no session: the visitor sees the public pages)."""
    token = session_token(request)
    if not token:
        return None
    session = await request.app[MEMBERS].session_for_token(token)
    if session is not None:
        # render() reads it to choose the page's language (the member's setting first).
        request[MEMBER_LANGUAGE] = session.member.language
    return session


async def page(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    *,
    session: LoginSession | None = None,
    status: int = 200,
) -> web.Response:
    """Render with the member (if logged in) and a CSRF token for the page's forms; a handler
    that already looked the ``session`` up passes it (one lookup per request)."""
    if session is None:
        session = await current_session(request)
    new_cookie: str | None = None
    token = session_token(request)
    if session is not None and token:
        csrf = session_csrf_token(request.app, token)
        member = session.member
    else:
        csrf, fresh = anonymous_csrf_token(request)
        new_cookie = csrf if fresh else None
        member = None
    full = {"member": member, "csrf_token": csrf, "session_expired": False, **context}
    response = render(request, template, full, status=status)
    if new_cookie is not None:
        set_csrf_cookie(response, request, new_cookie)
    return response


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    """Send a visitor to the login page, to come back to this page afterwards."""
    return web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")


async def member_session(request: web.Request) -> LoginSession:
    """The member opening a members' page; a visitor is sent to log in first (303)."""
    session = await current_session(request)
    if session is None:
        raise login_redirect(request)
    return session


async def staff_session(request: web.Request, *roles: Role) -> LoginSession:
    """The member opening a staff page, who must hold one of ``roles`` (admins hold every
    role). A resident gets the 403 page, never a trace; a visitor is sent to log in."""
    session = await member_session(request)
    role = session.member.role
    if role is not Role.ADMIN and role not in roles:
        raise web.HTTPForbidden()  # security_headers turns it into the 403 page
    return session


async def member_form(
    request: web.Request, again: FormAgain, form: Form | None = None
) -> tuple[Form, LoginSession] | web.Response:
    """The posted form and the member posting it, or the response to send instead.

    A forged form (another origin, a missing or wrong token) gets the 403 page. A form posted
    after the session ended comes back through ``again`` filled in, with a login box (401);
    posted again with the member's username and password, it logs them in (the API's checks
    and limits) and goes through. A handler that read the body itself (a form with files,
    streamed) passes it as ``form``.
    """
    if form is None:
        form = await request.post()
    session = await current_session(request)
    if session is not None:
        if not form_is_genuine(request, form, session_token(request)):
            return error_page(request, 403)
        return form, session
    if RELOGIN_USERNAME in form:
        # The form shown with a login box: an anonymous page, so the double-submit token.
        if not form_is_genuine(request, form, None):
            return error_page(request, 403)
        return await _relogin(request, form, again)
    cookie = request.cookies.get(SESSION_COOKIE)
    # The token of the page the member filled in is tied to their (now ended) session: it
    # still proves the form is ours. Without a session cookie there never was a member.
    if cookie is None or not form_is_genuine(request, form, cookie):
        return error_page(request, 403)
    return await _ask_login(request, form, again, error=None, status=401)


async def _relogin(
    request: web.Request, form: Form, again: FormAgain
) -> tuple[Form, LoginSession] | web.Response:
    username = str(form.get(RELOGIN_USERNAME, "")).strip()
    password = str(form.get(RELOGIN_PASSWORD, ""))
    if not (0 < len(username) <= MAX_USERNAME and 0 < len(password) <= MAX_PASSWORD_LENGTH):
        return await _ask_login(request, form, again, error="missing", status=401)
    try:
        member, session, token = await log_in(request, username, password, "")
    except InvalidCredentials:
        return await _ask_login(request, form, again, error="invalid", status=401)
    except TooManyRequests as exc:
        return retry_later(
            await _ask_login(request, form, again, error="too_many", status=429), exc
        )
    # security_headers sets the cookie on whatever the handler answers.
    request[NEW_SESSION] = token
    request[MEMBER_LANGUAGE] = member.language
    return form, session


async def _ask_login(
    request: web.Request, form: Form, again: FormAgain, *, error: str | None, status: int
) -> web.Response:
    template, context = await again(form)
    context = {
        **context,
        "session_expired": True,
        "relogin_error": error,
        "relogin_username": str(form.get(RELOGIN_USERNAME, ""))[:MAX_USERNAME],
    }
    # No live session: page() renders it as for a visitor, with an anonymous token.
    return await page(request, template, context, status=status)
