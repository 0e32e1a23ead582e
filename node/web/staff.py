"""The staff pages: invites, members and roles, verification queue, moderation, partnerships,
domain blocks, governance."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
