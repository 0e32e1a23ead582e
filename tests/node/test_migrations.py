"""The migration files match the models, and migrating a database brings it up to date."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from node.conversations.models import Message
from node.db import (
    APPS,
    SchemaOutOfDate,
    activated,
    apply_migrations,
    open_database,
    pending_migrations,
    require_current_schema,
    tortoise_config,
)
from node.members.models import Invite, Role

APP_LABEL = "node"
MIGRATIONS_DIR = Path(importlib.import_module(APPS[APP_LABEL][1]).__file__ or "").parent


def migration_names_on_disk() -> list[str]:
    """Every migration of every app, as ``app.name``."""
    names = []
    for label, (_, module) in APPS.items():
        directory = Path(importlib.import_module(module).__file__ or "").parent
        names += [
            f"{label}.{path.stem}"
            for path in directory.glob("*.py")
            if path.stem != "__init__" and not path.stem.startswith(("_", "~"))
        ]
    return sorted(names)


async def detected_changes(migrations_module: str | None = None) -> list[str]:
    """What ``tortoise makemigrations`` would write, one line per operation; with
    ``migrations_module``, the node app's history is read from that module instead."""
    config = tortoise_config("sqlite://:memory:")
    if migrations_module is not None:
        config["apps"] = {APP_LABEL: {**config["apps"][APP_LABEL], "migrations": migrations_module}}
    async with open_database("sqlite://:memory:") as ctx:
        # Guard against a vacuous comparison: the models must actually be registered.
        assert {"Member", "Invite", "LoginSession", "InstanceActor"} <= set(ctx.apps[APP_LABEL])
        assert {"RemoteActor", "InboundMessage"} <= set(ctx.apps["federation"])
        with activated(ctx):
            writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    return [op.describe() for writer in writers for op in writer.operations]


async def test_models_and_migration_files_agree() -> None:
    changes = await detected_changes()
    assert changes == [], (
        "the models changed without a migration; run tortoise makemigrations:\n"
        + "\n".join(changes)
    )


async def test_autodetector_sees_models_missing_from_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Control for the test above: with no migration files, every model is a change.
    package = tmp_path / "empty_quartier_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    changes = await detected_changes("empty_quartier_migrations")
    created = " ".join(changes)
    for model in ("Member", "Invite", "LoginSession", "InstanceActor"):
        assert model in created


async def test_autodetector_sees_a_field_missing_from_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Control: a migration history lacking one column of the models is reported as a change.
    package = tmp_path / "stale_quartier_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    initial = (MIGRATIONS_DIR / "0001_initial.py").read_text(encoding="utf-8")
    bio_line = "                ('bio', fields.TextField(default='', unique=False)),\n"
    assert bio_line in initial
    (package / "0001_initial.py").write_text(initial.replace(bio_line, ""), encoding="utf-8")
    for later in MIGRATIONS_DIR.glob("0*.py"):
        if later.name != "0001_initial.py":
            (package / later.name).write_text(later.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    changes = await detected_changes("stale_quartier_migrations")
    assert len(changes) == 1
    assert "bio" in changes[0]


async def test_fresh_database_lists_every_migration_as_pending(database_url: str) -> None:
    assert f"{APP_LABEL}.0001_initial" in migration_names_on_disk()
    async with open_database(database_url) as ctx:
        pending = await pending_migrations(ctx)
        assert f"{APP_LABEL}.0001_initial" in pending
        assert sorted(pending) == migration_names_on_disk()
        with pytest.raises(SchemaOutOfDate, match="quartier migrate"):
            await require_current_schema(ctx)


async def test_migrating_brings_the_database_up_to_date(database_url: str) -> None:
    applied = await apply_migrations(database_url)
    assert sorted(applied) == migration_names_on_disk()
    async with open_database(database_url) as ctx:
        assert await pending_migrations(ctx) == []
        await require_current_schema(ctx)


async def test_apply_migrations_is_idempotent_and_keeps_data(database_url: str) -> None:
    await apply_migrations(database_url)
    async with open_database(database_url) as ctx:
        with activated(ctx):
            invite = await Invite.create(
                code_hash="a" * 64,
                role=Role.MANAGER,
                expires_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
    assert await apply_migrations(database_url) == []
    assert await apply_migrations(database_url) == []
    async with open_database(database_url) as ctx:
        assert await pending_migrations(ctx) == []
        with activated(ctx):
            kept = await Invite.get(id=invite.id)
    assert kept.role is Role.MANAGER
    assert kept.code_hash == "a" * 64


def test_no_model_docstring_holds_a_semicolon() -> None:
    # tortoise copies model docstrings into the schema SQL as table comments, and a semicolon
    # there splits the statement: the migration then fails with a syntax error.
    from tortoise.models import Model

    for _, (modules, _) in APPS.items():
        for module_name in modules:
            module = importlib.import_module(module_name)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, Model) and value is not Model:
                    assert ";" not in (value.__doc__ or ""), value.__qualname__


async def test_messages_stored_before_0005_gain_empty_content_warning_and_attachments(
    database_url: str,
) -> None:
    """Upgrading a node that holds messages: the new columns must have database defaults."""
    config = tortoise_config(database_url)
    ctx = TortoiseContext()
    with activated(ctx):
        try:
            await tortoise_migrate(config=config, target="node.0004_follow_aliases")
            # Other apps' latest schema does not matter here; the old message row does.
            db = ctx.db()
            await db.execute_query(
                "INSERT INTO conversation (context, created_at, updated_at)"
                " VALUES ('https://a.example/c/1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
            await db.execute_query(
                "INSERT INTO conversation_message (conversation_id, ap_id, author, text,"
                " created_at) VALUES (1, 'https://a.example/m/1', 'https://a.example/u', 'hi',"
                " CURRENT_TIMESTAMP)"
            )
        finally:
            await ctx.close_connections()
    await apply_migrations(database_url)
    async with open_database(database_url) as ctx:
        with activated(ctx):
            message = await Message.get(ap_id="https://a.example/m/1")
    assert (message.text, message.summary, message.attachments) == ("hi", "", [])
    assert (message.not_sent_to, message.in_reply_to) == ([], None)
