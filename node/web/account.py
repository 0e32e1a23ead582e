"""A member's own pages: messages, notifications, saved searches, profile and settings,
verification. Every handler calls the service (or the shared function in ``node/http``) the
JSON API calls for the same thing, and validates forms with the API's own body models.

GET  /messages                       my conversations, newest first, with unread counts
GET  /messages/new?to=USERNAME       start a conversation
POST /messages/new                   send its first message; 303 to the conversation
GET  /messages/{id}                  a conversation's messages (marked read) and a reply form
POST /messages/{id}                  reply; 303 back to the conversation
GET  /messages/{id}/report/{message}  the form to report another member's message
POST /messages/{id}/report/{message}  report it (the API's POST /api/quartier/v1/reports); 303 back
GET  /notifications                  my notifications, unread ones marked
POST /notifications/read             mark them all read
POST /notifications/{id}/read        mark one read
GET  /searches                       my saved searches and a form to save one
POST /searches                       save a search
POST /searches/{id}/delete           forget one
GET  /settings                       display name, bio, page language
POST /settings                       change them (the API's profile update)
GET  /settings/sessions              my live sessions, this one marked
POST /settings/sessions/{id}/revoke  end one
GET  /verification                   where I stand, my proofs of residence, my vouches
POST /verification/proof             send a proof of residence (multipart)
POST /verification/vouch             vouch for a neighbour (verified members)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from node.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NodeError,
    NotFound,
    TooManyRequests,
    ValidationFailed,
)
from node.http.accounts import ProfileUpdate, update_member_profile
from node.http.auth import clear_session_cookie
from node.http.conversations import NewConversation, NewMessage, send_message, start_conversation
from node.http.keys import (
    CONVERSATIONS,
    MEMBERS,
    NOTIFICATIONS,
    SAVED_SEARCHES,
    SETTINGS,
    VERIFICATION,
)
from node.http.parsing import validate
from node.http.saved_searches import NewSavedSearch
from node.http.verification import read_proof, vouch_for
from node.languages import PAGE_LANGUAGES
from node.listings.categories import CATEGORIES
from node.listings.models import Kind
from node.listings.query import PARAMETERS
from node.listings.saved import NOT_SAVED
from node.members.models import LoginSession, Member, Verification
from node.notifications.models import Notification, NotificationType
from node.web.common import (
    RELOGIN_PASSWORD,
    RELOGIN_USERNAME,
    Form,
    FormAgain,
    current_session,
    login_redirect,
    member_form,
    member_session,
    page,
    session_token,
)
from node.web.reports import file_report, report_form
from node.web.security import CSRF_FIELD, form_is_genuine, same_origin
from node.web.setup import error_page, retry_later

routes = web.RouteTableDef()

NOTIFICATIONS_SHOWN = 50
# Form fields that are never part of what the member typed (kept out of re-shown forms).
_NOT_TYPED = frozenset({CSRF_FIELD, RELOGIN_USERNAME, RELOGIN_PASSWORD})
# The listing search parameters a saved search form may carry (those of GET /listings, but
# those that make no sense in an alert).
SEARCH_FIELDS = tuple(sorted(PARAMETERS - NOT_SAVED))
MAX_SEARCH_NAME = 100


def _text(form: Form, name: str, limit: int) -> str:
    """A posted text field, cut to a length a page may show back."""
    return str(form.get(name, ""))[:limit]


def _field_of(exc: ValidationFailed, default: str) -> str:
    """The form field a validation error is about."""
    details = exc.details
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return str(details[0].get("field", default))
    return default


def _see(path: str) -> web.Response:
    # 303: the browser follows with a GET, so a reload does not post the form again.
    return web.Response(status=303, headers={"Location": path})


def _kept(form: Form) -> list[tuple[str, str]]:
    """What a simple action's form carried, to post it again after a new login."""
    return [(k, str(v)[:200]) for k, v in form.items() if k not in _NOT_TYPED]


def _again_action(request: web.Request, title: str) -> FormAgain:
    """A form's ``again`` for a one-button action: its own small page, with what it carried,
    posting to the same address."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        context = {"action_title": title, "action": request.path, "fields": _kept(form)}
        return "account/again.html", context

    return again


async def _one_button(
    request: web.Request, title: str, act: Callable[[Member], Awaitable[object]], back: str
) -> web.Response:
    """A one-button action: the member form's checks, ``act`` for the member, 303 to
    ``back``."""
    posted = await member_form(request, _again_action(request, title))
    if isinstance(posted, web.Response):
        return posted
    await act(posted[1].member)
    return _see(back)


async def _labels(request: web.Request, actors: list[str]) -> dict[str, str]:
    """How each actor is named on a page: our members by display name and username, others
    by their actor id (what the API shows too)."""
    uris = request.app[SETTINGS].uris
    local = {a: name for a in actors if (name := uris.username_from_actor(a))}
    members = await Member.filter(username__in=sorted(set(local.values()))) if local else []
    names = {m.username: f"{m.display_name} (@{m.username})" for m in members}
    return {a: names.get(local[a], f"@{local[a]}") if a in local else a for a in actors}


# Messages


@routes.get("/messages", name="web.messages")
async def messages(request: web.Request) -> web.Response:
    """My conversations, newest first, with what is unread."""
    session = await member_session(request)
    summaries = await request.app[CONVERSATIONS].summaries(session.member)
    me = request.app[SETTINGS].uris.actor(session.member.username)
    actors = sorted({a for s in summaries for a in s.participants})
    labels = await _labels(request, actors)
    context = {"summaries": summaries, "labels": labels, "me": me}
    return await page(request, "account/messages.html", context, session=session)


def _new_context(to: str, text: str, error: str | None) -> dict[str, Any]:
    return {"to": to, "text": text, "error": error}


@routes.get("/messages/new", name="web.message_new")
async def new_message_form(request: web.Request) -> web.Response:
    """Start a conversation; ``?to=USERNAME`` names the neighbour."""
    session = await member_session(request)
    context = _new_context(request.query.get("to", "")[:200], "", None)
    return await page(request, "account/message_new.html", context, session=session)


@routes.post("/messages/new", name="web.message_new_post")
async def new_message(request: web.Request) -> web.Response:
    """Send the first message of a conversation (the API's start and limits); 303 to it."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        return "account/message_new.html", _new_context(
            _text(form, "to", 200), _text(form, "text", 5000), None
        )

    posted = await member_form(request, again)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    to, text = str(form.get("to", "")).strip(), str(form.get("text", ""))

    async def shown(error: str, status: int) -> web.Response:
        context = _new_context(to[:200], text[:5000], error)
        return await page(
            request, "account/message_new.html", context, session=session, status=status
        )

    try:
        body = validate(NewConversation, {"to": [to] if to else [], "text": text})
        conversation = await start_conversation(request, session.member, body.to, body.text)
    except ValidationFailed as exc:
        field = _field_of(exc, "text")
        return await shown("to:invalid" if field.startswith("to") else "text:invalid", 422)
    except NotFound:
        return await shown("to:unknown", 404)
    except BadRequest as exc:  # not a username or handle, or only oneself
        return await shown("to:invalid", exc.status)
    except Forbidden as exc:  # a block between them, or a server the community refuses
        return await shown("to:refused", exc.status)
    except TooManyRequests as exc:
        return retry_later(await shown("text:too_many", 429), exc)
    return _see(f"/messages/{conversation.id}")


async def _conversation_page(
    request: web.Request,
    session: LoginSession,
    conversation_id: int,
    *,
    text: str = "",
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    service = request.app[CONVERSATIONS]
    shown = await service.messages(session.member, conversation_id)  # 404 if not mine
    # Opening the conversation reads it, as POST /api/quartier/v1/conversations/{id}/read says.
    await service.mark_read(session.member, conversation_id)
    labels = await _labels(request, sorted({m.author for m in shown}))
    context = {
        "conversation_id": conversation_id,
        "messages": shown,
        "labels": labels,
        "text": text,
        "error": error,
        "me": request.app[SETTINGS].uris.actor(session.member.username),
        "reported": "reported" in request.query,
    }
    return await page(request, "account/conversation.html", context, session=session, status=status)


@routes.get(r"/messages/{cid:\d{1,9}}", name="web.conversation")
async def conversation(request: web.Request) -> web.Response:
    """A conversation's messages, oldest first, and the reply form; opening it reads it."""
    session = await member_session(request)
    return await _conversation_page(request, session, int(request.match_info["cid"]))


@routes.post(r"/messages/{cid:\d{1,9}}", name="web.conversation_post")
async def reply(request: web.Request) -> web.Response:
    """Reply in a conversation (the API's reply and limits); 303 back to it. A reply sent
    after the session ended comes back, its text kept, with a login box."""
    conversation_id = int(request.match_info["cid"])

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        context: dict[str, Any] = {
            "conversation_id": conversation_id,
            "messages": None,  # not shown to whoever is not logged in
            "labels": {},
            "text": _text(form, "text", 5000),
            "error": None,
            "me": "",
            "reported": False,
        }
        return "account/conversation.html", context

    posted = await member_form(request, again)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    text = str(form.get("text", ""))

    async def shown(error: str, status: int) -> web.Response:
        return await _conversation_page(
            request, session, conversation_id, text=text[:5000], error=error, status=status
        )

    try:
        body = validate(NewMessage, {"text": text})
        await send_message(request, session.member, conversation_id, body.text)
    except ValidationFailed:
        return await shown("invalid", 422)
    except Forbidden:
        return await shown("refused", 403)
    except TooManyRequests as exc:
        return retry_later(await shown("too_many", 429), exc)
    return _see(f"/messages/{conversation_id}#reply")


# Reporting a message

MESSAGE_REPORT = r"/messages/{cid:\d{1,9}}/report/{mid:\d{1,18}}"


@routes.get(MESSAGE_REPORT, name="web.message_report")
async def report_message_form(request: web.Request) -> web.Response:
    """The form to report a message of this conversation to the moderators; a message not
    shown to the member here is a 404, their own the 403 page."""
    session = await member_session(request)
    conversation_id = int(request.match_info["cid"])
    message_id = int(request.match_info["mid"])
    shown = await request.app[CONVERSATIONS].messages(session.member, conversation_id)
    message = next((m for m in shown if m.id == message_id and not m.deleted_at), None)
    if message is None:
        raise NotFound("no such message")
    if message.author == request.app[SETTINGS].uris.actor(session.member.username):
        raise web.HTTPForbidden()
    back = f"/messages/{conversation_id}"
    return await report_form(request, session, what="message", action=request.path, back=back)


@routes.post(MESSAGE_REPORT, name="web.message_report_post")
async def report_message(request: web.Request) -> web.Response:
    """Report a message as ``POST /api/quartier/v1/reports`` does (the service checks the member may
    read it); 303 back to the conversation, which thanks the member."""
    conversation_id = int(request.match_info["cid"])
    message_id = int(request.match_info["mid"])
    back = f"/messages/{conversation_id}"
    return await file_report(
        request,
        what="message",
        target=message_id,
        action=request.path,
        back=back,
        done=f"{back}?reported#message-{message_id}",
    )


# Notifications


def notification_link(row: Notification) -> str | None:
    """Where a notification leads: the listing, notice or page it is about."""
    if row.listing_id is not None:  # type: ignore[attr-defined]
        return f"/listings/{row.listing_id}"  # type: ignore[attr-defined]
    if row.notice_id is not None:  # type: ignore[attr-defined]
        return "/"  # the notices in force are on the member's home page
    if row.type.value.startswith("verification."):
        return "/verification"
    return None


@routes.get("/notifications", name="web.notifications")
async def notifications(request: web.Request) -> web.Response:
    """My latest notifications, newest first, the unread ones marked."""
    session = await member_session(request)
    rows = await request.app[NOTIFICATIONS].page(session.member, limit=NOTIFICATIONS_SHOWN)
    labels = await _labels(request, sorted({r.actor for r in rows if r.actor}))
    context = {
        "notifications": [(row, notification_link(row)) for row in rows],
        "labels": labels,
        "types": NotificationType,
    }
    return await page(request, "account/notifications.html", context, session=session)


@routes.post("/notifications/read", name="web.notifications_read")
async def notifications_read(request: web.Request) -> web.Response:
    """Mark every notification read; 303 back to the list."""
    notifications = request.app[NOTIFICATIONS]
    return await _one_button(request, "mark_all_read", notifications.mark_read, "/notifications")


@routes.post(r"/notifications/{nid:\d{1,18}}/read", name="web.notification_read")
async def notification_read(request: web.Request) -> web.Response:
    """Mark one notification read (404 for anyone else's); 303 back to the list."""
    nid = int(request.match_info["nid"])

    async def act(member: Member) -> None:
        await request.app[NOTIFICATIONS].mark_read(member, nid)

    return await _one_button(request, "mark_read", act, "/notifications")


# Saved searches


def _search_values(form: Any) -> dict[str, str]:
    values = {"name": str(form.get("name", ""))[:MAX_SEARCH_NAME]}
    for name in SEARCH_FIELDS:
        values[name] = str(form.get(name, ""))[:500]
    return values


async def _searches_page(
    request: web.Request,
    session: LoginSession | None,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    rows = None if session is None else await request.app[SAVED_SEARCHES].of_member(session.member)
    context = _searches_context(rows, values, errors)
    return await page(request, "account/searches.html", context, session=session, status=status)


def _searches_context(
    rows: list[Any] | None, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "searches": None if rows is None else [(r, urlencode(r.query)) for r in rows],
        "values": values,
        "errors": errors,
        "kinds": [kind.value for kind in Kind],
        "categories": list(CATEGORIES),
        "category_names": CATEGORIES,
        # what the form shows as fields; any other search parameter travels hidden
        "shown_fields": ("q", "kind", "category", "verified"),
    }


@routes.get("/searches", name="web.searches")
async def searches(request: web.Request) -> web.Response:
    """My saved searches, and a form to save one (prefilled from ``?q=...&kind=...``, as the
    listings' search page links to it)."""
    session = await member_session(request)
    values = _search_values(request.query)
    return await _searches_page(request, session, values, {})


@routes.post("/searches", name="web.searches_post")
async def save_search(request: web.Request) -> web.Response:
    """Save a search (the API's service and checks: 422 for a search that is not valid, 409
    past the limit); 303 back to the list."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        return "account/searches.html", _searches_context(None, _search_values(form), {})

    posted = await member_form(request, again)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    values = _search_values(form)
    query = {k: v.strip() for k, v in values.items() if k != "name" and v.strip()}
    try:
        body = validate(NewSavedSearch, {"name": values["name"], "query": query})
        await request.app[SAVED_SEARCHES].save(session.member, body.name, body.query)
    except ValidationFailed as exc:
        field = _field_of(exc, "name")
        field = field if field in values else "name"
        return await _searches_page(request, session, values, {field: "invalid"}, 422)
    except Conflict:
        return await _searches_page(request, session, values, {"name": "too_many"}, 409)
    return _see("/searches")


@routes.post(r"/searches/{sid:\d{1,9}}/delete", name="web.search_delete")
async def delete_search(request: web.Request) -> web.Response:
    """Forget a saved search (404 for anyone else's); 303 back to the list."""
    sid = int(request.match_info["sid"])

    async def act(member: Member) -> None:
        await request.app[SAVED_SEARCHES].delete(member, sid)

    return await _one_button(request, "delete_search", act, "/searches")


# Profile and settings

SETTINGS_FIELDS = ("display_name", "bio", "language")


def _settings_context(
    values: dict[str, str], errors: dict[str, str], done: bool = False
) -> dict[str, Any]:
    return {"values": values, "errors": errors, "languages": PAGE_LANGUAGES, "done": done}


@routes.get("/settings", name="web.settings")
async def settings_form(request: web.Request) -> web.Response:
    """My display name, bio and page language, with links to the password and sessions."""
    session = await member_session(request)
    member = session.member
    values = {"display_name": member.display_name, "bio": member.bio, "language": member.language}
    context = _settings_context(values, {}, done="saved" in request.query)
    return await page(request, "account/settings.html", context, session=session)


@routes.post("/settings", name="web.settings_post")
async def save_settings(request: web.Request) -> web.Response:
    """Change them with the API's profile update (``PATCH /api/quartier/v1/me``): 422 next to the
    field for an invalid value; 303 back to the page."""

    def values_of(form: Form) -> dict[str, str]:
        return {
            "display_name": _text(form, "display_name", 100),
            "bio": _text(form, "bio", 5000),
            "language": _text(form, "language", 8),
        }

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        return "account/settings.html", _settings_context(values_of(form), {})

    posted = await member_form(request, again)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    data = {name: str(form.get(name, "")) for name in SETTINGS_FIELDS}
    try:
        update = validate(ProfileUpdate, data)
        await update_member_profile(request, session.member, update)
    except ValidationFailed as exc:
        field = _field_of(exc, "display_name")
        field = field if field in SETTINGS_FIELDS else "display_name"
        context = _settings_context(values_of(form), {field: "invalid"})
        return await page(request, "account/settings.html", context, session=session, status=422)
    return _see("/settings?saved")


@routes.get("/settings/sessions", name="web.sessions")
async def sessions(request: web.Request) -> web.Response:
    """My live sessions, newest first, this one marked."""
    session = await member_session(request)
    rows = await request.app[MEMBERS].list_sessions(session.member)
    context = {"sessions": rows, "current_id": session.id}
    return await page(request, "account/sessions.html", context, session=session)


@routes.post(r"/settings/sessions/{sid:\d{1,9}}/revoke", name="web.session_revoke")
async def revoke_session(request: web.Request) -> web.Response:
    """End one of my sessions (a lost phone); ending this one logs out. 404 for anyone
    else's."""
    posted = await member_form(request, _again_action(request, "revoke_session"))
    if isinstance(posted, web.Response):
        return posted
    _, session = posted
    ended = int(request.match_info["sid"])
    await request.app[MEMBERS].revoke_session(session.member, ended)
    if ended == session.id:
        response = _see("/")
        clear_session_cookie(response)
        return response
    return _see("/settings/sessions")


# Verification

UPLOAD_ERRORS = {413: "too_large", 415: "wrong_type", 409: "conflict", 429: "too_many"}


async def _verification_page(
    request: web.Request,
    session: LoginSession,
    *,
    errors: dict[str, str] | None = None,
    username: str = "",
    status: int = 200,
) -> web.Response:
    # What GET /api/quartier/v1/me/verification shows (verification_to_api), from the same service
    # calls, with dates left as dates for the page's language.
    member = session.member
    service = request.app[VERIFICATION]
    status_of = {
        "level": member.verification.value,
        "method": member.verification_method.value if member.verification_method else None,
        "verified_at": member.verified_at,
        "vouches_needed": service.settings.vouches_needed,
        "vouched_by": [m.username for m in await service.vouchers_of(member)],
        "vouching_for": [m.username for m in await service.vouched_by(member)],
        "documents": await service.documents_of(member),
        "verified": member.verification is Verification.VERIFIED,
        "max_megabytes": service.settings.document_max_bytes / 1_048_576,
    }
    context: dict[str, Any] = {
        "errors": errors or {},
        "username": username,
        "done": request.query.get("done", ""),
        "vouched": request.query.get("vouched", "")[:30],
        "status_of": status_of,
    }
    return await page(request, "account/verification.html", context, session=session, status=status)


@routes.get("/verification", name="web.verification")
async def verification(request: web.Request) -> web.Response:
    """Where I stand (verified, vouched for or not yet, and how), my proofs of residence and
    what became of them, my vouches; the forms to send a proof and to vouch."""
    session = await member_session(request)
    return await _verification_page(request, session)


@routes.post("/verification/proof", name="web.verification_proof")
async def upload_proof(request: web.Request) -> web.Response:
    """Send a proof of residence with the API's reading, limits and service. A file too
    large (413), of the wrong type (415) or unreadable (422) is refused with the form again
    and nothing stored; 303 back to the page on success.

    A multipart form: the origin is checked before anything is read, the CSRF token (a field
    of the form) once the body is read, before anything is stored. A file cannot be shown
    back, so a session that ended sends the member to log in."""
    if not same_origin(request):
        return error_page(request, 403)
    session = await current_session(request)
    if session is None:
        raise login_redirect(request)
    member = session.member
    try:
        upload = await read_proof(request, member, text_field=CSRF_FIELD, text_max=200)
    except ValidationFailed as exc:
        if _field_of(exc, "file") != "file":
            return error_page(request, 403)  # no token, or a field our form does not have
        return await _verification_page(
            request, session, errors={"file": "missing"}, status=exc.status
        )
    except NodeError as exc:
        error = UPLOAD_ERRORS.get(exc.status, "unreadable")
        response = await _verification_page(
            request, session, errors={"file": error}, status=exc.status
        )
        if isinstance(exc, TooManyRequests):
            retry_later(response, exc)
        return response
    if not form_is_genuine(request, {CSRF_FIELD: upload.text}, session_token(request)):
        return error_page(request, 403)
    try:
        await request.app[VERIFICATION].upload(member, upload.data, upload.filename)
    except NodeError as exc:
        error = UPLOAD_ERRORS.get(exc.status, "unreadable")
        return await _verification_page(request, session, errors={"file": error}, status=exc.status)
    return _see("/verification?done=proof")


@routes.post("/verification/vouch", name="web.verification_vouch")
async def vouch(request: web.Request) -> web.Response:
    """Vouch for a neighbour by username, with the API's vouching (verified members only:
    403; an unknown member: 404; past the limit: 429); 303 back to the page."""

    posted = await member_form(request, _again_action(request, "vouch"))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    username = str(form.get("username", "")).strip().lstrip("@")[:30]

    async def shown(error: str, status: int) -> web.Response:
        return await _verification_page(
            request, session, errors={"username": error}, username=username, status=status
        )

    if not username:
        return await shown("missing", 422)
    try:
        member = await vouch_for(request, session.member, username)
    except NotFound:
        return await shown("unknown", 404)
    except Forbidden:
        return await shown("refused", 403)
    except TooManyRequests as exc:
        return retry_later(await shown("too_many", 429), exc)
    return _see(f"/verification?vouched={quote(member.username)}")
