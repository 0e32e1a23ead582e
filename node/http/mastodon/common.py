"""What every Mastodon API handler needs: the caller with a scope, JSON out, the renderer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from node.http.auth import Caller, require_scope
from node.http.keys import SETTINGS
from node.mastodon.entities import Renderer
from node.mastodon.paging import link_header

RENDERER = web.AppKey("mastodon_renderer", Renderer)

# Routes Mastodon.py and other apps call with a trailing slash as well as without.
SLASH = "{slash:/?}"


def renderer(request: web.Request) -> Renderer:
    """The app's entity renderer."""
    return request.app[RENDERER]


async def member(request: web.Request, scope: str) -> Caller:
    """The calling member, whose token must cover ``scope``."""
    return await require_scope(request, scope)


def reply(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer as Mastodon sends it."""
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def paged(
    request: web.Request, items: Sequence[dict[str, Any]], ids: Sequence[int | str]
) -> web.Response:
    """A list with its ``Link`` header (``ids``: the paging ids of ``items``, newest first)."""
    link = link_header(request, request.app[SETTINGS].server.base_url, ids)
    return reply(list(items), headers={"Link": link} if link else None)
