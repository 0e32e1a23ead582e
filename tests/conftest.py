"""Shared fixtures: real databases (SQLite files, or PostgreSQL when configured) and real nodes.

Set ``QUARTIER_TEST_POSTGRES`` to a PostgreSQL URL of a database the tests may use to create and
drop scratch databases (``.ci/run`` does); every test then gets its own fresh PostgreSQL
database instead of a SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from node.actors.service import ensure_instance_actor
from node.app import create_app
from node.config import Settings, load_settings
from node.db import activated, apply_migrations, open_database
from node.groups.service import ensure_group
from node.members import passwords
from node.verification.vault import create_key

POSTGRES_ADMIN_URL = os.environ.get("QUARTIER_TEST_POSTGRES", "")

# Every registration and login hashes with argon2id at RFC 9106's 64 MiB and three passes:
# 0.2 s each, and the suite registers and logs in thousands of members, so that was most of
# its time. The tests keep the algorithm and every code path (argon2id, the worker pool, the
# dummy hash for unknown users) with the smallest cost argon2 allows, as Django's test
# settings swap in a fast hasher; test_passwords.py checks the node's own parameters. The
# nodes the tests start as processes (quartier serve, the CLI) hash at full cost.
PRODUCTION_HASHER = passwords._hasher
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class FakeClock:
    """A clock tests can move."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@asynccontextmanager
async def scratch_database(
    directory: Path, name: str = "node", *, schema: bool = False
) -> AsyncIterator[str]:
    """A fresh database: a SQLite file in ``directory``, or, with ``QUARTIER_TEST_POSTGRES``, a
    PostgreSQL database created now and dropped afterwards. It is empty, unless ``schema`` says
    the caller gives it the current schema with :func:`migrate_schema` before anything else:
    on PostgreSQL it is then made from the template at once, and ``migrate_schema`` has
    nothing left to do."""
    if not POSTGRES_ADMIN_URL:
        yield f"sqlite://{directory / f'{name}.sqlite3'}"
        return
    db_name = f"quartier_test_{uuid.uuid4().hex[:12]}"
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    url = f"{base}/{db_name}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        if schema:
            await _create_from_template(admin, db_name)
            _made_from_template.add(url)
        else:
            await admin.execute(f'CREATE DATABASE "{db_name}" {_STRATEGY}')
    finally:
        await admin.close()
    try:
        yield url
    finally:
        _made_from_template.discard(url)
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        finally:
            await admin.close()


# Migrating a fresh database takes seconds (some thirty migrations), and most tests only need
# the schema: each test process migrates one template once, and every test's database is made
# from it (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL). The migrations
# themselves are tested on fresh databases (tests/node/test_migrations.py, the CLI's tests).
_templates: dict[str, str] = {}


# PostgreSQL 15 creates a database by copying its template block by block through shared
# buffers and the WAL (STRATEGY WAL_LOG), and every DROP DATABASE forces a checkpoint, which
# then writes those 10 MB out again: a create and drop from the template took ~370 ms that
# way on .ci/run's cluster, ~90 ms with FILE_COPY, which copies the template's files (with a
# checkpoint before and after, cheap with fsync off and little dirty). On a loaded machine
# both are slower and the gap narrows, but FILE_COPY never measured slower.
_STRATEGY = "STRATEGY FILE_COPY"

# Databases scratch_database(schema=True) made from the template, still as made: migrate_schema
# leaves them as they are (the empty create, the check for tables, the drop and the create
# from the template it would do otherwise were half of each test's database time).
_made_from_template: set[str] = set()


async def migrate_schema(database_url: str) -> None:
    """Give the empty database at ``database_url`` the current schema, from the template; one
    that holds anything already is migrated for real (what is pending, as on an upgrade).
    A SQLite file gets SQLite's template even when the tests run on PostgreSQL (a test of a
    node on its own SQLite file, tests/integration/test_crash.py)."""
    if not database_url.startswith("sqlite://"):
        if database_url in _made_from_template:
            _made_from_template.discard(database_url)  # a second call migrates for real
            return
        await _from_postgres_template(database_url)
        return
    path = Path(database_url.removeprefix("sqlite://"))
    if _holds_something(path):
        await apply_migrations(database_url)
        return
    if "sqlite" not in _templates:
        template = Path(tempfile.mkdtemp(prefix="quartier-template-")) / "template.sqlite3"
        await apply_migrations(f"sqlite://{template}")
        _templates["sqlite"] = str(template)
    _copy(Path(_templates["sqlite"]), path)


async def migrate_as_the_cli_does(directory: Path, env: Mapping[str, str]) -> None:
    """Leave the empty database as ``quartier migrate`` run in ``directory`` with ``env``
    would (node/cli/setup_commands.py, ``_migrate``): the current schema (from the template),
    the node's instance actor and neighbourhood group, the document key in its data
    directory. For tests of other commands, which ran ``quartier migrate`` first: its 33
    migrations took ~8 s a test. Migrate itself is tested through the CLI on fresh databases
    (tests/node/test_cli.py, test_verification_documents.py, test_serve_start_up.py), and
    test_cli.py checks that after this, migrate finds nothing to do."""
    with contextlib.chdir(directory):  # the CLI's configuration and data directory are there
        settings = load_settings(environ=env)
    await migrate_schema(settings.database_url)
    async with open_database(settings.database_url) as ctx:
        with activated(ctx):
            await ensure_instance_actor()
            await ensure_group()
    create_key(settings.document_key_path)


def _holds_something(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def _copy(template: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)


async def _from_postgres_template(database_url: str) -> None:
    _, _, name = database_url.rpartition("/")
    if await _has_tables(database_url):
        await apply_migrations(database_url)
        return
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _create_from_template(admin, name)
    finally:
        await admin.close()


async def _create_from_template(admin: asyncpg.Connection, name: str) -> None:
    if "postgres" not in _templates:
        base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
        template = f"quartier_template_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{template}" {_STRATEGY}')
        await apply_migrations(f"{base}/{template}")
        _templates["postgres"] = template
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_templates["postgres"]}" {_STRATEGY}')


async def _has_tables(database_url: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return bool(
            await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        )
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
def _drop_templates() -> Iterator[None]:
    """The PostgreSQL template goes at the end of the test process (SQLite's is a temp file)."""
    yield
    template = _templates.pop("postgres", None)
    if template is not None and POSTGRES_ADMIN_URL:
        asyncio.run(_drop(template))
    if "sqlite" in _templates:
        shutil.rmtree(Path(_templates.pop("sqlite")).parent, ignore_errors=True)


async def _empty_again(database_url: str) -> None:
    """Replace a database made from the template by an empty one of the same name."""
    _made_from_template.discard(database_url)
    _, _, name = database_url.rpartition("/")
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" {_STRATEGY}')
    finally:
        await admin.close()


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fresh database for the test's node: empty, unless the test has ``db`` or ``node``,
    which give it the current schema first thing (then it is made from the template at once)."""
    async with scratch_database(tmp_path, schema=will_migrate_first(request)) as url:
        yield url


def will_migrate_first(request: pytest.FixtureRequest) -> bool:
    """Whether the test's ``db``, ``node`` or ``migrated`` (tests/node/conftest.py) fixture
    gives its database the current schema before anything else uses it. A ``node`` fixture
    that starts its node with ``migrate=False`` still gets an empty database (make_node
    empties it again)."""
    return bool({"db", "node", "migrated"} & set(request.fixturenames))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[None]:
    """A migrated database, made current for the test (the ORM without a node around it)."""
    await migrate_schema(database_url)
    async with open_database(database_url) as ctx:
        with activated(ctx):
            yield


def write_config(directory: Path, text: str) -> Path:
    """Write a quartier.toml in ``directory``."""
    path = directory / "quartier.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    """Settings for a test node on the test database; keyword arguments override sections."""

    def make(**sections: dict[str, Any]) -> Settings:
        env = {
            "QUARTIER_SERVER_BASE_URL": "http://127.0.0.1:8080",
            "QUARTIER_STORAGE_DATABASE_URL": database_url,
            "QUARTIER_STORAGE_DATA_DIR": str(tmp_path / "data"),
        }
        for section, values in sections.items():
            for key, value in values.items():
                if isinstance(value, list | tuple):
                    value = ",".join(value)
                env[f"QUARTIER_{section.upper()}_{key.upper()}"] = str(value)
        # An empty file of our own, so a quartier.toml in the working directory never leaks in.
        return load_settings(write_config(tmp_path, ""), environ=env)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], request: pytest.FixtureRequest) -> Settings:
    """Default settings; a module marked ``local_testing`` may reach the fake servers it runs."""
    if request.node.get_closest_marker("local_testing"):
        return make_settings(federation={"local_testing": "true"})
    return make_settings()


NodeFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_node(aiohttp_client: Any, clock: FakeClock) -> NodeFactory:
    """Start a real node (migrated database, real HTTP on 127.0.0.1) for given settings."""

    async def start(settings: Settings, *, migrate: bool = True) -> TestClient:
        if migrate:
            await migrate_schema(settings.database_url)
            create_key(settings.document_key_path)  # as quartier migrate does
        elif settings.database_url in _made_from_template:
            await _empty_again(settings.database_url)
        # The worker is driven by the tests (run_once), not left running in the background.
        return await aiohttp_client(create_app(settings, clock=clock, run_worker=False))

    return start


@pytest.fixture
async def node(make_node: NodeFactory, settings: Settings) -> TestClient:
    """A running node with default settings."""
    return await make_node(settings)
