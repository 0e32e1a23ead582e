"""A member's own pages: messages, notifications, saved searches, profile and settings,
verification."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
