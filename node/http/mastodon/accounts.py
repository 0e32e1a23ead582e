"""Accounts, follows, blocks and mutes, as Mastodon apps ask for them.

    GET   /api/v1/accounts/verify_credentials       the caller (CredentialAccount)
    PATCH /api/v1/accounts/update_credentials       display_name, note, source[language]
    GET   /api/v1/accounts/{id}                     an account
    GET   /api/v1/accounts/lookup?acct=             by handle, without asking other servers
    GET   /api/v1/accounts/search?q=&resolve=       members here and known accounts
    GET   /api/v1/accounts/relationships?id[]=      the caller's relationship with each
    GET   /api/v1/accounts/{id}/followers|following
    POST  /api/v1/accounts/{id}/follow|unfollow     (follow requests wait for approval)
    POST  /api/v1/accounts/{id}/block|unblock|mute|unmute
    GET   /api/v1/follow_requests                   who asks to follow the caller
    POST  /api/v1/follow_requests/{id}/authorize|reject
    GET   /api/v1/blocks, /api/v1/mutes

Members are "locked" accounts in Mastodon's terms: every follow is a request the member
approves (docs/follows.md), so a follow answers ``requested: true`` until then. Accounts are
shown to members only (a token is needed): a community's profiles are not for everyone.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from tortoise.expressions import Q

from federation.models import RemoteActor
from node.errors import NodeError, NotFound
from node.follows.models import Follow, FollowState
from node.http.auth import Caller
from node.http.keys import FOLLOWS, MEMBERS, RELATIONS, SETTINGS
from node.http.mastodon.common import SLASH, member, paged, renderer, reply
from node.mastodon.paging import fetch, read_page
from node.mastodon.params import Params, ValidationError, read_params
from node.members.models import Member
from node.relations.models import MemberRelation, RelationKind, RemoteBlock
from node.statuses.models import AccountRef
from node.statuses.service import account_ids

routes = web.RouteTableDef()

ID = r"{id:\d{1,19}}"


async def actor_of(account_id: str) -> str:
    """The actor id behind a client API account id, or 404."""
    ref = await AccountRef.get_or_none(id=int(account_id))
    if ref is None:
        raise NotFound("Record not found")
    return ref.actor


def _me(request: web.Request, caller: Caller) -> str:
    return request.app[SETTINGS].uris.actor(caller.member.username)


@routes.get("/api/v1/accounts/verify_credentials" + SLASH)
async def verify_credentials(request: web.Request) -> web.Response:
    """The caller's own account."""
    caller = await member(request, "read:accounts")
    return reply(await renderer(request).credential_account(caller.member))


@routes.patch("/api/v1/accounts/update_credentials" + SLASH)
async def update_credentials(request: web.Request) -> web.Response:
    """Change the display name, the bio (``note``) and the language; other Mastodon
    settings (avatar, header, locked, bot, fields) are not Quartier's and are ignored."""
    caller = await member(request, "write:accounts")
    params = await read_params(request)
    source = params.mapping("source")
    language = source.get("language")
    if language is not None and not isinstance(language, str):
        raise ValidationError("source[language] must be a string")
    await request.app[MEMBERS].update_profile(
        caller.member,
        display_name=params.text("display_name", limit=100),
        bio=params.text("note", limit=2000),
        language=language or None,
    )
    return reply(await renderer(request).credential_account(caller.member))


@routes.get("/api/v1/accounts/lookup" + SLASH)
async def lookup(request: web.Request) -> web.Response:
    """An account by handle (``user`` here, ``user@host`` elsewhere), among those known."""
    await member(request, "read:accounts")
    params = await read_params(request)
    acct = (params.text("acct", limit=300) or "").removeprefix("@")
    actor = await _known_actor(request, acct)
    if actor is None:
        raise NotFound("Record not found")
    return reply(await renderer(request).account(actor))


async def _known_actor(request: web.Request, acct: str) -> str | None:
    uris = request.app[SETTINGS].uris
    username, _, host = acct.partition("@")
    if not username:
        return None
    if not host or host.lower() == uris.domain:
        found = await Member.get_or_none(username=username.lower())
        return uris.actor(found.username) if found else None
    row = await RemoteActor.get_or_none(preferred_username=username, host=host.lower())
    return row.uri if row else None


@routes.get("/api/v1/accounts/search" + SLASH)
async def search_accounts(request: web.Request) -> web.Response:
    """Accounts whose name or handle starts with ``q``; ``resolve`` asks another server
    for a full handle it does not know yet."""
    caller = await member(request, "read:accounts")
    params = await read_params(request)
    limit = min(params.integer("limit", 40, low=1) or 40, 80)
    found = await find_accounts(request, caller, params, limit)
    rendered = await renderer(request).accounts(found)
    return reply([rendered[a] for a in found])


async def find_accounts(
    request: web.Request, caller: Caller, params: Params, limit: int
) -> list[str]:
    """Actor ids matching ``q`` (shared with search v2)."""
    q = (params.text("q", limit=300) or "").strip().removeprefix("@")
    if not q:
        return []
    uris = request.app[SETTINGS].uris
    if "@" in q.strip("@"):
        actor = await _known_actor(request, q)
        if actor is None and params.flag("resolve"):
            try:
                actor = await request.app[FOLLOWS].resolve(q)
            except NodeError:  # unknown or unreachable: an empty result, as on Mastodon
                actor = None
        return [actor] if actor else []
    members = await Member.filter(
        Q(username__istartswith=q) | Q(display_name__icontains=q), suspended_at=None
    ).limit(limit)
    found = [uris.actor(m.username) for m in members]
    remote = await RemoteActor.filter(preferred_username__istartswith=q).limit(
        max(0, limit - len(found))
    )
    return found + [r.uri for r in remote]


@routes.get("/api/v1/accounts/relationships" + SLASH)
async def relationships(request: web.Request) -> web.Response:
    """The caller's relationship with each account asked for, in the order asked."""
    caller = await member(request, "read:follows")
    params = await read_params(request)
    wanted = [i for i in params.strings("id", limit=100) if i.isdigit() and len(i) <= 19]
    refs = {str(r.id): r.actor for r in await AccountRef.filter(id__in=[int(i) for i in wanted])}
    actors = [refs[i] for i in wanted if i in refs]
    found = await relationships_with(request, caller, actors)
    return reply([found[refs[i]] for i in wanted if i in refs])


async def relationships_with(
    request: web.Request, caller: Caller, actors: list[str]
) -> dict[str, dict[str, Any]]:
    """The Relationship entity of the caller with each of ``actors``."""
    me = _me(request, caller)
    ids = await account_ids(actors)
    out_follows = {f.followee: f for f in await Follow.filter(follower=me, followee__in=actors)}
    in_follows = {f.follower: f for f in await Follow.filter(followee=me, follower__in=actors)}
    relations = await MemberRelation.filter(owner=caller.member, target__in=actors)
    blocking = {r.target for r in relations if r.kind == RelationKind.BLOCK}
    muting = {r.target for r in relations if r.kind == RelationKind.MUTE}
    blocked_by: set[str] = {
        str(a)
        for a in await RemoteBlock.filter(member=caller.member, actor__in=actors).values_list(
            "actor", flat=True
        )
    }
    uris = request.app[SETTINGS].uris
    local = {a: n for a in actors if (n := uris.username_from_actor(a))}
    if local:
        owners = await MemberRelation.filter(
            owner__username__in=list(local.values()), target=me, kind=RelationKind.BLOCK
        ).values_list("owner__username", flat=True)
        blocked_by.update(uris.actor(str(n)) for n in owners)
    found = {}
    for actor in actors:
        out, inc = out_follows.get(actor), in_follows.get(actor)
        found[actor] = {
            "id": str(ids[actor]),
            "following": bool(out and out.state == FollowState.ACCEPTED),
            "showing_reblogs": bool(out),
            "notifying": False,
            "languages": None,
            "followed_by": bool(inc and inc.state == FollowState.ACCEPTED),
            "blocking": actor in blocking,
            "blocked_by": actor in blocked_by,
            "muting": actor in muting,
            "muting_notifications": actor in muting,
            "requested": bool(out and out.state == FollowState.PENDING),
            "requested_by": bool(inc and inc.state == FollowState.PENDING),
            "domain_blocking": False,
            "endorsed": False,
            "note": "",
        }
    return found


@routes.get(f"/api/v1/accounts/{ID}" + SLASH)
async def account(request: web.Request) -> web.Response:
    """One account."""
    await member(request, "read:accounts")
    actor = await actor_of(request.match_info["id"])
    return reply(await renderer(request).account(actor))


@routes.get(f"/api/v1/accounts/{ID}/{{direction:followers|following}}")
async def follow_lists(request: web.Request) -> web.Response:
    """Who follows an account, or whom it follows, among the follows this node knows."""
    await member(request, "read:accounts")
    actor = await actor_of(request.match_info["id"])
    page = read_page(await read_params(request), default=40, most=80)
    follower = request.match_info["direction"] == "followers"
    query = Follow.filter(state=FollowState.ACCEPTED)
    query = query.filter(followee=actor) if follower else query.filter(follower=actor)
    rows = await fetch(query, page)
    others = [r.follower if follower else r.followee for r in rows]
    rendered = await renderer(request).accounts(others)
    return paged(request, [rendered[a] for a in others], [r.id for r in rows])


@routes.post(f"/api/v1/accounts/{ID}/{{action:follow|unfollow}}")
async def follow(request: web.Request) -> web.Response:
    """Ask to follow (answered ``requested`` until the account approves), or stop."""
    caller = await member(request, "write:follows")
    actor = await actor_of(request.match_info["id"])
    follows = request.app[FOLLOWS]
    if request.match_info["action"] == "follow":
        await follows.follow(caller.member, actor)
    else:
        row = await Follow.get_or_none(follower=_me(request, caller), followee=actor)
        if row is not None:
            await follows.unfollow(caller.member, row.id)
    return reply((await relationships_with(request, caller, [actor]))[actor])


@routes.post(f"/api/v1/accounts/{ID}/{{action:block|unblock|mute|unmute}}")
async def block_or_mute(request: web.Request) -> web.Response:
    """Block or mute an account, or lift it."""
    action = request.match_info["action"]
    kind = RelationKind.BLOCK if action.endswith("block") else RelationKind.MUTE
    caller = await member(request, f"write:{kind.value}s")
    actor = await actor_of(request.match_info["id"])
    relations = request.app[RELATIONS]
    if action.startswith("un"):
        if await MemberRelation.exists(owner=caller.member, target=actor, kind=kind):
            await relations.remove(caller.member, kind, actor)
    else:
        await relations.add(caller.member, kind, actor)
    return reply((await relationships_with(request, caller, [actor]))[actor])


@routes.get("/api/v1/{kinds:blocks|mutes}" + SLASH)
async def blocked_or_muted(request: web.Request) -> web.Response:
    """The accounts the caller blocks (or mutes), newest first."""
    kind = RelationKind.BLOCK if request.match_info["kinds"] == "blocks" else RelationKind.MUTE
    caller = await member(request, f"read:{kind.value}s")
    page = read_page(await read_params(request), default=40, most=80)
    rows = await fetch(MemberRelation.filter(owner=caller.member, kind=kind), page)
    rendered = await renderer(request).accounts([r.target for r in rows])
    return paged(request, [rendered[r.target] for r in rows], [r.id for r in rows])


@routes.get("/api/v1/follow_requests" + SLASH)
async def follow_requests(request: web.Request) -> web.Response:
    """Who asks to follow the caller."""
    caller = await member(request, "read:follows")
    page = read_page(await read_params(request), default=40, most=80)
    query = Follow.filter(followee=_me(request, caller), state=FollowState.PENDING)
    rows = await fetch(query, page)
    rendered = await renderer(request).accounts([r.follower for r in rows])
    return paged(request, [rendered[r.follower] for r in rows], [r.id for r in rows])


@routes.post(f"/api/v1/follow_requests/{ID}/{{decision:authorize|reject}}")
async def decide(request: web.Request) -> web.Response:
    """Approve or refuse the follow request of an account."""
    caller = await member(request, "write:follows")
    actor = await actor_of(request.match_info["id"])
    row = await Follow.get_or_none(
        follower=actor, followee=_me(request, caller), state=FollowState.PENDING
    )
    if row is None:
        raise NotFound("Record not found")
    accept = request.match_info["decision"] == "authorize"
    await request.app[FOLLOWS].decide(caller.member, row.id, accept=accept)
    return reply((await relationships_with(request, caller, [actor]))[actor])
