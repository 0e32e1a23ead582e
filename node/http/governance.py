"""The community's governance policy: read by anyone, changed by admins, and the sharing ledger.

GET    /api/quartier/v1/governance         the policy's public summary (as in NodeInfo)
GET    /api/quartier/v1/admin/governance   every setting, and which ones admins changed
PATCH  /api/quartier/v1/admin/governance   change settings: {"messages": "partners", ...}
DELETE /api/quartier/v1/admin/governance/changes    drop the changes: quartier.toml decides again
GET    /api/quartier/v1/me/sharing[?before=ID&limit=N]  what of mine went where, newest first

A change takes effect at once in this process and within 30 s in every other process on the
same database (see moderation/policy_store.py): no restart.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from federation.models import SharedItem
from moderation.errors import PolicyError
from node.errors import ValidationFailed
from node.http.auth import authenticate, require_role
from node.http.keys import ACTOR_DOCUMENTS, GOVERNANCE, SETTINGS
from node.http.parsing import query_id, read_json_object
from node.members.models import Role

routes = web.RouteTableDef()
MAX_PAGE = 200


def _timestamp(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@routes.get("/api/quartier/v1/governance")
async def summary(request: web.Request) -> web.Response:
    """The policy in force, as other communities and prospective members read it."""
    policy = await request.app[GOVERNANCE].current()
    return web.json_response(policy.summary())


@routes.get("/api/quartier/v1/admin/governance")
async def settings(request: web.Request) -> web.Response:
    """Every governance setting in force, which of them admins changed over the file's,
    who changed them last and when."""
    await require_role(request, Role.ADMIN)
    return web.json_response(await _settings(request))


@routes.patch("/api/quartier/v1/admin/governance")
async def change(request: web.Request) -> web.Response:
    """Change some settings; 422 naming each setting at fault, and nothing changed, when the
    result would not be a valid policy."""
    caller = await require_role(request, Role.ADMIN)
    changes = await read_json_object(request)
    if not changes:
        raise ValidationFailed(
            "nothing to change",
            details=[{"field": "(body)", "message": "give at least one setting"}],
        )
    try:
        await request.app[GOVERNANCE].change(changes, by=caller.member.username)
    except PolicyError as exc:
        raise ValidationFailed(
            "the governance policy would not be valid",
            details=[{"field": name, "message": message} for name, message in exc.problems],
        ) from None
    request.app[ACTOR_DOCUMENTS].clear()  # what actor documents show may have changed
    return web.json_response(await _settings(request))


@routes.delete("/api/quartier/v1/admin/governance/changes")
async def reset(request: web.Request) -> web.Response:
    """Drop every change made through the API: the file's settings apply again."""
    caller = await require_role(request, Role.ADMIN)
    await request.app[GOVERNANCE].reset(by=caller.member.username)
    request.app[ACTOR_DOCUMENTS].clear()
    return web.json_response(await _settings(request))


async def _settings(request: web.Request) -> dict[str, Any]:
    store = request.app[GOVERNANCE]
    values = await store.values()
    changed, by, at = await store.changed_settings()
    return {
        "settings": values,
        "changed": sorted(changed),
        "changed_by": by or None,
        "changed_at": _timestamp(at),
        "summary": (await store.current()).summary(),
    }


@routes.get("/api/quartier/v1/me/sharing")
async def ledger(request: web.Request) -> web.Response:
    """A page of the caller's sharing ledger: each delivery of their content to another
    server, newest first; ``before`` the last id seen for the next page."""
    caller = await authenticate(request)
    limit = query_id(request, "limit") or 50
    if limit > MAX_PAGE:
        raise ValidationFailed(
            "invalid limit", details=[{"field": "limit", "message": f"1 to {MAX_PAGE}"}]
        )
    actor = request.app[SETTINGS].uris.actor(caller.member.username)
    query = SharedItem.filter(owner=actor)
    if (before := query_id(request, "before")) is not None:
        query = query.filter(id__lt=before)
    rows = await query.order_by("-id").limit(limit)
    return web.json_response([shared_item_to_api(row) for row in rows])


def shared_item_to_api(item: SharedItem) -> dict[str, Any]:
    """One entry of a member's sharing ledger."""
    return {
        "id": str(item.id),
        "kind": item.kind,
        "object": item.subject,
        "activity": item.activity_type,
        "server": item.host,
        "shared_at": _timestamp(item.shared_at),
    }
