"""Database wiring: tortoise configuration, one isolated ORM context per node, migrations.

Each node (app) owns a :class:`tortoise.context.TortoiseContext`; a middleware makes it current for
every request, so several nodes can run in one process (the integration tests do) without
sharing connections.
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from tortoise.context import TortoiseContext, _current_context
from tortoise.exceptions import DBConnectionError
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.executor import MigrationExecutor

from node.config import redact_url
from node.errors import NodeError

# Each package owns its models and migrations: app label -> (model modules, migrations).
APPS = {
    "node": (
        [
            "node.members.models",
            "node.actors.models",
            "node.follows.models",
            "node.conversations.models",
            "node.groups.models",
            "node.listings.models",
            "node.media.models",
            "node.notifications.models",
            "node.notices.models",
            "node.verification.models",
            "node.relations.models",
            "node.problems.models",
            "node.circles.models",
            "node.oauth.models",
            "node.statuses.models",
        ],
        "node.migrations",
    ),
    "federation": (["federation.models"], "federation.migrations"),
    "moderation": (["moderation.models"], "moderation.migrations"),
}


class SchemaOutOfDate(NodeError):
    """The database schema lags behind the code: ``quartier migrate`` must run first."""


class DatabaseUnavailable(NodeError):
    """The database cannot be reached or opened."""


# What "cannot reach or open the database" looks like, wherever it is in the cause chain.
_CONNECTION_FAILURES = (
    OSError,
    DBConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InvalidAuthorizationSpecificationError,  # wrong user or password
    asyncpg.InvalidCatalogNameError,  # no such database
)


def _is_connection_failure(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, _CONNECTION_FAILURES):
            return True
        if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@asynccontextmanager
async def reachable(database_url: str) -> AsyncIterator[None]:
    """Turn a failure to reach or open the database into a clear ``DatabaseUnavailable``.

    Only connection failures: an error in a migration's SQL must surface as itself.
    """
    try:
        yield
    except Exception as exc:
        if not _is_connection_failure(exc):
            raise
        raise DatabaseUnavailable(
            f"cannot use the database at {redact_url(database_url)}: {exc}"
        ) from exc


def shares_queues(database_url: str) -> bool:
    """Whether several processes may work the federation queues (PostgreSQL: ``serve`` and
    ``worker`` processes); on SQLite, exactly one worker runs, inside ``quartier serve``."""
    return database_url.startswith(("postgres://", "postgresql://"))


@contextmanager
def sole_worker(database_url: str) -> Iterator[None]:
    """Hold, for the block, the right to be the one worker of an SQLite node.

    ``quartier serve`` on SQLite takes over every lease at start-up, as leases still held can
    only be those of a process that died: so a second ``serve`` on the same database must
    stop before it starts, not after stealing the first one's work. An exclusive ``flock``
    on a file beside the database, released by the kernel when the process ends, however it
    ends. Raises ``NodeError`` when another process holds it; nothing to hold on
    PostgreSQL (several workers share the queues) or for an in-memory database.
    """
    path = database_url[len("sqlite://") :] if database_url.startswith("sqlite://") else ""
    if not path or path == ":memory:":
        yield
        return
    lock_path = Path(f"{path}.serve-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NodeError(
                f"another 'quartier serve' is running on this database ({path}): stop it first"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def tortoise_config(database_url: str) -> dict[str, Any]:
    """Tortoise configuration for a database URL."""
    url = database_url.replace("postgresql://", "postgres://", 1)
    if url.startswith("sqlite://"):
        path = url[len("sqlite://") :]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": url},
        "apps": _apps_config(),
        "use_tz": True,
        "timezone": "UTC",
    }


def _apps_config() -> dict[str, Any]:
    return {
        label: {"models": models, "default_connection": "default", "migrations": migrations}
        for label, (models, migrations) in APPS.items()
    }


@contextmanager
def activated(ctx: TortoiseContext) -> Iterator[TortoiseContext]:
    """Make ``ctx`` the current ORM context for the enclosed code.

    Tortoise's own ``with ctx:`` keeps its reset token on the shared context object, which
    concurrent requests would overwrite; a local token keeps each request's binding its own.
    """
    token = _current_context.set(ctx)
    try:
        yield ctx
    finally:
        _current_context.reset(token)


@asynccontextmanager
async def open_database(database_url: str) -> AsyncIterator[TortoiseContext]:
    """An initialised ORM context for ``database_url``, closed on exit."""
    ctx = TortoiseContext()
    async with reachable(database_url):
        with activated(ctx):
            await ctx.init(config=tortoise_config(database_url))
            # Connections open lazily: ask once now, so a wrong URL fails here, clearly.
            await ctx.db().execute_query("SELECT 1")
    try:
        yield ctx
    finally:
        await ctx.close_connections()


async def pending_migrations(ctx: TortoiseContext) -> list[str]:
    """Names of migrations not yet applied to the database of ``ctx``."""
    with activated(ctx):
        executor = MigrationExecutor(ctx.db(), _apps_config())
        steps = await executor.plan()
    return [f"{step.migration.app_label}.{step.migration.name}" for step in steps]


async def require_current_schema(ctx: TortoiseContext) -> None:
    """Refuse to run on a database whose schema is older than the code."""
    pending = await pending_migrations(ctx)
    if pending:
        raise SchemaOutOfDate(
            "the database schema is not up to date; run 'quartier migrate' first "
            f"(pending: {', '.join(pending)})"
        )


async def apply_migrations(database_url: str) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    ctx = TortoiseContext()
    with activated(ctx):
        try:
            async with reachable(database_url):
                await tortoise_migrate(config=tortoise_config(database_url), progress=progress)
        finally:
            await ctx.close_connections()
    return applied
