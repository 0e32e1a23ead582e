"""Registration, login sessions and the member's own profile.

POST   /api/quartier/v1/accounts     register with an invite
POST   /api/quartier/v1/sessions     log in: bearer token + browser cookie
GET    /api/quartier/v1/sessions     my live sessions
DELETE /api/quartier/v1/sessions/current      log out
DELETE /api/quartier/v1/sessions/{id}         revoke one of my sessions
GET    /api/quartier/v1/me           my profile
PATCH  /api/quartier/v1/me           update my profile
POST   /api/quartier/v1/me/password  change my password
GET    /api/quartier/v1/members/{username}    a neighbour's profile (members only)
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field, ValidationInfo, field_validator

from node.errors import InvalidCredentials, InviteUnusable, WrongPassword
from node.http.auth import (
    authenticate,
    clear_session_cookie,
    require_scope,
    set_session_cookie,
)
from node.http.keys import ACTOR_DOCUMENTS, LOGIN_LIMITER, MEMBERS, SETTINGS, VERIFICATION
from node.http.parsing import Body, printable, read_json
from node.http.remote import client_address
from node.members.models import LoginSession, Member
from node.members.render import member_to_api, session_to_api
from node.members.service import MAX_PASSWORD_LENGTH, canonical_username

routes = web.RouteTableDef()

Name = Field(min_length=1, max_length=100)


class Registration(Body):
    invite: str = Field(min_length=1, max_length=100)
    username: str = Field(min_length=1, max_length=30)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    real_name: str = Name
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    unit: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=254)


class Login(Body):
    username: str = Field(min_length=1, max_length=30)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    label: str = Field(default="", max_length=200)


class ProfileUpdate(Body):
    """A field left out stays as it is; ``None`` here means left out, never sent as null."""

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    real_name: str | None = Field(default=None, min_length=1, max_length=100)
    bio: str | None = Field(default=None, max_length=5000)
    unit: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    # a page language (node.languages.PAGE_LANGUAGES), or "" to follow the browser
    language: str | None = Field(default=None, max_length=8)

    @field_validator("display_name", "real_name", "bio", "unit", "email", "language", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        # Only called for fields present in the body: a null would otherwise pass as "left
        # out" and the client would believe it had cleared something (docs/api.md).
        if value is None:
            clearable = info.field_name in ("bio", "unit", "email", "language")
            hint = ' (send "" to clear it)' if clearable else ""
            raise ValueError(f"must be a string, not null{hint}")
        return value


class PasswordChange(Body):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


@routes.post("/api/quartier/v1/accounts")
async def register(request: web.Request) -> web.Response:
    """Create an account with an invite code; 201 with the new member."""
    body = await read_json(request, Registration)
    member = await register_member(
        request,
        body.invite,
        username=body.username,
        password=body.password,
        real_name=body.real_name,
        display_name=body.display_name,
        unit=body.unit,
        email=body.email,
    )
    uris = request.app[SETTINGS].uris
    return web.json_response(member_to_api(member, uris, private=True), status=201)


async def register_member(
    request: web.Request,
    invite: str,
    *,
    username: str,
    password: str,
    real_name: str,
    display_name: str | None,
    unit: str = "",
    email: str = "",
) -> Member:
    """Register with an invite: the one registration the JSON API and the web pages use, with
    the same rate limit and the invite's vouch. Raises the member service's errors."""
    # Failed invite codes count against the address like failed logins: it stops guessing
    # codes, while a whole building registering from one shared connection is not throttled.
    limiter = request.app[LOGIN_LIMITER]
    ip_key = f"register-ip:{client_address(request)}"
    limiter.hit(ip_key)
    try:
        member = await request.app[MEMBERS].register(
            invite,
            username=username,
            password=password,
            real_name=real_name,
            display_name=display_name,
            unit=unit,
            email=email,
        )
    except InviteUnusable:
        raise
    except Exception:
        limiter.forgive(ip_key)
        raise
    limiter.forgive(ip_key)
    if await request.app[VERIFICATION].vouch_from_invite(member) is not None:
        await member.refresh_from_db()
    return member


async def log_in(
    request: web.Request, username: str, password: str, label: str
) -> tuple[Member, LoginSession, str]:
    """Check a username and password and open a session: the one login both the JSON API and
    the web pages use, so the rate limits and checks cannot drift apart.

    Raises ``TooManyRequests`` past the limits (per username and per address) and
    ``InvalidCredentials`` for a wrong pair. Returns the member, the session and its secret.
    """
    limiter = request.app[LOGIN_LIMITER]
    user_key = f"login-user:{canonical_username(username)}"
    ip_key = f"login-ip:{client_address(request)}"
    limiter.hit(user_key, ip_key)
    members = request.app[MEMBERS]
    try:
        member = await members.authenticate(username, password)
    except InvalidCredentials:
        raise
    except Exception:
        limiter.forgive(user_key, ip_key)
        raise
    limiter.reset(user_key)
    limiter.forgive(ip_key)
    session, secret = await members.open_session(
        member, printable(label or request.headers.get("User-Agent", ""))[:200]
    )
    return member, session, secret.secret


@routes.post("/api/quartier/v1/sessions")
async def login(request: web.Request) -> web.Response:
    """Log in; 201 with a bearer token, and a session cookie for the web pages."""
    body = await read_json(request, Login)
    member, session, token = await log_in(request, body.username, body.password, body.label)
    uris = request.app[SETTINGS].uris
    session_json = session_to_api(session, current=True)
    response = web.json_response(
        {
            "token": token,
            "token_type": "Bearer",
            "expires_at": session_json["expires_at"],
            "session": session_json,
            "member": member_to_api(member, uris, private=True),
        },
        status=201,
    )
    set_session_cookie(response, request, token)
    return response


@routes.get("/api/quartier/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """The caller's live sessions."""
    caller = await authenticate(request)
    sessions = await request.app[MEMBERS].list_sessions(caller.member)
    return web.json_response(
        [session_to_api(s, current=s.id == caller.session.id) for s in sessions]
    )


@routes.delete("/api/quartier/v1/sessions/current")
async def logout(request: web.Request) -> web.Response:
    """End the session used for this request."""
    caller = await authenticate(request)
    await request.app[MEMBERS].revoke_session(caller.member, caller.session.id)
    response = web.Response(status=204)
    clear_session_cookie(response)
    return response


@routes.delete(r"/api/quartier/v1/sessions/{session_id:\d{1,9}}")
async def revoke_session(request: web.Request) -> web.Response:
    """Revoke one of the caller's sessions (a lost phone, an old browser)."""
    caller = await authenticate(request)
    await request.app[MEMBERS].revoke_session(caller.member, int(request.match_info["session_id"]))
    return web.Response(status=204)


@routes.get("/api/quartier/v1/me")
async def me(request: web.Request) -> web.Response:
    """The caller's own profile, real name included."""
    caller = await require_scope(request, "read:accounts")
    return web.json_response(member_to_api(caller.member, request.app[SETTINGS].uris, private=True))


@routes.patch("/api/quartier/v1/me")
async def update_me(request: web.Request) -> web.Response:
    """Update display name, real name, bio, unit, e-mail address or page language."""
    caller = await authenticate(request)
    body = await read_json(request, ProfileUpdate)
    member = await update_member_profile(request, caller.member, body)
    return web.json_response(member_to_api(member, request.app[SETTINGS].uris, private=True))


async def update_member_profile(
    request: web.Request, member: Member, update: ProfileUpdate
) -> Member:
    """Apply ``update`` to ``member``'s profile: the one update the JSON API and the web
    pages use. Raises the member service's ``ValidationFailed`` naming the field."""
    member = await request.app[MEMBERS].update_profile(
        member,
        display_name=update.display_name,
        real_name=update.real_name,
        bio=update.bio,
        unit=update.unit,
        email=update.email,
        language=update.language,
    )
    # Their actor document shows the display name and bio: the cached copy is stale now.
    request.app[ACTOR_DOCUMENTS].invalidate(member.username)
    return member


@routes.post("/api/quartier/v1/me/password")
async def change_password(request: web.Request) -> web.Response:
    """Change the password; every other session of the member ends."""
    caller = await authenticate(request)
    body = await read_json(request, PasswordChange)
    await change_member_password(
        request, caller.member, caller.session.id, body.current_password, body.new_password
    )
    return web.Response(status=204)


async def change_member_password(
    request: web.Request, member: Member, session_id: int, current: str, new: str
) -> None:
    """Change ``member``'s password, ending their sessions but ``session_id``: the one
    password change the JSON API and the web pages use, with the same rate limit."""
    # A stolen session must not become a way to guess the password at argon2 speed.
    limiter = request.app[LOGIN_LIMITER]
    key = f"password-member:{member.id}"
    limiter.hit(key)
    try:
        await request.app[MEMBERS].change_password(member, current, new, keep_session_id=session_id)
    except WrongPassword:
        raise
    except Exception:
        limiter.forgive(key)
        raise
    limiter.forgive(key)


@routes.get(r"/api/quartier/v1/members/{username}")
async def show_member(request: web.Request) -> web.Response:
    """A neighbour's public profile; staff also see the real name."""
    caller = await authenticate(request)
    member = await request.app[MEMBERS].get(request.match_info["username"])
    private = caller.member.id == member.id or caller.member.role.is_staff
    return web.json_response(member_to_api(member, request.app[SETTINGS].uris, private=private))
