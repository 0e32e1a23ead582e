"""Secrets never reach the logs, even at DEBUG; every record carries the request id."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import pytest

from node.db import activated
from node.http.keys import DATABASE
from node.http.server_log import ParserErrorLog
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
    resp = await node.post(
        "/api/quartier/v1/sessions", json={"username": "ada", "password": PASSWORD}
    )
    token = (await resp.json())["token"]
    await node.get("/api/quartier/v1/me", headers=bearer(token))
    await node.post(
        "/api/quartier/v1/sessions", json={"username": "ada", "password": "wrong password!"}
    )
    with activated(node.app[DATABASE]):
        member = await Member.get(username="ada")

    text = "\n".join(r.getMessage() for r in debug_logging.records)
    assert "POST /api/quartier/v1/sessions -> 201" in text  # the capture does see request logs
    for secret in (PASSWORD, token, invite, "PRIVATE KEY", member.password_hash):
        assert secret not in text


async def test_log_records_carry_the_request_id(node, debug_logging):
    token = await admin_token(node)
    resp = await node.get(
        "/api/quartier/v1/me", headers={**bearer(token), "X-Request-Id": "trace-42"}
    )
    assert resp.headers["X-Request-Id"] == "trace-42"
    tagged = [r for r in debug_logging.records if getattr(r, "request_id", None) == "trace-42"]
    assert any("GET /api/quartier/v1/me -> 200" in r.getMessage() for r in tagged)


# Requests aiohttp's HTTP parser refuses, before any handler or middleware runs


async def raw_request(node, request: bytes) -> bytes:
    """Send ``request`` as is over a socket to the running node; its whole answer."""
    reader, writer = await asyncio.open_connection(node.server.host, node.server.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()


SECRET = "Bearer s3cr3t-token-that-must-not-be-logged"


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(
            f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: {SECRET}{'x' * 9000}\r\n\r\n",
            id="header-value-over-8190-bytes",
        ),
        pytest.param(
            f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-{SECRET[7:]}{'y' * 9000}: 1\r\n\r\n",
            id="header-name-over-8190-bytes",
        ),
        pytest.param(
            f"GET /healthz?{SECRET.replace(' ', '=')}{'z' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n",
            id="request-line-over-8190-bytes",
        ),
        pytest.param(
            f"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header {SECRET}: 1\r\n\r\n",
            id="invalid-header",
        ),
    ],
)
async def test_a_request_the_parser_refuses_is_answered_and_logged_in_one_safe_line(
    node, debug_logging, request_bytes
):
    debug_logging.clear()
    answer = await raw_request(node, request_bytes.encode())
    assert re.match(rb"HTTP/1\.[01] (400|431) ", answer), answer[:100]
    records = [r for r in debug_logging.records if r.name.startswith("aiohttp")]
    assert len(records) == 1, [r.getMessage() for r in records]
    (record,) = records
    assert record.levelno in (logging.DEBUG, logging.INFO, logging.WARNING)
    assert record.exc_info is None
    logged = "\n".join(
        debug_logging.text.splitlines() + [r.getMessage() for r in debug_logging.records]
    )
    assert "s3cr3t" not in logged
    assert "Traceback" not in logged
    # The node still serves the next client.
    assert (await node.get("/healthz")).status == 200


def test_other_errors_aiohttp_logs_keep_their_level_and_traceback(caplog):
    # What the request handler does when a handler fails past the middlewares.
    caplog.set_level(logging.INFO)
    try:
        raise RuntimeError("a bug")
    except RuntimeError as exc:
        ParserErrorLog().exception("Error handling request from %s", "127.0.0.1", exc_info=exc)
    (record,) = caplog.records
    assert record.name == "aiohttp.server"
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "Traceback" in caplog.text
