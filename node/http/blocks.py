"""Domain blocks (admins).

GET    /api/quartier/v1/admin/domain_blocks   every block, by domain
POST   /api/quartier/v1/admin/domain_blocks   {"domain": "spam.example", "reason": "...",
                                               "severity": "suspend" | "silence"}
DELETE /api/quartier/v1/admin/domain_blocks/{domain}   lift a block

``severity`` is optional: ``suspend`` (the default, what a block always was) refuses the
server both ways and ends follows and conversations with it; ``silence`` accepts what it
sends but keeps it out of browse and search results (see docs/moderation.md). Both are also
moderators' decisions (``/api/quartier/v1/moderation/decisions``); a block made here goes to
the audit log, not among the decisions.

A block takes effect in this process at once; ``quartier blocks`` (another process) within
30 s (see moderation/blocks.py).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from moderation.domains import MAX_DOMAIN_LENGTH
from moderation.errors import AlreadyBlocked, BlockError, InvalidBlock, NoSuchBlock
from moderation.models import MAX_REASON_LENGTH, DomainBlock, Severity
from node.errors import Conflict, NodeError, NotFound, ValidationFailed
from node.http.auth import require_role
from node.http.keys import FEDERATION_POLICY, MODERATION
from node.http.parsing import Body, read_json
from node.members.models import Role

# The community's federation policy (mode, blocks, partnerships), made in create_app. Kept
# here rather than in node/http/keys.py only because that module had another owner when this
# was written: it belongs there.

routes = web.RouteTableDef()


class NewBlock(Body):
    domain: str = Field(min_length=1, max_length=MAX_DOMAIN_LENGTH)
    reason: str = Field(default="", max_length=MAX_REASON_LENGTH)
    severity: Severity = Field(default=Severity.SUSPEND, strict=False)


def block_to_api(block: DomainBlock) -> dict[str, Any]:
    """A domain block as admins see it."""
    return {
        "domain": block.host,
        "reason": block.reason,
        "severity": block.severity.value,
        "created_at": block.created_at.isoformat().replace("+00:00", "Z"),
    }


def block_error(exc: BlockError) -> NodeError:
    """The HTTP error for a block that cannot be added or removed."""
    if isinstance(exc, InvalidBlock):
        return ValidationFailed(
            "the domain block is not valid", details=[{"field": exc.field, "message": str(exc)}]
        )
    if isinstance(exc, AlreadyBlocked):
        return Conflict(str(exc))
    if isinstance(exc, NoSuchBlock):
        return NotFound(str(exc))
    return NodeError()


@routes.get("/api/quartier/v1/admin/domain_blocks")
async def list_blocks(request: web.Request) -> web.Response:
    """Every domain block, alphabetically."""
    await require_role(request, Role.ADMIN)
    blocks = await request.app[FEDERATION_POLICY].blocks.all()
    return web.json_response([block_to_api(b) for b in blocks])


@routes.post("/api/quartier/v1/admin/domain_blocks")
async def add_block(request: web.Request) -> web.Response:
    """Block a domain and its subdomains; 201 with the block as stored (normalised)."""
    caller = await require_role(request, Role.ADMIN)
    body = await read_json(request, NewBlock)
    try:
        block = await request.app[MODERATION].block_domain(
            caller.member.username, body.domain, body.reason, body.severity
        )
    except BlockError as exc:
        raise block_error(exc) from None
    return web.json_response(block_to_api(block), status=201)


@routes.delete("/api/quartier/v1/admin/domain_blocks/{domain}")
async def remove_block(request: web.Request) -> web.Response:
    """Lift a block; 204."""
    caller = await require_role(request, Role.ADMIN)
    try:
        await request.app[MODERATION].unblock_domain(
            caller.member.username, request.match_info["domain"]
        )
    except BlockError as exc:
        raise block_error(exc) from None
    return web.Response(status=204)
