"""Helpers shared by the ``quartier`` commands: settings, database, member service.

The node's wiring (node.app, about a second to import) is imported by the helpers that need
it, when called: a command that stops at its settings or at an unmigrated database, or one
that needs only the database (``migrate``, ``open311 keys``), does without it.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from node.clock import utc_now
from node.config import Settings, load_settings
from node.db import activated, open_database, require_current_schema

if TYPE_CHECKING:
    from aiohttp import web

    from node.members.service import MemberService

# Who the audit log names for what is done from the server's shell.
CLI_ACTOR = "operator (command line)"


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _member_service(settings: Settings) -> MemberService:
    from node.app import member_service  # see the module docstring

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
    from aiohttp import web  # see the module docstring

    from node.app import create_app
    from node.http.keys import DATABASE

    app = create_app(settings, run_worker=False)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        with activated(app[DATABASE]):
            yield app
    finally:
        await runner.cleanup()
