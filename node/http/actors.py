"""Actor documents and their collections.

GET  /users/{username}                          Person
GET  /users/{username}/{outbox|followers|following}[?page=N]
GET  /users/{username}/featured                 pinned objects (none yet), unpaged
GET  /actor                                     the node's Application actor
GET  /actor/{outbox|followers|following}[?page=N]
GET  /actor/featured
GET  /groups/{slug}                             a Group (the neighbourhood)
GET  /groups/{slug}/{outbox|followers|following}[?page=N]
GET  /groups/{slug}/featured
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from activitypub.activities import AS_CONTEXT
from activitypub.collections import (
    ordered_collection,
    ordered_collection_page,
    whole_ordered_collection,
)
from activitypub.media_types import ACTIVITY_JSON, wants_activity_json
from activitypub.uris import UriScheme
from node.actors.models import InstanceActor
from node.actors.render import instance_to_ap
from node.circles.models import Circle, CircleMember, MembershipState
from node.circles.render import circle_to_ap
from node.errors import NotAcceptable, NotFound
from node.follows.models import Follow, FollowState
from node.groups.models import LocalGroup
from node.groups.render import group_to_ap
from node.http.keys import ACTOR_DOCUMENTS, CREDENTIALS, SETTINGS
from node.http.parsing import page_number
from node.http.signed import shared_with
from node.members.models import ErasedAccount, Member
from node.members.render import member_to_ap

routes = web.RouteTableDef()

COLLECTIONS = "outbox|followers|following"
_AP_HEADERS = {"Content-Type": f"{ACTIVITY_JSON}; charset=utf-8", "Vary": "Accept"}


# What a Person document needs; private keys and the password hash stay in the database.
PUBLIC_MEMBER_COLUMNS = (
    "id",
    "username",
    "display_name",
    "bio",
    "created_at",
    "real_name",
    "rsa_public_pem",
    "ed25519_multibase",
)
INSTANCE_ACTOR_KEY = "/actor"


@routes.get(r"/users/{username:[a-z0-9_]{1,30}}")
async def person(request: web.Request) -> web.Response:
    """A member's ``Person`` document (cached; dropped from the cache when the profile changes)."""
    _negotiate(request)
    username = request.match_info["username"]
    shown = await shared_with(request)
    # One cached document per variant the policy makes (a partner may see more than others).
    key = username if shown.everything else f"{username}|{shown.variant}"
    cache = request.app[ACTOR_DOCUMENTS]
    body = cache.get(key)
    if body is None:
        member = await Member.get_or_none(username=username).only(*PUBLIC_MEMBER_COLUMNS)
        if member is None:
            if await ErasedAccount.exists(username=username):
                return _gone(request.app[SETTINGS].uris.actor(username))
            raise NotFound("no such actor")
        residency = None
        if shown.credentials:
            residency = await request.app[CREDENTIALS].residency_of(member)
        doc = member_to_ap(
            member,
            request.app[SETTINGS].uris,
            residency=residency,
            profile=shown.profile,
            real_name=shown.real_name,
        )
        body = _encode(doc)
        cache.put(key, body)
    response = _ap_response(body)
    if shown.depends_on_signature:
        response.headers["Vary"] = "Accept, Signature"
        response.headers["Cache-Control"] = "private, no-store"
    return response


@routes.get("/actor")
async def application(request: web.Request) -> web.Response:
    """The node's ``Application`` actor (cached: it changes only with the settings)."""
    _negotiate(request)
    cache = request.app[ACTOR_DOCUMENTS]
    body = cache.get(INSTANCE_ACTOR_KEY)
    if body is None:
        settings = request.app[SETTINGS]
        actor = await InstanceActor.first()
        if actor is None:  # made at start-up; only a database wiped under a running node lacks it
            raise NotFound("the node actor does not exist")
        community = settings.community
        endorses = bool(await request.app[CREDENTIALS].endorsements())
        body = _encode(
            instance_to_ap(
                actor, settings.uris, community.name, community.description, endorses=endorses
            )
        )
        cache.put(INSTANCE_ACTOR_KEY, body)
    return _ap_response(body)


@routes.get(rf"/users/{{username:[a-z0-9_]{{1,30}}}}/{{collection:{COLLECTIONS}}}")
async def person_collection(request: web.Request) -> web.Response:
    """A member's outbox (empty until listings land), followers or following.

    Followers and following give their size only: who follows whom among neighbours is not
    published (as Mastodon lets members hide it), the pages are empty.
    """
    _negotiate(request)
    username = request.match_info["username"]
    if not await Member.exists(username=username):
        raise NotFound("no such actor")
    actor_id = request.app[SETTINGS].uris.actor(username)
    collection = request.match_info["collection"]
    accepted = Follow.filter(state=FollowState.ACCEPTED)
    if collection == "followers":
        total = await accepted.filter(followee=actor_id).count()
    elif collection == "following":
        total = await accepted.filter(follower=actor_id).count()
    else:
        total = 0
    return _collection(request, actor_id, total)


@routes.get(rf"/actor/{{collection:{COLLECTIONS}}}")
async def application_collection(request: web.Request) -> web.Response:
    """The Application actor's outbox, followers or following."""
    _negotiate(request)
    return _collection(request, request.app[SETTINGS].uris.instance_actor, 0)


@routes.get(r"/groups/{slug:[a-z0-9_]{1,30}}")
async def group(request: web.Request) -> web.Response:
    """A group's ``Group`` document."""
    _negotiate(request)
    row = await LocalGroup.get_or_none(slug=request.match_info["slug"])
    if row is None:
        raise NotFound("no such actor")
    settings = request.app[SETTINGS]
    circle = await Circle.get_or_none(group_id=row.id)
    if circle is not None and circle.deleted_at is not None:
        return _gone(settings.uris.group(circle.slug), "Group")
    if circle is not None:  # one of the node's circles: its own name and join policy
        return _ap_response(_encode(circle_to_ap(circle, row, settings.uris)))
    community = settings.community
    doc = group_to_ap(row, settings.uris, community.name, community.description)
    return _ap_response(_encode(doc))


@routes.get(rf"/groups/{{slug:[a-z0-9_]{{1,30}}}}/{{collection:{COLLECTIONS}}}")
async def group_collection(request: web.Request) -> web.Response:
    """A group's outbox, followers (their number only) or following."""
    _negotiate(request)
    slug = request.match_info["slug"]
    if not await LocalGroup.exists(slug=slug):
        raise NotFound("no such actor")
    actor_id = request.app[SETTINGS].uris.group(slug)
    total = 0
    if request.match_info["collection"] == "followers":
        total = await Follow.filter(state=FollowState.ACCEPTED, followee=actor_id).count()
        # a circle's followers are its members and followers, kept with the circle
        total += await CircleMember.filter(
            circle__slug=slug, state=MembershipState.ACCEPTED
        ).count()
    return _collection(request, actor_id, total)


@routes.get(r"/groups/{slug:[a-z0-9_]{1,30}}/featured")
async def group_featured(request: web.Request) -> web.Response:
    """A group's pinned objects: none."""
    _negotiate(request)
    slug = request.match_info["slug"]
    if not await LocalGroup.exists(slug=slug):
        raise NotFound("no such actor")
    return _featured(request.app[SETTINGS].uris.group(slug))


@routes.get(r"/users/{username:[a-z0-9_]{1,30}}/featured")
async def person_featured(request: web.Request) -> web.Response:
    """A member's pinned objects: none until listings can be pinned."""
    _negotiate(request)
    username = request.match_info["username"]
    if not await Member.exists(username=username):
        raise NotFound("no such actor")
    return _featured(request.app[SETTINGS].uris.actor(username))


@routes.get("/actor/featured")
async def application_featured(request: web.Request) -> web.Response:
    """The Application actor's pinned objects: always none."""
    _negotiate(request)
    return _featured(request.app[SETTINGS].uris.instance_actor)


def _featured(actor_id: str) -> web.Response:
    return _ap_response(_encode(whole_ordered_collection(UriScheme.featured(actor_id), [])))


def _collection(request: web.Request, actor_id: str, total: int) -> web.Response:
    collection_id = f"{actor_id}/{request.match_info['collection']}"
    page = page_number(request)
    if page is None:
        return _ap_response(_encode(ordered_collection(collection_id, total_items=total)))
    page_doc = ordered_collection_page(collection_id, page, [], has_next=False)
    return _ap_response(_encode(page_doc))


def _gone(actor_id: str, former_type: str = "Person") -> web.Response:
    """410 with a Tombstone: the account was erased, or the circle deleted (other servers
    then forget it)."""
    tombstone = {
        "@context": AS_CONTEXT,
        "id": actor_id,
        "type": "Tombstone",
        "formerType": former_type,
    }
    return web.Response(status=410, body=_encode(tombstone), headers=_AP_HEADERS)


def _negotiate(request: web.Request) -> None:
    if not wants_activity_json(request.headers.get("Accept")):
        raise NotAcceptable(
            "this resource is available as application/activity+json or "
            'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
        )


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode("utf-8")


def _ap_response(body: bytes) -> web.Response:
    return web.Response(body=body, headers=_AP_HEADERS)
