"""The pages: the front page or a member's home, the about page, logging in and out, and the
static files. Handlers call the same services as the JSON API (app[MEMBERS], app[GOVERNANCE],
app[NOTICES]); they never reimplement them.

GET  /                 visitors: the community's front page; members: their home
GET  /about            what the community is and what it lets leave the node
GET  /login            the login form
POST /login            log in (the API's checks and rate limits); 303 to / on success
POST /logout           end this session; 303 to /
GET  /register         the registration form (?invite=CODE prefills the code)
POST /register         register with an invite (the API's registration); 303 to / logged in
GET  /settings/password   the password change form (members; visitors go to /login)
POST /settings/password   change the password (the API's change); other sessions end
GET  /static/{name}    our stylesheets and the vendored CSS base, cached for a year
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation.governance import SharedKind
from node.errors import (
    Conflict,
    InvalidCredentials,
    InviteUnusable,
    TooManyRequests,
    ValidationFailed,
)
from node.http.accounts import change_member_password, log_in, register_member
from node.http.auth import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from node.http.keys import DIRECTORY, GOVERNANCE, MEMBERS, NOTICES
from node.http.listings import listings_public
from node.http.parsing import printable
from node.members.service import MAX_NAME_LENGTH, MAX_PASSWORD_LENGTH
from node.web.common import MAX_USERNAME, current_session, member_session, page
from node.web.listings import home_listings
from node.web.security import (
    form_is_genuine,
    same_origin,
)
from node.web.setup import STATIC_CACHE, STATIC_FILES, error_page, render, retry_later

routes = web.RouteTableDef()


@routes.get("/", name="web.home")
async def home(request: web.Request) -> web.Response:
    """Visitors: the community's front page (with a link to the public listings when the
    community lets listings reach the public). Members: their home, with the notices, the
    newest listings here and at partners, and the answers and agreements waiting on them."""
    session = await current_session(request)
    if session is None:
        # the public listings, when the community's policy lets visitors see them
        front = {"public_listings": await listings_public(request.app)}
        return await page(request, "front.html", front)
    notices = await request.app[NOTICES].current(session.member)
    context = {"notices": notices, **await home_listings(request, session.member)}
    return await page(request, "home.html", context, session=session)


@routes.get("/about", name="web.about")
async def about(request: web.Request) -> web.Response:
    """What this community is and what it lets leave the node, in plain words."""
    policy = await request.app[GOVERNANCE].current()
    sharing = [(kind.value, policy.reach(kind).value) for kind in SharedKind]
    partners = await request.app[DIRECTORY].partners()
    context = {"policy": policy, "sharing": sharing, "partners": partners}
    return await page(request, "about.html", context)


@routes.get("/login", name="web.login")
async def login_form(request: web.Request) -> web.Response:
    """The login form (a member already logged in goes home)."""
    following = local_path(request.query.get("next", ""))
    if await current_session(request) is not None:
        raise web.HTTPSeeOther(following)
    context = {"username": "", "error": None, "next": following}
    return await page(request, "login.html", context)


@routes.post("/login", name="web.login_post")
async def login(request: web.Request) -> web.Response:
    """Log in with the API's own checks and limits. A wrong pair re-shows the form with 401
    and the username kept; past the limit, 429; a forged form, 403."""
    form = await request.post()
    if not form_is_genuine(request, form, None):
        return error_page(request, 403)
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    following = local_path(str(form.get("next", "")))

    def again(error: str, status: int) -> web.Response:
        context: dict[str, Any] = {"username": username[:MAX_USERNAME], "error": error}
        context["csrf_token"] = form["csrf_token"]
        context["next"] = following
        return render(request, "login.html", context, status=status)

    if not (0 < len(username) <= MAX_USERNAME and 0 < len(password) <= MAX_PASSWORD_LENGTH):
        return again("missing", 422)
    try:
        _, _, token = await log_in(request, username, password, "")
    except InvalidCredentials:
        return again("invalid", 401)
    except TooManyRequests as exc:
        return retry_later(again("too_many", 429), exc)
    response = _see_home(following)
    set_session_cookie(response, request, token)
    return response


@routes.post("/logout", name="web.logout")
async def logout(request: web.Request) -> web.Response:
    """End this browser's session and clear its cookie."""
    form = await request.post()
    session = await current_session(request)
    if session is None:
        # Already ended (expired, revoked elsewhere): nothing to protect but the cookie's
        # removal, so no token is asked for; a foreign origin is still turned away.
        if not same_origin(request):
            return error_page(request, 403)
    else:
        if not form_is_genuine(request, form, request.cookies[SESSION_COOKIE]):
            return error_page(request, 403)
        await request.app[MEMBERS].revoke_session(session.member, session.id)
    response = _see_home()
    clear_session_cookie(response)
    return response


REGISTER_FIELDS = ("invite", "username", "real_name", "display_name")


def _field_of(exc: ValidationFailed, default: str) -> str:
    """The form field a service's validation error is about."""
    details = exc.details
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return str(details[0].get("field", default))
    return default


@routes.get("/register", name="web.register")
async def register_form(request: web.Request) -> web.Response:
    """The registration form, the invite code prefilled from an invite link."""
    if await current_session(request) is not None:
        raise web.HTTPSeeOther("/")
    values = dict.fromkeys(REGISTER_FIELDS, "")
    values["invite"] = request.query.get("invite", "")[:MAX_NAME_LENGTH]
    return await page(request, "register.html", {"values": values, "errors": {}})


@routes.post("/register", name="web.register_post")
async def register(request: web.Request) -> web.Response:
    """Register with the API's own registration and limits, then log the new member in. An
    error re-shows the form with the message next to its field and what was typed (never the
    password): 410 for an unusable invite, 409 for a taken username, 422 for an invalid field,
    429 past the limit; a forged form, 403."""
    form = await request.post()
    if not form_is_genuine(request, form, None):
        return error_page(request, 403)
    values = {name: str(form.get(name, "")).strip()[:MAX_NAME_LENGTH] for name in REGISTER_FIELDS}
    password = str(form.get("password", ""))

    def again(field: str, error: str, status: int) -> web.Response:
        context: dict[str, Any] = {"values": values, "errors": {field: error}}
        context["csrf_token"] = form["csrf_token"]
        return render(request, "register.html", context, status=status)

    for name in ("invite", "username", "real_name"):
        if not values[name]:
            return again(name, "missing", 422)
    if not password:
        return again("password", "missing", 422)
    if len(password) > MAX_PASSWORD_LENGTH:
        return again("password", "invalid", 422)
    try:
        member = await register_member(
            request,
            values["invite"],
            username=values["username"],
            password=password,
            real_name=values["real_name"],
            display_name=values["display_name"] or None,
        )
    except InviteUnusable:
        return again("invite", "unusable", 410)
    except Conflict:
        return again("username", "taken", 409)
    except ValidationFailed as exc:
        return again(_field_of(exc, "username"), "invalid", 422)
    except TooManyRequests as exc:
        return retry_later(again("invite", "too_many", 429), exc)
    label = printable(request.headers.get("User-Agent", ""))[:200]
    _, secret = await request.app[MEMBERS].open_session(member, label)
    response = _see_home()
    set_session_cookie(response, request, secret.secret)
    return response


@routes.get("/settings/password", name="web.password")
async def password_form(request: web.Request) -> web.Response:
    """The password change form; a visitor is sent to log in."""
    session = await member_session(request)
    context = {"errors": {}, "done": False}
    return await page(request, "password.html", context, session=session)


@routes.post("/settings/password", name="web.password_post")
async def change_password(request: web.Request) -> web.Response:
    """Change the password with the API's own change and limit: the member's other sessions
    end, this one stays. A wrong current password, a confirmation that differs or a too short
    new password re-shows the form with 422; past the limit, 429; a forged form, 403."""
    form = await request.post()
    session = await current_session(request)
    if session is None:
        if not same_origin(request):
            return error_page(request, 403)
        raise web.HTTPSeeOther("/login")
    if not form_is_genuine(request, form, request.cookies[SESSION_COOKIE]):
        return error_page(request, 403)
    current = str(form.get("current_password", ""))
    new = str(form.get("new_password", ""))
    confirmation = str(form.get("confirmation", ""))

    async def again(field: str, error: str, status: int) -> web.Response:
        context = {"errors": {field: error}, "done": False}
        return await page(request, "password.html", context, session=session, status=status)

    if not current or len(current) > MAX_PASSWORD_LENGTH:
        return await again("current_password", "wrong", 422)
    if new != confirmation:
        return await again("confirmation", "mismatch", 422)
    if len(new) > MAX_PASSWORD_LENGTH:
        return await again("new_password", "invalid", 422)
    try:
        await change_member_password(request, session.member, session.id, current, new)
    except ValidationFailed as exc:
        field = _field_of(exc, "new_password")
        return await again(field, "wrong" if field == "current_password" else "invalid", 422)
    except TooManyRequests as exc:
        return retry_later(await again("current_password", "too_many", 429), exc)
    return await page(request, "password.html", {"errors": {}, "done": True}, session=session)


def _see_home(path: str = "/") -> web.Response:
    # 303: the browser follows with a GET, so a reload does not post the form again.
    return web.Response(status=303, headers={"Location": path})


def local_path(candidate: str) -> str:
    """``candidate`` if it is a path on this node, else ``/``: a login link's ``next`` must
    never send the member to another site (an open redirect)."""
    local = candidate.startswith("/") and not candidate.startswith(("//", "/\\"))
    if local and all(32 < ord(char) < 127 for char in candidate):
        return candidate
    return "/"


@routes.get("/static/{name:.+}", name="web.static")
async def static(request: web.Request) -> web.Response:
    """A static file from the set read at start-up: nothing else on disk is reachable."""
    found = request.app[STATIC_FILES].get(request.match_info["name"])
    if found is None:
        return error_page(request, 404)
    headers = {
        "Cache-Control": STATIC_CACHE,
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{found.version}"',
        "Vary": "Accept-Encoding",
    }
    body = found.body
    if found.gzipped is not None and _accepts_gzip(request):
        body = found.gzipped
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, content_type=found.content_type, headers=headers)


def _accepts_gzip(request: web.Request) -> bool:
    # Pages themselves are not compressed: a page holds a CSRF token next to text a visitor
    # may choose (a search), what BREACH needs; our static files hold no secret.
    for part in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        weight = params.replace(" ", "").removeprefix("q=")
        try:
            return not params or float(weight) > 0
        except ValueError:
            return False
    return False
