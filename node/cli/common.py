"""Helpers shared by the ``quartier`` commands: settings, database, member service."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

from node.app import member_service
from node.clock import utc_now
from node.config import Settings, load_settings
from node.db import activated, open_database, require_current_schema
from node.members.service import MemberService


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
