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

from collections.abc import Iterable
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
# A page as a context builder makes it: its template and the template's context.
Shown = tuple[str, dict[str, Any]]
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


async def _posted(
    request: web.Request, again: FormAgain, *roles: Role
) -> tuple[Form, LoginSession] | web.Response:
    """A staff form, read by member_form (``again`` re-renders it, its login box on this
    form only) and posted by a member who holds one of ``roles``."""
    posted = await member_form(request, _at(request, again))
    if not isinstance(posted, web.Response):
        _require(posted[1], *roles)
    return posted


async def _staff_page(
    request: web.Request, session: LoginSession | None, shown: Shown, status: int = 200
) -> web.Response:
    """A staff page as a context builder made it: the template and its context."""
    template, context = shown
    return await page(request, template, context, session=session, status=status)


def _values(form: Form, names: Iterable[str], *, strip: bool = True) -> dict[str, str]:
    """The form's text for each field of ``names``: as typed (to show it again), or stripped
    (to check it)."""
    return {name: _text(form, name).strip() if strip else _text(form, name) for name in names}


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


# Invites (admins, as /api/quartier/v1/admin/invites)

INVITE_FIELDS = ("role", "note", "ttl_hours")


async def _invites_context(
    request: web.Request,
    values: dict[str, str] | None,
    errors: dict[str, str] | None,
    *,
    listed: bool = True,
) -> Shown:
    """The invites page: the usable invites (``?all=true``: every invite; ``listed`` False:
    none) and the form, filled with ``values``."""
    show_all = request.query.get("all") == "true"
    invites = await request.app[MEMBERS].list_invites(include_spent=show_all) if listed else []
    return "staff/invites.html", {
        "values": values or {"role": Role.RESIDENT.value, "note": "", "ttl_hours": ""},
        "errors": errors or {},
        "roles": [role.value for role in Role],
        "now": datetime.now(UTC),
        "invites": invites,
        "show_all": show_all,
    }


@routes.get("/staff/invites", name="web.staff.invites")
async def invites(request: web.Request) -> web.Response:
    """Usable invites (``?all=true``: every invite) and the form to make one."""
    session = await staff_session(request, Role.ADMIN)
    return await _staff_page(request, session, await _invites_context(request, None, None))


@routes.post("/staff/invites", name="web.staff.invite_create")
async def create_invite(request: web.Request) -> web.Response:
    """Make an invite with the API's options. Its code exists only now (only a hash is kept),
    so the link is shown in the answer itself (201), never put in a redirect's URL."""

    async def again(form: Form) -> Shown:
        values = _values(form, INVITE_FIELDS, strip=False)
        return await _invites_context(request, values, None, listed=False)

    posted = await _posted(request, again, Role.ADMIN)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    values = _values(form, INVITE_FIELDS)
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
        shown = await _invites_context(request, values, _errors_of(exc, "note"))
        return await _staff_page(request, session, shown, 422)
    base = request.app[SETTINGS].server.base_url
    context = {"invite": invite, "link": f"{base}/register?invite={secret.secret}"}
    return await page(request, "staff/invite_created.html", context, session=session, status=201)


@routes.post(rf"/staff/invites/{_ID}/revoke", name="web.staff.invite_revoke")
async def revoke_invite(request: web.Request) -> web.Response:
    """Revoke an unused invite (a used one: 409 page)."""

    async def again(form: Form) -> Shown:
        return await _invites_context(request, None, None)

    posted = await _posted(request, again, Role.ADMIN)
    if isinstance(posted, web.Response):
        return posted
    await request.app[MEMBERS].revoke_invite(_id(request))
    return _see("/staff/invites")


# Members and roles (admins, as /api/quartier/v1/admin/members)


async def _members_context(request: web.Request, error: tuple[str, str] | None) -> Shown:
    """The members page; ``error``: the member whose role was not changed, and why."""
    members = await request.app[MEMBERS].list_members()
    return "staff/members.html", {
        "members": members,
        "roles": [r.value for r in Role],
        "error": error,
    }


@routes.get("/staff/members", name="web.staff.members")
async def members(request: web.Request) -> web.Response:
    """Every member with real name, role and verification, oldest first (as the API)."""
    session = await staff_session(request, Role.ADMIN)
    return await _staff_page(request, session, await _members_context(request, None))


@routes.post("/staff/members/{username}/role", name="web.staff.member_role")
async def change_role(request: web.Request) -> web.Response:
    """Give a member another role (the API's set_role: the last admin stays admin, 409)."""

    async def again(form: Form) -> Shown:
        return await _members_context(request, None)

    posted = await _posted(request, again, Role.ADMIN)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    username = request.match_info["username"]
    try:
        role = Role(_text(form, "role"))
    except ValueError:
        shown = await _members_context(request, (username, "invalid"))
        return await _staff_page(request, session, shown, 422)
    try:
        await request.app[MEMBERS].set_role(username, role)
    except Conflict:
        shown = await _members_context(request, (username, "last_admin"))
        return await _staff_page(request, session, shown, 409)
    return _see("/staff/members")


# Verification (managers, as /api/quartier/v1/admin/verification and
# .../members/{username}/verification)


async def _queue_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> Shown:
    service = request.app[VERIFICATION]
    documents = await service.pending_documents()
    return "staff/verification.html", {
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
    return await _staff_page(request, session, await _queue_context(request, None, None))


VERIFY_FIELDS = ("username", "reason", "verified", "found_false")


@routes.post("/staff/verification/members", name="web.staff.verify_member")
async def verify_member(request: web.Request) -> web.Response:
    """A manager verifies a member they know, or takes a verification back (the API's
    set_by_manager: a reason is required when it was found false)."""

    async def again(form: Form) -> Shown:
        return await _queue_context(request, _values(form, VERIFY_FIELDS, strip=False), None)

    posted = await _posted(request, again, Role.MANAGER)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    values = _values(form, VERIFY_FIELDS)
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
        errors, status = {"username": "unknown"}, 422
    except Forbidden:
        errors, status = {"username": "self"}, 403
    except ValidationFailed as exc:
        errors, status = _errors_of(exc, "reason"), 422
    else:
        return _see("/staff/verification")
    shown = await _queue_context(request, values, errors)
    return await _staff_page(request, session, shown, status)


async def _document_context(
    request: web.Request,
    document_id: int,
    values: dict[str, str] | None,
    errors: dict[str, str] | None,
) -> Shown:
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
    return await _staff_page(
        request, session, await _document_context(request, _id(request), None, None)
    )


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

    async def again(form: Form) -> Shown:
        return await _document_context(
            request, document_id, _values(form, ["reason"], strip=False), None
        )

    posted = await _posted(request, again, Role.MANAGER)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
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
        shown = await _document_context(request, document_id, {"reason": reason}, errors)
        return await _staff_page(request, session, shown, 422)
    return _see("/staff/verification")


# Moderation (moderators, as /api/quartier/v1/moderation)


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
) -> Shown:
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


@routes.get(rf"/staff/reports/{_ID}", name="web.staff.report")
async def report(request: web.Request) -> web.Response:
    """One report, who made it, and the actions the API offers on it."""
    session = await staff_session(request, Role.MODERATOR)
    return await _staff_page(
        request, session, await _report_context(request, _id(request), None, {})
    )


REPORT_FIELDS = ("reason", "action", "target")


@routes.post(rf"/staff/reports/{_ID}/{{what:dismiss|decide}}", name="web.staff.report_act")
async def act_on_report(request: web.Request) -> web.Response:
    """Dismiss the report, or take an action (hide the content; warn, suspend or silence its
    author...) that closes it: the API's dismiss and decide."""
    report_id = _id(request)

    async def again(form: Form) -> Shown:
        return await _report_context(
            request, report_id, _values(form, REPORT_FIELDS, strip=False), {}
        )

    posted = await _posted(request, again, Role.MODERATOR)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    values = _values(form, REPORT_FIELDS)
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
        built = await _report_context(request, report_id, values, shown)
        return await _staff_page(request, session, built, 422)
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


# Partnerships (admins, as /api/quartier/v1/admin/partnerships)


async def _partnerships_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> Shown:
    service = request.app[PARTNERSHIPS]
    rows = await service.all()
    return "staff/partnerships.html", {
        "partnerships": [(row, await service.suspension(row)) for row in rows],
        "values": values or {"node": "", "message": ""},
        "errors": errors or {},
    }


@routes.get("/staff/partnerships", name="web.staff.partnerships")
async def partnerships(request: web.Request) -> web.Response:
    """Every partnership, newest first, with its state, and the form to propose one."""
    session = await staff_session(request, Role.ADMIN)
    return await _staff_page(request, session, await _partnerships_context(request, None, None))


PROPOSAL_FIELDS = ("node", "message")


@routes.post("/staff/partnerships", name="web.staff.propose")
async def propose(request: web.Request) -> web.Response:
    """Propose a partnership to another node (a host or its URL, as the API takes it)."""

    async def again(form: Form) -> Shown:
        return await _partnerships_context(
            request, _values(form, PROPOSAL_FIELDS, strip=False), None
        )

    posted = await _posted(request, again, Role.ADMIN)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    values = _values(form, PROPOSAL_FIELDS)
    try:
        body = validate(Proposal, values)
        await request.app[PARTNERSHIPS].propose(body.node, body.message)
    except ValidationFailed as exc:
        errors, status = _errors_of(exc, "node"), 422
    except PartnershipError:
        errors, status = {"node": "refused"}, 409
    else:
        return _see("/staff/partnerships")
    shown = await _partnerships_context(request, values, errors)
    return await _staff_page(request, session, shown, status)


@routes.post(
    rf"/staff/partnerships/{_ID}/{{decision:accept|reject|end}}", name="web.staff.partnership"
)
async def answer_partnership(request: web.Request) -> web.Response:
    """Accept or refuse another node's request, or end a partnership (the other node is
    told); one that is not in a state for it: the list again with 409."""

    async def again(form: Form) -> Shown:
        return await _partnerships_context(request, None, None)

    posted = await _posted(request, again, Role.ADMIN)
    if isinstance(posted, web.Response):
        return posted
    _, session = posted
    service = request.app[PARTNERSHIPS]
    decision = request.match_info["decision"]
    try:
        if decision == "end":
            await service.end(_id(request))
        else:
            await service.decide(_id(request), accept=decision == "accept")
    except PartnershipError:
        shown = await _partnerships_context(request, None, {"row": "refused"})
        return await _staff_page(request, session, shown, 409)
    return _see("/staff/partnerships")


# Domain blocks (admins, as /api/quartier/v1/admin/domain_blocks)

BLOCK_FIELDS = ("domain", "reason", "severity")


async def _blocks_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> Shown:
    return "staff/blocks.html", {
        "blocks": await request.app[FEDERATION_POLICY].blocks.all(),
        "severities": [s.value for s in Severity],
        "values": values or {"domain": "", "reason": "", "severity": Severity.SUSPEND.value},
        "errors": errors or {},
    }


@routes.get("/staff/blocks", name="web.staff.blocks")
async def blocks(request: web.Request) -> web.Response:
    """Every domain block, alphabetically, and the form to add one."""
    session = await staff_session(request, Role.ADMIN)
    return await _staff_page(request, session, await _blocks_context(request, None, None))


@routes.post("/staff/blocks", name="web.staff.block_add")
async def add_block(request: web.Request) -> web.Response:
    """Suspend or silence a server and its subdomains (the API's block_domain, audited)."""

    async def again(form: Form) -> Shown:
        return await _blocks_context(request, _values(form, BLOCK_FIELDS, strip=False), None)

    posted = await _posted(request, again, Role.ADMIN)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    values = _values(form, BLOCK_FIELDS)
    try:
        body = validate(NewBlock, values)
        await request.app[MODERATION].block_domain(
            session.member.username, body.domain, body.reason, body.severity
        )
    except ValidationFailed as exc:
        errors, status = _errors_of(exc, "domain"), 422
    except InvalidBlock as exc:
        errors, status = {exc.field: "invalid"}, 422
    except AlreadyBlocked:
        errors, status = {"domain": "blocked"}, 409
    else:
        return _see("/staff/blocks")
    shown = await _blocks_context(request, values, errors)
    return await _staff_page(request, session, shown, status)


@routes.post("/staff/blocks/{domain}/remove", name="web.staff.block_remove")
async def remove_block(request: web.Request) -> web.Response:
    """Lift a block (an unknown one: 404 page)."""

    async def again(form: Form) -> Shown:
        return await _blocks_context(request, None, None)

    posted = await _posted(request, again, Role.ADMIN)
    if isinstance(posted, web.Response):
        return posted
    _, session = posted
    try:
        await request.app[MODERATION].unblock_domain(
            session.member.username, request.match_info["domain"]
        )
    except BlockError:
        raise NotFound("no such block") from None
    return _see("/staff/blocks")


# Governance (admins, as /api/quartier/v1/admin/governance)


async def _governance_context(
    request: web.Request, values: dict[str, str] | None, errors: dict[str, str] | None
) -> Shown:
    store = request.app[GOVERNANCE]
    settings = await store.values()
    changed, by, at = await store.changed_settings()
    shown = {name: _shown(value) for name, value in settings.items()}
    return "staff/governance.html", {
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
    return await _staff_page(request, session, await _governance_context(request, None, None))


@routes.post("/staff/governance", name="web.staff.governance_change")
async def change_governance(request: web.Request) -> web.Response:
    """Change the settings that differ from those in force (the API's change: validated as a
    whole, nothing changed and 422 naming each setting at fault otherwise)."""

    async def again(form: Form) -> Shown:
        template, context = await _governance_context(request, None, None)
        names = [name for name, _ in context["settings"]]
        return template, {**context, "values": _values(form, names, strip=False)}

    posted = await _posted(request, again, Role.ADMIN)
    if isinstance(posted, web.Response):
        return posted
    form, session = posted
    store = request.app[GOVERNANCE]
    current = await store.values()
    values = _values(form, current)
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
        shown = await _governance_context(request, values, errors)
        return await _staff_page(request, session, shown, 422)
    request.app[ACTOR_DOCUMENTS].clear()  # what actor documents show may have changed
    return _see("/staff/governance")
