"""``quartier members export`` and ``members erase``, run for real as subprocesses against the
database of a running test node (an operator answering a request made by post)."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile

import pytest

from federation.models import Delivery
from moderation.models import AuditEntry
from node.clock import utc_now
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer
from tests.node.cli_support import QUARTIER, failed, ok, runner
from tests.node.conftest import deliver_all
from tests.node.test_inbox import NODE

pytestmark = pytest.mark.local_testing
OPERATOR = "operator (command line)"


async def audit_entries(node, action: str) -> list[AuditEntry]:
    with activated(node.app[DATABASE]):
        return await AuditEntry.filter(action=action)


async def test_an_operator_exports_a_members_data_to_a_file(node, people, bea_world, cli, tmp_path):
    out = ok(cli("members", "export", "bea", "-o", "bea.zip"))
    assert out.strip() == "exported bea to bea.zip"
    path = tmp_path / "bea.zip"
    assert path.stat().st_mode & 0o777 == 0o600  # personal data: the operator's eyes only
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("profile.json"))["username"] == "bea"
        [listing] = json.loads(archive.read("listings.json"))
        assert listing["title"] == "Sofa"
        texts = sorted(m["text"] for m in json.loads(archive.read("messages.json")))
        assert texts == ["Hello cyd", "Hi zoe"]
        assert any(name.startswith("photos/") for name in archive.namelist())
    [entry] = await audit_entries(node, "account.exported")
    assert (entry.actor, entry.target) == (OPERATOR, f"{NODE}/users/bea")

    # An archive is never written over, and nothing is left behind by a refusal.
    refused = failed(cli("members", "export", "bea", "-o", "bea.zip"))
    assert "bea.zip exists" in refused
    assert sorted(p.name for p in tmp_path.glob("*.zip")) == ["bea.zip"]
    assert list(tmp_path.glob(".export-*")) == []
    nowhere = failed(cli("members", "export", "bea", "-o", "no/such/dir/bea.zip"))
    assert "no/such/dir is not a directory" in nowhere
    assert len(await audit_entries(node, "account.exported")) == 1  # refusals are not exports


async def test_an_export_to_stdout_and_of_nobody(node, people, cli_env, tmp_path):
    result = subprocess.run(  # noqa: ASYNC221 (the node waits: nothing runs meanwhile)
        [str(QUARTIER), "members", "export", "cyd", "-o", "-"],
        cwd=tmp_path,
        env=cli_env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(io.BytesIO(result.stdout)) as archive:
        assert json.loads(archive.read("profile.json"))["username"] == "cyd"
    cli = runner(tmp_path, cli_env)
    missing = failed(cli("members", "export", "nobody", "-o", "x.zip"))
    assert "no such member" in missing
    assert "Traceback" not in missing


async def test_an_operator_erases_a_member_and_the_node_tells_the_servers(
    node, people, bea_world, remote, cli, clock
):
    # Without --yes, the username must be typed again.
    kept = cli("members", "erase", "bea", stdin="cyd\n")
    assert kept.returncode == 1
    assert "not erased" in kept.stderr
    resp = await node.get("/users/bea", headers={"Accept": "application/activity+json"})
    assert resp.status == 200

    out = ok(cli("members", "erase", "bea", "--reason", "asked by letter", stdin="bea\n"))
    assert out.startswith("erased bea: 1 server(s) will be told, 1 message(s) withdrawn")
    [entry] = await audit_entries(node, "account.erased")
    assert (entry.actor, entry.reason) == (OPERATOR, "asked by letter")
    listed = json.loads(ok(cli("members", "list", "--json")))
    assert "bea" not in [m["username"] for m in listed]

    # The running node's worker sends what the command queued (due at the command's real
    # time, ahead of the test's clock), signed with the key the erased account keeps.
    clock.advance(seconds=(utc_now() - clock()).total_seconds() + 60)
    await deliver_all(node)
    deletes = [body for _, body in remote.delivered if body["type"] == "Delete"]
    assert f"{NODE}/users/bea" in [d["object"] for d in deletes]
    with activated(node.app[DATABASE]):
        assert await Delivery.filter(state="dead").count() == 0

    again = failed(cli("members", "erase", "bea", "--yes"))
    assert "no such member" in again
    assert "Traceback" not in again


async def test_the_only_admin_is_not_erased_from_the_command_line_either(node, people, cli):
    refused = failed(cli("members", "erase", "ada", "--yes"))
    assert "admin" in refused
    assert "Traceback" not in refused
    resp = await node.get("/api/quartier/v1/me", headers=bearer(people["ada"]))
    assert resp.status == 200
