"""What apps read on start: the instance, its limits, and the features we have none of.

    GET /api/v1/instance, /api/v2/instance         the node, its limits and contact
    GET /api/v1/instance/rules                     the community's rules (none are kept yet)
    GET /api/v1/custom_emojis                      [] (no custom emojis)
    GET /api/v1/preferences                        posting and reading defaults
    GET /api/v1/lists, /trends/*, /followed_tags,
        /bookmarks, /favourites, /endorsements,
        /featured_tags, /filters, /api/v2/filters  [] (features Quartier does not have)

The version we report is a Mastodon version first (``4.3.0 (compatible; Quartier x.y)``, as
Akkoma and Pleroma do): apps and Mastodon.py choose endpoints by it, and a ``0.x`` would send
them to removed v1 endpoints.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import __version__
from node.http.keys import SETTINGS
from node.http.mastodon.common import SLASH, member, renderer, reply
from node.members.models import Member, Role
from node.statuses.models import Status

MASTODON_VERSION = "4.3.0"
API_VERSION = 2  # what Mastodon 4.3.0 reports in api_versions
MAX_CHARACTERS = 5000
MAX_MEDIA = 4
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")

routes = web.RouteTableDef()


def version() -> str:
    """The version string apps parse."""
    return f"{MASTODON_VERSION} (compatible; Quartier {__version__})"


def _configuration(request: web.Request) -> dict[str, Any]:
    media = request.app[SETTINGS].media
    return {
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {
            "max_characters": MAX_CHARACTERS,
            "max_media_attachments": MAX_MEDIA,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": list(IMAGE_TYPES),
            "image_size_limit": media.max_upload_bytes,
            "image_matrix_limit": media.max_pixels,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
            "description_limit": 1500,
        },
        "polls": {
            # Members cannot start polls: an app that reads 0 options hides the poll button.
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 300,
            "max_expiration": 2_629_746,
        },
    }


def _streaming_url(request: web.Request) -> str:
    base = request.app[SETTINGS].server.base_url
    return "wss://" + base[8:] if base.startswith("https://") else "ws://" + base[7:]


async def _contact(request: web.Request) -> dict[str, Any] | None:
    admin = await Member.filter(role=Role.ADMIN, suspended_at=None).order_by("id").first()
    if admin is None:
        return None
    return await renderer(request).account(request.app[SETTINGS].uris.actor(admin.username))


def _languages(request: web.Request) -> list[str]:
    return list(request.app[SETTINGS].community.languages)


@routes.get("/api/v1/instance" + SLASH)
async def instance_v1(request: web.Request) -> web.Response:
    """The v1 instance (Mastodon.py and older apps read ``version`` and ``urls`` here)."""
    settings = request.app[SETTINGS]
    community = settings.community
    configuration = _configuration(request)
    users = await Member.filter(suspended_at=None).count()
    statuses = await Status.filter(local=True).count()
    return reply(
        {
            "uri": settings.uris.domain,
            "title": community.name,
            "short_description": community.description[:200],
            "description": community.description,
            "email": "",
            "version": version(),
            "urls": {"streaming_api": _streaming_url(request)},
            "stats": {"user_count": users, "status_count": statuses, "domain_count": 0},
            "thumbnail": f"{settings.server.base_url}/static/header.png",
            "languages": _languages(request),
            # Invites only: nobody signs up from an app.
            "registrations": False,
            "approval_required": False,
            "invites_enabled": True,
            "configuration": configuration,
            "contact_account": await _contact(request),
            "rules": [],
            # Toot! and Florence read this older key.
            "max_toot_chars": MAX_CHARACTERS,
        }
    )


@routes.get("/api/v2/instance" + SLASH)
async def instance_v2(request: web.Request) -> web.Response:
    """The v2 instance (Ivory, Ice Cubes, Elk, Phanpy)."""
    settings = request.app[SETTINGS]
    community = settings.community
    base = settings.server.base_url
    configuration = _configuration(request)
    configuration["urls"] = {"streaming": _streaming_url(request), "status": None}
    configuration["vapid"] = {"public_key": ""}
    configuration["translation"] = {"enabled": False}
    users = await Member.filter(suspended_at=None).count()
    return reply(
        {
            "domain": settings.uris.domain,
            "title": community.name,
            "version": version(),
            # Where the node says which software it runs and how to get it (AGPL).
            "source_url": f"{base}/about",
            "description": community.description,
            "usage": {"users": {"active_month": users}},
            "thumbnail": {"url": f"{base}/static/header.png"},
            "icon": [{"src": f"{base}/static/avatar.png", "size": "96x96"}],
            "languages": _languages(request),
            "configuration": configuration,
            "registrations": {
                "enabled": False,
                "approval_required": False,
                "message": "Members join with an invite from a neighbour or the node's staff.",
                "url": None,
            },
            "api_versions": {"mastodon": API_VERSION},
            "contact": {"email": "", "account": await _contact(request)},
            "rules": [],
        }
    )


@routes.get("/api/v1/instance/rules")
async def rules(request: web.Request) -> web.Response:
    """The server rules (the community keeps its rules on its about page, not as a list)."""
    return reply([])


@routes.get("/api/v1/custom_emojis")
async def custom_emojis(request: web.Request) -> web.Response:
    """No custom emojis."""
    return reply([])


@routes.get("/api/v1/preferences")
async def preferences(request: web.Request) -> web.Response:
    """The caller's posting and reading defaults."""
    caller = await member(request, "read:accounts")
    return reply(
        {
            "posting:default:visibility": "public",
            "posting:default:sensitive": False,
            "posting:default:language": caller.member.language or None,
            "posting:default:quote_policy": "nobody",
            "reading:expand:media": "default",
            "reading:expand:spoilers": False,
        }
    )


# Features Quartier does not have: an empty list, not a 404, so apps show an empty screen
# instead of an error.
_EMPTY = {
    "/api/v1/lists": "read:lists",
    "/api/v1/followed_tags": "read:follows",
    "/api/v1/bookmarks": "read:bookmarks",
    "/api/v1/favourites": "read:favourites",
    "/api/v1/endorsements": "read:accounts",
    "/api/v1/featured_tags": "read:accounts",
    "/api/v1/filters": "read:filters",
    "/api/v2/filters": "read:filters",
    "/api/v1/scheduled_statuses": "read:statuses",
}


def _empty(scope: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        await member(request, scope)
        return reply([])

    handler.__doc__ = f"An empty list (needs {scope})."
    return handler


for _path, _scope in _EMPTY.items():
    routes.get(_path + SLASH)(_empty(_scope))


@routes.get("/api/v1/trends{kind:(/tags|/statuses|/links)?}")
async def trends(request: web.Request) -> web.Response:
    """No trends: a neighbourhood is small enough to read."""
    return reply([])
