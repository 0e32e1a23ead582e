"""Secrets never reach the logs, even at DEBUG; every record carries the request id."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from node.db import activated
from node.http.keys import DATABASE
from node.logs import SQL_LOGGERS, configure_logging
from node.members.models import Member
from tests.api import PASSWORD, admin_token, bearer, bootstrap_invite, register


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The node's own logging set-up at DEBUG, restored afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in SQL_LOGGERS})
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    yield caplog
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


async def test_no_password_token_invite_or_private_key_in_debug_logs(node, debug_logging):
    invite = await bootstrap_invite(node)
    await register(node, invite, "ada")
    resp = await node.post("/api/v1/sessions", json={"username": "ada", "password": PASSWORD})
    token = (await resp.json())["token"]
    await node.get("/api/v1/me", headers=bearer(token))
    await node.post("/api/v1/sessions", json={"username": "ada", "password": "wrong password!"})
    with activated(node.app[DATABASE]):
        member = await Member.get(username="ada")

    text = "\n".join(r.getMessage() for r in debug_logging.records)
    assert "POST /api/v1/sessions -> 201" in text  # the capture does see request logs
    for secret in (PASSWORD, token, invite, "PRIVATE KEY", member.password_hash):
        assert secret not in text


async def test_log_records_carry_the_request_id(node, debug_logging):
    token = await admin_token(node)
    resp = await node.get("/api/v1/me", headers={**bearer(token), "X-Request-Id": "trace-42"})
    assert resp.headers["X-Request-Id"] == "trace-42"
    tagged = [r for r in debug_logging.records if getattr(r, "request_id", None) == "trace-42"]
    assert any("GET /api/v1/me -> 200" in r.getMessage() for r in tagged)
