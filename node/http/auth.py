"""Who is making the request: bearer tokens for API clients, a cookie for the web pages."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from node.errors import Forbidden, Unauthorized
from node.http.keys import MEMBERS, SETTINGS
from node.members.models import LoginSession, Member, Role
from node.oauth import scopes as scope_set

SESSION_COOKIE = "quartier_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """An authenticated member and the session they used."""

    member: Member
    session: LoginSession
    via_cookie: bool

    def may(self, scope: str) -> bool:
        """Whether the caller's token covers ``scope``: a login of our own (no app) covers
        everything; an OAuth token what the member granted the app."""
        if self.session.scopes is None:
            return True
        return scope_set.permits(self.session.scopes, scope)


async def authenticate(request: web.Request) -> Caller:
    """The caller of ``request``, or 401.

    A cookie session on a state-changing request must come from our own origin: with
    ``SameSite=Lax`` this closes cross-site request forgery without a separate token.
    """
    token, via_cookie = _credentials(request)
    if token is None:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>'")
    # Before the session lookup, so a forged request does not even refresh the session.
    if via_cookie and request.method not in _SAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin != request.app[SETTINGS].server.base_url:
            raise Forbidden("cross-origin request refused")
    session = await request.app[MEMBERS].session_for_token(token)
    if session is None:
        raise Unauthorized("the token is invalid, expired or revoked")
    caller = Caller(member=session.member, session=session, via_cookie=via_cookie)
    own_api = request.path.startswith(_OWN_API) and request.path not in _OWN_SCOPED
    if session.scopes is not None and own_api:
        _check_own_api(request, caller)
    return caller


_OWN_API = "/api/quartier/"
# Endpoints of our own API that check a granular scope themselves.
_OWN_SCOPED = frozenset({"/api/quartier/v1/me"})
_STAFF_PATHS = ("/api/quartier/v1/admin/", "/api/quartier/v1/moderation/")


def _check_own_api(request: web.Request, caller: Caller) -> None:
    """An app's token on Quartier's own API: reading needs ``read``, anything else ``write``,
    and staff endpoints are closed to apps whatever the member's role (no app gets staff
    powers, as admin scopes are refused)."""
    if request.path.startswith(_STAFF_PATHS):
        raise Forbidden("apps cannot use the staff endpoints: log in on the node itself")
    needed = "read" if request.method in _SAFE_METHODS else "write"
    if not caller.may(needed):
        raise Forbidden("This action is outside the authorized scopes")


async def require_scope(request: web.Request, scope: str) -> Caller:
    """The caller, whose token must cover ``scope`` (e.g. ``read:accounts``; ``read`` covers
    every ``read:*``, ``follow`` the follows, blocks and mutes): 403 otherwise."""
    caller = await authenticate(request)
    if not caller.may(scope):
        raise Forbidden("This action is outside the authorized scopes")
    return caller


def has_credentials(request: web.Request) -> bool:
    """Whether ``request`` carries a token (header or cookie), valid or not: such a caller
    is authenticated (or refused), never served as anonymous."""
    return _credentials(request)[0] is not None


async def require_role(request: web.Request, *roles: Role) -> Caller:
    """The caller, who must hold one of ``roles`` (admins hold every role)."""
    caller = await authenticate(request)
    if caller.member.role != Role.ADMIN and caller.member.role not in roles:
        raise Forbidden("your role does not allow this")
    return caller


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    """Set the browser session cookie (``Secure`` whenever the node is served over https)."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.accounts.session_ttl_days * 86_400,
        path="/",
        httponly=True,
        secure=settings.server.base_url.startswith("https://"),
        samesite="Lax",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    """Remove the browser session cookie."""
    response.del_cookie(SESSION_COOKIE, path="/")


def _credentials(request: web.Request) -> tuple[str | None, bool]:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        return token.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)
