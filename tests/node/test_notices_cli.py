"""``quartier notices``, run for real as subprocesses against a running test node's database
(a town hall's script publishing a notice)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from node.db import activated
from node.http.keys import DATABASE
from node.members.models import Member
from node.notices.models import Notice
from tests.api import bearer
from tests.node.cli_support import failed, ok

pytestmark = pytest.mark.local_testing


async def test_an_operator_publishes_lists_and_deletes_a_notice(node, people, cli, tmp_path):
    text = tmp_path / "market.txt"
    text.write_text("Every Saturday, 8:00-13:00.\nPlace du Marché.", encoding="utf-8")
    out = ok(
        cli(
            "notices",
            "publish",
            "--as",
            "ada",
            "--kind",
            "event",
            "--title",
            "Weekly market",
            "--text-file",
            str(text),
            "--ends-at",
            "2099-12-31T13:00:00+01:00",
        )
    )
    assert out.startswith("published notice ")
    notice_id = int(out.split()[2].rstrip(":"))
    resp = await node.get("/api/quartier/v1/notifications", headers=bearer(people["bea"]))
    [note] = [n for n in await resp.json() if n["notice_id"] == notice_id]
    assert note["detail"] == "Weekly market"
    resp = await node.get(f"/api/quartier/v1/notices/{notice_id}", headers=bearer(people["bea"]))
    shown = await resp.json()
    assert shown["text"] == "Every Saturday, 8:00-13:00.\nPlace du Marché."
    assert shown["ends_at"] == "2099-12-31T12:00:00Z"

    [listed] = json.loads(ok(cli("notices", "list", "--json")))
    assert (listed["id"], listed["kind"], listed["title"]) == (notice_id, "event", "Weekly market")
    assert "Weekly market" in ok(cli("notices", "list"))
    assert ok(cli("notices", "list", "--past")).strip() == "no past notices"

    assert ok(cli("notices", "delete", str(notice_id), "--as", "ada")).strip() == (
        f"deleted notice {notice_id}"
    )
    assert ok(cli("notices", "list")).strip() == "no current notices"


async def test_the_cli_applies_the_same_rules_as_the_api(node, people, cli):
    err = failed(cli("notices", "publish", "--as", "bea", "--title", "Party"))
    assert "notices are published by: admin, manager" in err
    err = failed(cli("notices", "publish", "--as", "ada", "--title", "Party", "--kind", "gossip"))
    assert "kind" in err
    err = failed(
        cli("notices", "publish", "--as", "ada", "--title", "Party", "--ends-at", "tomorrow")
    )
    assert "ends_at" in err
    err = failed(
        cli("notices", "publish", "--as", "ada", "--title", "Storm", "--audience", "districts")
    )
    assert "only a municipality node publishes to districts" in err
    assert "no such member" in failed(cli("notices", "publish", "--as", "zed", "--title", "x"))
    assert "cannot read" in failed(
        cli("notices", "publish", "--as", "ada", "--title", "x", "--text-file", "/nonexistent")
    )
    assert "no such notice" in failed(cli("notices", "delete", "999", "--as", "ada"))
    assert ok(cli("notices", "list")).strip() == "no current notices"


async def test_a_suspended_member_publishes_nothing_from_the_shell_either(node, people, cli):
    # The API refuses a suspended member's token; the CLI acts on behalf of a name.
    with activated(node.app[DATABASE]):
        await Member.filter(username="ada").update(suspended_at=datetime(2026, 11, 1, tzinfo=UTC))
    err = failed(cli("notices", "publish", "--as", "ada", "--title", "Party"))
    assert "suspended" in err
    with activated(node.app[DATABASE]):
        assert await Notice.all().count() == 0
