"""Limits on what members post, over real HTTP: links and mentions per post (422 naming the
limit here, held for the moderators when another server sends it), and per-member hourly
limits on messages, responses, follows and reports (429 with Retry-After)."""

from __future__ import annotations

import pytest

from node.config import ContentSettings
from node.errors import ConfigError
from tests.api import admin_token, bearer, error_of, member_token
from tests.node.test_inbox import NODE, deliver, note_activity, worker_round
from tests.node.test_listings_inbound import created, make_partner

pytestmark = pytest.mark.local_testing

LISTINGS = "/api/quartier/v1/listings"
DRILL = {"kind": "give", "title": "Cordless drill", "category": "tools"}
LINKS = " ".join(f"https://shop{n}.example/deal" for n in range(4))
MENTIONS = " ".join(f"@fan{n}@spam.example" for n in range(4))


@pytest.fixture
async def node(make_settings, make_node):
    """A node where a post carries at most 3 links and 3 mentions, and each member sends
    2 messages, 2 responses, 2 follows and 2 reports an hour."""
    limits = {
        "max_links": "3",
        "max_mentions": "3",
        "messages_per_hour": "2",
        "responses_per_hour": "2",
        "follows_per_hour": "2",
        "reports_per_hour": "2",
    }
    settings = make_settings(federation={"local_testing": "true"}, content=limits)
    return await make_node(settings)


@pytest.fixture
async def people(node) -> dict[str, str]:
    ada = await admin_token(node, "ada")
    return {
        "ada": ada,
        "bea": await member_token(node, ada, "bea"),
        "cyd": await member_token(node, ada, "cyd"),
    }


def test_the_defaults_are_ten_links_and_ten_mentions():
    defaults = ContentSettings()
    assert (defaults.max_links, defaults.max_mentions) == (10, 10)


@pytest.mark.parametrize(
    ("changes", "limit"),
    [
        ({"description": LINKS}, "max_links"),
        ({"description": MENTIONS}, "max_mentions"),
        (
            {
                "format": "html",
                "description": "".join(f'<a href="https://x{n}.example">x</a>' for n in range(4)),
            },
            "max_links",
        ),
        (
            {
                "title": "www.a.example www.b.example",
                "description": "http://c.example d.example https://e.example",
            },
            "max_links",
        ),
    ],
)
async def test_a_listing_over_a_limit_is_refused_naming_it(node, people, changes, limit):
    resp = await node.post(LISTINGS, json={**DRILL, **changes}, headers=bearer(people["bea"]))
    error = await error_of(resp, 422, "validation_failed")
    assert limit in error["message"]
    assert error["details"][0]["field"] == "description"


async def test_within_the_limits_and_repeated_links_pass(node, people):
    same = "https://a.example/x " * 8 + "bea@mail.example " * 5  # one link, no mention
    body = {**DRILL, "description": same + "@ada @bea @cyd"}
    resp = await node.post(LISTINGS, json=body, headers=bearer(people["bea"]))
    assert resp.status == 201, await resp.text()


async def test_messages_and_responses_over_a_limit_are_refused(node, people):
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": ["cyd"], "text": LINKS},
        headers=bearer(people["bea"]),
    )
    assert "max_links" in (await error_of(resp, 422, "validation_failed"))["message"]
    resp = await node.post(LISTINGS, json=DRILL, headers=bearer(people["cyd"]))
    listing = (await resp.json())["id"]
    resp = await node.post(
        f"{LISTINGS}/{listing}/responses", json={"message": MENTIONS}, headers=bearer(people["bea"])
    )
    assert "max_mentions" in (await error_of(resp, 422, "validation_failed"))["message"]


async def test_messages_are_limited_per_member_and_hour(node, people, clock):
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": ["cyd"], "text": "hi"},
        headers=bearer(people["bea"]),
    )
    conversation = (await resp.json())["id"]
    path = f"/api/quartier/v1/conversations/{conversation}/messages"
    assert (await node.post(path, json={"text": "2"}, headers=bearer(people["bea"]))).status == 201
    resp = await node.post(path, json={"text": "3"}, headers=bearer(people["bea"]))
    error = await error_of(resp, 429, "too_many_requests")
    assert "2 messages an hour" in error["message"]
    assert 1 <= int(resp.headers["Retry-After"]) <= 3600
    # Someone else's count is their own.
    assert (await node.post(path, json={"text": "me"}, headers=bearer(people["cyd"]))).status == 201


async def test_responses_and_follows_are_limited_per_member_and_hour(node, people):
    ids = []
    for n in range(3):
        resp = await node.post(
            LISTINGS, json={**DRILL, "title": f"Drill {n}"}, headers=bearer(people["cyd"])
        )
        ids.append((await resp.json())["id"])
    statuses = [
        (
            await node.post(f"{LISTINGS}/{i}/responses", json={}, headers=bearer(people["bea"]))
        ).status
        for i in ids
    ]
    assert statuses == [201, 201, 429]
    statuses = [
        (
            await node.post(
                "/api/quartier/v1/follows", json={"target": who}, headers=bearer(people["bea"])
            )
        ).status
        for who in ("cyd", "ada", "cyd")
    ]
    assert statuses[2] == 429
    assert 429 not in statuses[:2]


async def test_reports_follow_the_content_setting(node, people):
    statuses = []
    for _ in range(3):
        resp = await node.post(
            "/api/quartier/v1/reports",
            json={"account": "cyd", "category": "spam"},
            headers=bearer(people["bea"]),
        )
        statuses.append(resp.status)
    assert statuses[2] == 429
    assert 429 not in statuses[:2]


async def test_a_message_from_another_server_over_a_limit_is_held(node, clock, people, remote):
    alice = remote.add("alice")
    bea = f"{NODE}/users/bea"
    links = "".join(f'<a href="https://s{n}.example">deal</a> ' for n in range(5))
    activity = note_activity(alice, "Create", 1, f"<p>{links}</p>", [bea])
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    [conv] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(people["bea"]))
    ).json()
    assert conv["last_message"] is None
    [row] = await (
        await node.get("/api/quartier/v1/moderation/held", headers=bearer(people["ada"]))
    ).json()
    assert (row["reason"], row["kind"]) == ("max_links (3)", "message")


async def test_a_listing_from_another_server_with_many_mentions_is_held(
    node, clock, people, remote
):
    alice = remote.add("alice")
    await make_partner(node, remote)
    activity = created(alice, 1, public=False)
    activity["object"]["tag"] = [
        {"type": "Mention", "href": f"https://spam.example/users/{n}"} for n in range(5)
    ]
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    found = await (await node.get(LISTINGS, headers=bearer(people["bea"]))).json()
    assert found["listings"] == []
    [row] = await (
        await node.get("/api/quartier/v1/moderation/held", headers=bearer(people["ada"]))
    ).json()
    assert (row["reason"], row["kind"], row["local"]) == ("max_mentions (3)", "listing", False)


@pytest.mark.parametrize("value", ["-1", "ten", "0"])
async def test_bad_settings_are_refused(make_settings, value):
    key = "messages_per_hour" if value == "0" else "max_links"
    with pytest.raises(ConfigError):
        make_settings(content={key: value})
