"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2), over the problems this node
handles. Every resource ends in ``.json`` or ``.xml``; errors come as the specification
writes them (``[{"code": 400, "description": "..."}]``, or ``<errors>`` in XML).

GET  /open311/discovery.{json,xml}               Service Discovery: the endpoint, its formats
GET  /open311/v2/services.{json,xml}              the categories this node handles
GET  /open311/v2/services/{code}.{json,xml}       a service's definition (no attributes)
GET  /open311/v2/requests.{json,xml}              ?service_code=&status=open,closed
                                                  &start_date=&end_date= (ISO 8601)
GET  /open311/v2/requests/{id}.{json,xml}
POST /open311/v2/requests.{json,xml}              form-encoded, ``api_key`` required
POST /open311/v2/requests/{id}.{json,xml}         our extension (GeoReport v2 has no update
                                                  call): ``api_key``, ``status``,
                                                  ``status_notes``

See docs/problems.md for the mapping of our fields onto GeoReport's.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import Field
from tortoise.transactions import in_transaction

from activitypub.properties import format_timestamp
from moderation import audit
from node.errors import NodeError
from node.http.auth import require_role
from node.http.keys import CLOCK, OPEN311_KEYS, PROBLEMS, SETTINGS
from node.http.parsing import Body, read_json
from node.media.models import Media
from node.members.models import Role
from node.problems.models import Problem, ProblemComment, ProblemStatus
from node.problems.open311 import key_to_api, problem_to_georeport, service_to_georeport
from node.problems.service import MAX_COMMENT, MAX_TEXT, NewProblem

routes = web.RouteTableDef()
BASE = "/open311/v2"
_FMT = r"{fmt:json|xml}"
MAX_REQUESTS = 1000  # the specification's default limit, with 90 days
DEFAULT_SPAN = timedelta(days=90)
_ID = re.compile(r"[0-9]{1,9}")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    """An error answered in the specification's format."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def georeport(handler: Handler) -> Handler:
    """Answer errors (ours and the node's) in GeoReport's format, never as a 500 for input."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            if any("\x00" in value for value in request.query.values()):
                # PostgreSQL refuses NUL in a query's parameters: an error, not "no match".
                raise Open311Error(400, "query parameters must not contain NUL characters")
            return await handler(request)
        except Open311Error as exc:
            return _errors(request, exc.status, exc.description)
        except NodeError as exc:
            if exc.status >= 500:
                raise
            # GeoReport answers bad input with 400 (our 422 included).
            status = 400 if exc.status == 422 else exc.status
            return _errors(request, status, _describe(exc))

    return wrapped


def _describe(exc: NodeError) -> str:
    details = exc.details if isinstance(exc.details, list) else []
    parts = [f"{d.get('field')}: {d.get('message')}" for d in details if isinstance(d, dict)]
    return exc.safe + (f" ({'; '.join(parts)})" if parts else "")


def _format(request: web.Request) -> str:
    return request.match_info.get("fmt", "json")


def _errors(request: web.Request, status: int, description: str) -> web.Response:
    items = [{"code": status, "description": description}]
    if _format(request) == "xml":
        root = ET.Element("errors")
        for item in items:
            _fill(ET.SubElement(root, "error"), item)
        return _xml(root, status)
    return web.json_response(items, status=status)


def _fill(element: ET.Element, values: Mapping[str, Any]) -> None:
    """Child elements for ``values``, text set through ElementTree (which escapes it)."""
    for key, value in values.items():
        child = ET.SubElement(element, key)
        if isinstance(value, bool):
            child.text = "true" if value else "false"
        elif isinstance(value, list):
            for item in value:
                _fill(ET.SubElement(child, key.rstrip("s")), item)
        elif value is not None:
            # XML 1.0 cannot carry most control characters, even escaped: they go.
            child.text = _NOT_XML.sub("", str(value))


def _xml(root: ET.Element, status: int = 200) -> web.Response:
    # The specification asks for this declaration, encoding="UTF-8" as written (ElementTree
    # would write encoding='utf-8').
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return web.Response(body=body, status=status, content_type="text/xml", charset="utf-8")


def _respond(
    request: web.Request, items: list[dict[str, Any]], root: str, element: str
) -> web.Response:
    if _format(request) == "xml":
        tree = ET.Element(root)
        for item in items:
            _fill(ET.SubElement(tree, element), item)
        return _xml(tree)
    return web.json_response(items)


async def _as_requests(request: web.Request, problems: list[Problem]) -> list[dict[str, Any]]:
    settings = request.app[SETTINGS]
    # Two queries for the whole page (an unauthenticated list of up to 1,000 requests must
    # not cost two more per request).
    ids = [p.id for p in problems]
    photos_of: dict[int, list[Media]] = defaultdict(list)
    for media in await Media.filter(problem_id__in=ids).order_by("position"):
        photos_of[media.problem_id].append(media)  # type: ignore[attr-defined]
    comments_of: dict[int, list[ProblemComment]] = defaultdict(list)
    for comment in await ProblemComment.filter(problem_id__in=ids).order_by("id"):
        comments_of[comment.problem_id].append(comment)  # type: ignore[attr-defined]
    shown = []
    for problem in problems:
        photos, comments = photos_of[problem.id], comments_of[problem.id]
        shown.append(
            problem_to_georeport(
                problem,
                settings.uris,
                agency=settings.community.name,
                photos=photos if problem.public else (),
                comments=comments,
            )
        )
    return shown


GEOREPORT_V2 = "http://wiki.open311.org/GeoReport_v2"


@routes.get(rf"/open311/discovery.{_FMT}")
@georeport
async def discovery(request: web.Request) -> web.Response:
    """Service Discovery, which GeoReport v2 requires beside it (wiki.open311.org/
    Service_Discovery): where the endpoint is, its formats, and how to get a key. The
    services come from the configuration, which any restart may change and which we do not
    date: the changeset is the time of the answer (a client refreshes its cached services)."""
    settings = request.app[SETTINGS]
    changeset = format_timestamp(request.app[CLOCK]())
    doc: dict[str, Any] = {
        "changeset": changeset,
        "contact": f"The administrators of {settings.community.name}, {settings.server.base_url}",
        "key_service": "API keys are given by this node's administrators "
        "(quartier open311 keys add NAME)",
        "endpoints": [
            {
                "specification": GEOREPORT_V2,
                "url": f"{settings.server.base_url}{BASE}",
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    if _format(request) == "xml":
        root = ET.Element("discovery")
        for key in ("changeset", "contact", "key_service"):
            ET.SubElement(root, key).text = _NOT_XML.sub("", doc[key])
        endpoints = ET.SubElement(root, "endpoints")
        for endpoint in doc["endpoints"]:
            element = ET.SubElement(endpoints, "endpoint")
            _fill(element, {k: v for k, v in endpoint.items() if k != "formats"})
            formats = ET.SubElement(element, "formats")
            for media_type in endpoint["formats"]:
                ET.SubElement(formats, "format").text = media_type
        return _xml(root)
    return web.json_response(doc)


@routes.get(f"{BASE}/services.{_FMT}")
@georeport
async def services(request: web.Request) -> web.Response:
    """The categories this node handles, as services."""
    codes = request.app[PROBLEMS].handled_categories()
    return _respond(request, [service_to_georeport(c) for c in codes], "services", "service")


@routes.get(f"{BASE}/services/{{code:[A-Za-z0-9_-]{{1,64}}}}.{_FMT}")
@georeport
async def service_definition(request: web.Request) -> web.Response:
    """A service's definition: we ask for no extra attributes."""
    code = request.match_info["code"]
    if code not in request.app[PROBLEMS].handled_categories():
        raise Open311Error(404, f"no service with code {code}")
    definition = {"service_code": code, "attributes": []}
    if _format(request) == "xml":
        root = ET.Element("service_definition")
        ET.SubElement(root, "service_code").text = code
        ET.SubElement(root, "attributes")
        return _xml(root)
    return web.json_response(definition)


def _date(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
        # In UTC here: year 1 or 9999 with an offset is no moment UTC can name, and the
        # database would raise OverflowError converting it (a 500).
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time") from None


@routes.get(f"{BASE}/requests.{_FMT}")
@georeport
async def list_requests(request: web.Request) -> web.Response:
    """Problems this node handles, newest first: by ``service_request_id`` (comma-separated,
    overriding the rest) or by service, status and dates (90 days by default)."""
    query = Problem.filter(handled_here=True, public=True)
    ids = request.query.get("service_request_id")
    if ids:
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        wanted = [int(i) for i in ids.split(",") if _ID.fullmatch(i.strip())]
        query = query.filter(id__in=wanted)
    else:
        codes = [c for c in request.query.get("service_code", "").split(",") if c]
        if codes:
            query = query.filter(category__in=codes)
        statuses = [s for s in request.query.get("status", "").split(",") if s]
        if any(s not in ("open", "closed") for s in statuses):
            raise Open311Error(400, "status must be open or closed")
        if len(set(statuses)) == 1:
            query = query.filter(
                status__in=[s for s in ProblemStatus if s.is_open == (statuses[0] == "open")]
            )
        start, end = _date(request, "start_date"), _date(request, "end_date")
        if start is None and end is None:
            start = request.app[CLOCK]() - DEFAULT_SPAN
        if start is not None:
            query = query.filter(created_at__gte=start)
        if end is not None:
            query = query.filter(created_at__lte=end)
    found = await query.order_by("-id").limit(MAX_REQUESTS)
    return _respond(request, await _as_requests(request, found), "service_requests", "request")


async def _handled(request: web.Request) -> Problem:
    raw = request.match_info["id"]
    problem = await Problem.get_or_none(id=int(raw), handled_here=True, public=True)
    if problem is None:
        raise Open311Error(404, f"no service request with id {raw}")
    return problem


@routes.get(rf"{BASE}/requests/{{id:\d{{1,9}}}}.{_FMT}")
@georeport
async def get_request(request: web.Request) -> web.Response:
    """One service request (a list of one, as the specification has it)."""
    problem = await _handled(request)
    items = await _as_requests(request, [problem])
    return _respond(request, items, "service_requests", "request")


async def _key(request: web.Request, form: Mapping[str, Any]) -> str:
    """The name of the live API key the form carries; 403 otherwise."""
    key = form.get("api_key") or request.query.get("api_key")
    if not isinstance(key, str) or not key:
        raise Open311Error(403, "an api_key is required")
    row = await request.app[OPEN311_KEYS].check(key)
    if row is None:
        raise Open311Error(403, "invalid api_key")
    return f"open311:{row.name}#{row.id}"


def _float(form: Mapping[str, Any], name: str, bound: float) -> float | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(str(raw))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        raise Open311Error(400, f"{name} must be a number between -{bound:g} and {bound:g}")
    return value


def _text(form: Mapping[str, Any], name: str, limit: int) -> str:
    raw = form.get(name, "")
    value = raw.strip() if isinstance(raw, str) else ""
    if len(value) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    if "\x00" in value:
        raise Open311Error(400, f"{name} must not contain NUL characters")
    return value


@routes.post(f"{BASE}/requests.{_FMT}")
@georeport
async def create_request(request: web.Request) -> web.Response:
    """Create a service request (form-encoded, as the specification says)."""
    form = await request.post()
    by = await _key(request, form)
    code = _text(form, "service_code", 64)
    service = request.app[PROBLEMS]
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in service.handled_categories():
        raise Open311Error(400, f"service_code {code} is not a service of this node")
    latitude, longitude = _float(form, "lat", 90), _float(form, "long", 180)
    address = _text(form, "address_string", 500)
    if (latitude is None or longitude is None) and not address and not form.get("address_id"):
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, "lat and long go together")
    description = _text(form, "description", MAX_TEXT) or f"{code} (reported through Open311)"
    key_id = int(by.rsplit("#", 1)[1])
    problem = await service.create_handled(
        NewProblem(
            category=code,
            text=description,
            latitude=latitude,
            longitude=longitude,
            address=address,
        ),
        open311_key=key_id,
    )
    items = [{"service_request_id": str(problem.id), "service_notice": "", "account_id": None}]
    return _respond(request, items, "service_requests", "request")


# The extension's statuses: GeoReport's two, and our finer ones.
_STATUSES = {
    "open": ProblemStatus.IN_PROGRESS,
    "closed": ProblemStatus.RESOLVED,
    **{s.value: s for s in ProblemStatus if s is not ProblemStatus.SUBMITTED},
}


@routes.post(rf"{BASE}/requests/{{id:\d{{1,9}}}}.{_FMT}")
@georeport
async def update_request(request: web.Request) -> web.Response:
    """Our extension: change a request's status (``open`` means in progress, ``closed``
    resolved; our own statuses are taken too); ``status_notes`` becomes a comment, or the
    reason of a rejection. It flows back to the reporter as a handler's change does."""
    form = await request.post()
    by = await _key(request, form)
    problem = await _handled(request)
    raw = _text(form, "status", 32)
    status = _STATUSES.get(raw)
    if status is None:
        raise Open311Error(400, f"status must be one of {', '.join(_STATUSES)}")
    notes = _text(form, "status_notes", MAX_COMMENT)
    service = request.app[PROBLEMS]
    reason = notes if status is ProblemStatus.REJECTED else ""
    if notes and status is not ProblemStatus.REJECTED:
        await service.comment(problem.id, notes, by=by)
    problem = await service.set_status(problem.id, status, reason, by=by)
    comments = await ProblemComment.filter(problem_id=problem.id).order_by("id")
    item = problem_to_georeport(
        problem,
        request.app[SETTINGS].uris,
        agency=request.app[SETTINGS].community.name,
        comments=comments,
    )
    return _respond(request, [item], "service_requests", "request")


# Admins manage the keys (also ``quartier open311 keys``).
KEYS_PATH = "/api/quartier/v1/admin/open311/keys"


class NewKey(Body):
    name: str = Field(min_length=1, max_length=100)


@routes.get(KEYS_PATH)
async def list_keys(request: web.Request) -> web.Response:
    """Every Open311 API key (never the keys themselves, which are not kept)."""
    await require_role(request, Role.ADMIN)
    return web.json_response([key_to_api(k) for k in await request.app[OPEN311_KEYS].all()])


@routes.post(KEYS_PATH)
async def add_key(request: web.Request) -> web.Response:
    """A new key: 201 with ``key``, shown this once."""
    caller = await require_role(request, Role.ADMIN)
    body = await read_json(request, NewKey)
    async with in_transaction():
        row, key = await request.app[OPEN311_KEYS].add(body.name)
        # Audited as the CLI's are: who let a client in, and when.
        await audit.record(
            caller.member.username,
            "open311.key_added",
            f"open311-key:{row.id}",
            row.name,
            request.app[CLOCK](),
        )
    return web.json_response({**key_to_api(row), "key": key}, status=201)


@routes.delete(rf"{KEYS_PATH}/{{id:\d{{1,9}}}}")
async def revoke_key(request: web.Request) -> web.Response:
    """Revoke a key: clients using it get 403 from now on."""
    caller = await require_role(request, Role.ADMIN)
    async with in_transaction():
        row = await request.app[OPEN311_KEYS].revoke(int(request.match_info["id"]))
        await audit.record(
            caller.member.username,
            "open311.key_revoked",
            f"open311-key:{row.id}",
            row.name,
            request.app[CLOCK](),
        )
    return web.json_response(key_to_api(row))
