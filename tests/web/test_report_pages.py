"""Reporting from the pages: a listing (not one's own) and a member's message in a
conversation, with the API's check, limit and service; the moderators find the report in
their queue."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient

from tests.api import PASSWORD, bearer, login
from tests.web.account_support import (
    ESCAPED,
    FRENCH,
    SCRIPT,
    end_browser_session,
    neighbours,
    post_page_form,
)
from tests.web.support import ORIGIN, csrf_of, page_token

QUEUE = "/api/quartier/v1/moderation/reports"


@pytest.fixture
async def tokens(node: TestClient) -> dict[str, str]:
    """ada (admin, so a moderator) and bob (resident, logged in by the form)."""
    return await neighbours(node)


async def adas_listing(node: TestClient, token: str, title: str = "Sofa") -> int:
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={"kind": "give", "title": title, "category": "furniture", "audience": "node"},
        headers=bearer(token),
    )
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def adas_message(node: TestClient, token: str) -> tuple[int, int]:
    """ada writes to bob: the conversation's and the message's ids."""
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": ["bob"], "text": "Buy my pills"},
        headers=bearer(token),
    )
    assert resp.status == 201, await resp.text()
    cid = int((await resp.json())["id"])
    resp = await node.get(f"/api/quartier/v1/conversations/{cid}", headers=bearer(token))
    return cid, int((await resp.json())[0]["id"])


async def queue(node: TestClient, moderator: str) -> list[dict]:
    resp = await node.get(QUEUE, headers=bearer(moderator))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_listing_is_reported_and_reaches_the_moderators(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    page = await (await node.get(f"/listings/{listing}")).text()
    assert f'href="/listings/{listing}/report"' in page
    form = await (await node.get(f"/listings/{listing}/report")).text()
    assert 'name="category"' in form
    assert 'value="fraud"' in form
    assert 'for="comment"' in form
    resp = await post_page_form(
        node,
        f"/listings/{listing}/report",
        f"/listings/{listing}/report",
        {"category": "fraud", "comment": "Asks for a deposit first"},
    )
    assert resp.status == 303
    assert resp.headers["Location"] == f"/listings/{listing}?reported"
    thanked = await (await node.get(resp.headers["Location"])).text()
    assert "Thank you, the moderators will look at it." in thanked
    (report,) = await queue(node, tokens["ada"])
    assert report["target"]["kind"] == "listing"
    assert report["category"] == "fraud"
    assert report["comment"] == "Asks for a deposit first"
    assert report["reporter"] == {"member": "bob"}
    mine = await (await node.get("/api/quartier/v1/reports", headers=bearer(tokens["bob"]))).json()
    assert [r["id"] for r in mine] == [report["id"]]


async def test_the_author_has_no_report_link_and_cannot_report(node, tokens):
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={"kind": "give", "title": "Lamp", "category": "furniture", "audience": "node"},
        headers=bearer(tokens["bob"]),
    )
    listing = (await resp.json())["id"]
    page = await (await node.get(f"/listings/{listing}")).text()
    assert "/report" not in page
    resp = await node.get(f"/listings/{listing}/report")
    assert resp.status == 403
    assert "text/html" in resp.headers["Content-Type"]
    # Posted anyway (a form kept from elsewhere): the service refuses a report of oneself.
    other = await adas_listing(node, tokens["ada"])
    token = await page_token(node, f"/listings/{other}/report")
    resp = await node.post(
        f"/listings/{listing}/report",
        data={"csrf_token": token, "category": "spam"},
        headers=ORIGIN,
    )
    assert resp.status == 422
    assert "You cannot report what you wrote yourself." in await resp.text()
    assert await queue(node, tokens["ada"]) == []


async def test_a_listing_one_may_not_see_is_a_404(node, tokens):
    assert (await node.get("/listings/999999/report")).status == 404


async def test_forged_reports_are_refused(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    path = f"/listings/{listing}/report"
    token = await page_token(node, path)
    fields = {"category": "spam", "comment": "x"}
    no_token = await node.post(path, data=fields, headers=ORIGIN)
    wrong = await node.post(path, data={**fields, "csrf_token": "nope"}, headers=ORIGIN)
    foreign = await node.post(
        path, data={**fields, "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    for resp in (no_token, wrong, foreign):
        assert resp.status == 403
        assert "text/html" in resp.headers["Content-Type"]
    assert await queue(node, tokens["ada"]) == []


async def test_invalid_input_comes_back_with_the_error_and_the_text_escaped(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    path = f"/listings/{listing}/report"
    resp = await post_page_form(node, path, path, {"category": "boring", "comment": SCRIPT})
    assert resp.status == 422
    page = await resp.text()
    assert 'role="alert" id="category-error"' in page
    assert 'aria-describedby="category-error"' in page
    assert SCRIPT not in page
    assert ESCAPED in page
    resp = await post_page_form(node, path, path, {"category": "spam", "comment": "x" * 1001})
    assert resp.status == 422
    assert 'id="comment-error"' in await resp.text()
    assert await queue(node, tokens["ada"]) == []


async def test_a_script_in_the_comment_reaches_the_queue_as_text(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    path = f"/listings/{listing}/report"
    resp = await post_page_form(node, path, path, {"category": "other", "comment": SCRIPT})
    assert resp.status == 303
    (report,) = await queue(node, tokens["ada"])
    assert report["comment"] == SCRIPT  # stored as typed; the staff pages escape it
    page = await (await node.get(resp.headers["Location"])).text()
    assert "<script>" not in page


async def test_reporting_twice_files_two_reports_as_the_api_does(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    path = f"/listings/{listing}/report"
    for _ in range(2):
        resp = await post_page_form(node, path, path, {"category": "spam"})
        assert resp.status == 303
    assert len(await queue(node, tokens["ada"])) == 2


async def test_past_the_hourly_limit_the_form_says_so(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    path = f"/listings/{listing}/report"
    token = await page_token(node, path)
    for _ in range(30):
        resp = await node.post(
            path,
            data={"csrf_token": token, "category": "spam", "comment": "again"},
            headers=ORIGIN,
            allow_redirects=False,
        )
        if resp.status != 303:
            break
    assert resp.status == 429
    assert "Retry-After" in resp.headers
    page = await resp.text()
    assert "You have sent many reports in a short time." in page
    assert "again" in page  # the comment is kept


async def test_a_visitor_is_sent_to_log_in(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    node.session.cookie_jar.clear()
    for path in (f"/listings/{listing}/report", "/messages/1/report/1"):
        resp = await node.get(path, allow_redirects=False)
        assert resp.status == 303
        assert unquote(resp.headers["Location"]) == f"/login?next={path}"


async def test_an_expired_session_keeps_the_report_and_sends_it_after_login(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    path = f"/listings/{listing}/report"
    token = await page_token(node, path)
    await end_browser_session(node, "bob")
    fields = {"category": "harassment", "comment": "Rude replies"}
    resp = await node.post(path, data={"csrf_token": token, **fields}, headers=ORIGIN)
    assert resp.status == 401
    page = await resp.text()
    assert "Rude replies" in page
    assert 'name="relogin_username"' in page
    assert 'value="harassment" required checked' in page
    resp = await node.post(
        path,
        data={
            "csrf_token": csrf_of(page),
            **fields,
            "relogin_username": "bob",
            "relogin_password": PASSWORD,
        },
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    (report,) = await queue(node, await login(node, "ada"))
    assert report["comment"] == "Rude replies"


async def test_the_report_form_and_thanks_in_french(node, tokens):
    listing = await adas_listing(node, tokens["ada"])
    show = await (await node.get(f"/listings/{listing}", headers=FRENCH)).text()
    assert "Signaler cette annonce" in show
    form = await (await node.get(f"/listings/{listing}/report", headers=FRENCH)).text()
    assert "Fraude ou arnaque" in form
    assert "Envoyer le signalement" in form
    path = f"/listings/{listing}/report"
    resp = await post_page_form(node, path, path, {"category": "spam"}, headers=FRENCH)
    thanked = await (await node.get(resp.headers["Location"], headers=FRENCH)).text()
    assert "Merci, les modérateurs vont l\u2019examiner." in thanked


async def test_a_message_is_reported_from_the_conversation(node, tokens):
    cid, mid = await adas_message(node, tokens["ada"])
    page = await (await node.get(f"/messages/{cid}")).text()
    link = f'href="/messages/{cid}/report/{mid}"'
    assert link in page
    path = f"/messages/{cid}/report/{mid}"
    form = await (await node.get(path, headers=FRENCH)).text()
    assert "Signaler ce message" in form
    resp = await post_page_form(node, path, path, {"category": "spam", "comment": SCRIPT})
    assert resp.status == 303
    assert resp.headers["Location"] == f"/messages/{cid}?reported#message-{mid}"
    thanked = await (await node.get(f"/messages/{cid}?reported")).text()
    assert "Thank you, the moderators will look at it." in thanked
    (report,) = await queue(node, tokens["ada"])
    assert report["target"]["kind"] == "message"
    assert report["category"] == "spam"


async def test_ones_own_message_and_others_conversations_cannot_be_reported(node, tokens):
    cid, mid = await adas_message(node, tokens["ada"])
    resp = await post_page_form(node, f"/messages/{cid}", f"/messages/{cid}", {"text": "No"})
    assert resp.status == 303
    page = await (await node.get(f"/messages/{cid}")).text()
    assert page.count("/report/") == 1  # ada's message only, not bob's reply
    shown = await (
        await node.get(f"/api/quartier/v1/conversations/{cid}", headers=bearer(tokens["bob"]))
    ).json()
    own = next(m["id"] for m in shown if m["id"] != mid)
    assert (await node.get(f"/messages/{cid}/report/{own}")).status == 403
    assert (await node.get(f"/messages/{cid}/report/999999")).status == 404
    assert (await node.get(f"/messages/999999/report/{mid}")).status == 404
    resp = await post_page_form(
        node, f"/messages/{cid}/report/{mid}", f"/messages/{cid}/report/{mid}", {}
    )
    assert resp.status == 422
    forged = await node.post(
        f"/messages/{cid}/report/{mid}", data={"category": "spam"}, headers=ORIGIN
    )
    assert forged.status == 403
    assert await queue(node, tokens["ada"]) == []
