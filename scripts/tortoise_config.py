"""Tortoise configuration for tortoise's own CLI (``make migrations``).

``tortoise -c scripts.tortoise_config.TORTOISE_ORM makemigrations`` needs an importable dotted
path to a config dict; the node builds its config at run time from settings, so this module
exposes the same config (same apps, models and migrations package) under a fixed name.

The database is in memory because ``makemigrations`` never reads it: it diffs the models against
the migration files (tortoise uses a no-op migration recorder for that), so no file is left behind.
"""

from __future__ import annotations

from typing import Any

from node.db import tortoise_config

TORTOISE_ORM: dict[str, Any] = tortoise_config("sqlite://:memory:")
