"""The staff pages: invites, members and roles, the verification queue, moderation,
partnerships, domain blocks and governance. Each page calls the same service as the JSON API
and asks for exactly the role the API asks for (admins hold every role); forms are validated
with the API's own body models, so a value the API refuses is refused here too.

GET  /staff                                  the staff pages this member's role may open
GET  /staff/invites, POST /staff/invites      invites (admin); the new invite's link once
POST /staff/invites/{id}/revoke               revoke an unused invite (admin)
GET  /staff/members                          members with role and verification (admin)
POST /staff/members/{username}/role           change a role (admin; one admin always stays)
GET  /staff/verification                     proofs waiting (manager)
POST /staff/verification/members              a manager verifies a member they know
GET  /staff/verification/{id}                one proof, its document shown (manager)
GET  /staff/verification/{id}/document        the decrypted document, as the API serves it
POST /staff/verification/{id}/approve|reject  decide (a rejection says why)
GET  /staff/reports, GET /staff/reports/{id}  the moderation queue, one report (moderator)
POST /staff/reports/{id}/dismiss|decide       close it, or take an action on what it names
GET  /staff/audit                            the audit log, newest first, paged (moderator)
GET  /staff/partnerships, POST ...            propose, accept, refuse, end (admin)
GET  /staff/blocks, POST ...                  domain blocks: add, remove (admin)
GET  /staff/governance, POST ...              the policy's settings and their change (admin)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from tortoise.exceptions import DoesNotExist

from federation.errors import PartnershipError
from moderation import audit
from moderation.errors import AlreadyBlocked, BlockError, InvalidBlock, PolicyError
from moderation.governance import Reach, SharedKind
from moderation.models import Action, ReportState, Severity, TargetKind
from moderation.policy import FederationMode
from node.conversations.models import Message
from node.errors import Conflict, Forbidden, NotFound, ValidationFailed
from node.http.admin import NewInvite, VerificationChange
from node.http.blocks import NewBlock
from node.http.keys import (
    ACTOR_DOCUMENTS,
    FEDERATION_POLICY,
    GOVERNANCE,
    MEMBERS,
    MODERATION,
    PARTNERSHIPS,
    SETTINGS,
    VERIFICATION,
)
from node.http.moderation import NewDecision, Reason, reporters_of
from node.http.parsing import validate
from node.http.partnerships import Proposal
from node.http.verification import Decision, document_response
from node.listings.models import Listing
from node.members.models import LoginSession, Role
from node.moderation.service import TargetSpec
from node.web.common import Form, FormAgain, member_form, page, staff_session

routes = web.RouteTableDef()

# Which staff page each role may open, as the API's require_role calls say.
PAGES: tuple[tuple[str, Role], ...] = (
    ("invites", Role.ADMIN),
    ("members", Role.ADMIN),
    ("verification", Role.MANAGER),
    ("reports", Role.MODERATOR),
    ("audit", Role.MODERATOR),
    ("partnerships", Role.ADMIN),
    ("blocks", Role.ADMIN),
    ("governance", Role.ADMIN),
)
AUDIT_PAGE = 50
_ID = r"{id:\d{1,9}}"


def _require(session: LoginSession, *roles: Role) -> None:
    """The poster of a staff form must hold one of ``roles`` (admins hold every role), as
    staff_session asks of the page: a resident gets the 403 page."""
    role = session.member.role
    if role is not Role.ADMIN and role not in roles:
        raise web.HTTPForbidden()


def _at(request: web.Request, again: FormAgain) -> FormAgain:
    """``again``, saying which of the page's forms was posted: only that one gets the login
    box when the session ended (a page holds several forms, one per row)."""

    async def shown(form: Form) -> tuple[str, dict[str, Any]]:
        template, context = await again(form)
        return template, {**context, "relogin_for": request.path}

    return shown


def _see(path: str) -> web.Response:
    # 303: the browser follows with a GET, so a reload does not post the form again.
    return web.Response(status=303, headers={"Location": path})


def _errors_of(exc: ValidationFailed, default: str) -> dict[str, str]:
    """The form fields a validation error is about, each with the code "invalid"."""
    details = exc.details if isinstance(exc.details, list) else []
    fields = [str(d.get("field", default)) for d in details if isinstance(d, dict)]
    return dict.fromkeys(fields or [default], "invalid")


def _text(form: Form, name: str) -> str:
    return str(form.get(name, ""))


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


# The index


@routes.get("/staff", name="web.staff")
async def index(request: web.Request) -> web.Response:
    """The staff pages this member's role may open (only those)."""
    session = await staff_session(request, Role.MANAGER, Role.MODERATOR)
    role = session.member.role
    pages = [name for name, needs in PAGES if role in (Role.ADMIN, needs)]
    return await page(request, "staff/index.html", {"pages": pages}, session=session)


# Invites (admins, as /api/v1/admin/invites)

INVITE_FIELDS = ("role", "note", "ttl_hours")


async def _invites_page(
    request: web.Request,
    session: LoginSession | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    show_all = request.query.get("all") == "true"
    invites = await request.app[MEMBERS].list_invites(include_spent=show_all)
    context = await _invites_context(request, values, errors)
    context["invites"] = invites
    context["show_all"] = show_all
    return await page(request, "staff/invites.html", context, session=session, status=status)


async def _invites_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> dict[str, Any]:
    return {
        "values": values or {"role": Role.RESIDENT.value, "note": "", "ttl_hours": ""},
        "errors": errors or {},
        "roles": [role.value for role in Role],
        "now": datetime.now(UTC),
    }


@routes.get("/staff/invites", name="web.staff.invites")
async def invites(request: web.Request) -> web.Response:
    """Usable invites (``?all=true``: every invite) and the form to make one."""
    session = await staff_session(request, Role.ADMIN)
    return await _invites_page(request, session)


@routes.post("/staff/invites", name="web.staff.invite_create")
async def create_invite(request: web.Request) -> web.Response:
    """Make an invite with the API's options. Its code exists only now (only a hash is kept),
    so the link is shown in the answer itself (201), never put in a redirect's URL."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        values = {name: _text(form, name) for name in INVITE_FIELDS}
        context = await _invites_context(request, values, None)
        return "staff/invites.html", {**context, "invites": [], "show_all": False}

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    _require(session, Role.ADMIN)
    values = {name: _text(form, name).strip() for name in INVITE_FIELDS}
    ttl = values["ttl_hours"]
    body: dict[str, Any] = {"role": values["role"], "note": values["note"]}
    if ttl:
        body["ttl_hours"] = int(ttl) if ttl.isdigit() and len(ttl) < 10 else ttl
    try:
        checked = validate(NewInvite, body)
        invite, secret = await request.app[MEMBERS].create_invite(
            checked.role,
            created_by=session.member,
            note=checked.note,
            ttl=timedelta(hours=checked.ttl_hours) if checked.ttl_hours else None,
        )
    except ValidationFailed as exc:
        return await _invites_page(request, session, values, _errors_of(exc, "note"), 422)
    base = request.app[SETTINGS].server.base_url
    context = {"invite": invite, "link": f"{base}/register?invite={secret.secret}"}
    return await page(request, "staff/invite_created.html", context, session=session, status=201)


@routes.post(rf"/staff/invites/{_ID}/revoke", name="web.staff.invite_revoke")
async def revoke_invite(request: web.Request) -> web.Response:
    """Revoke an unused invite (a used one: 409 page)."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        context = await _invites_context(request, None, None)
        invites = await request.app[MEMBERS].list_invites()
        return "staff/invites.html", {**context, "invites": invites, "show_all": False}

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    _, session = posted
    _require(session, Role.ADMIN)
    await request.app[MEMBERS].revoke_invite(_id(request))
    return _see("/staff/invites")


# Members and roles (admins, as /api/v1/admin/members)


async def _members_page(
    request: web.Request,
    session: LoginSession | None,
    error: tuple[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    members = await request.app[MEMBERS].list_members()
    context = {"members": members, "roles": [r.value for r in Role], "error": error}
    return await page(request, "staff/members.html", context, session=session, status=status)


@routes.get("/staff/members", name="web.staff.members")
async def members(request: web.Request) -> web.Response:
    """Every member with real name, role and verification, oldest first (as the API)."""
    session = await staff_session(request, Role.ADMIN)
    return await _members_page(request, session)


@routes.post("/staff/members/{username}/role", name="web.staff.member_role")
async def change_role(request: web.Request) -> web.Response:
    """Give a member another role (the API's set_role: the last admin stays admin, 409)."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        members = await request.app[MEMBERS].list_members()
        return "staff/members.html", {
            "members": members,
            "roles": [r.value for r in Role],
            "error": None,
        }

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    _require(session, Role.ADMIN)
    username = request.match_info["username"]
    try:
        role = Role(_text(form, "role"))
    except ValueError:
        return await _members_page(request, session, (username, "invalid"), 422)
    try:
        await request.app[MEMBERS].set_role(username, role)
    except Conflict:
        return await _members_page(request, session, (username, "last_admin"), 409)
    return _see("/staff/members")


# Verification (managers, as /api/v1/admin/verification and .../members/{username}/verification)


async def _queue_page(
    request: web.Request,
    session: LoginSession | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = await _queue_context(request, values, errors)
    return await page(request, "staff/verification.html", context, session=session, status=status)


async def _queue_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> dict[str, Any]:
    service = request.app[VERIFICATION]
    documents = await service.pending_documents()
    return {
        "documents": documents,
        "review": await service.review_list(),
        "values": values or {"username": "", "reason": "", "verified": "true"},
        "errors": errors or {},
    }


@routes.get("/staff/verification", name="web.staff.verification")
async def verification_queue(request: web.Request) -> web.Response:
    """Proofs of residence waiting, oldest first, members whose verification needs a look,
    and a manager's direct verification of a member they know."""
    session = await staff_session(request, Role.MANAGER)
    return await _queue_page(request, session)


@routes.post("/staff/verification/members", name="web.staff.verify_member")
async def verify_member(request: web.Request) -> web.Response:
    """A manager verifies a member they know, or takes a verification back (the API's
    set_by_manager: a reason is required when it was found false)."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        values = {k: _text(form, k) for k in ("username", "reason", "verified", "found_false")}
        return "staff/verification.html", await _queue_context(request, values, None)

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    _require(session, Role.MANAGER)
    values = {k: _text(form, k).strip() for k in ("username", "reason", "verified", "found_false")}
    try:
        body = validate(
            VerificationChange,
            {
                "verified": values["verified"] != "false",
                "reason": values["reason"],
                "found_false": values["found_false"] == "true",
            },
        )
        member = await request.app[MEMBERS].get(values["username"])
        await request.app[VERIFICATION].set_by_manager(
            member,
            verified=body.verified,
            by=session.member,
            reason=body.reason,
            false=body.found_false,
        )
    except NotFound:
        return await _queue_page(request, session, values, {"username": "unknown"}, 422)
    except Forbidden:
        return await _queue_page(request, session, values, {"username": "self"}, 403)
    except ValidationFailed as exc:
        return await _queue_page(request, session, values, _errors_of(exc, "reason"), 422)
    return _see("/staff/verification")


async def _document_page(
    request: web.Request,
    session: LoginSession | None,
    document_id: int,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    template, context = await _document_context(request, document_id, values, errors)
    return await page(request, template, context, session=session, status=status)


async def _document_context(
    request: web.Request,
    document_id: int,
    values: dict[str, str] | None,
    errors: dict[str, str] | None,
) -> tuple[str, dict[str, Any]]:
    service = request.app[VERIFICATION]
    found = [d for d in await service.pending_documents() if d.id == document_id]
    if not found:
        raise NotFound("no such pending document")
    document = found[0]
    return "staff/document.html", {
        "document": document,
        "filename": await service.filename_of(document),
        "values": values or {"reason": ""},
        "errors": errors or {},
    }


@routes.get(rf"/staff/verification/{_ID}", name="web.staff.document")
async def document(request: web.Request) -> web.Response:
    """One pending proof: who sent it, when, and the document itself (an image is shown, a
    PDF is a link); the approve and reject forms."""
    session = await staff_session(request, Role.MANAGER)
    return await _document_page(request, session, _id(request))


@routes.get(rf"/staff/verification/{_ID}/document", name="web.staff.document_file")
async def document_file(request: web.Request) -> web.Response:
    """The decrypted document, exactly as the API serves it (same function, same headers,
    each view audited)."""
    session = await staff_session(request, Role.MANAGER)
    return await document_response(request, _id(request), session.member)


@routes.post(rf"/staff/verification/{_ID}/{{decision:approve|reject}}", name="web.staff.decide")
async def decide_document(request: web.Request) -> web.Response:
    """Approve or reject a proof (a rejection needs a reason, the member reads it); its file
    is deleted either way."""
    document_id = _id(request)

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        return await _document_context(
            request, document_id, {"reason": _text(form, "reason")}, None
        )

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    _require(session, Role.MANAGER)
    approve = request.match_info["decision"] == "approve"
    reason = _text(form, "reason").strip()
    try:
        body = validate(Decision, {"approve": approve, "reason": reason})
        await request.app[VERIFICATION].decide(
            document_id, by=session.member, approve=body.approve, reason=body.reason
        )
    except ValidationFailed as exc:
        errors = {"reason": "missing" if not reason else "invalid"}
        if _errors_of(exc, "reason").keys() != {"reason"}:
            errors = _errors_of(exc, "reason")
        return await _document_page(request, session, document_id, {"reason": reason}, errors, 422)
    return _see("/staff/verification")


# Moderation (moderators, as /api/v1/moderation)


@routes.get("/staff/reports", name="web.staff.reports")
async def reports(request: web.Request) -> web.Response:
    """The queue: reports in a state (open by default), oldest first."""
    session = await staff_session(request, Role.MODERATOR)
    try:
        state = ReportState(request.query.get("state", ReportState.OPEN.value))
    except ValueError:
        raise NotFound("no such state") from None
    queue = await request.app[MODERATION].queue(state)
    context = {"reports": queue, "state": state.value, "states": [s.value for s in ReportState]}
    return await page(request, "staff/reports.html", context, session=session)


ACTIONS = [a.value for a in Action if a is not Action.DISMISS]


async def _report_context(
    request: web.Request, report_id: int, values: dict[str, str] | None, errors: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    report = await request.app[MODERATION].report(report_id)
    reporter = (await reporters_of([report])).get(report.reporter_member_id or 0, "")
    content = await _content_id(report.target_kind, report.target_uri)
    return "staff/report.html", {
        "report": report,
        "reporter": reporter,
        "content": content,
        "actions": ACTIONS,
        "values": values or {"reason": "", "action": "", "target": "content"},
        "errors": errors,
    }


async def _content_id(kind: TargetKind, uri: str) -> int | None:
    """The id of the listing or message a report is about, if it is held here: what a
    decision names (the API's decisions take ids)."""
    try:
        if kind is TargetKind.LISTING:
            return (await Listing.get(ap_id=uri)).id
        if kind is TargetKind.MESSAGE:
            return (await Message.get(ap_id=uri)).id
    except DoesNotExist:
        return None
    return None


async def _report_page(
    request: web.Request,
    session: LoginSession | None,
    report_id: int,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    template, context = await _report_context(request, report_id, values, errors or {})
    return await page(request, template, context, session=session, status=status)


@routes.get(rf"/staff/reports/{_ID}", name="web.staff.report")
async def report(request: web.Request) -> web.Response:
    """One report, who made it, and the actions the API offers on it."""
    session = await staff_session(request, Role.MODERATOR)
    return await _report_page(request, session, _id(request))


REPORT_FIELDS = ("reason", "action", "target")


@routes.post(rf"/staff/reports/{_ID}/{{what:dismiss|decide}}", name="web.staff.report_act")
async def act_on_report(request: web.Request) -> web.Response:
    """Dismiss the report, or take an action (hide the content; warn, suspend or silence its
    author...) that closes it: the API's dismiss and decide."""
    report_id = _id(request)

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        values = {name: _text(form, name) for name in REPORT_FIELDS}
        return await _report_context(request, report_id, values, {})

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    _require(session, Role.MODERATOR)
    values = {name: _text(form, name).strip() for name in REPORT_FIELDS}
    service = request.app[MODERATION]
    try:
        if request.match_info["what"] == "dismiss":
            reason = validate(Reason, {"reason": values["reason"]}).reason
            await service.dismiss(session.member, report_id, reason)
        else:
            target = await service.report(report_id)
            body: dict[str, Any] = {"action": values["action"], "reason": values["reason"]}
            content = await _content_id(target.target_kind, target.target_uri)
            if values["target"] == "content" and content is not None:
                body[target.target_kind.value] = content
            else:
                body["account"] = target.target_actor
            checked = validate(NewDecision, {**body, "report": report_id})
            spec = TargetSpec(checked.listing, checked.message, checked.account, checked.domain)
            await service.decide(session.member, checked.action, spec, checked.reason, report_id)
    except ValidationFailed as exc:
        errors = _errors_of(exc, "action")
        shown = {k if k in REPORT_FIELDS else "action": v for k, v in errors.items()}
        return await _report_page(request, session, report_id, values, shown, 422)
    return _see("/staff/reports")


@routes.get("/staff/audit", name="web.staff.audit")
async def audit_log(request: web.Request) -> web.Response:
    """The audit log, newest first; ``?before=<id>`` pages back (the API's audit.page)."""
    session = await staff_session(request, Role.MODERATOR)
    raw = request.query.get("before", "")
    if raw and not (raw.isdigit() and len(raw) <= 18):
        raise NotFound("no such page")
    entries = await audit.page(before=int(raw) if raw else None, limit=AUDIT_PAGE)
    older = entries[-1].id if len(entries) == AUDIT_PAGE else None
    context = {"entries": entries, "older": older, "paged": bool(raw)}
    return await page(request, "staff/audit.html", context, session=session)


# Partnerships (admins, as /api/v1/admin/partnerships)


async def _partnerships_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> dict[str, Any]:
    service = request.app[PARTNERSHIPS]
    rows = await service.all()
    return {
        "partnerships": [(row, await service.suspension(row)) for row in rows],
        "values": values or {"node": "", "message": ""},
        "errors": errors or {},
    }


async def _partnerships_page(
    request: web.Request,
    session: LoginSession | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = await _partnerships_context(request, values, errors)
    return await page(request, "staff/partnerships.html", context, session=session, status=status)


@routes.get("/staff/partnerships", name="web.staff.partnerships")
async def partnerships(request: web.Request) -> web.Response:
    """Every partnership, newest first, with its state, and the form to propose one."""
    session = await staff_session(request, Role.ADMIN)
    return await _partnerships_page(request, session)


@routes.post("/staff/partnerships", name="web.staff.propose")
async def propose(request: web.Request) -> web.Response:
    """Propose a partnership to another node (a host or its URL, as the API takes it)."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        values = {"node": _text(form, "node"), "message": _text(form, "message")}
        return "staff/partnerships.html", await _partnerships_context(request, values, None)

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    _require(session, Role.ADMIN)
    values = {"node": _text(form, "node").strip(), "message": _text(form, "message").strip()}
    try:
        body = validate(Proposal, values)
        await request.app[PARTNERSHIPS].propose(body.node, body.message)
    except ValidationFailed as exc:
        return await _partnerships_page(request, session, values, _errors_of(exc, "node"), 422)
    except PartnershipError:
        return await _partnerships_page(request, session, values, {"node": "refused"}, 409)
    return _see("/staff/partnerships")


@routes.post(
    rf"/staff/partnerships/{_ID}/{{decision:accept|reject|end}}", name="web.staff.partnership"
)
async def answer_partnership(request: web.Request) -> web.Response:
    """Accept or refuse another node's request, or end a partnership (the other node is
    told); one that is not in a state for it: the list again with 409."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        return "staff/partnerships.html", await _partnerships_context(request, None, None)

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    _, session = posted
    _require(session, Role.ADMIN)
    service = request.app[PARTNERSHIPS]
    decision = request.match_info["decision"]
    try:
        if decision == "end":
            await service.end(_id(request))
        else:
            await service.decide(_id(request), accept=decision == "accept")
    except PartnershipError:
        return await _partnerships_page(request, session, None, {"row": "refused"}, 409)
    return _see("/staff/partnerships")


# Domain blocks (admins, as /api/v1/admin/domain_blocks)

BLOCK_FIELDS = ("domain", "reason", "severity")


async def _blocks_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> dict[str, Any]:
    return {
        "blocks": await request.app[FEDERATION_POLICY].blocks.all(),
        "severities": [s.value for s in Severity],
        "values": values or {"domain": "", "reason": "", "severity": Severity.SUSPEND.value},
        "errors": errors or {},
    }


async def _blocks_page(
    request: web.Request,
    session: LoginSession | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = await _blocks_context(request, values, errors)
    return await page(request, "staff/blocks.html", context, session=session, status=status)


@routes.get("/staff/blocks", name="web.staff.blocks")
async def blocks(request: web.Request) -> web.Response:
    """Every domain block, alphabetically, and the form to add one."""
    session = await staff_session(request, Role.ADMIN)
    return await _blocks_page(request, session)


@routes.post("/staff/blocks", name="web.staff.block_add")
async def add_block(request: web.Request) -> web.Response:
    """Suspend or silence a server and its subdomains (the API's block_domain, audited)."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        values = {name: _text(form, name) for name in BLOCK_FIELDS}
        return "staff/blocks.html", await _blocks_context(request, values, None)

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    _require(session, Role.ADMIN)
    values = {name: _text(form, name).strip() for name in BLOCK_FIELDS}
    try:
        body = validate(NewBlock, values)
        await request.app[MODERATION].block_domain(
            session.member.username, body.domain, body.reason, body.severity
        )
    except ValidationFailed as exc:
        return await _blocks_page(request, session, values, _errors_of(exc, "domain"), 422)
    except InvalidBlock as exc:
        return await _blocks_page(request, session, values, {exc.field: "invalid"}, 422)
    except AlreadyBlocked:
        return await _blocks_page(request, session, values, {"domain": "blocked"}, 409)
    return _see("/staff/blocks")


@routes.post("/staff/blocks/{domain}/remove", name="web.staff.block_remove")
async def remove_block(request: web.Request) -> web.Response:
    """Lift a block (an unknown one: 404 page)."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        return "staff/blocks.html", await _blocks_context(request, None, None)

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    _, session = posted
    _require(session, Role.ADMIN)
    try:
        await request.app[MODERATION].unblock_domain(
            session.member.username, request.match_info["domain"]
        )
    except BlockError:
        raise NotFound("no such block") from None
    return _see("/staff/blocks")


# Governance (admins, as /api/v1/admin/governance)


async def _governance_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> dict[str, Any]:
    store = request.app[GOVERNANCE]
    settings = await store.values()
    changed, by, at = await store.changed_settings()
    shown = {name: _shown(value) for name, value in settings.items()}
    return {
        "settings": [(name, _kind(value)) for name, value in sorted(settings.items())],
        # The settings with a fixed set of values get a selector (the policy still checks).
        "choices": {
            **{kind.value: [reach.value for reach in Reach] for kind in SharedKind},
            "federation_mode": [mode.value for mode in FederationMode],
        },
        "values": values or shown,
        "changed": sorted(changed),
        "changed_by": by,
        "changed_at": at,
        "errors": errors or {},
    }


def _kind(value: Any) -> str:
    """How a setting is edited: a checkbox, a number, a comma-separated list or text."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, list | tuple):
        return "list"
    return "text"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _parsed(raw: str, kind: str) -> Any:
    """A form value as the API's JSON would carry it; what does not parse is passed on as
    it is, for the policy's own validation to name it."""
    if kind == "bool":
        return raw == "true"
    if kind == "int":
        return int(raw) if raw.isdigit() and len(raw) < 10 else raw
    if kind == "list":
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


@routes.get("/staff/governance", name="web.staff.governance")
async def governance(request: web.Request) -> web.Response:
    """Every setting in force, which ones admins changed, and the form to change them."""
    session = await staff_session(request, Role.ADMIN)
    context = await _governance_context(request, None, None)
    return await page(request, "staff/governance.html", context, session=session)


@routes.post("/staff/governance", name="web.staff.governance_change")
async def change_governance(request: web.Request) -> web.Response:
    """Change the settings that differ from those in force (the API's change: validated as a
    whole, nothing changed and 422 naming each setting at fault otherwise)."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        context = await _governance_context(request, None, None)
        values = {name: _text(form, name) for name, _ in context["settings"]}
        return "staff/governance.html", {**context, "values": values}

    posted = await member_form(request, _at(request, again))
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    _require(session, Role.ADMIN)
    store = request.app[GOVERNANCE]
    current = await store.values()
    values = {name: _text(form, name).strip() for name in current}
    changes = {}
    for name, value in current.items():
        parsed = _parsed(values[name], _kind(value))
        if parsed != (list(value) if isinstance(value, tuple) else value):
            changes[name] = parsed
    errors: dict[str, str] = {}
    if not changes:
        errors = {"form": "unchanged"}
    else:
        try:
            await store.change(changes, by=session.member.username)
        except PolicyError as exc:
            errors = {name: "invalid" for name, _ in exc.problems if name in current}
            # A problem no field of the form names (the policy as a whole): said at the top.
            errors = errors or {"form": "invalid"}
    if errors:
        context = await _governance_context(request, values, errors)
        return await page(request, "staff/governance.html", context, session=session, status=422)
    request.app[ACTOR_DOCUMENTS].clear()  # what actor documents show may have changed
    return _see("/staff/governance")
