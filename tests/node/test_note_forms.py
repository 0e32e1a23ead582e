"""Every legal form of a direct message, delivered signed to a running node and read back
through the API as the recipient.

The fixtures are ``tests/data/payloads/forms/*.json`` (what each one tests, and which software
sends that form, is in the README there). Each test puts alice's actor document, with a key the
test holds, on a fake remote server on 127.0.0.1, replaces ``https://forms.example`` by that
server and ``https://quartier.example`` by the node, signs the delivery with alice's key, runs
the inbound worker once, and asks the API what bob now has. Every fixture is in ``EXPECTED``
(a test fails if a file has no expectation, or an expectation no file), so a new form cannot be
added without saying how it must be stored.
"""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub.notes import addressees
from activitypub.properties import references
from activitypub.signatures import sign_request
from federation.models import InboundMessage, InboundState
from node.db import activated
from node.http.keys import DATABASE, INBOUND_WORKER
from tests.api import bearer, bootstrap_invite, login, register

pytestmark = pytest.mark.local_testing

NODE = "http://127.0.0.1:8080"  # the test node's base_url (make_settings)
BOB = f"{NODE}/users/bob"
FORMS = Path(__file__).resolve().parents[1] / "data" / "payloads" / "forms"
FIXTURES = sorted(path.name for path in FORMS.glob("*.json"))
FILES = "https://files.forms.example"
NOW = "2026-11-26T12:00:00Z"  # tests.conftest.FakeClock
WRITTEN = "2026-11-20T10:00:00Z"  # the fixtures' usual ``published``
NO_CONTENT = "the note has no text, content warning or attachment to show"


@dataclass(frozen=True)
class Stored:
    """The one message bob then has, as the API shows it. ``{remote}`` in ``in_reply_to``
    stands for the fake server's base URL."""

    text: str
    summary: str = ""
    attachments: tuple[tuple[str, str, str], ...] = ()  # url, media type, description
    created_at: str = WRITTEN
    in_reply_to: str | None = None


@dataclass(frozen=True)
class Ignored:
    """Nothing stored; the inbound row is ``ignored`` with this reason."""

    reason: str


EXPECTED: dict[str, Stored | Ignored] = {
    "plain_note.json": Stored("Is the ladder free on Saturday?"),
    "attributed_to_object.json": Stored("Attributed to an embedded Person."),
    "attributed_to_list.json": Stored("Attributed to a group and to me."),
    "content_map_only.json": Stored(
        "Only a contentMap, in English.",
        created_at="2026-11-20T10:40:37Z",  # from +02:00
    ),
    "content_map_und.json": Stored("Hallo, servus"),
    "content_list.json": Stored("The first of two alternatives."),
    "content_warning.json": Stored("The ladder is broken, sorry.", summary="ladder talk"),
    "summary_map.json": Stored("Soup tonight?", summary="food"),
    "image_attachments.json": Stored(
        "Two photos of the shed",
        attachments=(
            (
                f"{FILES}/media_attachments/files/1/original/front.jpg",
                "image/jpeg",
                "The shed, front",
            ),
            (f"{FILES}/media_attachments/files/2/original/back.png", "image/png", ""),
        ),
    ),
    "image_only.json": Stored(
        "", attachments=((f"{FILES}/img/cat.webp", "image/webp", "A cat on the fence"),)
    ),
    "attachment_string.json": Stored(
        "The plan, as a bare link", attachments=((f"{FILES}/docs/plan.pdf", "", ""),)
    ),
    "attachment_object.json": Stored(
        "One attachment, not in a list, its url a Link",
        attachments=((f"{FILES}/map.png", "image/png", "The map"),),
    ),
    "link_attachment_url_list.json": Stored(
        "A Document whose url is a list of Links",
        attachments=((f"{FILES}/media/blackbird.ogg", "audio/ogg", "bird song"),),
    ),
    "link_attachment.json": Stored(
        "See the article", attachments=(("https://other.example/news/garden-day", "", ""),)
    ),
    "attachment_type_list.json": Stored(
        "An attachment with two types", attachments=((f"{FILES}/dance.gif", "image/gif", ""),)
    ),
    "unsafe_attachment_urls.json": Stored("Nothing attached is safe to link"),
    "mastodon_conversation_tag.json": Stored(
        "Shall we plant the hedge?", created_at="2026-11-20T09:00:00Z"
    ),
    "in_reply_to_object.json": Stored(
        "Or on Sunday?",
        created_at="2026-11-20T09:05:00Z",
        in_reply_to="{remote}/users/alice/statuses/17",
    ),
    "mentions_leading.json": Stored("ask @dave about #compost"),
    "mention_only.json": Ignored(NO_CONTENT),
    "script_only.json": Ignored(NO_CONTENT),
    "addressed_by_object.json": Stored("Addressed by an embedded Person"),
    "addressed_by_string.json": Stored("Addressed by a single string"),
    "published_in_future.json": Stored("Written tomorrow, apparently", created_at=NOW),
    "published_unrepresentable.json": Stored("A date UTC cannot name", created_at=NOW),
    # Alone, an edit or a deletion has no message to act on (with it: the tests below).
    "update_adds_warning_and_attachment.json": Ignored("no message here has that note's id"),
    "delete_note.json": Ignored(
        "not the deletion of the sender's own account; no message here has that id; "
        "no status here has that id; no circle post of that author has that id; "
        "no listing here has that id"
    ),
    "unhandled_like.json": Ignored("this node does not handle Like"),
    "unhandled_add.json": Ignored("this node does not handle Add"),
}


class Remote:
    """The fake forms.example: it serves alice's actor document, with the test's key."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key
        self.base = ""

    @property
    def alice(self) -> str:
        return f"{self.base}/users/alice"

    def document(self) -> dict[str, Any]:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.alice,
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": f"{self.alice}/inbox",
            "publicKey": {
                "id": f"{self.alice}#main-key",
                "owner": self.alice,
                "publicKeyPem": pem.decode(),
            },
        }

    async def serve_alice(self, request: web.Request) -> web.Response:
        return web.json_response(self.document(), content_type="application/activity+json")

    def load(self, name: str) -> dict[str, Any]:
        """A fixture with its hosts replaced by the fake server's and the node's."""
        text = (FORMS / name).read_text(encoding="utf-8")
        text = text.replace("https://forms.example", self.base)
        # Mastodon's tag URIs name its domain too: a thread key is only the sender's to give.
        text = text.replace("tag:forms.example,", "tag:127.0.0.1,")
        return json.loads(text.replace("https://quartier.example", NODE))


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def remote(aiohttp_server, key) -> Remote:
    remote = Remote(key)
    app = web.Application()
    app.router.add_get("/users/alice", remote.serve_alice)
    server = await aiohttp_server(app)
    remote.base = f"http://127.0.0.1:{server.port}"
    return remote


@pytest.fixture
async def bob(node) -> str:
    """bob's token: he is the member every fixture writes to."""
    await register(node, await bootstrap_invite(node), "bob")
    return await login(node, "bob")


async def deliver_and_process(node, clock, remote: Remote, activity: dict[str, Any]) -> None:
    """POST the activity signed by alice, then run the inbound worker once."""
    body = json.dumps(activity).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST", f"{NODE}/inbox", body, f"{remote.alice}#main-key", remote.key, clock.now
    )
    resp = await node.post("/inbox", data=io.BytesIO(body), headers=headers)
    assert resp.status == 202, await resp.text()
    with activated(node.app[DATABASE]):
        assert await node.app[INBOUND_WORKER].run_once() == 1


async def row_of(node, activity: dict[str, Any]) -> InboundMessage:
    with activated(node.app[DATABASE]):
        return await InboundMessage.get(activity_id=activity["id"])


async def api(node, token: str, path: str) -> Any:
    resp = await node.get(path, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def only_message(node, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """bob's one conversation, and its one message."""
    [conversation] = await api(node, token, "/api/quartier/v1/conversations")
    [message] = await api(node, token, f"/api/quartier/v1/conversations/{conversation['id']}")
    return conversation, message


def as_api(expected: Stored, remote: Remote) -> dict[str, Any]:
    """The message the API must show for ``expected`` (all but its id)."""
    in_reply_to = expected.in_reply_to
    return {
        "author": remote.alice,
        "text": expected.text,
        "summary": expected.summary,
        "attachments": [
            {"url": url, "media_type": media_type, "description": description}
            for url, media_type, description in expected.attachments
        ],
        "in_reply_to": in_reply_to.format(remote=remote.base) if in_reply_to else None,
        "created_at": expected.created_at,
        "edited_at": None,
        "deleted": False,
        "not_sent_to": [],
    }


def test_every_fixture_has_an_expectation_and_every_expectation_a_fixture():
    assert sorted(EXPECTED) == FIXTURES


def test_every_fixture_is_from_alice_and_every_note_private_to_bob():
    for name in FIXTURES:
        activity = json.loads((FORMS / name).read_text(encoding="utf-8"))
        assert activity["actor"] == "https://forms.example/users/alice", name
        if activity["type"] in ("Create", "Update"):
            note = activity["object"]
            assert "https://forms.example/users/alice" in references(note["attributedTo"]), name
            assert addressees(note) == ["https://quartier.example/users/bob"], name


@pytest.mark.parametrize("name", FIXTURES)
async def test_each_form_is_stored_as_it_should_be_or_ignored_with_its_reason(
    node, clock, remote, bob, name
):
    expected = EXPECTED[name]
    activity = remote.load(name)

    await deliver_and_process(node, clock, remote, activity)

    row = await row_of(node, activity)
    conversations = await api(node, bob, "/api/quartier/v1/conversations")
    if isinstance(expected, Ignored):
        assert row.state == InboundState.IGNORED
        # the conversations' reason, among the other handlers' (listings look at notes too)
        assert expected.reason in row.last_error
        assert conversations == []
        return
    assert (row.state, row.last_error) == (InboundState.DONE, "")
    [conversation] = conversations
    assert sorted(conversation["participants"]) == sorted([remote.alice, BOB])
    [message] = await api(node, bob, f"/api/quartier/v1/conversations/{conversation['id']}")
    assert {k: v for k, v in message.items() if k != "id"} == as_api(expected, remote)
    assert conversation["last_message"] == message


async def test_an_edit_adds_a_content_warning_and_an_attachment_and_a_delete_clears_them(
    node, clock, remote, bob
):
    await deliver_and_process(node, clock, remote, remote.load("plain_note.json"))
    clock.advance(minutes=5)
    update = remote.load("update_adds_warning_and_attachment.json")

    await deliver_and_process(node, clock, remote, update)

    assert (await row_of(node, update)).state == InboundState.DONE
    _, message = await only_message(node, bob)
    assert (message["text"], message["summary"], message["attachments"]) == (
        "Is the ladder free on Saturday? Photo attached.",
        "ladder talk",
        [{"url": f"{FILES}/ladder.jpg", "media_type": "image/jpeg", "description": "the ladder"}],
    )
    assert (message["created_at"], message["edited_at"]) == (WRITTEN, "2026-11-26T12:05:00Z")

    clock.advance(minutes=5)
    delete = remote.load("delete_note.json")
    await deliver_and_process(node, clock, remote, delete)

    assert (await row_of(node, delete)).state == InboundState.DONE
    conversation, message = await only_message(node, bob)
    assert (message["deleted"], message["text"], message["summary"], message["attachments"]) == (
        True,
        "",
        "",
        [],
    )
    # The deleted message keeps its place; its edit cannot bring it back.
    again = copy.deepcopy(update) | {"id": update["id"] + "-again"}
    await deliver_and_process(node, clock, remote, again)
    assert "the message was deleted" in (await row_of(node, again)).last_error.split("; ")
    assert (await only_message(node, bob))[1] == message
    assert conversation["last_message"] is None  # the list shows no deleted text either


async def test_an_edit_that_would_leave_nothing_to_show_is_ignored(node, clock, remote, bob):
    await deliver_and_process(node, clock, remote, remote.load("plain_note.json"))
    _, before = await only_message(node, bob)
    update = remote.load("update_adds_warning_and_attachment.json")
    update["object"] = {
        k: v for k, v in update["object"].items() if k not in ("summaryMap", "attachment")
    } | {"content": "<p><script>alert(1)</script></p>"}

    await deliver_and_process(node, clock, remote, update)

    row = await row_of(node, update)
    assert row.state == InboundState.IGNORED
    assert "the edited note has no text, content warning or attachment" in row.last_error.split(
        "; "
    )
    assert (await only_message(node, bob))[1] == before


async def test_a_note_naming_only_mastodons_conversation_tag_joins_that_thread(
    node, clock, remote, bob
):
    await deliver_and_process(node, clock, remote, remote.load("mastodon_conversation_tag.json"))
    reply = remote.load("in_reply_to_object.json")
    # Neither inReplyTo nor context: only the OStatus tag URI says which thread it is in.
    del reply["object"]["inReplyTo"], reply["object"]["context"]
    assert reply["object"]["conversation"].startswith("tag:")

    await deliver_and_process(node, clock, remote, reply)

    [conversation] = await api(node, bob, "/api/quartier/v1/conversations")
    messages = await api(node, bob, f"/api/quartier/v1/conversations/{conversation['id']}")
    assert [m["text"] for m in messages] == ["Shall we plant the hedge?", "Or on Sunday?"]


async def test_a_reply_that_arrives_before_its_parent_joins_it_in_written_order(
    node, clock, remote, bob
):
    # After an outage the reply arrives first. Without context or conversation, only its
    # inReplyTo (an object) says where it belongs.
    reply = remote.load("in_reply_to_object.json")
    del reply["object"]["context"], reply["object"]["conversation"]
    await deliver_and_process(node, clock, remote, reply)
    await deliver_and_process(node, clock, remote, remote.load("mastodon_conversation_tag.json"))

    [conversation] = await api(node, bob, "/api/quartier/v1/conversations")
    messages = await api(node, bob, f"/api/quartier/v1/conversations/{conversation['id']}")
    assert [(m["text"], m["created_at"]) for m in messages] == [
        ("Shall we plant the hedge?", "2026-11-20T09:00:00Z"),
        ("Or on Sunday?", "2026-11-20T09:05:00Z"),
    ]
