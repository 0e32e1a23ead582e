"""Quartier's own things through the Mastodon client API: listings as statuses, replies that
answer listings, direct messages and conversations, notifications, media, search, markers and
the community's notices as announcements. Entities are checked against Mastodon's shapes."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from tests.api import admin_token, bearer, member_token
from tests.node.mastodon_entities import validate, validate_list
from tests.node.mastodon_support import answer, mastodon_error
from tests.node.media_support import jpeg, png


async def _people(node: TestClient) -> tuple[dict[str, str], dict[str, str]]:
    ada = await admin_token(node, "ada")
    bob = await member_token(node, ada, "bob")
    return bearer(ada), bearer(bob)


async def _me(node: TestClient, who: dict[str, str]) -> dict[str, Any]:
    return await answer(await node.get("/api/v1/accounts/verify_credentials", headers=who))


async def _listing(node: TestClient, who: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {"kind": "give", "title": "Blue sofa", "category": "furniture", **extra}
    resp = await node.post("/api/quartier/v1/listings", json=body, headers=who)
    return await answer(resp, 201)


async def test_a_listing_is_a_status_in_every_home_and_under_its_kind(node: TestClient) -> None:
    ada, bob = await _people(node)
    listing = await _listing(node, ada, description="Three seats, pick up on Saturday.")
    home = await answer(await node.get("/api/v1/timelines/home", headers=bob))
    validate_list("Status", home)
    assert len(home) == 1
    status = home[0]
    assert status["account"]["acct"] == "ada"
    assert "Blue sofa" in status["content"]
    assert "Giving away" in status["content"]
    assert "Free" in status["content"]  # a gift with no price reads as free
    assert "Three seats" in status["content"]
    assert status["url"].endswith(f"/listings/{listing['id']}")
    assert [t["name"] for t in status["tags"]] == ["give"]
    # A client that knows nothing of listings finds them under the kind's tag.
    tagged = await answer(await node.get("/api/v1/timelines/tag/give", headers=bob))
    assert [s["id"] for s in tagged] == [status["id"]]
    # An edit of the listing shows in the status at once.
    resp = await node.patch(
        f"/api/quartier/v1/listings/{listing['id']}", json={"title": "Green sofa"}, headers=ada
    )
    await answer(resp)
    again = await answer(await node.get(f"/api/v1/statuses/{status['id']}", headers=bob))
    assert "Green sofa" in again["content"]


async def test_a_listing_with_a_price_and_photo(node: TestClient) -> None:
    ada, bob = await _people(node)
    form = aiohttp.FormData()
    form.add_field("file", jpeg((64, 48)), filename="p.jpg", content_type="image/jpeg")
    form.add_field("description", "A lamp")
    photo = await answer(await node.post("/api/quartier/v1/media", data=form, headers=ada), 201)
    await _listing(
        node,
        ada,
        kind="sell",
        title="Lamp",
        category="furniture",
        price={"amount": "12.50", "currency": "EUR"},
        photos=[photo["id"]],
    )
    home = await answer(await node.get("/api/v1/timelines/home", headers=bob))
    status = home[0]
    assert "€12.50" in status["content"]
    media = status["media_attachments"]
    validate_list("MediaAttachment", media)
    assert [(m["type"], m["description"]) for m in media] == [("image", "A lamp")]
    assert media[0]["meta"]["original"]["width"] == 64
    only_media = await answer(await node.get("/api/v1/timelines/public?only_media=1", headers=bob))
    assert [s["id"] for s in only_media] == [status["id"]]


async def test_replying_to_a_listing_answers_it(node: TestClient) -> None:
    ada, bob = await _people(node)
    listing = await _listing(node, ada)
    status = (await answer(await node.get("/api/v1/timelines/home", headers=bob)))[0]
    reply = await answer(
        await node.post(
            "/api/v1/statuses",
            data={"status": "I would love it!", "in_reply_to_id": status["id"]},
            headers=bob,
        )
    )
    validate("Status", reply)
    assert reply["visibility"] == "direct"
    assert reply["in_reply_to_id"] == status["id"]
    # The listing's author sees a response to accept or decline, as from the web pages.
    responses = await answer(
        await node.get(f"/api/quartier/v1/listings/{listing['id']}/responses", headers=ada)
    )
    assert [r["message"] for r in responses] == ["I would love it!"]
    # ... and a mention notification carrying the answer.
    notes = await answer(await node.get("/api/v1/notifications", headers=ada))
    validate_list("Notification", notes)
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("mention", reply["id"])]
    assert notes[0]["account"]["acct"] == "bob"


async def test_direct_messages_and_conversations(node: TestClient) -> None:
    ada, bob = await _people(node)
    sent = await answer(
        await node.post(
            "/api/v1/statuses",
            data={"status": "@bob the lift is fixed", "visibility": "direct"},
            headers=ada,
        )
    )
    validate("Status", sent)
    assert sent["visibility"] == "direct"
    assert [m["acct"] for m in sent["mentions"]] == ["bob"]
    assert "the lift is fixed" in sent["content"]

    # A message is counted unread in its conversation, not notified a second time.
    notes = await answer(await node.get("/api/v1/notifications?types[]=mention", headers=bob))
    assert notes == []
    conversations = await answer(await node.get("/api/v1/conversations/", headers=bob))
    validate_list("Conversation", conversations)
    assert len(conversations) == 1
    conversation = conversations[0]
    assert conversation["unread"] is True
    assert [a["acct"] for a in conversation["accounts"]] == ["ada"]
    assert conversation["last_status"]["id"] == sent["id"]

    thanks = await answer(
        await node.post(
            "/api/v1/statuses",
            data={"status": "@ada thanks!", "visibility": "direct", "in_reply_to_id": sent["id"]},
            headers=bob,
        )
    )
    direct = await answer(await node.get("/api/v1/timelines/direct", headers=ada))
    assert [s["id"] for s in direct] == [thanks["id"], sent["id"]]
    read = await answer(
        await node.post(f"/api/v1/conversations/{conversation['id']}/read", headers=bob)
    )
    assert read["unread"] is False
    # The message is also in Quartier's own conversation, as the web pages show it.
    mine = await answer(await node.get("/api/quartier/v1/conversations", headers=ada))
    assert len(mine) == 1
    # A third member cannot read it.
    cyd = bearer(await member_token(node, ada["Authorization"][7:], "cyd"))
    await mastodon_error(await node.get(f"/api/v1/statuses/{sent['id']}", headers=cyd), 404)
    nobody = await node.post(
        "/api/v1/statuses", data={"status": "no one", "visibility": "direct"}, headers=ada
    )
    assert "mention" in await mastodon_error(nobody, 422)


async def test_follow_request_notification_and_filters(node: TestClient) -> None:
    ada, bob = await _people(node)
    ada_id = (await _me(node, ada))["id"]
    await answer(await node.post(f"/api/v1/accounts/{ada_id}/follow", headers=bob))
    notes = await answer(await node.get("/api/v1/notifications", headers=ada))
    validate_list("Notification", notes)
    assert [(n["type"], n["account"]["acct"]) for n in notes] == [("follow_request", "bob")]
    assert "status" not in notes[0]
    none = await answer(
        await node.get("/api/v1/notifications?exclude_types[]=follow_request", headers=ada)
    )
    assert none == []
    one = await answer(await node.get(f"/api/v1/notifications/{notes[0]['id']}", headers=ada))
    assert one["id"] == notes[0]["id"]
    await mastodon_error(
        await node.get(f"/api/v1/notifications/{notes[0]['id']}", headers=bob), 404
    )
    grouped = await answer(await node.get("/api/v2/notifications", headers=ada))
    validate("GroupedNotificationsResults", grouped)
    assert [g["type"] for g in grouped["notification_groups"]] == ["follow_request"]
    assert (
        await answer(await node.post(f"/api/v1/notifications/{one['id']}/dismiss", headers=ada))
        == {}
    )
    assert await answer(await node.get("/api/v1/notifications", headers=ada)) == []


async def test_system_notifications_come_from_the_community(node: TestClient) -> None:
    ada, bob = await _people(node)
    resp = await node.post(
        "/api/quartier/v1/notices",
        json={"kind": "outage", "title": "Lift out", "text": "B"},
        headers=ada,
    )
    notice = await answer(resp, 201)
    notes = await answer(await node.get("/api/v1/notifications", headers=bob))
    validate_list("Notification", notes)
    assert [n["type"] for n in notes] == ["mention"]
    assert notes[0]["account"]["acct"] == "ada"  # who published it
    assert "notice" in notes[0]["status"]["content"]
    # Read twice, it is the same post (made once).
    again = await answer(await node.get("/api/v1/notifications", headers=bob))
    assert again[0]["status"]["id"] == notes[0]["status"]["id"]

    announcements = await answer(await node.get("/api/v1/announcements", headers=bob))
    validate_list("Announcement", announcements)
    assert [(a["id"], a["read"]) for a in announcements] == [(str(notice["id"]), False)]
    assert "Lift out" in announcements[0]["content"]
    dismissed = await node.post(f"/api/v1/announcements/{notice['id']}/dismiss", headers=bob)
    assert await answer(dismissed) == {}
    announcements = await answer(await node.get("/api/v1/announcements", headers=bob))
    assert announcements[0]["read"] is True


async def test_markers_mark_notifications_read(node: TestClient) -> None:
    ada, bob = await _people(node)
    ada_id = (await _me(node, ada))["id"]
    await answer(await node.post(f"/api/v1/accounts/{ada_id}/follow", headers=bob))
    notes = await answer(await node.get("/api/v1/notifications", headers=ada))
    unread = await answer(await node.get("/api/v1/notifications/unread_count", headers=ada))
    assert unread == {"count": 1}
    saved = await answer(
        await node.post(
            "/api/v1/markers", data={"notifications[last_read_id]": notes[0]["id"]}, headers=ada
        )
    )
    validate("Markers", saved)
    assert saved["notifications"]["last_read_id"] == notes[0]["id"]
    read = await answer(
        await node.get("/api/v1/markers?timeline[]=home&timeline[]=notifications", headers=ada)
    )
    assert set(read) == {"notifications"}
    assert await answer(await node.get("/api/v1/notifications/unread_count", headers=ada)) == {
        "count": 0
    }
    again = await answer(
        await node.post(
            "/api/v1/markers", json={"notifications": {"last_read_id": notes[0]["id"]}}, headers=ada
        )
    )
    assert again["notifications"]["version"] == 2
    await mastodon_error(
        await node.post("/api/v1/markers", data={"home[last_read_id]": "abc"}, headers=ada), 422
    )


async def test_media_upload_then_post(node: TestClient) -> None:
    ada, bob = await _people(node)
    form = aiohttp.FormData()
    form.add_field("file", png((120, 80)), filename="x.png", content_type="image/png")
    form.add_field("description", "Broken lift button")
    form.add_field("focus", "0.5,-0.25")
    media = await answer(await node.post("/api/v2/media", data=form, headers=ada))
    validate("MediaAttachment", media)
    assert media["url"]
    assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    changed = await answer(
        await node.put(f"/api/v1/media/{media['id']}", data={"description": "Lift"}, headers=ada)
    )
    assert changed["description"] == "Lift"
    await mastodon_error(await node.get(f"/api/v1/media/{media['id']}", headers=bob), 404)
    posted = await answer(
        await node.post(
            "/api/v1/statuses", data={"status": "See", "media_ids[]": media["id"]}, headers=ada
        )
    )
    assert [m["id"] for m in posted["media_attachments"]] == [media["id"]]
    served = await node.get(posted["media_attachments"][0]["url"].split("8080")[-1])
    assert served.status == 200
    # Another member's upload cannot be attached.
    theirs = aiohttp.FormData()
    theirs.add_field("file", png(), filename="y.png", content_type="image/png")
    other = await answer(await node.post("/api/v2/media", data=theirs, headers=bob))
    stolen = await node.post(
        "/api/v1/statuses", data={"status": "mine", "media_ids[]": other["id"]}, headers=ada
    )
    await mastodon_error(stolen, 422)
    bad_focus = aiohttp.FormData()
    bad_focus.add_field("file", png(), filename="z.png", content_type="image/png")
    bad_focus.add_field("focus", "3,3")
    await mastodon_error(await node.post("/api/v2/media", data=bad_focus, headers=ada), 422)
    not_image = aiohttp.FormData()
    not_image.add_field("file", b"not an image", filename="a.txt", content_type="text/plain")
    assert (await node.post("/api/v2/media", data=not_image, headers=ada)).status in (415, 422)


async def test_search_v2(node: TestClient) -> None:
    ada, bob = await _people(node)
    await answer(
        await node.post("/api/v1/statuses", data={"status": "Bike #repair café"}, headers=ada)
    )
    found = await answer(await node.get("/api/v2/search?q=bike", headers=bob))
    validate("Search", found)
    assert len(found["statuses"]) == 1
    tags = await answer(await node.get("/api/v2/search?q=%23rep&type=hashtags", headers=bob))
    assert [t["name"] for t in tags["hashtags"]] == ["repair"]
    assert tags["accounts"] == []
    people = await answer(await node.get("/api/v2/search?q=bob&type=accounts", headers=ada))
    assert [a["acct"] for a in people["accounts"]] == ["bob"]
    await mastodon_error(await node.get("/api/v2/search?q=x&type=cats", headers=ada), 422)


async def test_streams_carry_posts_messages_and_notifications(node: TestClient) -> None:
    """What a home, direct and notification stream gets, as apps read it (the payload is JSON
    text inside the message)."""
    import asyncio
    import json

    ada, bob = await _people(node)
    ada_id = (await _me(node, ada))["id"]
    bob_token = bob["Authorization"][7:]
    url = f"/api/v1/streaming?access_token={bob_token}"
    async with node.ws_connect(url) as ws:
        for stream in ("user", "direct"):
            await ws.send_json({"type": "subscribe", "stream": stream})
        await answer(await node.post(f"/api/v1/accounts/{ada_id}/follow", headers=bob))
        await answer(
            await node.post(
                "/api/v1/statuses",
                data={"status": "@bob see you at 6", "visibility": "direct"},
                headers=ada,
            )
        )
        seen: dict[str, Any] = {}
        while len(seen) < 2:
            message = await asyncio.wait_for(ws.receive_json(), 10)
            seen.setdefault(message["event"], (message["stream"], json.loads(message["payload"])))
    stream, update = seen["update"]
    assert stream == ["user"]
    validate("Status", update)
    assert update["visibility"] == "direct"
    stream, conversation = seen["conversation"]
    assert stream == ["direct"]
    validate("Conversation", conversation)
    assert conversation["unread"] is True
    assert conversation["last_status"]["id"] == update["id"]
    # A post that mentions bob is a notification on his stream.
    async with node.ws_connect(url) as ws:
        await ws.send_json({"type": "subscribe", "stream": "user:notification"})
        mention = await answer(
            await node.post("/api/v1/statuses", data={"status": "@bob hello"}, headers=ada)
        )
        message = await asyncio.wait_for(ws.receive_json(), 10)
        while message.get("event") != "notification":
            message = await asyncio.wait_for(ws.receive_json(), 10)
    notification = json.loads(message["payload"])
    validate("Notification", notification)
    assert (notification["type"], notification["status"]["id"]) == ("mention", mention["id"])
