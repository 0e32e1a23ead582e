"""Moderation through the staff pages: the queue, a report and the API's actions on it
(dismiss, hide the content, warn its author), the audit log."""

from __future__ import annotations

import pytest

from node.members.models import Role
from tests.api import bearer
from tests.web.staff_support import ESCAPED, FRENCH, SCRIPT, browse_as, post_form, staff_member

QUEUE = "/api/quartier/v1/moderation/reports"


@pytest.fixture
async def reported(node) -> dict:
    """dan's listing, reported by bea with a script in the comment; cy (moderator) browses."""
    await staff_member(node, "ada", Role.ADMIN)
    bea = await staff_member(node, "bea", Role.RESIDENT)
    dan = await staff_member(node, "dan", Role.RESIDENT)
    cy = await staff_member(node, "cy", Role.MODERATOR)
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={"kind": "give", "title": "Sofa", "category": "furniture", "audience": "public"},
        headers=bearer(dan),
    )
    assert resp.status == 201, await resp.text()
    listing = (await resp.json())["id"]
    resp = await node.post(
        "/api/quartier/v1/reports",
        json={"listing": listing, "category": "fraud", "comment": SCRIPT},
        headers=bearer(bea),
    )
    assert resp.status == 201, await resp.text()
    await browse_as(node, "cy")
    return {"report": (await resp.json())["id"], "listing": listing, "cy": cy, "dan": dan}


async def test_the_queue_and_the_report_show_the_comment_as_text(node, reported):
    page = await (await node.get("/staff/reports")).text()
    assert f'href="/staff/reports/{reported["report"]}"' in page
    assert "fraud" in page
    page = await (await node.get(f"/staff/reports/{reported['report']}")).text()
    assert SCRIPT not in page
    assert ESCAPED in page
    assert "@bea" in page
    assert "the reported content" in page
    french = await (await node.get(f"/staff/reports/{reported['report']}", headers=FRENCH)).text()
    assert "Classer le signalement sans suite" in french
    assert "fraude" in french


async def test_a_report_is_dismissed(node, reported):
    path = f"/staff/reports/{reported['report']}"
    resp = await post_form(node, path, f"{path}/dismiss", {"reason": SCRIPT})
    assert resp.status == 303
    assert resp.headers["Location"] == "/staff/reports"
    report = await (
        await node.get(f"{QUEUE}/{reported['report']}", headers=bearer(reported["cy"]))
    ).json()
    assert report["state"] == "dismissed"
    assert report["resolved_by"] == "cy"
    page = await (await node.get("/staff/audit")).text()
    assert "report.dismissed" in page
    assert ESCAPED in page
    assert SCRIPT not in page
    # Closed: the page shows no action any more; a second dismissal is the 409 page.
    assert "/dismiss" not in await (await node.get(path)).text()
    resp = await post_form(node, path, f"{path}/dismiss", {"reason": ""})
    assert resp.status == 409
    assert resp.content_type == "text/html"


async def test_hiding_the_content_resolves_the_report(node, reported):
    path = f"/staff/reports/{reported['report']}"
    data = {"action": "hide", "target": "content", "reason": "Fraud"}
    resp = await post_form(node, path, f"{path}/decide", data)
    assert resp.status == 303
    report = await (
        await node.get(f"{QUEUE}/{reported['report']}", headers=bearer(reported["cy"]))
    ).json()
    assert report["state"] == "resolved"
    resp = await node.get(
        f"/api/quartier/v1/listings/{reported['listing']}", headers=bearer(reported["cy"])
    )
    assert resp.status == 404


async def test_warning_the_author(node, reported):
    path = f"/staff/reports/{reported['report']}"
    data = {"action": "warn", "target": "account", "reason": "Be fair"}
    resp = await post_form(node, path, f"{path}/decide", data)
    assert resp.status == 303
    decisions = await (
        await node.get("/api/quartier/v1/decisions", headers=bearer(reported["dan"]))
    ).json()
    assert [(d["action"], d["reason"]) for d in decisions] == [("warn", "Be fair")]


async def test_an_action_that_does_not_apply_shows_the_form_again(node, reported):
    path = f"/staff/reports/{reported['report']}"
    data = {"action": "silence", "target": "account", "reason": f"kept {SCRIPT}"}
    resp = await post_form(node, path, f"{path}/decide", data)
    assert resp.status == 422
    page = await resp.text()
    assert 'id="action-error"' in page
    assert f"kept {ESCAPED}" in page
    assert SCRIPT not in page
    resp = await post_form(node, path, f"{path}/decide", {**data, "action": "explode"})
    assert resp.status == 422
    report = await (
        await node.get(f"{QUEUE}/{reported['report']}", headers=bearer(reported["cy"]))
    ).json()
    assert report["state"] == "open"


async def test_the_audit_log_pages_back(node, reported):
    page = await (await node.get("/staff/audit")).text()
    assert "report.created" in page
    assert "?before=" not in page  # fewer entries than a page
    assert (await node.get("/staff/audit?before=1")).status == 200
    assert (await node.get("/staff/audit?before=x")).status == 404
    assert "Journal d\u2019audit" in await (await node.get("/staff/audit", headers=FRENCH)).text()
