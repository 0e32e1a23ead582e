"""Reporting from the pages: a listing or a member's message, with the API's own body check
(``NewReport`` of ``node/http/reports.py``) and the same service call (``REPORTS.report``:
its rate limit, the refusal to report oneself, the forwarding of another server's content).

The routes live with what they report (``listings.py``, ``account.py``); this module holds
the form they share.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation.models import Category
from node.errors import TooManyRequests, ValidationFailed
from node.http.keys import REPORTS
from node.http.parsing import validate
from node.http.reports import NewReport
from node.members.models import LoginSession
from node.moderation.reports import MAX_COMMENT
from node.web.common import Form, member_form, page
from node.web.setup import retry_later

TEMPLATE = "report.html"
CATEGORIES = tuple(category.value for category in Category)


def report_context(
    *, what: str, action: str, back: str, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    """The report form's context: what is reported (``listing`` or ``message``, for the
    heading), where it posts, where "back" leads, what was chosen and typed, the errors."""
    return {
        "what": what,
        "action": action,
        "back": back,
        "values": {"category": "", "comment": "", **values},
        "errors": errors,
        "categories": CATEGORIES,
        "max_comment": MAX_COMMENT,
    }


def _values(form: Form) -> dict[str, str]:
    # Bounded: a page never echoes more than a little over what the field accepts.
    return {
        "category": str(form.get("category", ""))[:20],
        "comment": str(form.get("comment", ""))[: MAX_COMMENT * 2],
    }


async def report_form(
    request: web.Request, session: LoginSession, *, what: str, action: str, back: str
) -> web.Response:
    """The empty report form."""
    context = report_context(what=what, action=action, back=back, values={}, errors={})
    return await page(request, TEMPLATE, context, session=session)


async def file_report(
    request: web.Request, *, what: str, target: int, action: str, back: str, done: str
) -> web.Response:
    """Post the report form: ``what`` (``listing`` or ``message``) number ``target`` is
    reported as the API's ``POST /api/quartier/v1/reports`` would; 303 to ``done``. An invalid
    choice or a comment too long shows the form again (422), a member past the reports' limit too
    (429); a forged form gets the 403 page, an expired session the form with a login box."""

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        return TEMPLATE, report_context(
            what=what, action=action, back=back, values=_values(form), errors={}
        )

    got = await member_form(request, again)
    if isinstance(got, web.Response):
        return got
    form, session = got
    values = _values(form)

    async def refused(errors: dict[str, str], status: int) -> web.Response:
        context = report_context(what=what, action=action, back=back, values=values, errors=errors)
        return await page(request, TEMPLATE, context, session=session, status=status)

    try:
        body = validate(
            NewReport,
            {what: target, "category": values["category"], "comment": values["comment"]},
        )
        await request.app[REPORTS].report(
            session.member,
            listing=body.listing,
            message=body.message,
            category=body.category,
            comment=body.comment,
            forward=body.forward,
            identify=body.identify,
        )
    except ValidationFailed as exc:
        return await refused(_error(exc, what), 422)
    except TooManyRequests as exc:
        return retry_later(await refused({"category": "too_many"}, 429), exc)
    return web.Response(status=303, headers={"Location": done})


def _error(exc: ValidationFailed, what: str) -> dict[str, str]:
    """The form field an error is about, and why: the comment too long, the member's own
    content (the service refuses a report of oneself), else the reason."""
    fields = [str(d.get("field", "")) for d in exc.details or [] if isinstance(d, dict)]
    if any(field.startswith("comment") for field in fields):
        return {"comment": "invalid"}
    if what in fields:
        return {"category": "yours"}
    return {"category": "invalid"}
