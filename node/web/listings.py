"""The listings' pages: browse and search, a listing, create and edit, my listings."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
