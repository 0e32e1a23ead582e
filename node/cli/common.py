"""Helpers shared by the ``quartier`` commands: settings, database, member service."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from node.app import create_app, member_service
from node.clock import utc_now
from node.config import Settings, load_settings
from node.db import activated, open_database, require_current_schema
from node.http.keys import DATABASE
from node.members.service import MemberService

# Who the audit log names for what is done from the server's shell.
CLI_ACTOR = "operator (command line)"


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _member_service(settings: Settings) -> MemberService:
    return member_service(settings, utc_now)


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[None]:
    async with open_database(settings.database_url) as ctx:
        await require_current_schema(ctx)
        with activated(ctx):
            yield


@contextlib.asynccontextmanager
async def _node(settings: Settings) -> AsyncIterator[web.Application]:
    """The node's wiring (database, keys, transport, services) without a listener or worker."""
    app = create_app(settings, run_worker=False)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        with activated(app[DATABASE]):
            yield app
    finally:
        await runner.cleanup()
