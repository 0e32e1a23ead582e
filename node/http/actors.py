"""Actor documents and their collections.

GET  /users/{username}                          Person
GET  /users/{username}/{outbox|followers|following}[?page=N]
GET  /actor                                     the node's Application actor
GET  /actor/{outbox|followers|following}[?page=N]
POST /inbox, /users/{username}/inbox, /actor/inbox   not accepted yet (501)
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from activitypub.collections import ordered_collection, ordered_collection_page
from activitypub.media_types import ACTIVITY_JSON, wants_activity_json
from node.actors.models import InstanceActor
from node.actors.render import instance_to_ap
from node.errors import NodeError, NotAcceptable, NotFound
from node.http.keys import SETTINGS
from node.http.parsing import page_number
from node.members.models import Member
from node.members.render import member_to_ap

routes = web.RouteTableDef()

COLLECTIONS = "outbox|followers|following"
_AP_HEADERS = {"Content-Type": f"{ACTIVITY_JSON}; charset=utf-8", "Vary": "Accept"}


class FederationUnavailable(NodeError):
    status, code = 501, "federation_unavailable"


@routes.get(r"/users/{username:[a-z0-9_]{1,30}}")
async def person(request: web.Request) -> web.Response:
    """A member's ``Person`` document."""
    _negotiate(request)
    member = await Member.get_or_none(username=request.match_info["username"])
    if member is None:
        raise NotFound("no such actor")
    return _ap_response(member_to_ap(member, request.app[SETTINGS].uris))


@routes.get("/actor")
async def application(request: web.Request) -> web.Response:
    """The node's ``Application`` actor."""
    _negotiate(request)
    settings = request.app[SETTINGS]
    actor = await InstanceActor.first()
    if actor is None:  # created at start-up; only a database wiped under a running node lacks it
        raise NotFound("the node actor does not exist")
    doc = instance_to_ap(
        actor, settings.uris, settings.community.name, settings.community.description
    )
    return _ap_response(doc)


@routes.get(rf"/users/{{username:[a-z0-9_]{{1,30}}}}/{{collection:{COLLECTIONS}}}")
async def person_collection(request: web.Request) -> web.Response:
    """A member's outbox, followers or following: empty until federation lands."""
    _negotiate(request)
    username = request.match_info["username"]
    if not await Member.exists(username=username):
        raise NotFound("no such actor")
    actor_id = request.app[SETTINGS].uris.actor(username)
    return _empty_collection(request, actor_id)


@routes.get(rf"/actor/{{collection:{COLLECTIONS}}}")
async def application_collection(request: web.Request) -> web.Response:
    """The Application actor's outbox, followers or following."""
    _negotiate(request)
    return _empty_collection(request, request.app[SETTINGS].uris.instance_actor)


@routes.post("/inbox")
@routes.post(r"/users/{username:[a-z0-9_]{1,30}}/inbox")
@routes.post("/actor/inbox")
async def inbox(request: web.Request) -> web.Response:
    """Inboxes are advertised but this version does not accept activities yet."""
    raise FederationUnavailable("this node does not accept ActivityPub deliveries yet")


def _empty_collection(request: web.Request, actor_id: str) -> web.Response:
    collection_id = f"{actor_id}/{request.match_info['collection']}"
    page = page_number(request)
    if page is None:
        return _ap_response(ordered_collection(collection_id, total_items=0))
    return _ap_response(ordered_collection_page(collection_id, page, [], has_next=False))


def _negotiate(request: web.Request) -> None:
    if not wants_activity_json(request.headers.get("Accept")):
        raise NotAcceptable(
            "this resource is available as application/activity+json or "
            'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
        )


def _ap_response(doc: dict[str, Any]) -> web.Response:
    return web.Response(text=json.dumps(doc), headers=_AP_HEADERS)
