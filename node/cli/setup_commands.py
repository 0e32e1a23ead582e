"""``quartier init`` and ``migrate``: a node's configuration file, and its database's schema
(with what the node needs in it before it serves)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from node.actors.service import ensure_instance_actor
from node.cli.common import _database, _settings
from node.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, load_settings
from node.db import apply_migrations
from node.errors import NodeError
from node.groups.service import ensure_group
from node.verification.vault import create_key


def _init(args: argparse.Namespace) -> int:
    path = Path(args.config or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
    if path.exists() and not args.force:
        print(f"quartier: {path} already exists (use --force to overwrite)", file=sys.stderr)
        return 1
    template = (Path(__file__).parent.parent / "default_config.toml").read_text(encoding="utf-8")
    # Without --base-url the line stays commented: the URL then follows host and port, even
    # when they are changed later (a written default would keep announcing the old port).
    if args.base_url is None:
        base_url_line = '# base_url = "https://quartier.example"'
    else:
        base_url_line = f"base_url = {json.dumps(args.base_url)}"
    text = template.format(
        base_url_line=base_url_line,
        host=json.dumps(args.host),
        port=args.port,
        name=json.dumps(args.name, ensure_ascii=False),
    )
    # Validate before the file takes its place: never leave (or overwrite with) a bad file.
    draft = path.with_name(f".{path.name}.new")
    try:
        draft.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise NodeError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        load_settings(draft, environ={})
    except NodeError:
        draft.unlink()
        raise
    draft.replace(path)
    print(f"wrote {path}; next: quartier migrate, then quartier serve")
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    applied = await apply_migrations(settings.database_url)
    async with _database(settings):
        await ensure_instance_actor()
        await ensure_group()
    print("applied: " + ", ".join(applied) if applied else "the schema is up to date")
    if create_key(settings.document_key_path):
        print(
            f"created the document key {settings.document_key_path}: back it up apart from the "
            "database (docs/operations.md)"
        )
    return 0
