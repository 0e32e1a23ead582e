"""Running the ``quartier`` console script for real, as tests do: helpers and constants.

The fixtures built on them (``env``, ``quartier``) are in tests/node/conftest.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

QUARTIER = Path(sys.executable).parent / "quartier"
TIMEOUT = 60
INVITE_CODE = re.compile(r"invite code: (\S+)")

Run = Callable[..., subprocess.CompletedProcess[str]]


def clean_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment without the caller's QUARTIER_* settings, on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_")}
    env["QUARTIER_STORAGE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def runner(directory: Path, env: dict[str, str]) -> Run:
    """``run(*args)``: ``quartier ARGS`` in ``directory``; the completed process (text)."""

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(QUARTIER), *args],
            cwd=directory,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    return run


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """Assert success without a traceback and return stdout."""
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def failed(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """Assert a clean failure (status, no traceback) and return stderr."""
    assert result.returncode == status, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr
