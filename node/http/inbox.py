"""Inboxes: where other servers deliver activities.

    POST /inbox                     the shared inbox
    POST /users/{username}/inbox    a member's inbox
    POST /actor/inbox               the node's Application actor

Thin: the federation layer verifies and stores (see federation/inbound.py); this maps its
refusals to statuses. 202 means stored durably, or dropped because the community blocks the
sender (it must not learn that, nor retry); processing happens in the worker. The federation
mode refuses with 403 (federation/policy.py). An accepted delivery also tells the delivery
worker that the sender's server is up (its delayed deliveries go out now).
"""

from __future__ import annotations

from aiohttp import web

from federation.errors import (
    ForbiddenActivity,
    MalformedActivity,
    StoreFailed,
    UnverifiedSender,
)
from federation.inbound import InboundRequest, accept, addressed_to_us
from moderation.domains import authority_of
from node.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from node.groups.models import LocalGroup
from node.http.keys import (
    CLOCK,
    DELIVERY_WORKER,
    FEDERATION_POLICY,
    INBOUND_WORKER,
    INBOX_LOAD,
    INBOX_WRITER,
    RESOLVER,
    SETTINGS,
)
from node.members.models import Member

routes = web.RouteTableDef()

_ACTIVITY_TYPES = ("application/activity+json", "application/ld+json", "application/json")


@routes.post("/inbox")
@routes.post("/actor/inbox")
@routes.post(r"/groups/{slug:[a-z0-9_]{1,30}}/inbox")
@routes.post(r"/users/{username:[a-z0-9_]{1,30}}/inbox")
async def inbox(request: web.Request) -> web.Response:
    """Accept one signed delivery: 202 once stored (or dropped: blocked sender), 400/401/403
    with the reason otherwise."""
    if request.content_type not in _ACTIVITY_TYPES:
        raise UnsupportedMediaType("deliver activities as application/activity+json")
    # Counted while it is read, verified and stored: the inbound worker yields meanwhile.
    with request.app[INBOX_LOAD].request():
        return await _accept(request)


async def _accept(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    recipient = None
    slug = request.match_info.get("slug")
    if slug is not None and not await LocalGroup.exists(slug=slug):
        raise NotFound("no such actor")
    username = request.match_info.get("username")
    if username is not None:
        if not await Member.exists(username=username):
            raise NotFound("no such actor")
        recipient = settings.uris.actor(username)
    body = await request.read()
    delivery = InboundRequest(
        method=request.method,
        # As the sender addressed it: our public origin plus the path and query as received.
        url=settings.server.base_url + request.raw_path,
        headers=addressed_to_us(request.headers, settings.uris.domain),
        body=body,
        recipient=recipient,
    )
    try:
        outcome = await accept(
            delivery,
            request.app[RESOLVER],
            request.app[CLOCK](),
            request.app[FEDERATION_POLICY].inbox,
            request.app[INBOX_WRITER],
        )
    except MalformedActivity as exc:
        raise BadRequest(str(exc)) from None
    except UnverifiedSender as exc:
        raise Unauthorized(str(exc)) from None
    except ForbiddenActivity as exc:
        raise Forbidden(str(exc)) from None
    except StoreFailed:
        # Logged by the writer; the sender keeps the activity and retries: nothing is lost.
        raise ServiceUnavailable(
            "the activity could not be stored now; deliver it again later", retry_after=60
        ) from None
    if not (outcome.duplicate or outcome.dropped):
        request.app[INBOUND_WORKER].wake()
    if not outcome.dropped:
        # The sender's server is up: what we failed to deliver to it need not wait for its
        # next retry (no query unless deliveries to it are waiting).
        await request.app[DELIVERY_WORKER].host_answered(authority_of(outcome.signer))
    return web.Response(status=202)
