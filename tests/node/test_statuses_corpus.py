"""A corpus of Create(Note) variants in the shapes real servers send, each delivered signed to a
running node: each is either shown as it should be (stored, sanitised, in the follower's home
timeline) or left alone with its reason; the inbox never answers 5xx and nothing is dropped
silently.

The bases are the real Create(Note) payloads of Mastodon, GoToSocial, Pleroma, Akkoma, Misskey
and Sharkey in ``tests/data/payloads/<software>/create_note.json`` (their hosts replaced by the
fake server's). Every variant below is applied to every base: HTML forms, mentions, hashtags,
attachment forms, content warnings, languages, ``inReplyTo`` forms, addressing forms (string or
list, the three spellings of the public collection, the followers collection), ``attributedTo``
forms, object types (shown, converted and ignored) and malformed values. bob follows the author
of each base. One node per base keeps the test fast: all of a base's variants go to it at once.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from federation.models import InboundMessage
from node.conversations.models import Message
from node.db import activated
from node.http.keys import DATABASE
from node.members.models import Member
from node.statuses.html import sanitize
from node.statuses.models import Status, TimelineEntry
from tests.api import admin_token, member_token
from tests.node.statuses_support import PUBLIC, follows, start_status_server, work
from tests.node.test_inbox import NODE, RemoteActor, deliver

pytestmark = pytest.mark.local_testing

PAYLOADS = Path(__file__).resolve().parents[1] / "data" / "payloads"
SOFTWARE = ["mastodon", "gotosocial", "pleroma", "akkoma", "misskey", "sharkey"]
BOB = f"{NODE}/users/bob"
CYD = f"{NODE}/users/cyd"
NOW = "2026-11-26T12:00:00+00:00"  # tests.conftest.FakeClock
SAME = object()  # "not checked" for values that may legitimately be None


@dataclass
class Shown:
    """Stored as a status, in bob's home timeline, with these values (None: not checked)."""

    visibility: str = "public"
    kind: str = "note"
    content: str | None = None
    spoiler: str | None = None
    sensitive: bool | None = None
    language: Any = SAME
    attachments: list[tuple[str, str]] | None = None  # (url, Mastodon type)
    tags: list[str] | None = None
    mentions: list[str] | None = None
    in_reply_to: Any = SAME
    in_reply_to_author: Any = SAME
    title: str | None = None
    poll: list[str] | None = None  # option titles
    created_now: bool = False


@dataclass
class Ignored:
    """Not stored; the inbound row is ``ignored`` and its reasons include this one."""

    reason: str


@dataclass
class Direct:
    """A direct message: kept by conversations, and in timelines as the message's direct
    status (not stored a second time as a post)."""


Expect = Shown | Ignored | Direct


@dataclass
class Case:
    software: str
    variant: str
    activity: dict[str, Any]
    expect: Expect
    actor: RemoteActor = field(repr=False, default=None)  # type: ignore[assignment]


@dataclass
class Ctx:
    """What a variant may use: the author, its followers collection, the fake server."""

    actor: str
    followers: str
    base: str


Variant = Callable[[dict[str, Any], dict[str, Any], Ctx], Expect]
VARIANTS: dict[str, Variant] = {}


def variant(fn: Variant) -> Variant:
    VARIANTS[fn.__name__] = fn
    return fn


def content(obj: dict[str, Any], html: str) -> None:
    obj["content"] = html
    obj.pop("contentMap", None)


# -- HTML --------------------------------------------------------------------------------------


@variant
def as_sent(obj, act, ctx):
    return Shown(content=sanitize(obj.get("content") or ""))


@variant
def plain_paragraph(obj, act, ctx):
    content(obj, "<p>Hello neighbours</p>")
    return Shown(content="<p>Hello neighbours</p>")


@variant
def script_and_img(obj, act, ctx):
    content(obj, '<p>Hi<script>alert(1)</script><img src="x" onerror="alert(1)"></p>')
    return Shown(content="<p>Hi</p>")


@variant
def javascript_link(obj, act, ctx):
    content(obj, '<p><a href="javascript:alert(1)" onclick="x()">click</a></p>')
    return Shown(content="<p>click</p>")


@variant
def style_iframe_form(obj, act, ctx):
    content(
        obj,
        '<style>p{color:red}</style><p style="x">a</p><iframe src="https://e.example"></iframe>'
        '<form action="/x"><input name="q"></form><p>b</p>',
    )
    return Shown(content="<p>a</p><p>b</p>")


@variant
def heading_and_lists(obj, act, ctx):
    content(obj, "<h2>Agenda</h2><ol start='2'><li>one</li></ol><ul><li>two</li></ul>")
    return Shown(
        content='<p><strong>Agenda</strong></p><ol start="2"><li>one</li></ol><ul><li>two</li></ul>'
    )


@variant
def mastodon_link_markup(obj, act, ctx):
    content(
        obj,
        '<p><a href="https://other.example/page" rel="nofollow noopener" target="_blank" '
        'class="evil"><span class="invisible">https://</span><span class="">other.example/page'
        "</span></a></p>",
    )
    return Shown(
        content='<p><a href="https://other.example/page" target="_blank" rel="nofollow noopener">'
        '<span class="invisible">https://</span><span>other.example/page</span></a></p>'
    )


@variant
def nested_junk(obj, act, ctx):
    content(obj, "<div><table><tr><td><b><i>deep</b></i></td></tr></table></div><p>x")
    return Shown(content="<b><i>deep</i></b><p>x</p>")


@variant
def unclosed_tags(obj, act, ctx):
    content(obj, "<p>open <b>bold <a href='https://other.example'>link")
    return Shown(
        content='<p>open <b>bold <a href="https://other.example" target="_blank" '
        'rel="nofollow noopener">link</a></b></p>'
    )


@variant
def plain_text_no_markup(obj, act, ctx):
    content(obj, "Just text & <3")
    return Shown(content="Just text &amp; &lt;3")


# -- mentions and hashtags ---------------------------------------------------------------------


@variant
def mention_and_hashtag(obj, act, ctx):
    content(
        obj,
        f'<p><span class="h-card"><a href="{CYD}" class="u-url mention">@<span>cyd</span></a>'
        f'</span> see <a href="{ctx.base}/tags/Garden" class="mention hashtag" rel="tag">'
        "#<span>Garden</span></a></p>",
    )
    obj["tag"] = [
        {"type": "Mention", "href": CYD, "name": "@cyd"},
        {"type": "Hashtag", "href": f"{ctx.base}/tags/garden", "name": "#Garden"},
    ]
    return Shown(tags=["garden"], mentions=[CYD])


@variant
def tag_single_object(obj, act, ctx):
    obj["tag"] = {"type": "Hashtag", "name": "#Compost"}
    return Shown(tags=["compost"], mentions=[])


@variant
def tag_garbage(obj, act, ctx):
    obj["tag"] = ["#notanobject", 42, None, {"type": "Hashtag"}, {"type": "Mention"}]
    return Shown(tags=[], mentions=[])


@variant
def emoji_tag_ignored(obj, act, ctx):
    obj["tag"] = [{"type": "Emoji", "name": ":blob:", "icon": {"url": f"{ctx.base}/e.png"}}]
    return Shown(tags=[], mentions=[])


# -- content warnings --------------------------------------------------------------------------


@variant
def content_warning(obj, act, ctx):
    obj["summary"], obj["sensitive"] = "Food <b>talk</b>", True
    return Shown(spoiler="Food talk", sensitive=True)


@variant
def summary_map(obj, act, ctx):
    obj.pop("summary", None)
    obj["summaryMap"] = {"en": "Spoilers"}
    return Shown(spoiler="Spoilers", sensitive=True)


@variant
def no_warning(obj, act, ctx):
    obj.pop("summary", None)
    obj["sensitive"] = False
    return Shown(spoiler="", sensitive=False)


@variant
def sensitive_without_warning(obj, act, ctx):
    obj["summary"], obj["sensitive"] = None, True
    return Shown(spoiler="", sensitive=True)


@variant
def warning_only(obj, act, ctx):
    content(obj, "")
    obj["summary"] = "Only a warning"
    obj.pop("attachment", None)
    return Shown(spoiler="Only a warning", content="")


# -- languages ---------------------------------------------------------------------------------


@variant
def content_map_only(obj, act, ctx):
    obj.pop("content", None)
    obj["contentMap"] = {"fr": "<p>Bonjour</p>"}
    return Shown(content="<p>Bonjour</p>", language="fr")


@variant
def content_map_two_languages(obj, act, ctx):
    obj["content"] = "<p>Hallo</p>"
    obj["contentMap"] = {"de": "<p>Hallo</p>", "en": "<p>Hello</p>"}
    return Shown(content="<p>Hallo</p>", language="de")


@variant
def context_language(obj, act, ctx):
    content(obj, "<p>Hola</p>")
    obj.pop("nameMap", None), obj.pop("summaryMap", None)
    act["@context"] = ["https://www.w3.org/ns/activitystreams", {"@language": "es"}]
    return Shown(language="es")


@variant
def bogus_language(obj, act, ctx):
    obj["contentMap"] = {"not a language!": "<p>x</p>"}
    obj["content"] = "<p>x</p>"
    act["@context"] = "https://www.w3.org/ns/activitystreams"
    return Shown(language=None)


@variant
def content_list(obj, act, ctx):
    obj["content"] = ["<p>first</p>", "<p>second</p>"]
    obj.pop("contentMap", None)
    return Shown(content="<p>first</p>")


# -- attachments -------------------------------------------------------------------------------


@variant
def mastodon_document(obj, act, ctx):
    obj["attachment"] = [
        {
            "type": "Document",
            "mediaType": "image/jpeg",
            "url": f"{ctx.base}/m/1.jpg",
            "name": "A shed",
            "blurhash": "UBL_:rOpGG-o",
            "width": 800,
            "height": 600,
        }
    ]
    return Shown(attachments=[(f"{ctx.base}/m/1.jpg", "image")])


@variant
def pleroma_link_list(obj, act, ctx):
    obj["attachment"] = [
        {
            "type": "Document",
            "name": "bird",
            "url": [{"type": "Link", "mediaType": "audio/ogg", "href": f"{ctx.base}/m/b.ogg"}],
        }
    ]
    return Shown(attachments=[(f"{ctx.base}/m/b.ogg", "audio")])


@variant
def image_object_not_list(obj, act, ctx):
    obj["attachment"] = {"type": "Image", "url": f"{ctx.base}/m/c.webp"}
    return Shown(attachments=[(f"{ctx.base}/m/c.webp", "image")])


@variant
def video_document(obj, act, ctx):
    obj["attachment"] = [{"type": "Video", "mediaType": "video/mp4", "url": f"{ctx.base}/v.mp4"}]
    return Shown(attachments=[(f"{ctx.base}/v.mp4", "video")])


@variant
def bare_uri_attachment(obj, act, ctx):
    obj["attachment"] = f"{ctx.base}/doc.pdf"
    return Shown(attachments=[(f"{ctx.base}/doc.pdf", "unknown")])


@variant
def unsafe_attachments(obj, act, ctx):
    obj["attachment"] = [
        {"type": "Image", "url": "javascript:alert(1)"},
        {"type": "Image", "url": "data:image/png;base64,AAAA"},
        42,
        None,
        [[f"{ctx.base}/nested.png"]],
    ]
    return Shown(attachments=[])


@variant
def attachment_only(obj, act, ctx):
    content(obj, "")
    obj.pop("summary", None)
    obj["attachment"] = [{"type": "Image", "mediaType": "image/png", "url": f"{ctx.base}/p.png"}]
    return Shown(attachments=[(f"{ctx.base}/p.png", "image")], content="")


# -- inReplyTo ---------------------------------------------------------------------------------


@variant
def reply_string(obj, act, ctx):
    obj["inReplyTo"] = f"{ctx.base}/users/dora/statuses/1"
    return Shown(in_reply_to=f"{ctx.base}/users/dora/statuses/1", in_reply_to_author=None)


@variant
def reply_object(obj, act, ctx):
    obj["inReplyTo"] = {
        "id": f"{ctx.base}/users/dora/statuses/2",
        "type": "Note",
        "attributedTo": f"{ctx.base}/users/dora",
    }
    return Shown(
        in_reply_to=f"{ctx.base}/users/dora/statuses/2",
        in_reply_to_author=f"{ctx.base}/users/dora",
    )


@variant
def reply_list(obj, act, ctx):
    obj["inReplyTo"] = [f"{ctx.base}/users/dora/statuses/3"]
    return Shown(in_reply_to=f"{ctx.base}/users/dora/statuses/3")


@variant
def reply_null(obj, act, ctx):
    obj["inReplyTo"] = None
    return Shown(in_reply_to=None)


@variant
def reply_garbage(obj, act, ctx):
    obj["inReplyTo"] = {"nothing": "useful"}
    return Shown(in_reply_to=None)


# -- addressing --------------------------------------------------------------------------------


@variant
def public_as_string(obj, act, ctx):
    obj["to"], obj["cc"] = PUBLIC, ctx.followers
    return Shown(visibility="public")


@variant
def public_compact_as(obj, act, ctx):
    obj["to"], obj["cc"] = ["as:Public"], []
    return Shown(visibility="public")


@variant
def public_bare(obj, act, ctx):
    obj["to"], obj["cc"] = "Public", [ctx.followers]
    return Shown(visibility="public")


@variant
def public_embedded(obj, act, ctx):
    obj["to"] = [{"id": PUBLIC, "type": "Collection"}]
    return Shown(visibility="public")


@variant
def unlisted(obj, act, ctx):
    obj["to"], obj["cc"] = [ctx.followers], [PUBLIC]
    return Shown(visibility="unlisted")


@variant
def followers_only_string(obj, act, ctx):
    obj["to"], obj["cc"] = ctx.followers, []
    return Shown(visibility="private")


@variant
def followers_only_mentioning(obj, act, ctx):
    obj["to"], obj["cc"] = [ctx.followers, CYD], []
    obj["tag"] = [{"type": "Mention", "href": CYD}]
    return Shown(visibility="private", mentions=[CYD])


@variant
def addressing_on_activity_only(obj, act, ctx):
    obj.pop("to", None), obj.pop("cc", None)
    act["to"], act["cc"] = [PUBLIC], [ctx.followers]
    return Shown(visibility="public")


@variant
def direct_to_bob(obj, act, ctx):
    content(obj, "<p>Just for you</p>")
    obj["to"], obj["cc"] = [BOB], []
    act["to"], act["cc"] = [BOB], []
    return Direct()


@variant
def addressed_to_nobody(obj, act, ctx):
    obj["to"], obj["cc"] = 12, None
    act.pop("to", None), act.pop("cc", None)
    return Ignored("a direct message (conversations keep those)")


# -- attributedTo ------------------------------------------------------------------------------


@variant
def attributed_object(obj, act, ctx):
    obj["attributedTo"] = {"type": "Person", "id": ctx.actor}
    return Shown()


@variant
def attributed_list(obj, act, ctx):
    obj["attributedTo"] = [{"type": "Group", "id": f"{ctx.base}/groups/g"}, ctx.actor]
    return Shown()


@variant
def attributed_to_someone_else(obj, act, ctx):
    obj["attributedTo"] = f"{ctx.base}/users/mallory"
    return Ignored("the status is not attributed to the actor who sent it")


@variant
def attributed_missing(obj, act, ctx):
    obj.pop("attributedTo", None)
    return Ignored("the status is not attributed to the actor who sent it")


# -- object types and ids ----------------------------------------------------------------------


@variant
def question_one_of(obj, act, ctx):
    obj["type"] = "Question"
    obj["oneOf"] = [
        {"type": "Note", "name": "Yes", "replies": {"type": "Collection", "totalItems": 2}},
        {"type": "Note", "name": "No", "replies": {"totalItems": "many"}},
    ]
    obj["endTime"] = "2026-12-01T00:00:00Z"
    return Shown(kind="question", poll=["Yes", "No"])


@variant
def question_any_of_closed(obj, act, ctx):
    obj["type"] = "Question"
    obj["anyOf"] = [{"name": "Tea"}, {"name": "Coffee"}, "junk"]
    obj["closed"] = "2026-11-01T00:00:00Z"
    return Shown(kind="question", poll=["Tea", "Coffee"])


@variant
def article(obj, act, ctx):
    obj["type"] = "Article"
    obj["name"] = "Winter <i>garden</i>"
    obj["url"] = f"{ctx.base}/blog/winter"
    obj["summary"] = "How we keep it"
    return Shown(
        kind="article",
        title="Winter garden",
        spoiler="",
        content=f'<p><a href="{ctx.base}/blog/winter" target="_blank" rel="nofollow noopener">'
        "Winter garden</a></p><p>How we keep it</p>",
    )


@variant
def page(obj, act, ctx):
    obj["type"] = "Page"
    obj["name"] = "Community page"
    obj.pop("summary", None)
    obj["url"] = [{"type": "Link", "mediaType": "text/html", "href": f"{ctx.base}/p/1"}]
    return Shown(
        kind="page",
        title="Community page",
        content=f'<p><a href="{ctx.base}/p/1" target="_blank" rel="nofollow noopener">'
        "Community page</a></p>",
    )


@variant
def event(obj, act, ctx):
    obj["type"] = "Event"
    obj["name"] = "Street party"
    obj["summary"] = "<p>Saturday at 3</p>"
    obj["startTime"] = "2026-12-05T15:00:00Z"
    return Shown(kind="event", title="Street party")


@variant
def type_list(obj, act, ctx):
    obj["type"] = ["Note", "https://example.org/ns#Thing"]
    return Shown(kind="note")


@variant
def video_object(obj, act, ctx):
    obj["type"] = "Video"
    return Ignored("object type Video not shown")


@variant
def image_object(obj, act, ctx):
    obj["type"] = "Image"
    return Ignored("object type Image not shown")


@variant
def no_type(obj, act, ctx):
    obj.pop("type", None)
    return Ignored("object type none not shown")


@variant
def id_on_another_host(obj, act, ctx):
    obj["id"] = "https://elsewhere.example/notes/1"
    return Ignored("the status's id is not on its author's server")


@variant
def id_missing(obj, act, ctx):
    obj.pop("id", None)
    return Ignored("the status has no usable id")


@variant
def id_not_http(obj, act, ctx):
    obj["id"] = "urn:uuid:1234"
    return Ignored("the status has no usable id")


@variant
def nothing_to_show(obj, act, ctx):
    content(obj, "<p><script>x</script></p>")
    obj.pop("summary", None), obj.pop("summaryMap", None), obj.pop("attachment", None)
    return Ignored("no content: no text, content warning, attachment or poll")


# -- malformed values and dates ----------------------------------------------------------------


@variant
def malformed_values(obj, act, ctx):
    obj["content"], obj["contentMap"] = 42, ["not", "a", "map"]
    obj["summary"], obj["sensitive"] = "still shown", "yes"
    obj["published"], obj["url"], obj["tag"] = {"a": 1}, 7, "nope"
    return Shown(spoiler="still shown", sensitive=True, content="")


@variant
def published_in_future(obj, act, ctx):
    obj["published"] = "2099-01-01T00:00:00Z"
    return Shown(created_now=True)


@variant
def huge_content(obj, act, ctx):
    content(obj, "<p>" + "word " * 20000 + "</p>")
    return Shown()


def load_base(software: str, base: str) -> dict[str, Any]:
    text = (PAYLOADS / software / "create_note.json").read_text(encoding="utf-8")
    text = text.replace(f"https://{software}.example", base)
    return json.loads(text.replace("https://quartier.example", NODE))


def cases_for(software: str, base: str) -> list[Case]:
    """Every variant applied to ``software``'s Create(Note), made public first (every base is
    then a post bob's follow brings him), with ids of its own."""
    template = load_base(software, base)
    actor = template["actor"]
    followers = f"{actor}/followers"
    to_public: Any = PUBLIC if isinstance(template["object"].get("to"), str) else [PUBLIC]
    cases = []
    for n, (name, make) in enumerate(VARIANTS.items()):
        act = copy.deepcopy(template)
        act.pop("signature", None)  # a placeholder, and it would not match the edits
        obj = act["object"]
        obj["to"], obj["cc"] = to_public, [followers]
        act["to"], act["cc"] = to_public, [followers]
        obj.pop("inReplyTo", None)
        obj["id"] = f"{actor}/statuses/corpus-{n}"
        act["id"] = f"{actor}/statuses/corpus-{n}/activity"
        expect = make(obj, act, Ctx(actor=actor, followers=followers, base=base))
        cases.append(Case(software, name, act, expect))
    return cases


def test_the_corpus_has_more_than_200_variants():
    assert len(VARIANTS) * len(SOFTWARE) >= 200


@pytest.mark.parametrize("software", SOFTWARE)
async def test_every_variant_is_shown_or_ignored_with_its_reason(
    node, clock, aiohttp_server, software
):
    remote = await start_status_server(aiohttp_server)
    ada = await admin_token(node, "ada")
    await member_token(node, ada, "bob")
    await member_token(node, ada, "cyd")
    cases = cases_for(software, remote.base)
    name = cases[0].activity["actor"].rsplit("/", 1)[-1]
    author = remote.add(name)
    await follows(node, "bob", author.id, clock.now)

    for case in cases:
        resp = await deliver(node, clock, author, case.activity)
        assert resp.status == 202, (case.variant, resp.status, await resp.text())
    await work(node)

    failures = []
    for case in cases:
        try:
            await check(node, case)
        except AssertionError as exc:
            failures.append(f"{case.software}/{case.variant}: {exc}")
    assert not failures, "\n".join(failures)


async def check(node, case: Case) -> None:
    obj, expect = case.activity["object"], case.expect
    with activated(node.app[DATABASE]):
        row = await InboundMessage.get(activity_id=case.activity["id"])
        ap_id = obj.get("id") if isinstance(obj.get("id"), str) else None
        status = await Status.get_or_none(ap_id=ap_id) if ap_id else None
        bob = await Member.get(username="bob")
        in_home = status is not None and await TimelineEntry.exists(member=bob, status=status)
        message = await Message.get_or_none(ap_id=ap_id) if ap_id else None
    if isinstance(expect, Ignored):
        assert row.state.value == "ignored", (row.state, row.last_error)
        assert expect.reason in row.last_error.split("; "), row.last_error
        assert status is None
        return
    if isinstance(expect, Direct):
        assert row.state.value == "done", row.last_error
        assert message is not None
        assert status is not None
        assert (status.kind.value, status.visibility.value) == ("message", "direct")
        assert status.message_id == message.id  # type: ignore[attr-defined]
        assert in_home
        return
    assert row.state.value == "done", row.last_error
    assert status is not None
    assert in_home
    assert sanitize(status.content) == status.content  # nothing but what Mastodon keeps
    assert "<script" not in status.content
    assert "javascript:" not in status.content
    assert (status.visibility.value, status.kind.value) == (expect.visibility, expect.kind)
    assert status.author == case.activity["actor"]
    if expect.content is not None:
        assert status.content == expect.content
    if expect.spoiler is not None:
        assert status.spoiler_text == expect.spoiler
    if expect.sensitive is not None:
        assert status.sensitive is expect.sensitive
    if expect.language is not SAME:
        assert status.language == expect.language
    if expect.attachments is not None:
        assert [(a["url"], a["type"]) for a in status.attachments] == expect.attachments
    if expect.tags is not None:
        assert status.tags == expect.tags
    if expect.mentions is not None:
        assert status.mentions == expect.mentions
    if expect.in_reply_to is not SAME:
        assert status.in_reply_to == expect.in_reply_to
    if expect.in_reply_to_author is not SAME:
        assert status.in_reply_to_author == expect.in_reply_to_author
    if expect.title is not None:
        assert status.title == expect.title
    if expect.poll is not None:
        assert status.poll is not None
        assert [o["title"] for o in status.poll["options"]] == expect.poll
    if expect.created_now:
        assert status.created_at.isoformat() == NOW
