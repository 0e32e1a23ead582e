"""`quartier partners` run for real against two running nodes."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.api import bearer
from tests.integration.conftest import Peer, settle
from tests.integration.test_partnerships import BLOCKS, active_partnership

QUARTIER = Path(sys.executable).parent / "quartier"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


async def quartier(peer: Peer, tmp_path: Path, *args: str) -> Result:
    """Run the CLI without blocking the event loop: the nodes it talks to are served by it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_")} | peer.env
    process = await asyncio.create_subprocess_exec(
        str(QUARTIER),
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def ok(result: Result) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


async def test_admins_run_a_partnership_from_the_command_line(peers, tmp_path, clock):
    a, b = await peers("a"), await peers("b")
    assert "no partnerships" in ok(await quartier(a, tmp_path, "partners", "list"))
    out = ok(
        await quartier(a, tmp_path, "partners", "propose", b.domain, "--message", "Hello from A")
    )
    assert "proposed" in out
    # The CLI queued on the real clock; the nodes' fake clock catches up so it is due.
    clock.now = datetime.now(UTC)
    await settle(a, b)
    listed = ok(await quartier(b, tmp_path, "partners", "list"))
    assert "requested" in listed
    assert "Hello from A" in listed
    request_id = re.search(r"^\s*(\d+) requested", listed, re.M).group(1)
    ok(await quartier(b, tmp_path, "partners", "accept", request_id))
    clock.now = datetime.now(UTC)
    await settle(a, b)
    assert "active" in ok(await quartier(a, tmp_path, "partners", "list"))
    ok(await quartier(b, tmp_path, "partners", "end", request_id))
    clock.now = datetime.now(UTC)
    await settle(a, b)
    assert "ended" in ok(await quartier(a, tmp_path, "partners", "list"))


async def test_partner_commands_fail_cleanly(peers, tmp_path):
    (a,) = [await peers("a")]
    for args in (("accept", "42"), ("end", "42"), ("propose", "127.0.0.1:9")):
        result = await quartier(a, tmp_path, "partners", *args)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("quartier: ")
    assert (await quartier(a, tmp_path, "partners", "accept", "x")).returncode == 2


async def test_partners_list_shows_a_partnership_with_a_blocked_node_as_suspended(peers, tmp_path):
    a, b = await peers("a"), await peers("b")
    admin_a, _, _, _ = await active_partnership(a, b)
    resp = await a.client.post(BLOCKS, json={"domain": b.domain}, headers=bearer(admin_a))
    assert resp.status == 201, await resp.text()
    listed = ok(await quartier(a, tmp_path, "partners", "list"))
    assert re.search(
        rf"^\s*\d+ active\s+us\s+{re.escape(b.domain)}\n\s+SUSPENDED: blocked by this node's",
        listed,
        re.M,
    ), listed
    assert "SUSPENDED" not in ok(await quartier(b, tmp_path, "partners", "list"))
