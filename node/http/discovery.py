"""Discovery: WebFinger, host-meta, NodeInfo.

GET /.well-known/webfinger?resource=...[&rel=...]
GET /.well-known/host-meta            (XRD; host-meta.json for JSON)
GET /.well-known/nodeinfo             links to NodeInfo 2.1 and the Application actor
GET /nodeinfo/2.1
"""

from __future__ import annotations

import json
from datetime import timedelta

from aiohttp import web

from activitypub import discovery
from activitypub.errors import MalformedResource
from activitypub.media_types import JRD_JSON, asks_json_profile
from node import __version__
from node.actors.render import instance_username
from node.errors import BadRequest, NotFound
from node.groups.models import LocalGroup
from node.http.keys import CLOCK, GOVERNANCE, SETTINGS
from node.members.models import Member
from node.members.service import is_valid_username

routes = web.RouteTableDef()

NODEINFO_PROFILE_TYPE = f'application/json; profile="{discovery.NODEINFO_21_PROFILE}"'
JSON_TYPE = "application/json; charset=utf-8"


@routes.get("/.well-known/webfinger")
async def webfinger(request: web.Request) -> web.Response:
    """Resolve ``acct:user@domain``, an actor URL, or the node's origin (FEP-d556)."""
    settings = request.app[SETTINGS]
    uris = settings.uris
    try:
        resource = discovery.parse_resource(request.query.get("resource"))
    except MalformedResource as exc:
        raise BadRequest(str(exc)) from None
    rels = request.query.getall("rel", [])
    if isinstance(resource, discovery.OtherResource):
        raise NotFound(f"this node holds nothing for {resource.scheme}: resources")
    if isinstance(resource, discovery.AcctResource):
        if resource.domain != uris.domain.lower():
            raise NotFound("this node does not host that domain")
        username = resource.user
    else:
        if resource.origin != uris.base_url.lower():
            raise NotFound("this node does not host that URL")
        if resource.path in ("", "/"):
            links = discovery.server_actor_links(uris.instance_actor)
            # FEP-d556: the subject is the resource as asked (with or without the slash).
            subject = request.query["resource"]
            return _jrd_response(discovery.jrd(subject, links, [uris.instance_actor], rels))
        if resource.url == uris.instance_actor:
            username = instance_username(uris)
        elif uris.group_slug_from_actor(resource.url) is not None:
            username = uris.group_slug_from_actor(resource.url) or ""
        else:
            found = uris.username_from_actor(resource.url)
            if found is None:
                raise NotFound("no actor at that URL")
            username = found
    if username == instance_username(uris):
        actor_id = uris.instance_actor
    elif is_valid_username(username) and await LocalGroup.exists(slug=username):
        # Groups and members share the handle space: group slugs are reserved usernames.
        actor_id = uris.group(username)
    else:
        # Only what could be a username reaches the database (no NUL, no megabyte strings).
        exists = is_valid_username(username) and await Member.exists(username=username)
        if not exists:
            raise NotFound("no such member")
        actor_id = uris.actor(username)
    subject = f"acct:{username}@{uris.domain}"
    return _jrd_response(discovery.jrd(subject, discovery.actor_links(actor_id), [actor_id], rels))


@routes.get("/.well-known/host-meta")
async def host_meta(request: web.Request) -> web.Response:
    """host-meta XRD pointing at WebFinger."""
    template = request.app[SETTINGS].uris.webfinger_template
    return web.Response(text=discovery.host_meta_xml(template), content_type="application/xrd+xml")


@routes.get("/.well-known/host-meta.json")
async def host_meta_json(request: web.Request) -> web.Response:
    """host-meta as JSON."""
    template = request.app[SETTINGS].uris.webfinger_template
    return web.json_response(discovery.host_meta_json(template), content_type=JRD_JSON)


@routes.get("/.well-known/nodeinfo")
async def nodeinfo_index(request: web.Request) -> web.Response:
    """Links to NodeInfo 2.1 and to the Application actor (FEP-2677)."""
    uris = request.app[SETTINGS].uris
    doc = discovery.nodeinfo_index(uris.nodeinfo, uris.instance_actor)
    return web.json_response(doc)


@routes.get("/nodeinfo/2.1")
async def nodeinfo(request: web.Request) -> web.Response:
    """NodeInfo 2.1 with the community's description in ``metadata``."""
    settings = request.app[SETTINGS]
    now = request.app[CLOCK]()
    usage = discovery.NodeUsage(
        users_total=await Member.all().count(),
        active_month=await Member.filter(last_active_at__gt=now - timedelta(days=30)).count(),
        active_halfyear=await Member.filter(last_active_at__gt=now - timedelta(days=180)).count(),
        local_posts=0,
    )
    community = settings.community
    policy = await request.app[GOVERNANCE].current()
    metadata = {
        "nodeName": community.name,
        "nodeDescription": community.description,
        "community": {
            "area": community.area,
            "kind": community.kind.value,
            "languages": list(community.languages),
            "registration": "invite",
        },
        "federation": {
            "mode": policy.federation_mode.value,
            "summary": policy.federation_mode.summary,
        },
        "governance": policy.summary(),
        # What our inbox verifies: peers that read this sign to us with RFC 9421 (Ed25519),
        # as Quartier nodes do on seeing our software name (federation/signing.py).
        "httpSignatures": {"verifies": ["rfc9421", "draft-cavage-12"]},
    }
    doc = discovery.nodeinfo_document(
        software_version=__version__, usage=usage, open_registrations=False, metadata=metadata
    )
    # The profile only to who names it: GoToSocial refuses it (it takes plain JSON or the 2.0
    # profile) and then never learns our software name.
    if asks_json_profile(request.headers.get("Accept"), discovery.NODEINFO_21_PROFILE):
        content_type = NODEINFO_PROFILE_TYPE
    else:
        content_type = JSON_TYPE
    # body=, not text=: with text= aiohttp rebuilds the header and drops the profile's quotes.
    return web.Response(
        body=json.dumps(doc).encode("utf-8"),
        headers={"Content-Type": content_type, "Vary": "Accept"},
    )


def _jrd_response(doc: dict[str, object]) -> web.Response:
    return web.json_response(doc, content_type=JRD_JSON)
