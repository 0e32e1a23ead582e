"""Fixtures shared by the node's tests: the real CLI, and nodes in a federation mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.api import admin_token, member_token
from tests.node.cli_support import Run, clean_environment, runner

StartNode = Callable[[str], Awaitable[TestClient]]


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    """A clean environment on the test database."""
    return clean_environment(database_url)


@pytest.fixture
def quartier(tmp_path: Path, env: dict[str, str]) -> Run:
    """Run ``quartier ARGS`` in tmp_path; returns the completed process (text output)."""
    return runner(tmp_path, env)


@pytest.fixture
def node_in(make_settings, make_node) -> StartNode:
    """``await node_in(mode)``: a node in that federation mode that may fetch from loopback."""

    async def start(mode: str) -> TestClient:
        settings = make_settings(
            federation={"local_testing": "true"}, community={"federation_mode": mode}
        )
        return await make_node(settings)

    return start


@pytest.fixture
async def people(node) -> dict[str, str]:
    """Tokens of ada (an admin), bea and cyd (residents)."""
    ada = await admin_token(node, "ada")
    return {
        "ada": ada,
        "bea": await member_token(node, ada, "bea"),
        "cyd": await member_token(node, ada, "cyd"),
    }
