"""The Mastodon client API on one node: instance, accounts, statuses, timelines, paging.

Every entity returned is checked against Mastodon's documented shape
(tests/node/mastodon_entities.py, written from the documentation, not from our code).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from tests.api import admin_token, bearer, member_token
from tests.node.mastodon_entities import validate, validate_list
from tests.node.mastodon_support import answer, mastodon_error


async def _two(node: TestClient) -> tuple[dict[str, str], dict[str, str]]:
    ada = bearer(await admin_token(node, "ada"))
    bob = bearer(await member_token(node, ada["Authorization"][7:], "bob"))
    return ada, bob


async def _post(node: TestClient, who: dict[str, str], text: str, **form: str) -> Any:
    return await answer(
        await node.post("/api/v1/statuses", data={"status": text, **form}, headers=who)
    )


async def test_instance_v1_and_v2_read_as_mastodon_4_3(node: TestClient) -> None:
    await admin_token(node, "ada")
    for path in ("/api/v1/instance", "/api/v1/instance/"):
        v1 = await answer(await node.get(path))
        validate("V1_Instance", v1)
        assert v1["version"].startswith("4.3.0 (compatible; Quartier ")
        assert v1["urls"]["streaming_api"].startswith("ws://127.0.0.1")
        assert v1["stats"]["user_count"] == 1
        assert v1["contact_account"]["username"] == "ada"
    v2 = await answer(await node.get("/api/v2/instance/"))
    validate("Instance", v2)
    assert v2["api_versions"] == {"mastodon": 2}
    assert v2["registrations"]["enabled"] is False  # invites only
    limits = v2["configuration"]["statuses"]
    assert limits["max_characters"] == 5000
    assert limits["max_media_attachments"] == 4
    assert v2["configuration"]["media_attachments"]["supported_mime_types"] == [
        "image/jpeg",
        "image/png",
        "image/webp",
    ]


async def test_verify_credentials_and_update(node: TestClient) -> None:
    ada, _ = await _two(node)
    me = await answer(await node.get("/api/v1/accounts/verify_credentials", headers=ada))
    validate("CredentialAccount", me)
    assert me["username"] == me["acct"] == "ada"
    assert me["locked"] is True  # members approve their followers
    assert me["avatar"].endswith("/static/avatar.png")
    resp = await node.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "Ada L.", "note": "Lends a drill", "source[language]": "fr"},
        headers=ada,
    )
    changed = await answer(resp)
    validate("CredentialAccount", changed)
    assert changed["display_name"] == "Ada L."
    assert changed["note"] == "<p>Lends a drill</p>"
    assert changed["source"]["note"] == "Lends a drill"
    assert changed["source"]["language"] == "fr"
    assert changed["id"] == me["id"]
    # The avatar is served (apps fetch it).
    avatar = await node.get("/static/avatar.png")
    assert avatar.status == 200
    assert avatar.content_type == "image/png"


async def test_a_token_is_needed_and_errors_have_mastodons_shape(node: TestClient) -> None:
    await admin_token(node, "ada")
    node.session.cookie_jar.clear()  # the login's browser cookie: an app has none
    assert "token" in (await mastodon_error(await node.get("/api/v1/timelines/home"), 401)).lower()
    bad = {"Authorization": "Bearer nope"}
    await mastodon_error(await node.get("/api/v1/accounts/verify_credentials", headers=bad), 401)
    await mastodon_error(await node.get("/api/v1/no/such/endpoint"), 404)


async def test_post_read_edit_delete_a_status(node: TestClient) -> None:
    ada, bob = await _two(node)
    posted = await _post(
        node, ada, "Lift broken again? #lift @bob", spoiler_text="building", language="en"
    )
    validate("Status", posted)
    assert posted["visibility"] == "public"
    assert posted["spoiler_text"] == "building"
    assert posted["sensitive"] is True  # a content warning hides the text
    assert posted["tags"] == [{"name": "lift", "url": posted["tags"][0]["url"]}]
    assert [m["acct"] for m in posted["mentions"]] == ["bob"]
    assert 'class="u-url mention"' in posted["content"]
    assert 'rel="tag"' in posted["content"]
    assert posted["language"] == "en"

    sid = posted["id"]
    got = await answer(await node.get(f"/api/v1/statuses/{sid}", headers=bob))
    assert got["id"] == sid
    source = await answer(await node.get(f"/api/v1/statuses/{sid}/source", headers=ada))
    validate("StatusSource", source)
    assert source == {
        "id": sid,
        "text": "Lift broken again? #lift @bob",
        "spoiler_text": "building",
    }

    edited = await answer(
        await node.put(f"/api/v1/statuses/{sid}", data={"status": "Lift fixed!"}, headers=ada)
    )
    validate("Status", edited)
    assert edited["edited_at"] is not None
    assert edited["content"] == "<p>Lift fixed!</p>"
    assert edited["tags"] == []

    # Another member cannot edit or delete it: it is not theirs.
    await mastodon_error(
        await node.put(f"/api/v1/statuses/{sid}", data={"status": "x"}, headers=bob), 404
    )
    await mastodon_error(await node.delete(f"/api/v1/statuses/{sid}", headers=bob), 404)

    deleted = await answer(await node.delete(f"/api/v1/statuses/{sid}", headers=ada))
    assert deleted["text"] == "Lift fixed!"  # for "delete and redraft"
    await mastodon_error(await node.get(f"/api/v1/statuses/{sid}", headers=ada), 404)


async def test_status_validation(node: TestClient) -> None:
    ada, _ = await _two(node)
    blank = await mastodon_error(
        await node.post("/api/v1/statuses", data={"status": " "}, headers=ada), 422
    )
    assert blank.startswith("Validation failed")
    huge = await node.post("/api/v1/statuses", data={"status": "x" * 5001}, headers=ada)
    assert "5000" in await mastodon_error(huge, 422)
    wrong = await node.post(
        "/api/v1/statuses", data={"status": "hi", "visibility": "everyone"}, headers=ada
    )
    await mastodon_error(wrong, 422)
    poll = await node.post(
        "/api/v1/statuses",
        json={"status": "hi", "poll": {"options": ["a", "b"], "expires_in": 600}},
        headers=ada,
    )
    assert "poll" in await mastodon_error(poll, 422)
    unknown_reply = await node.post(
        "/api/v1/statuses", data={"status": "hi", "in_reply_to_id": "999999"}, headers=ada
    )
    await mastodon_error(unknown_reply, 404)
    not_json = await node.post(
        "/api/v1/statuses", data=b"{", headers={**ada, "Content-Type": "application/json"}
    )
    await mastodon_error(not_json, 400)


async def test_idempotency_key_gives_the_same_status(node: TestClient) -> None:
    ada, _ = await _two(node)
    key = {**ada, "Idempotency-Key": "abc-123"}
    first = await answer(await node.post("/api/v1/statuses", data={"status": "once"}, headers=key))
    again = await answer(await node.post("/api/v1/statuses", data={"status": "once"}, headers=key))
    assert first["id"] == again["id"]
    home = await answer(await node.get("/api/v1/timelines/home", headers=ada))
    assert [s["id"] for s in home] == [first["id"]]
    other = await answer(
        await node.post(
            "/api/v1/statuses", data={"status": "once"}, headers={**ada, "Idempotency-Key": "x"}
        )
    )
    assert other["id"] != first["id"]


async def test_follow_request_then_home_timeline(node: TestClient) -> None:
    ada, bob = await _two(node)
    ada_id = (await answer(await node.get("/api/v1/accounts/verify_credentials", headers=ada)))[
        "id"
    ]
    bob_id = (await answer(await node.get("/api/v1/accounts/verify_credentials", headers=bob)))[
        "id"
    ]

    rel = await answer(await node.post(f"/api/v1/accounts/{ada_id}/follow", headers=bob))
    validate("Relationship", rel)
    assert rel["requested"] is True
    assert rel["following"] is False

    requests = await answer(await node.get("/api/v1/follow_requests", headers=ada))
    validate_list("Account", requests)
    assert [a["id"] for a in requests] == [bob_id]
    rel = await answer(await node.post(f"/api/v1/follow_requests/{bob_id}/authorize", headers=ada))
    assert rel["followed_by"] is True

    rels = await answer(
        await node.get(f"/api/v1/accounts/relationships?id[]={ada_id}&id[]=123456", headers=bob)
    )
    validate_list("Relationship", rels)
    assert [(r["id"], r["following"]) for r in rels] == [(ada_id, True)]

    posted = await _post(node, ada, "Drill to lend")
    home = await answer(await node.get("/api/v1/timelines/home", headers=bob))
    validate_list("Status", home)
    assert [s["id"] for s in home] == [posted["id"]]
    assert home[0]["account"]["id"] == ada_id

    followers = await answer(await node.get(f"/api/v1/accounts/{ada_id}/followers", headers=bob))
    assert [a["acct"] for a in followers] == ["bob"]
    account = await answer(await node.get(f"/api/v1/accounts/{ada_id}", headers=bob))
    validate("Account", account)
    assert account["followers_count"] == 1
    assert account["statuses_count"] == 1

    await answer(await node.post(f"/api/v1/accounts/{ada_id}/unfollow", headers=bob))
    later = await _post(node, ada, "Not for bob any more")
    home = await answer(await node.get("/api/v1/timelines/home", headers=bob))
    assert later["id"] not in [s["id"] for s in home]


async def test_private_statuses_reach_followers_only(node: TestClient) -> None:
    ada, bob = await _two(node)
    private = await _post(node, ada, "for my followers", visibility="private")
    await mastodon_error(await node.get(f"/api/v1/statuses/{private['id']}", headers=bob), 404)
    public = await answer(await node.get("/api/v1/timelines/public?local=true", headers=bob))
    assert private["id"] not in [s["id"] for s in public]


async def test_home_timeline_pages_with_link_headers(node: TestClient) -> None:
    ada, _ = await _two(node)
    ids = [(await _post(node, ada, f"post {i}"))["id"] for i in range(5)]
    resp = await node.get("/api/v1/timelines/home?limit=2", headers=ada)
    first = await answer(resp)
    assert [s["id"] for s in first] == ids[::-1][:2]
    links = dict(
        (rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(next|prev)"', resp.headers["Link"])
    )
    assert f"max_id={ids[3]}" in links["next"]
    assert f"min_id={ids[4]}" in links["prev"]
    following = await answer(await node.get(links["next"].split("127.0.0.1:8080")[-1], headers=ada))
    assert [s["id"] for s in following] == [ids[2], ids[1]]
    # min_id: the items just above, newest first; since_id: the newest above.
    above = await answer(
        await node.get(f"/api/v1/timelines/home?min_id={ids[0]}&limit=2", headers=ada)
    )
    assert [s["id"] for s in above] == [ids[2], ids[1]]
    newest = await answer(
        await node.get(f"/api/v1/timelines/home?since_id={ids[0]}&limit=2", headers=ada)
    )
    assert [s["id"] for s in newest] == [ids[4], ids[3]]
    bad = await node.get("/api/v1/timelines/home?max_id=abc", headers=ada)
    await mastodon_error(bad, 422)
    # Unknown parameters are ignored; limit above the maximum is lowered to it.
    many = await node.get("/api/v1/timelines/home?limit=9999&colour=blue", headers=ada)
    assert len(await answer(many)) == 5


async def test_tag_timeline_and_context(node: TestClient) -> None:
    ada, bob = await _two(node)
    root = await _post(node, ada, "Who has a #ladder?")
    reply_ = await _post(node, bob, "I do", in_reply_to_id=root["id"])
    assert reply_["in_reply_to_id"] == root["id"]
    assert reply_["in_reply_to_account_id"] == root["account"]["id"]
    tagged = await answer(await node.get("/api/v1/timelines/tag/Ladder", headers=bob))
    assert [s["id"] for s in tagged] == [root["id"]]
    context = await answer(await node.get(f"/api/v1/statuses/{root['id']}/context", headers=bob))
    validate("Context", context)
    assert [s["id"] for s in context["descendants"]] == [reply_["id"]]
    up = await answer(await node.get(f"/api/v1/statuses/{reply_['id']}/context", headers=ada))
    assert [s["id"] for s in up["ancestors"]] == [root["id"]]
    refreshed = await answer(await node.get(f"/api/v1/statuses/{root['id']}", headers=ada))
    assert refreshed["replies_count"] == 1


async def test_unsupported_actions_say_so(node: TestClient) -> None:
    ada, bob = await _two(node)
    posted = await _post(node, ada, "hello")
    message = await mastodon_error(
        await node.post(f"/api/v1/statuses/{posted['id']}/favourite", headers=bob), 422
    )
    assert "favourite" in message
    assert await answer(await node.get("/api/v1/lists", headers=bob)) == []
    assert await answer(await node.get("/api/v2/filters", headers=bob)) == []
    assert await answer(await node.get("/api/v1/custom_emojis")) == []


async def test_blocks_and_mutes(node: TestClient) -> None:
    ada, bob = await _two(node)
    bob_id = (await answer(await node.get("/api/v1/accounts/verify_credentials", headers=bob)))[
        "id"
    ]
    rel = await answer(await node.post(f"/api/v1/accounts/{bob_id}/mute", headers=ada))
    assert rel["muting"] is True
    muted = await answer(await node.get("/api/v1/mutes", headers=ada))
    assert [a["id"] for a in muted] == [bob_id]
    rel = await answer(await node.post(f"/api/v1/accounts/{bob_id}/unmute", headers=ada))
    assert rel["muting"] is False
    rel = await answer(await node.post(f"/api/v1/accounts/{bob_id}/block", headers=ada))
    assert rel["blocking"] is True
    await mastodon_error(await node.get("/api/v1/accounts/99999999", headers=ada), 404)


async def test_lookup_and_search(node: TestClient) -> None:
    ada, _ = await _two(node)
    found = await answer(await node.get("/api/v1/accounts/lookup?acct=bob", headers=ada))
    assert found["acct"] == "bob"
    await mastodon_error(await node.get("/api/v1/accounts/lookup?acct=nobody", headers=ada), 404)
    results = await answer(await node.get("/api/v1/accounts/search?q=bo", headers=ada))
    validate_list("Account", results)
    assert [a["acct"] for a in results] == ["bob"]


async def test_rate_limit_headers_and_429(node: TestClient, clock: Any) -> None:
    ada, _ = await _two(node)
    first = await node.get("/api/v1/timelines/home", headers=ada)
    assert first.status == 200
    assert first.headers["X-RateLimit-Limit"] == "300"
    assert first.headers["X-RateLimit-Remaining"] == "299"
    assert first.headers["X-RateLimit-Reset"].endswith("Z")
    for _ in range(299):
        last = await node.get("/api/v1/custom_emojis", headers=ada)
    assert last.headers["X-RateLimit-Remaining"] == "0"
    refused = await node.get("/api/v1/timelines/home", headers=ada)
    assert await mastodon_error(refused, 429) == "Too many requests"
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    # Another token has its own allowance; the window moves on.
    other = await node.get("/api/v1/custom_emojis")
    assert other.status == 200
    clock.advance(seconds=301)
    assert (await node.get("/api/v1/timelines/home", headers=ada)).status == 200


async def test_scopes_are_enforced(node: TestClient) -> None:
    from tests.node.oauth_support import approve, authorize_url, exchange, register_app
    from tests.web.support import log_in_by_form

    await _two(node)
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "ada", "correct horse battery staple")
    app = await register_app(node, scopes="read write")
    tokens = {}
    for scope in ("read", "write:statuses"):
        query = await approve(node, authorize_url(app, scope=scope))
        resp = await exchange(node, app, query["code"][0])
        tokens[scope] = bearer((await answer(resp))["access_token"])
    node.session.cookie_jar.clear()
    reader, writer = tokens["read"], tokens["write:statuses"]
    assert (await node.get("/api/v1/timelines/home", headers=reader)).status == 200
    denied = await node.post("/api/v1/statuses", data={"status": "hi"}, headers=reader)
    assert "scope" in await mastodon_error(denied, 403)
    posted = await answer(
        await node.post("/api/v1/statuses", data={"status": "hi"}, headers=writer)
    )
    assert posted["application"]["name"] == "Test App"
    await mastodon_error(await node.get("/api/v1/timelines/home", headers=writer), 403)
    await mastodon_error(await node.get("/api/v1/notifications", headers=writer), 403)


async def test_browser_apps_may_call_the_api(node: TestClient) -> None:
    ada, _ = await _two(node)
    preflight = await node.options(
        "/api/v1/statuses",
        headers={
            "Origin": "https://elk.zone",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, idempotency-key",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    resp = await node.get("/api/v1/timelines/home", headers={**ada, "Origin": "https://elk.zone"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Link" in resp.headers["Access-Control-Expose-Headers"]
    token = await node.options(
        "/oauth/token",
        headers={"Origin": "https://elk.zone", "Access-Control-Request-Method": "POST"},
    )
    assert token.status == 204
    # Pages are not opened to other sites.
    page = await node.get("/login", headers={"Origin": "https://elk.zone"})
    assert "Access-Control-Allow-Origin" not in page.headers


async def test_an_accounts_statuses(node: TestClient) -> None:
    ada, bob = await _two(node)
    ada_id = (await answer(await node.get("/api/v1/accounts/verify_credentials", headers=ada)))[
        "id"
    ]
    public = await _post(node, ada, "Hello #street")
    private = await _post(node, ada, "Followers only", visibility="private")
    reply_ = await _post(node, ada, "A reply", in_reply_to_id=public["id"])
    mine = await answer(await node.get(f"/api/v1/accounts/{ada_id}/statuses", headers=ada))
    assert [s["id"] for s in mine] == [reply_["id"], private["id"], public["id"]]
    seen = await answer(await node.get(f"/api/v1/accounts/{ada_id}/statuses", headers=bob))
    assert [s["id"] for s in seen] == [reply_["id"], public["id"]]  # bob does not follow ada
    no_replies = await answer(
        await node.get(f"/api/v1/accounts/{ada_id}/statuses?exclude_replies=true", headers=bob)
    )
    assert [s["id"] for s in no_replies] == [public["id"]]
    tagged = await answer(
        await node.get(f"/api/v1/accounts/{ada_id}/statuses?tagged=street", headers=bob)
    )
    assert [s["id"] for s in tagged] == [public["id"]]
    pinned = await node.get(f"/api/v1/accounts/{ada_id}/statuses?pinned=1", headers=bob)
    assert await answer(pinned) == []


async def test_a_flood_of_posts_is_refused(make_node: Any, make_settings: Any) -> None:
    node = await make_node(make_settings(content={"messages_per_hour": 3}))
    ada, _ = await _two(node)
    for i in range(3):
        await _post(node, ada, f"post {i}")
    flood = await node.post("/api/v1/statuses", data={"status": "one more"}, headers=ada)
    assert "an hour" in await mastodon_error(flood, 429)
    assert int(flood.headers["Retry-After"]) > 0
    home = await answer(await node.get("/api/v1/timelines/home", headers=ada))
    assert len(home) == 3


async def test_a_verified_neighbour_shows_it_on_their_profile(node: TestClient) -> None:
    from tests.node.verification_support import set_verified

    ada, bob = await _two(node)
    await set_verified(node, ada["Authorization"][7:], "bob")
    bob_id = (await answer(await node.get("/api/v1/accounts/verify_credentials", headers=bob)))[
        "id"
    ]
    shown = await answer(await node.get(f"/api/v1/accounts/{bob_id}", headers=ada))
    validate("Account", shown)
    [field] = shown["fields"]
    assert field["name"] == "Verified"
    assert field["value"].startswith("Resident of ")
    assert field["verified_at"] is not None
    ada_id = (await answer(await node.get("/api/v1/accounts/verify_credentials", headers=ada)))[
        "id"
    ]
    unverified = await answer(await node.get(f"/api/v1/accounts/{ada_id}", headers=bob))
    assert unverified["fields"] == []
