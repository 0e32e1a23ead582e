"""HTML and script in every text field, over real HTTP and inbound ActivityPub: whatever a
member or another server writes, nothing that runs (a script, an event handler, a
``javascript:`` link) comes out where HTML is read, and plain-text fields stay plain text
(escaped wherever they are turned into HTML)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from federation.models import Delivery
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, login, member_token
from tests.node.test_inbox import NODE, deliver, note_activity, worker_round
from tests.node.test_listings_inbound import created, make_partner

pytestmark = pytest.mark.local_testing

HOSTILE = (
    "<script>alert(1)</script><img src=x onerror=alert(1)>"
    '<a href="javascript:alert(1)" onclick="alert(1)">x</a><svg onload=alert(1)>'
    "<iframe src=//evil.example></iframe><style>*{}</style>"
)
AS_JSON = {"Accept": "application/activity+json"}
# Elements that would run or load something if this HTML were shown.
DANGEROUS_TAGS = {"script", "iframe", "svg", "style", "img", "object", "embed", "form"}
# Fields of ActivityPub documents other servers read as HTML.
HTML_FIELDS = {"content", "summary", "value", "contentMap"}


def html_values(doc: Any, key: str | None = None) -> list[str]:
    """Every string under a key other servers (or our API) read as HTML."""
    found: list[str] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += html_values(v, k)
    elif isinstance(doc, list):
        for v in doc:
            found += html_values(v, key)
    elif isinstance(doc, str) and key is not None and (key in HTML_FIELDS or key.endswith("_html")):
        found.append(doc)
    return found


class LiveMarkup(HTMLParser):
    """What a browser would make of some HTML: the elements and attributes that would run."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            if value and value.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
                self.found.append(f"{tag} {name}={value}")


def assert_safe(doc: Any) -> None:
    values = html_values(doc)
    assert values, "nothing read as HTML here: the test looks at the wrong document"
    for value in values:
        parser = LiveMarkup()
        parser.feed(value)
        parser.close()
        assert parser.found == [], value


async def test_a_listing_s_every_field_is_safe_in_the_api_and_its_document(node, people):
    for fmt in ("html", "text"):
        body = {
            "kind": "lend",
            "title": f"Drill {HOSTILE}",
            "category": "tools",
            "description": HOSTILE,
            "format": fmt,
            "availability": HOSTILE,
            "audience": "public",
            "details": {"duration_days": 7},
        }
        resp = await node.post(
            "/api/quartier/v1/listings", json=body, headers=bearer(people["bea"])
        )
        assert resp.status == 201, await resp.text()
        shown = await resp.json()
        assert_safe(shown)
        assert "alert(1)" not in shown["description_html"] or fmt == "text"
        doc = await (await node.get(shown["url"].removeprefix(NODE), headers=AS_JSON)).json()
        assert_safe(doc)
        # The title is plain text: escaped where it becomes HTML, as given in `name`.
        assert doc["name"].startswith("Drill")


async def test_responses_and_messages_stay_text_and_go_out_escaped(node, people, remote):
    alice = remote.add("alice")
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={"kind": "give", "title": "Chairs", "category": "furniture"},
        headers=bearer(people["cyd"]),
    )
    listing = (await resp.json())["id"]
    resp = await node.post(
        f"/api/quartier/v1/listings/{listing}/responses",
        json={"message": HOSTILE},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["message"] == HOSTILE  # plain text, as given
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [alice.id, "cyd"], "text": HOSTILE},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 201, await resp.text()
    conversation = (await resp.json())["id"]
    [message] = await (
        await node.get(
            f"/api/quartier/v1/conversations/{conversation}", headers=bearer(people["cyd"])
        )
    ).json()
    assert message["text"] == HOSTILE
    with activated(node.app[DATABASE]):
        [sent] = await Delivery.all()
    note = json.loads(sent.body)["object"]
    assert_safe(note)  # what the other server shows: escaped
    assert "&lt;script&gt;" in note["content"]


async def test_a_profile_is_escaped_in_the_actor_document(node, people):
    resp = await node.patch(
        "/api/quartier/v1/me",
        json={"display_name": "Bea <script>x</script>", "bio": HOSTILE},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 200, await resp.text()
    me = await (await node.get("/api/quartier/v1/me", headers=bearer(people["bea"]))).json()
    assert me["bio"] == HOSTILE  # plain text, as given
    doc = await (await node.get("/users/bea", headers=AS_JSON)).json()
    assert_safe(doc)
    assert "&lt;script&gt;" in doc["summary"]


async def test_reports_and_appeals_keep_hostile_text_as_text(node, people):
    resp = await node.post(
        "/api/quartier/v1/reports",
        json={"account": "cyd", "category": "other", "comment": HOSTILE},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 201, await resp.text()
    await member_token(node, people["ada"], "dan")
    await node.patch(
        "/api/quartier/v1/admin/members/dan",
        json={"role": "moderator"},
        headers=bearer(people["ada"]),
    )
    dan = await login(node, "dan")
    [report] = await (
        await node.get("/api/quartier/v1/moderation/reports", headers=bearer(dan))
    ).json()
    assert report["comment"] == HOSTILE
    resp = await node.post(
        "/api/quartier/v1/moderation/decisions",
        json={"action": "warn", "account": "cyd", "reason": HOSTILE, "report": report["id"]},
        headers=bearer(dan),
    )
    assert resp.status == 201, await resp.text()
    decision = (await resp.json())["id"]
    resp = await node.post(
        f"/api/quartier/v1/decisions/{decision}/appeal",
        json={"text": HOSTILE},
        headers=bearer(people["cyd"]),
    )
    assert resp.status == 201, await resp.text()
    [appeal] = await (
        await node.get("/api/quartier/v1/moderation/appeals", headers=bearer(dan))
    ).json()
    assert appeal["text"] == HOSTILE  # stored and returned as text


async def test_a_listing_from_another_server_is_sanitised(node, clock, people, remote):
    alice = remote.add("alice")
    await make_partner(node, remote)
    activity = created(alice, 1, public=False)
    activity["object"]["content"] = HOSTILE
    activity["object"]["contentMap"] = {"en": HOSTILE}
    activity["object"]["summary"] = HOSTILE
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    found = await (
        await node.get("/api/quartier/v1/listings", headers=bearer(people["bea"]))
    ).json()
    [listing] = found["listings"]
    assert_safe(listing)
    assert "alert" not in listing["description"] or "<" not in listing["description"]


async def test_a_message_from_another_server_is_reduced_to_text(node, clock, people, remote):
    alice = remote.add("alice")
    activity = note_activity(alice, "Create", 1, HOSTILE + "<p>Hello</p>", [f"{NODE}/users/bea"])
    activity["object"]["summary"] = HOSTILE
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    [conv] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(people["bea"]))
    ).json()
    [message] = await (
        await node.get(
            f"/api/quartier/v1/conversations/{conv['id']}", headers=bearer(people["bea"])
        )
    ).json()
    for text in (message["text"], message.get("summary") or ""):
        assert "<" not in text, text  # text only: no markup survives at all
    assert "Hello" in message["text"]
