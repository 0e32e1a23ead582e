"""Circles: groups inside the node (a building, a street, an association), and the other
nodes' circles our members joined.

POST   /api/quartier/v1/circles                         create (managers and admins)
GET    /api/quartier/v1/circles                         list
GET    /api/quartier/v1/circles/{slug}                  one, with the caller's membership
PATCH  /api/quartier/v1/circles/{slug}                  update (its moderators)
DELETE /api/quartier/v1/circles/{slug}                  delete (its moderators)
POST   /api/quartier/v1/circles/{slug}/join             join, or ask to
POST   /api/quartier/v1/circles/{slug}/leave            leave, or withdraw the request
GET    /api/quartier/v1/circles/{slug}/members          members and followers (members)
POST   /api/quartier/v1/circles/{slug}/members          add {"actor"} (managers, moderators)
PATCH  /api/quartier/v1/circles/{slug}/members/{id}     {"role"}: moderator or member
DELETE /api/quartier/v1/circles/{slug}/members/{id}     remove (moderators)
GET    /api/quartier/v1/circles/{slug}/requests         pending requests (moderators)
POST   /api/quartier/v1/circles/{slug}/requests/{id}/{approve|reject}
GET    /api/quartier/v1/circles/{slug}/posts[?before=ID]         posts, 50 a page (members)
POST   /api/quartier/v1/circles/{slug}/posts            post {"text"} (members)
DELETE /api/quartier/v1/circles/{slug}/posts/{id}       remove (its author, moderators)
GET    /api/quartier/v1/me/circles                      other nodes' circles I joined
POST   /api/quartier/v1/me/circles                      join one {"circle": handle or URL}
GET    /api/quartier/v1/me/circles/posts?circle=<actor id>[&before=ID]  its posts
POST   /api/quartier/v1/me/circles/posts                post to it {"circle", "text"}
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from node.circles.models import (
    JOINED,
    Circle,
    CircleKind,
    CircleMember,
    CircleRole,
    JoinPolicy,
    MembershipState,
)
from node.circles.render import circle_to_json, membership_to_json, post_to_json
from node.circles.service import MAX_POST, CircleService
from node.errors import Forbidden, ValidationFailed
from node.follows.render import follow_to_api
from node.http.auth import Caller, authenticate, require_role
from node.http.keys import CIRCLES, CONTENT, SETTINGS
from node.http.parsing import Body, read_json
from node.members.models import Member, Role
from node.moderation.safety import Creation

routes = web.RouteTableDef()

SLUG = r"{slug:[a-z0-9_]{1,30}}"
ROW = r"{row_id:\d{1,9}}"
SLUG_PATTERN = r"^[a-z0-9_]{2,30}$"


class NewCircle(Body):
    slug: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    summary: str = Field(default="", max_length=2000)
    kind: CircleKind = Field(strict=False)
    join_policy: JoinPolicy = Field(default=JoinPolicy.OPEN, strict=False)
    partners_may_join: bool = False
    public: bool = True


class CircleChange(Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    summary: str | None = Field(default=None, max_length=2000)
    kind: CircleKind | None = Field(default=None, strict=False)
    join_policy: JoinPolicy | None = Field(default=None, strict=False)
    partners_may_join: bool | None = None
    public: bool | None = None


class NewPost(Body):
    text: str = Field(min_length=1, max_length=MAX_POST)


class NewRemotePost(NewPost):
    circle: str = Field(min_length=8, max_length=2048)


class NewMember(Body):
    actor: str = Field(min_length=1, max_length=2048)


class RoleChange(Body):
    role: Literal["member", "moderator"]


class Removal(Body):
    reason: str = Field(default="", max_length=500)


class RemoteCircle(Body):
    circle: str = Field(min_length=3, max_length=2048)


@routes.post("/api/quartier/v1/circles")
async def create(request: web.Request) -> web.Response:
    """A new circle (managers and admins); its creator moderates it. 201."""
    caller = await require_role(request, Role.MANAGER)
    body = await read_json(request, NewCircle)
    circle = await request.app[CIRCLES].create(
        caller.member,
        body.slug,
        body.name,
        body.summary,
        body.kind,
        body.join_policy,
        partners_may_join=body.partners_may_join,
        public=body.public,
    )
    return web.json_response(await _circle(request, circle, caller.member), status=201)


@routes.get("/api/quartier/v1/circles")
async def listed(request: web.Request) -> web.Response:
    """The node's circles."""
    caller = await authenticate(request)
    circles = await Circle.filter(deleted_at__isnull=True).order_by("name")
    return web.json_response([await _circle(request, c, caller.member) for c in circles])


@routes.get(rf"/api/quartier/v1/circles/{SLUG}")
async def one(request: web.Request) -> web.Response:
    """One circle, with the caller's membership."""
    caller = await authenticate(request)
    circle = await request.app[CIRCLES].get(request.match_info["slug"])
    return web.json_response(await _circle(request, circle, caller.member))


@routes.patch(rf"/api/quartier/v1/circles/{SLUG}")
async def update(request: web.Request) -> web.Response:
    """Change a circle's name, summary, kind or policies (its moderators)."""
    caller, service, circle = await _addressed(request)
    body = await read_json(request, CircleChange)
    await service.require_moderator(circle, caller.member)
    changed = body.model_dump(exclude_none=True)
    if changed:
        circle.update_from_dict(changed)
        await circle.save(update_fields=list(changed))
    return web.json_response(await _circle(request, circle, caller.member))


@routes.delete(rf"/api/quartier/v1/circles/{SLUG}")
async def delete(request: web.Request) -> web.Response:
    """Delete a circle (its moderators). 204."""
    caller = await authenticate(request)
    service = request.app[CIRCLES]
    await service.delete(await service.get(request.match_info["slug"]), caller.member)
    return web.Response(status=204)


@routes.post(rf"/api/quartier/v1/circles/{SLUG}/{{action:join|leave}}")
async def join_or_leave(request: web.Request) -> web.Response:
    """Join (200 with the membership: accepted, or pending a moderator), or leave (204)."""
    caller, service, circle = await _addressed(request)
    if request.match_info["action"] == "leave":
        await service.leave(circle, caller.member)
        return web.Response(status=204)
    return web.json_response(membership_to_json(await service.join(circle, caller.member)))


@routes.get(rf"/api/quartier/v1/circles/{SLUG}/members")
async def members(request: web.Request) -> web.Response:
    """Members, moderators and followers (for its members and moderators)."""
    caller = await authenticate(request)
    circle = await _readable(request, caller.member)
    rows = await request.app[CIRCLES].members(circle)
    return web.json_response([membership_to_json(r) for r in rows])


@routes.post(rf"/api/quartier/v1/circles/{SLUG}/members")
async def add_member(request: web.Request) -> web.Response:
    """Add a member (managers and the circle's moderators). 201."""
    caller, service, circle = await _addressed(request)
    body = await read_json(request, NewMember)
    row = await service.add(circle, caller.member, body.actor)
    return web.json_response(membership_to_json(row), status=201)


@routes.delete(rf"/api/quartier/v1/circles/{SLUG}/members/{ROW}")
async def remove_member(request: web.Request) -> web.Response:
    """Remove a member or follower (moderators; an optional JSON body gives the reason)."""
    caller, service, circle = await _addressed(request)
    reason = (await _removal(request)).reason
    await service.remove(circle, caller.member, int(request.match_info["row_id"]), reason)
    return web.Response(status=204)


@routes.patch(rf"/api/quartier/v1/circles/{SLUG}/members/{ROW}")
async def set_role(request: web.Request) -> web.Response:
    """Make a member of this node a moderator, or a moderator a member (moderators)."""
    caller, service, circle = await _addressed(request)
    body = await read_json(request, RoleChange)
    row = await service.set_role(
        circle, caller.member, int(request.match_info["row_id"]), CircleRole(body.role)
    )
    return web.json_response(membership_to_json(row))


@routes.get(rf"/api/quartier/v1/circles/{SLUG}/requests")
async def requests(request: web.Request) -> web.Response:
    """Who asks to join (moderators)."""
    caller, service, circle = await _addressed(request)
    rows = await service.requests(circle, caller.member)
    return web.json_response([membership_to_json(r) for r in rows])


@routes.post(rf"/api/quartier/v1/circles/{SLUG}/requests/{ROW}/{{decision:approve|reject}}")
async def decide(request: web.Request) -> web.Response:
    """Approve or refuse a request to join (moderators). 204."""
    caller, service, circle = await _addressed(request)
    accept = request.match_info["decision"] == "approve"
    await service.decide(circle, caller.member, int(request.match_info["row_id"]), accept=accept)
    return web.Response(status=204)


@routes.get(rf"/api/quartier/v1/circles/{SLUG}/posts")
async def posts(request: web.Request) -> web.Response:
    """The circle's newest posts (members, and the node's admins and moderators)."""
    caller = await authenticate(request)
    circle = await _readable(request, caller.member)
    group = request.app[SETTINGS].uris.group(circle.slug)
    rows = await request.app[CIRCLES].posts(group, before=_before(request))
    return web.json_response([post_to_json(p) for p in rows])


@routes.post(rf"/api/quartier/v1/circles/{SLUG}/posts")
async def new_post(request: web.Request) -> web.Response:
    """Post to the circle (members). 201."""
    caller, service, circle = await _addressed(request)
    body = await read_json(request, NewPost)
    request.app[CONTENT].count(Creation.MESSAGE, caller.member)
    post = await service.post(circle, caller.member, body.text)
    return web.json_response(post_to_json(post), status=201)


@routes.delete(rf"/api/quartier/v1/circles/{SLUG}/posts/{ROW}")
async def remove_post(request: web.Request) -> web.Response:
    """Remove a post (its author, or a moderator: audited); gone on every node. 204."""
    caller, service, circle = await _addressed(request)
    reason = (await _removal(request)).reason
    await service.remove_post(circle, caller.member, int(request.match_info["row_id"]), reason)
    return web.Response(status=204)


@routes.get("/api/quartier/v1/me/circles")
async def my_remote_circles(request: web.Request) -> web.Response:
    """The other nodes' circles the caller joined (or asked to)."""
    caller = await authenticate(request)
    rows = await request.app[CIRCLES].joined_remote(caller.member)
    return web.json_response([follow_to_api(r) for r in rows])


@routes.post("/api/quartier/v1/me/circles")
async def join_remote(request: web.Request) -> web.Response:
    """Join another node's circle (a Follow of its group). 201 with the (pending) follow."""
    caller = await authenticate(request)
    body = await read_json(request, RemoteCircle)
    request.app[CONTENT].count(Creation.FOLLOW, caller.member)
    row = await request.app[CIRCLES].join_remote(caller.member, body.circle)
    return web.json_response(follow_to_api(row), status=201)


@routes.get("/api/quartier/v1/me/circles/posts")
async def remote_posts(request: web.Request) -> web.Response:
    """Posts of another node's circle the caller joined."""
    caller = await authenticate(request)
    circle = request.query.get("circle", "")
    if not 8 <= len(circle) <= 2048:
        raise ValidationFailed(
            "give the circle", details=[{"field": "circle", "message": "the circle's actor id"}]
        )
    service = request.app[CIRCLES]
    if not await service.may_read_remote(caller.member, circle):
        raise Forbidden("join the circle first")
    rows = await service.posts(circle, before=_before(request))
    return web.json_response([post_to_json(p) for p in rows])


@routes.post("/api/quartier/v1/me/circles/posts")
async def remote_post(request: web.Request) -> web.Response:
    """Post to another node's circle the caller joined. 201."""
    caller = await authenticate(request)
    body = await read_json(request, NewRemotePost)
    request.app[CONTENT].count(Creation.MESSAGE, caller.member)
    post = await request.app[CIRCLES].post_remote(caller.member, body.circle, body.text)
    return web.json_response(post_to_json(post), status=201)


async def _addressed(request: web.Request) -> tuple[Caller, CircleService, Circle]:
    """The caller, the circles service and the circle the request's path names (401, 404)."""
    caller = await authenticate(request)
    service = request.app[CIRCLES]
    return caller, service, await service.get(request.match_info["slug"])


async def _readable(request: web.Request, member: Member) -> Circle:
    """The circle of the request, which ``member`` may read (its members, and whoever may
    moderate it), else 403."""
    service = request.app[CIRCLES]
    circle = await service.get(request.match_info["slug"])
    me = request.app[SETTINGS].uris.actor(member.username)
    if not (await service.is_member(circle, me) or await service.may_moderate(circle, member)):
        raise Forbidden("only the circle's members read it")
    return circle


def _before(request: web.Request) -> int | None:
    """The ``before`` query parameter (a post id: the next page is older than it)."""
    raw = request.query.get("before")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        message = "a post id (the last one of the previous page)"
        raise ValidationFailed(
            "the query is not valid", details=[{"field": "before", "message": message}]
        )
    return int(raw)


async def _removal(request: web.Request) -> Removal:
    """The optional body of a removal (its reason)."""
    if not request.body_exists:
        return Removal()
    return await read_json(request, Removal)


async def _circle(request: web.Request, circle: Circle, member: Member) -> dict[str, Any]:
    service = request.app[CIRCLES]
    uris = request.app[SETTINGS].uris
    mine = await service.membership(circle, uris.actor(member.username))
    count = await CircleMember.filter(
        circle=circle, role__in=JOINED, state=MembershipState.ACCEPTED
    ).count()
    return circle_to_json(circle, uris, mine, count)
