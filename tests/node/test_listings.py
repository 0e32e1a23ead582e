"""Listings on one node, over the real HTTP API: publishing every kind, what a form may not
say, who may change what, responses becoming agreements, expiry and its reminder, and the
notifications each step leaves. (Across nodes: tests/integration/test_listings.py.)"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from activitypub.listings import Price
from node.db import activated
from node.http.keys import DATABASE, LISTINGS
from node.listings.models import Listing
from tests.api import admin_token, bearer, error_of

PATH = "/api/quartier/v1/listings"
DRILL = {
    "kind": "lend",
    "title": "Cordless drill",
    "category": "tools",
    "details": {"duration_days": 7},
}

KINDS = [
    {"kind": "give", "title": "Sofa, three seats", "category": "furniture"},
    {**DRILL, "description": "With two batteries.\n\nAsk me on weekends."},
    {"kind": "lend", "title": "Ladder", "category": "diy", "details": {"return_by": "2026-12-20"}},
    {
        "kind": "sell",
        "title": "Child bike 16 inch",
        "category": "bicycles",
        "price": {"amount": "35.50", "currency": "EUR"},
    },
    {
        "kind": "service",
        "title": "Maths tutoring",
        "category": "tutoring",
        "details": {"paid": False},
    },
    {
        "kind": "service",
        "title": "Plumbing repairs",
        "category": "diy",
        "details": {"paid": True},
        "price": {"amount": 20, "currency": "CHF"},
    },
    {
        "kind": "request",
        "title": "Need a tent",
        "category": "sports",
        "details": {"need": "borrow"},
    },
    {
        "kind": "carpool",
        "title": "Lyon on Friday",
        "category": "transport",
        "details": {
            "from": "Place du marché",
            "to": "Lyon Part-Dieu",
            "departure": "2026-12-04T08:30+01:00",
            "seats": 3,
            "recurrence": "weekly",
        },
    },
]


async def publish(node, token: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    resp = await node.post(PATH, json=body, headers=bearer(token))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def notifications(node, token: str) -> list[dict[str, Any]]:
    resp = await node.get("/api/quartier/v1/notifications", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.mark.parametrize("body", KINDS, ids=lambda b: f"{b['kind']}-{b['title']}")
async def test_every_kind_is_published_and_read_back(node, people, clock, body):
    listing = await publish(node, people["bea"], body)
    assert listing["kind"] == body["kind"]
    assert listing["status"] == "open"
    assert listing["audience"] == "node"  # the safe default: it stays on the node
    assert listing["author"].endswith("/users/bea")
    assert listing["local"] is True
    assert listing["published_at"] == "2026-11-26T12:00:00Z"
    assert listing["expires_at"] == "2026-12-26T12:00:00Z"  # 30 days by default
    resp = await node.get(f"{PATH}/{listing['id']}", headers=bearer(people["cyd"]))
    assert resp.status == 200
    assert await resp.json() == listing


async def test_kind_terms_are_kept_as_given(node, people):
    carpool = await publish(node, people["bea"], KINDS[-1])
    assert carpool["details"] == {
        "from": "Place du marché",
        "to": "Lyon Part-Dieu",
        "departure": "2026-12-04T08:30:00+01:00",
        "seats": 3,
        "recurrence": "weekly",
    }
    sale = await publish(node, people["bea"], KINDS[3])
    assert sale["price"] == {"amount": "35.50", "currency": "EUR"}
    yen = await publish(
        node,
        people["bea"],
        {**KINDS[3], "title": "Rice cooker", "price": {"amount": "3000", "currency": "JPY"}},
    )
    assert yen["price"] == {"amount": "3000", "currency": "JPY"}


async def test_plain_text_and_html_descriptions_come_out_safe(node, people):
    text = await publish(node, people["bea"], {**DRILL, "description": "a <b> tag\n\nsecond"})
    assert text["description_html"] == "<p>a &lt;b&gt; tag</p><p>second</p>"
    hostile = (
        '<p onclick="x()">Good <strong>drill</strong><script>alert(1)</script>'
        ' <img src=x onerror=alert(2)> <a href="javascript:alert(3)">js</a> '
        '<a href="https://example.org/manual">manual</a><iframe src="https://evil"></iframe></p>'
    )
    html = await publish(node, people["bea"], {**DRILL, "description": hostile, "format": "html"})
    safe = html["description_html"]
    for bad in ("script", "onerror", "onclick", "javascript:", "iframe", "<img"):
        assert bad not in safe
    assert "<strong>drill</strong>" in safe
    assert 'href="https://example.org/manual"' in safe
    assert 'rel="nofollow noopener noreferrer"' in safe
    assert " ".join(html["description"].split()) == "Good drill js manual"


async def test_the_place_is_the_community_and_a_blurred_point(make_settings, make_node):
    node = await make_node(
        make_settings(community={"name": "Les Tilleuls", "latitude": 48.8566, "longitude": 2.3522})
    )
    ada = await admin_token(node, "ada")
    exact = {"latitude": 48.85661, "longitude": 2.35222}  # the member's own door
    listing = await publish(node, ada, {**DRILL, "location": exact})
    place = listing["place"]
    assert place["name"] == "Les Tilleuls"
    point = place["point"]
    assert point["radius_m"] == 500
    assert (point["latitude"], point["longitude"]) != (exact["latitude"], exact["longitude"])
    # A neighbour a few metres away lands in the same cell: the point names no door.
    near = await publish(
        node, ada, {**DRILL, "location": {"latitude": 48.85672, "longitude": 2.35241}}
    )
    assert near["place"]["point"] == point
    # Without a point, the community's (blurred the same way).
    default = await publish(node, ada, DRILL)
    assert default["place"]["point"]["radius_m"] == 500


async def test_without_any_point_the_place_is_the_name_alone(node, people):
    listing = await publish(node, people["bea"], DRILL)
    assert listing["place"] == {"name": "My neighbourhood", "point": None}


async def test_expiry_may_be_chosen_or_left_out_for_a_standing_offer(node, people):
    chosen = await publish(node, people["bea"], {**DRILL, "expires_at": "2026-12-01T18:00Z"})
    assert chosen["expires_at"] == "2026-12-01T18:00:00Z"
    standing = await publish(node, people["bea"], {**DRILL, "expires_at": None})
    assert standing["expires_at"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "swap"}, "kind"),
        ({"title": "ab"}, "title"),
        ({"title": None}, "title"),
        ({"category": "weapons"}, "category"),
        ({"audience": "everyone"}, "audience"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "3"}, "quantity"),
        ({"description": "x" * 10_001}, "description"),
        ({"unknown": 1}, "unknown"),
        ({"photos": ["a", "b", "c", "d", "e"]}, "photos"),
        ({"expires_at": "2026-12-01T18:00"}, "expires_at"),  # no time zone
        ({"expires_at": "2026-11-25T18:00Z"}, "expires_at"),  # in the past
        ({"expires_at": "2028-11-25T18:00Z"}, "expires_at"),  # beyond a year
        ({"location": {"latitude": 91, "longitude": 0}}, "location.latitude"),
    ],
)
async def test_what_a_listing_may_not_say_is_refused_naming_the_field(node, people, change, field):
    body = {**DRILL, **change}
    error = await error_of(
        await node.post(PATH, json=body, headers=bearer(people["bea"])), 422, "validation_failed"
    )
    assert field in {d["field"] for d in error["details"]}, error
    assert await _count(node) == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "sell", "title": "Bike", "category": "bicycles"}, "a sale needs a price"),
        (
            {**KINDS[3], "price": {"amount": "-1", "currency": "EUR"}},
            "greater than or equal to 0",
        ),
        ({**KINDS[3], "price": {"amount": "10", "currency": "EURO"}}, "should match pattern"),
        ({**KINDS[3], "price": {"amount": "10", "currency": "XYZ"}}, "not an ISO 4217 currency"),
        ({**KINDS[3], "price": {"amount": "10", "currency": "FRF"}}, "not an ISO 4217 currency"),
        ({**KINDS[3], "price": {"amount": "10.5", "currency": "JPY"}}, "JPY has 0 decimal"),
        ({**KINDS[3], "price": {"amount": "NaN", "currency": "EUR"}}, "finite number"),
        ({**DRILL, "price": {"amount": "5", "currency": "EUR"}}, "a lend is free"),
        ({**DRILL, "details": {}}, "return_by (a date) or duration_days"),
        ({**DRILL, "details": {"duration_days": 7, "return_by": "2026-12-01"}}, "either"),
        ({**KINDS[4], "price": {"amount": "5", "currency": "EUR"}}, "a free one has none"),
        ({**KINDS[5], "price": None}, "a paid service needs a price"),
        ({**KINDS[6], "details": {"need": "steal"}}, "details.need"),
        ({**KINDS[0], "details": {"x": 1}}, "takes no details"),
        ({**KINDS[7], "details": {**KINDS[7]["details"], "seats": 0}}, "details.seats"),
        ({**KINDS[7], "details": {**KINDS[7]["details"], "seats": "3"}}, "details.seats"),
        (
            {**KINDS[7], "details": {**KINDS[7]["details"], "departure": "2026-12-04T08:30"}},
            "time zone",
        ),
    ],
)
async def test_kind_rules_are_explained(node, people, body, words):
    error = await error_of(
        await node.post(PATH, json=body, headers=bearer(people["bea"])), 422, "validation_failed"
    )
    assert words in str(error["details"]), error
    assert await _count(node) == 0


async def test_only_members_see_and_publish_listings(node, people):
    node.session.cookie_jar.clear()  # the browser session the registration left behind
    await error_of(await node.post(PATH, json=DRILL), 401, "unauthorized")
    listing = await publish(node, people["bea"], DRILL)
    # a visitor (the policy letting public listings out) sees none for the members only
    await error_of(await node.get(f"{PATH}/{listing['id']}"), 404, "not_found")
    await error_of(
        await node.get(f"{PATH}/999999", headers=bearer(people["bea"])), 404, "not_found"
    )


async def test_only_the_author_edits_and_the_kind_rules_still_hold(node, people):
    listing = await publish(node, people["bea"], KINDS[3])
    url = f"{PATH}/{listing['id']}"
    await error_of(
        await node.patch(url, json={"title": "Mine now"}, headers=bearer(people["cyd"])),
        403,
        "forbidden",
    )
    resp = await node.patch(
        url,
        json={"title": "Child bike, 16 inch, blue", "price": {"amount": "30", "currency": "EUR"}},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 200, await resp.text()
    edited = await resp.json()
    assert edited["title"] == "Child bike, 16 inch, blue"
    assert edited["price"] == {"amount": "30.00", "currency": "EUR"}
    assert edited["description"] == listing["description"]  # untouched fields stay
    error = await error_of(
        await node.patch(url, json={"price": None}, headers=bearer(people["bea"])),
        422,
        "validation_failed",
    )
    assert "a sale needs a price" in str(error["details"])
    await error_of(
        await node.patch(url, json={"kind": "give"}, headers=bearer(people["bea"])),
        422,
        "validation_failed",
    )
    await error_of(
        await node.patch(url, json={}, headers=bearer(people["bea"])), 422, "validation_failed"
    )


async def test_withdrawn_listings_leave_every_view_but_their_authors(node, people):
    listing = await publish(node, people["bea"], DRILL)
    url = f"{PATH}/{listing['id']}"
    resp = await node.delete(url, headers=bearer(people["bea"]))
    assert (await resp.json())["status"] == "withdrawn"
    again = await node.delete(url, headers=bearer(people["bea"]))
    assert again.status == 200  # withdrawing twice is not an error
    await error_of(await node.get(url, headers=bearer(people["cyd"])), 404, "not_found")
    assert (await node.get(url, headers=bearer(people["bea"]))).status == 200
    await error_of(
        await node.patch(url, json={"title": "Back"}, headers=bearer(people["bea"])),
        409,
        "conflict",
    )
    await error_of(
        await node.post(f"{url}/status", json={"status": "open"}, headers=bearer(people["bea"])),
        409,
        "conflict",
    )


async def test_mine_lists_the_callers_listings_by_status(node, people):
    first = await publish(node, people["bea"], DRILL)
    second = await publish(node, people["bea"], KINDS[0])
    await publish(node, people["cyd"], KINDS[0])
    resp = await node.post(
        f"{PATH}/{first['id']}/status", json={"status": "done"}, headers=bearer(people["bea"])
    )
    assert resp.status == 200
    mine = await (await node.get(f"{PATH}/mine", headers=bearer(people["bea"]))).json()
    assert [m["id"] for m in mine] == [second["id"], first["id"]]
    done = await (await node.get(f"{PATH}/mine?status=done", headers=bearer(people["bea"]))).json()
    assert [m["id"] for m in done] == [first["id"]]
    await error_of(
        await node.get(f"{PATH}/mine?status=lost", headers=bearer(people["bea"])),
        422,
        "validation_failed",
    )
    await error_of(
        await node.post(
            f"{PATH}/{second['id']}/status",
            json={"status": "expired"},
            headers=bearer(people["bea"]),
        ),
        422,
        "validation_failed",
    )


async def test_the_open_cap_and_the_hourly_limit(make_settings, make_node, clock):
    node = await make_node(
        make_settings(listings={"max_open_per_member": 2, "creations_per_hour": 3})
    )
    ada = await admin_token(node, "ada")
    first = await publish(node, ada, DRILL)
    await publish(node, ada, DRILL)
    error = await error_of(await node.post(PATH, json=DRILL, headers=bearer(ada)), 409, "conflict")
    assert "2 open listings" in error["message"]
    await node.post(f"{PATH}/{first['id']}/status", json={"status": "done"}, headers=bearer(ada))
    await publish(node, ada, DRILL)  # a closed one frees a place
    await node.delete(f"{PATH}/{first['id']}", headers=bearer(ada))
    resp = await node.post(PATH, json=DRILL, headers=bearer(ada))
    await error_of(resp, 429, "too_many_requests")
    assert resp.headers["Retry-After"] == "3600"
    clock.advance(hours=1, seconds=1)  # the window has passed; the cap still holds
    await error_of(await node.post(PATH, json=DRILL, headers=bearer(ada)), 409, "conflict")
    [newest, *_] = await (await node.get(f"{PATH}/mine?status=open", headers=bearer(ada))).json()
    await node.post(f"{PATH}/{newest['id']}/status", json={"status": "done"}, headers=bearer(ada))
    await publish(node, ada, DRILL)


async def test_a_response_becomes_an_agreement_both_sides_see(node, people):
    listing = await publish(node, people["bea"], DRILL)
    url = f"{PATH}/{listing['id']}/responses"
    resp = await node.post(
        url, json={"message": "Could I borrow it Saturday?"}, headers=bearer(people["cyd"])
    )
    assert resp.status == 201, await resp.text()
    response = await resp.json()
    assert response["state"] == "pending"
    [note] = await notifications(node, people["bea"])
    assert note["type"] == "listing.response"
    assert note["actor"].endswith("/users/cyd")
    assert note["listing"] == {"id": listing["id"], "title": "Cordless drill"}

    # Only the author decides.
    decide = f"{PATH}/responses/{response['id']}"
    await error_of(
        await node.post(f"{decide}/accept", headers=bearer(people["cyd"])), 403, "forbidden"
    )
    await error_of(
        await node.post(f"{decide}/accept", headers=bearer(people["ada"])), 404, "not_found"
    )
    accepted = await (await node.post(f"{decide}/accept", headers=bearer(people["bea"]))).json()
    assert accepted["state"] == "accepted"
    assert accepted["agreement"]
    reserved = await (
        await node.get(f"{PATH}/{listing['id']}", headers=bearer(people["ada"]))
    ).json()
    assert (reserved["status"], reserved["available_quantity"]) == ("reserved", 0)
    [agreed] = await notifications(node, people["cyd"])
    assert agreed["type"] == "listing.agreement"
    # Accepting opened the conversation between the two, with a message saying so.
    conversation = accepted["conversation_id"]
    resp = await node.get(
        f"/api/quartier/v1/conversations/{conversation}", headers=bearer(people["cyd"])
    )
    [opening] = await resp.json()
    assert opening["author"].endswith("/users/bea")
    assert opening["text"] == (
        "I accepted your response to “Cordless drill”. Let's arrange the details here."
    )

    # Both sides list it; a third member sees none of it.
    for who in ("bea", "cyd"):
        rows = await (await node.get(f"{PATH}/agreements", headers=bearer(people[who]))).json()
        assert [r["id"] for r in rows] == [response["id"]]
    assert await (await node.get(f"{PATH}/agreements", headers=bearer(people["ada"]))).json() == []
    assert await (await node.get(url, headers=bearer(people["ada"]))).json() == []

    # Either side marks it done, with a thank-you; the listing is done.
    resp = await node.post(
        f"{decide}/done", json={"thanks": "Thanks, it worked!"}, headers=bearer(people["cyd"])
    )
    done = await resp.json()
    assert (done["state"], done["thanks_from_responder"]) == ("done", "Thanks, it worked!")
    resp = await node.post(
        f"{decide}/done", json={"thanks": "Anytime"}, headers=bearer(people["bea"])
    )
    assert (await resp.json())["thanks_from_author"] == "Anytime"
    final = await (await node.get(f"{PATH}/{listing['id']}", headers=bearer(people["bea"]))).json()
    assert final["status"] == "done"


async def test_what_cannot_be_answered(node, people, clock):
    own = await publish(node, people["bea"], DRILL)
    await error_of(
        await node.post(f"{PATH}/{own['id']}/responses", json={}, headers=bearer(people["bea"])),
        409,
        "conflict",
    )
    # Answered once is enough.
    await node.post(f"{PATH}/{own['id']}/responses", json={}, headers=bearer(people["cyd"]))
    await error_of(
        await node.post(f"{PATH}/{own['id']}/responses", json={}, headers=bearer(people["cyd"])),
        409,
        "conflict",
    )
    # More than there is.
    await error_of(
        await node.post(
            f"{PATH}/{own['id']}/responses", json={"quantity": 2}, headers=bearer(people["ada"])
        ),
        409,
        "conflict",
    )
    # Closed, then expired.
    closed = await publish(node, people["bea"], KINDS[0])
    await node.post(
        f"{PATH}/{closed['id']}/status", json={"status": "done"}, headers=bearer(people["bea"])
    )
    error = await error_of(
        await node.post(f"{PATH}/{closed['id']}/responses", json={}, headers=bearer(people["cyd"])),
        409,
        "conflict",
    )
    assert error["message"] == "this listing is done: it no longer takes responses"
    soon = await publish(node, people["bea"], {**DRILL, "expires_at": "2026-11-27T12:00Z"})
    clock.advance(days=2)  # past its expiry, before the sweep ran
    error = await error_of(
        await node.post(f"{PATH}/{soon['id']}/responses", json={}, headers=bearer(people["cyd"])),
        409,
        "conflict",
    )
    assert "expired" in error["message"]
    await error_of(
        await node.post(
            f"{PATH}/{own['id']}/responses",
            json={"message": "x" * 2001},
            headers=bearer(people["ada"]),
        ),
        422,
        "validation_failed",
    )


async def test_a_declined_or_withdrawn_response_frees_the_listing(node, people):
    listing = await publish(node, people["bea"], {**KINDS[0], "quantity": 2})
    url = f"{PATH}/{listing['id']}/responses"
    cyd = await (await node.post(url, json={"quantity": 2}, headers=bearer(people["cyd"]))).json()
    ada = await (await node.post(url, json={}, headers=bearer(people["ada"]))).json()
    await node.post(f"{PATH}/responses/{cyd['id']}/accept", headers=bearer(people["bea"]))
    full = await (await node.get(f"{PATH}/{listing['id']}", headers=bearer(people["bea"]))).json()
    assert (full["status"], full["available_quantity"]) == ("reserved", 0)
    # ada's response is still pending; it cannot be accepted now: nothing is left.
    await error_of(
        await node.post(f"{PATH}/responses/{ada['id']}/accept", headers=bearer(people["bea"])),
        409,
        "conflict",
    )
    resp = await node.post(f"{PATH}/responses/{cyd['id']}/withdraw", headers=bearer(people["cyd"]))
    assert (await resp.json())["state"] == "withdrawn"
    freed = await (await node.get(f"{PATH}/{listing['id']}", headers=bearer(people["bea"]))).json()
    assert (freed["status"], freed["available_quantity"]) == ("open", 2)
    resp = await node.post(f"{PATH}/responses/{ada['id']}/decline", headers=bearer(people["bea"]))
    assert (await resp.json())["state"] == "declined"
    await error_of(
        await node.post(f"{PATH}/responses/{ada['id']}/accept", headers=bearer(people["bea"])),
        409,
        "conflict",
    )


async def test_withdrawing_a_listing_declines_its_pending_responses(node, people):
    listing = await publish(node, people["bea"], DRILL)
    url = f"{PATH}/{listing['id']}/responses"
    response = await (await node.post(url, json={}, headers=bearer(people["cyd"]))).json()
    await node.delete(f"{PATH}/{listing['id']}", headers=bearer(people["bea"]))
    [row] = await (await node.get(f"{PATH}/agreements", headers=bearer(people["cyd"]))).json()
    assert (row["id"], row["state"]) == (response["id"], "declined")


async def test_expiry_closes_listings_after_one_reminder(node, people, clock):
    listing = await publish(node, people["bea"], {**DRILL, "expires_at": "2026-11-29T12:00Z"})
    standing = await publish(node, people["bea"], {**DRILL, "expires_at": None})
    assert await sweep(node) == 0  # three days away: no reminder yet
    clock.advance(days=1, hours=1)  # within 48 hours of the expiry
    assert await sweep(node) == 1
    assert await sweep(node) == 0  # reminded once
    [reminder] = await notifications(node, people["bea"])
    assert (reminder["type"], reminder["listing"]["id"]) == ("listing.expiring", listing["id"])
    clock.advance(days=2)
    assert await sweep(node) == 1
    expired = await (
        await node.get(f"{PATH}/{listing['id']}", headers=bearer(people["bea"]))
    ).json()
    assert expired["status"] == "expired"
    still = await (await node.get(f"{PATH}/{standing['id']}", headers=bearer(people["bea"]))).json()
    assert still["status"] == "open"


async def test_notifications_are_read_one_by_one_or_all_at_once(node, people):
    for kind in KINDS[:3]:
        listing = await publish(node, people["bea"], kind)
        await node.post(f"{PATH}/{listing['id']}/responses", json={}, headers=bearer(people["cyd"]))
    rows = await notifications(node, people["bea"])
    assert len(rows) == 3
    assert not any(r["read"] for r in rows)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    count = await (
        await node.get("/api/quartier/v1/notifications/unread_count", headers=bearer(people["bea"]))
    ).json()
    assert count == {"count": 3}
    # Someone else's notification is not found; one's own is marked.
    await error_of(
        await node.post(
            f"/api/quartier/v1/notifications/{rows[0]['id']}/read", headers=bearer(people["cyd"])
        ),
        404,
        "not_found",
    )
    resp = await node.post(
        f"/api/quartier/v1/notifications/{rows[0]['id']}/read", headers=bearer(people["bea"])
    )
    assert resp.status == 204
    unread = await (
        await node.get("/api/quartier/v1/notifications?unread=true", headers=bearer(people["bea"]))
    ).json()
    assert [r["id"] for r in unread] == [rows[1]["id"], rows[2]["id"]]
    page = await (
        await node.get(
            f"/api/quartier/v1/notifications?before={rows[0]['id']}&limit=1",
            headers=bearer(people["bea"]),
        )
    ).json()
    assert [r["id"] for r in page] == [rows[1]["id"]]
    marked = await (
        await node.post("/api/quartier/v1/notifications/read", headers=bearer(people["bea"]))
    ).json()
    assert marked == {"marked": 2}
    for bad in ("limit=0", "limit=101", "before=-1", "unread=maybe"):
        await error_of(
            await node.get(f"/api/quartier/v1/notifications?{bad}", headers=bearer(people["bea"])),
            422,
            "validation_failed",
        )
    node.session.cookie_jar.clear()
    await error_of(await node.get("/api/quartier/v1/notifications"), 401, "unauthorized")


async def test_categories_are_named_in_english_and_french(node):
    resp = await node.get(f"{PATH}/categories")
    categories = {c["id"]: c["names"] for c in await resp.json()}
    assert categories["tools"] == {"en": "Tools", "fr": "Outillage"}
    assert {"furniture", "children", "garden", "diy", "transport", "pets", "tutoring"} <= set(
        categories
    )


async def sweep(node) -> int:
    """What the node's minute timer does to listings (expiry, reminders)."""
    with activated(node.app[DATABASE]):
        return await node.app[LISTINGS].sweep()


async def _count(node) -> int:
    with activated(node.app[DATABASE]):
        return await Listing.all().count()


async def test_decisions_racing_for_one_response_or_the_last_items_cannot_both_win(node, people):
    listing = await publish(node, people["bea"], {**KINDS[0], "quantity": 2})
    url = f"{PATH}/{listing['id']}/responses"
    ids = []
    for who, quantity in (("cyd", 2), ("ada", 2)):
        resp = await node.post(url, json={"quantity": quantity}, headers=bearer(people[who]))
        ids.append((await resp.json())["id"])
    decide = f"{PATH}/responses/{ids[0]}"
    first, second = await asyncio.gather(
        node.post(f"{decide}/accept", headers=bearer(people["bea"])),
        node.post(f"{decide}/decline", headers=bearer(people["bea"])),
    )
    assert sorted([first.status, second.status]) == [200, 409]
    both = await asyncio.gather(
        *(node.post(f"{PATH}/responses/{i}/accept", headers=bearer(people["bea"])) for i in ids)
    )
    rows = await (await node.get(url, headers=bearer(people["bea"]))).json()
    accepted = [r for r in rows if r["state"] == "accepted"]
    final = await (await node.get(f"{PATH}/{listing['id']}", headers=bearer(people["bea"]))).json()
    # Never more promised than there is, and the listing's state says what is left.
    assert sum(r["quantity"] for r in accepted) + final["available_quantity"] == 2
    assert final["available_quantity"] >= 0
    assert (final["status"] == "reserved") == (final["available_quantity"] == 0)
    assert all(r.status in (200, 409) for r in both)


async def test_a_price_means_the_same_amount_on_the_wire_as_in_the_api(node, people):
    # HUF: ISO 4217 counts 2 decimals where CLDR shows none; the stored minor units must be
    # read back, and sent to partners, as the amount the member gave.
    listing = await publish(
        node, people["bea"], {**KINDS[3], "price": {"amount": "1500", "currency": "HUF"}}
    )
    assert listing["price"] == {"amount": "1500.00", "currency": "HUF"}
    with activated(node.app[DATABASE]):
        row = await Listing.get(id=listing["id"])
        note = node.app[LISTINGS].document(row, [])
    assert Price.from_minor(row.price_minor, "HUF").amount == Decimal("1500")
    assert "1500" in json.dumps(note["reciprocal"])


async def test_lowering_the_quantity_to_what_is_promised_reserves_the_listing(node, people):
    listing = await publish(node, people["bea"], {**KINDS[0], "quantity": 3})
    url = f"{PATH}/{listing['id']}/responses"
    resp = await node.post(url, json={"quantity": 2}, headers=bearer(people["cyd"]))
    assert resp.status == 201, await resp.text()
    response = await resp.json()
    resp = await node.post(
        f"{PATH}/responses/{response['id']}/accept", headers=bearer(people["bea"])
    )
    assert resp.status == 200, await resp.text()
    resp = await node.patch(
        f"{PATH}/{listing['id']}", json={"quantity": 2}, headers=bearer(people["bea"])
    )
    assert resp.status == 200, await resp.text()
    edited = await resp.json()
    assert (edited["status"], edited["quantity"], edited["available_quantity"]) == (
        "reserved",
        2,
        0,
    )
    # nobody may answer it any more
    resp = await node.post(url, json={}, headers=bearer(people["ada"]))
    await error_of(resp, 409, "conflict")


async def test_requests_at_once_cannot_pass_the_open_cap_together(make_settings, make_node):
    node = await make_node(make_settings(listings={"max_open_per_member": 2}))
    ada = await admin_token(node, "ada")
    tries = await asyncio.gather(
        *(node.post(PATH, json=DRILL, headers=bearer(ada)) for _ in range(5))
    )
    assert sorted(resp.status for resp in tries) == [201, 201, 409, 409, 409]
    mine = await (await node.get(f"{PATH}/mine", headers=bearer(ada))).json()
    assert len(mine) == 2


async def test_answers_at_once_to_one_listing_make_one_response(node, people):
    listing = await publish(node, people["bea"], {**KINDS[0], "quantity": 5})
    url = f"{PATH}/{listing['id']}/responses"
    tries = await asyncio.gather(
        *(node.post(url, json={}, headers=bearer(people["cyd"])) for _ in range(20))
    )
    assert sorted(resp.status for resp in tries) == [201] + [409] * 19
    rows = await (await node.get(url, headers=bearer(people["bea"]))).json()
    assert len(rows) == 1


async def test_a_new_listing_is_not_sent_as_edited(node, people, clock):
    clock.now = clock.now.replace(microsecond=654321)  # a real clock is never on the second
    listing = await publish(node, people["bea"], DRILL)
    assert listing["updated_at"] == listing["published_at"]
    with activated(node.app[DATABASE]):
        row = await Listing.get(id=listing["id"])
        note = node.app[LISTINGS].document(row, [])
    assert "updated" not in note


async def test_agreeing_a_second_time_that_it_happened_tells_nobody_twice(node, people):
    listing = await publish(node, people["bea"], {**KINDS[0], "quantity": 2})
    url = f"{PATH}/{listing['id']}/responses"
    response = await (await node.post(url, json={}, headers=bearer(people["cyd"]))).json()
    accepted = f"{PATH}/responses/{response['id']}"
    assert (await node.post(f"{accepted}/accept", headers=bearer(people["bea"]))).status == 200
    for _ in range(2):
        resp = await node.post(f"{accepted}/done", json={}, headers=bearer(people["cyd"]))
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["state"] == "done"
    told = [n["type"] for n in await notifications(node, people["bea"])]
    assert told == ["listing.agreement", "listing.response"]
    # one left, then the author lowers the quantity to what was given: nothing is left to
    # agree on and the one agreement happened, so the listing is done
    resp = await node.patch(
        f"{PATH}/{listing['id']}", json={"quantity": 1}, headers=bearer(people["bea"])
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "done"
