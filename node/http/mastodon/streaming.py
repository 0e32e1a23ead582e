"""The Mastodon streaming API: Server-Sent Events and WebSocket (node/mastodon/streaming.py)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
