"""Statuses of the accounts members follow, delivered signed to a running node: stored once,
in the home timelines of whom they concern, edited, deleted, boosted and unboosted only by
their authors; everything else left alone with a reason."""

from __future__ import annotations

import pytest

from federation.models import RemoteActor as RemoteActorRow
from node.conversations.models import Message
from node.db import activated
from node.http.keys import DATABASE, RESOLVER
from node.statuses.models import Status
from tests.api import admin_token, bearer, member_token
from tests.node.statuses_support import (
    PUBLIC,
    follows,
    home,
    note,
    outcome,
    send,
    start_status_server,
    status,
    wrap,
)
from tests.node.test_inbox import NODE

pytestmark = pytest.mark.local_testing

BOB = f"{NODE}/users/bob"


@pytest.fixture
async def remote(aiohttp_server):
    return await start_status_server(aiohttp_server)


@pytest.fixture
async def members(node) -> dict[str, str]:
    """ada (admin), bob and cyd, members; their tokens."""
    ada = await admin_token(node, "ada")
    return {
        "ada": ada,
        "bob": await member_token(node, ada, "bob"),
        "cyd": await member_token(node, ada, "cyd"),
    }


async def test_a_followed_accounts_public_post_reaches_its_followers_home_only(
    node, clock, remote, members
):
    alice = remote.add_profiled("alice")
    await follows(node, "bob", alice.id, clock.now)
    post = note(
        alice,
        1,
        content='<p>Hi <script>alert(1)</script><a href="javascript:x()">there</a></p>',
        summary="garden talk",
        contentMap={"fr": "<p>Salut</p>"},
        tag=[
            {"type": "Hashtag", "name": "#Compost", "href": f"{remote.base}/tags/compost"},
            {"type": "Mention", "name": "@cyd", "href": f"{NODE}/users/cyd"},
        ],
        attachment=[
            {
                "type": "Document",
                "mediaType": "image/jpeg",
                "url": f"{remote.base}/m/1.jpg",
                "name": "The shed",
                "blurhash": "UBL_:rOpGG-o",
                "width": 1200,
                "height": 800,
            }
        ],
        inReplyTo=f"{remote.base}/users/dora/statuses/9",
    )

    await send(node, clock, alice, wrap("Create", alice, post, 1))

    assert await outcome(node, wrap("Create", alice, post, 1)) == ("done", [])
    stored = await status(node, post["id"])
    assert stored is not None
    assert (stored.visibility.value, stored.kind.value, stored.local) == ("public", "note", False)
    assert stored.content == "<p>Hi there</p>"
    assert (stored.spoiler_text, stored.sensitive, stored.language) == ("garden talk", True, "fr")
    assert (stored.tags, stored.mentions) == (["compost"], [f"{NODE}/users/cyd"])
    assert stored.attachments == [
        {
            "url": f"{remote.base}/m/1.jpg",
            "media_type": "image/jpeg",
            "type": "image",
            "description": "The shed",
            "width": 1200,
            "height": 800,
            "blurhash": "UBL_:rOpGG-o",
        }
    ]
    assert stored.in_reply_to == f"{remote.base}/users/dora/statuses/9"
    assert stored.url == f"{remote.base}/@alice/1"
    # bob follows alice; cyd is mentioned; ada neither.
    assert await home(node, "bob") == [post["id"]]
    assert await home(node, "cyd") == [post["id"]]
    assert await home(node, "ada") == []


async def test_the_same_status_twice_is_one_status(node, clock, remote, members):
    alice = remote.add("alice")
    await follows(node, "bob", alice.id, clock.now)
    post = note(alice, 1)
    await send(node, clock, alice, wrap("Create", alice, post, 1), wrap("Create", alice, post, 2))
    with activated(node.app[DATABASE]):
        assert await Status.filter(ap_id=post["id"]).count() == 1
    assert await home(node, "bob") == [post["id"]]


async def test_visibility_follows_the_addressing(node, clock, remote, members):
    alice = remote.add_profiled("alice")
    await follows(node, "bob", alice.id, clock.now)
    followers = f"{alice.id}/followers"
    posts = {
        "public": note(alice, 1, to=PUBLIC, cc=followers),
        "unlisted": note(alice, 2, to=[followers], cc=["as:Public"]),
        "private": note(alice, 3, to=followers, cc=[]),
    }
    await send(
        node, clock, alice, *(wrap("Create", alice, p, n) for n, p in enumerate(posts.values()))
    )
    for visibility, post in posts.items():
        stored = await status(node, post["id"])
        assert stored is not None
        assert stored.visibility.value == visibility


async def test_a_direct_message_is_kept_by_conversations(node, clock, remote, members):
    alice = remote.add("alice")
    await follows(node, "bob", alice.id, clock.now)
    photo = {
        "type": "Document",
        "mediaType": "image/webp",
        "url": f"{remote.base}/m/cat.webp",
        "name": "A cat",
        "blurhash": "UBL_:rOpGG-o",
        "width": 640,
        "height": 480,
    }
    dm = note(
        alice,
        1,
        to=[BOB],
        cc=[],
        content="<p>Psst, bob</p>",
        summary="secret",
        sensitive=True,
        attachment=[photo],
    )
    await send(node, clock, alice, wrap("Create", alice, dm, 1))
    # Stored once, as the message; its status (for apps) is the message's direct status.
    indexed = await status(node, dm["id"])
    assert indexed is not None
    assert (indexed.kind.value, indexed.visibility.value) == ("message", "direct")
    assert indexed.spoiler_text == "secret"
    assert [a["url"] for a in indexed.attachments] == [f"{remote.base}/m/cat.webp"]
    reasons = (await outcome(node, wrap("Create", alice, dm, 1)))[1]
    assert reasons == []  # the conversations acted on it
    with activated(node.app[DATABASE]):
        message = await Message.get(ap_id=dm["id"])
    # The content warning and the attachment, with what apps show before loading it.
    assert (message.text, message.summary) == ("Psst, bob", "secret")
    assert message.attachments == [
        {
            "url": f"{remote.base}/m/cat.webp",
            "media_type": "image/webp",
            "type": "image",
            "description": "A cat",
            "width": 640,
            "height": 480,
            "blurhash": "UBL_:rOpGG-o",
        }
    ]
    # Quartier's own API shows what it always showed.
    [conversation] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(members["bob"]))
    ).json()
    assert conversation["last_message"]["attachments"] == [
        {"url": f"{remote.base}/m/cat.webp", "media_type": "image/webp", "description": "A cat"}
    ]


async def test_a_stranger_s_post_is_ignored_unless_it_names_a_member(node, clock, remote, members):
    carol = remote.add("carol")
    stray = wrap("Create", carol, note(carol, 1), 1)
    mention = note(
        carol, 2, tag=[{"type": "Mention", "href": BOB}], cc=[f"{carol.id}/followers", BOB]
    )
    await send(node, clock, carol, stray, wrap("Create", carol, mention, 2))
    state, reasons = await outcome(node, stray)
    assert state == "ignored"
    assert "not from an account anyone here follows, and it names no one here" in reasons
    assert await home(node, "bob") == [mention["id"]]


async def test_a_member_who_blocks_or_mutes_the_author_does_not_get_it(
    node, clock, remote, members
):
    alice = remote.add("alice")
    await follows(node, "bob", alice.id, clock.now)
    await follows(node, "cyd", alice.id, clock.now)
    resp = await node.post(
        "/api/quartier/v1/me/mutes", json={"account": alice.id}, headers=bearer(members["cyd"])
    )
    assert resp.status in (200, 201), await resp.text()
    await send(node, clock, alice, wrap("Create", alice, note(alice, 1), 1))
    assert await home(node, "bob") == [note(alice, 1)["id"]]
    assert await home(node, "cyd") == []


async def test_only_the_author_edits_or_deletes(node, clock, remote, members):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    await follows(node, "bob", alice.id, clock.now)
    post = note(alice, 1)
    await send(node, clock, alice, wrap("Create", alice, post, 1))

    forged = wrap("Update", mallory, post | {"content": "<p>mine now</p>"}, "f")
    forged_delete = wrap("Delete", mallory, post["id"], "f")
    await send(node, clock, mallory, forged, forged_delete)
    assert "only its author may edit a status" in (await outcome(node, forged))[1]
    assert "only its author may delete a status" in (await outcome(node, forged_delete))[1]
    stored = await status(node, post["id"])
    assert stored is not None
    assert stored.content == "<p>Post number 1</p>"

    clock.advance(minutes=3)
    edit = post | {
        "content": "<p>Edited</p>",
        "summary": "now with a warning",
        "attachment": {"type": "Image", "url": f"{remote.base}/p.png"},
    }
    await send(node, clock, alice, wrap("Update", alice, edit, 1))
    stored = await status(node, post["id"])
    assert stored is not None
    assert (stored.content, stored.spoiler_text, stored.edited_at) == (
        "<p>Edited</p>",
        "now with a warning",
        clock.now,
    )
    assert [a["url"] for a in stored.attachments] == [f"{remote.base}/p.png"]

    await send(
        node, clock, alice, wrap("Delete", alice, {"id": post["id"], "type": "Tombstone"}, 1)
    )
    assert await status(node, post["id"]) is None
    assert await home(node, "bob") == []


async def test_a_boost_by_a_followed_account_and_its_undo(
    node, clock, remote, members, aiohttp_server
):
    alice = remote.add("alice")
    other = await start_status_server(aiohttp_server)
    dora = other.add("dora")
    await follows(node, "bob", alice.id, clock.now)
    # alice boosts her own post (embedded: her server speaks for it) ...
    own = note(alice, 1)
    boost_own = wrap("Announce", alice, own, "b1") | {"to": [PUBLIC]}
    # ... and dora's, on another server: the embedded copy is not believed, dora's server is
    # asked (here it serves the real one, whose text differs from the embedded one).
    theirs = note(dora, 7, content="<p>What dora wrote</p>")
    other.objects[theirs["id"]] = theirs
    boost_theirs = wrap("Announce", alice, theirs | {"content": "<p>forged</p>"}, "b2")
    boost_theirs["to"] = [PUBLIC]
    gone = wrap("Announce", alice, f"{other.base}/users/dora/statuses/404", "b3")
    await send(node, clock, alice, boost_own, boost_theirs, gone)

    assert await home(node, "bob") == [boost_theirs["id"], boost_own["id"]]
    reblog = await status(node, boost_theirs["id"])
    original = await status(node, theirs["id"])
    assert reblog is not None
    assert original is not None
    assert reblog.reblog_of_id == original.id  # type: ignore[attr-defined]
    assert (original.content, original.author) == ("<p>What dora wrote</p>", dora.id)
    state, reasons = await outcome(node, gone)
    assert state == "ignored"
    assert any(r.startswith("the boosted status cannot be fetched") for r in reasons)

    undo = wrap("Undo", alice, boost_theirs["id"], "u1")
    await send(node, clock, alice, undo)
    assert await status(node, boost_theirs["id"]) is None
    assert await home(node, "bob") == [boost_own["id"]]


async def test_polls_and_articles(node, clock, remote, members):
    alice = remote.add("alice")
    await follows(node, "bob", alice.id, clock.now)
    poll = note(
        alice,
        1,
        type="Question",
        content="<p>Which day?</p>",
        endTime="2026-11-30T00:00:00Z",
        votersCount=7,
        oneOf=[
            {
                "type": "Note",
                "name": "Saturday",
                "replies": {"type": "Collection", "totalItems": 4},
            },
            {"type": "Note", "name": "Sunday", "replies": {"type": "Collection", "totalItems": 3}},
        ],
    )
    article = note(
        alice,
        2,
        type="Article",
        name="Our garden in winter",
        summary="<p>How we <b>keep</b> it</p>",
        content="<p>A very long text…</p>",
        url=[{"type": "Link", "mediaType": "text/html", "href": f"{remote.base}/blog/winter"}],
    )
    video = note(alice, 3, type="Video")
    await send(
        node,
        clock,
        alice,
        wrap("Create", alice, poll, 1),
        wrap("Create", alice, article, 2),
        wrap("Create", alice, video, 3),
    )
    stored = await status(node, poll["id"])
    assert stored is not None
    assert stored.poll == {
        "options": [
            {"title": "Saturday", "votes_count": 4},
            {"title": "Sunday", "votes_count": 3},
        ],
        "multiple": False,
        "expires_at": "2026-11-30T00:00:00Z",
        "closed": False,
        "voters_count": 7,
    }
    shown = await status(node, article["id"])
    assert shown is not None
    assert (shown.kind.value, shown.title, shown.spoiler_text) == (
        "article",
        "Our garden in winter",
        "",
    )
    assert shown.content == (
        f'<p><a href="{remote.base}/blog/winter" target="_blank" rel="nofollow noopener">'
        "Our garden in winter</a></p><p>How we <b>keep</b> it</p>"
    )
    assert await outcome(node, wrap("Create", alice, video, 3)) == (
        "ignored",
        ["object type Video not shown"],
    )


async def test_a_remote_authors_profile_is_kept(node, clock, remote, members):
    alice = remote.add_profiled("alice")
    await follows(node, "bob", alice.id, clock.now)
    await send(node, clock, alice, wrap("Create", alice, note(alice, 1), 1))
    with activated(node.app[DATABASE]):
        row = await RemoteActorRow.get(uri=alice.id)
    assert (row.name, row.icon, row.image, row.url, row.followers) == (
        "Alice <b>Liddell</b>",
        f"{remote.base}/a.png",
        f"{remote.base}/h.jpg",
        f"{remote.base}/@alice",
        f"{alice.id}/followers",
    )
    assert row.summary == "<p>Gardener. <script>x</script></p>"  # as published: shown sanitised
    with activated(node.app[DATABASE]):
        node.app[RESOLVER].forget(alice.id)  # from the database, as another process reads it
        profile = await node.app[RESOLVER].known_profile(alice.id)
        assert await node.app[RESOLVER].known_profile(f"{remote.base}/users/nobody") is None
    assert profile is not None
    assert (profile.name, profile.icon, profile.manually_approves_followers) == (
        "Alice <b>Liddell</b>",
        f"{remote.base}/a.png",
        False,
    )
    assert row.published is not None
    assert row.published.year == 2020


async def test_a_private_status_reaches_followers_and_whom_it_names_only(
    node, clock, remote, members
):
    alice = remote.add_profiled("alice")
    await follows(node, "bob", alice.id, clock.now)
    post = note(
        alice,
        1,
        to=[f"{alice.id}/followers", f"{NODE}/users/cyd"],
        cc=[],
        tag=[{"type": "Mention", "href": f"{NODE}/users/cyd"}],
    )
    await send(node, clock, alice, wrap("Create", alice, post, 1))
    stored = await status(node, post["id"])
    assert stored is not None
    assert stored.visibility.value == "private"
    assert (await home(node, "bob"), await home(node, "cyd"), await home(node, "ada")) == (
        [post["id"]],
        [post["id"]],
        [],
    )


async def test_what_other_features_keep_is_not_stored_twice(node, clock, remote, members):
    alice = remote.add("alice")
    await follows(node, "bob", alice.id, clock.now)
    to_circle = note(alice, 1, to=[PUBLIC, f"{NODE}/groups/rue_verte"])
    listing = note(alice, 2, listingKind="offer", name="Chairs")
    notice = note(alice, 3, noticeKind="information")
    relayed = wrap("Announce", alice, wrap("Create", alice, note(alice, 4), 4), "r")
    await send(
        node,
        clock,
        alice,
        wrap("Create", alice, to_circle, 1),
        wrap("Create", alice, listing, 2),
        wrap("Create", alice, notice, 3),
        relayed,
    )
    reasons = {
        "circle": (await outcome(node, wrap("Create", alice, to_circle, 1)))[1],
        "listing": (await outcome(node, wrap("Create", alice, listing, 2)))[1],
        "notice": (await outcome(node, wrap("Create", alice, notice, 3)))[1],
        "relayed": (await outcome(node, relayed))[1],
    }
    assert "a post to a group of this node (circles keep those)" in reasons["circle"]
    assert "a listing (listings keep those)" in reasons["listing"]
    assert "a notice (notices keep those)" in reasons["notice"]
    assert "an announced activity (a group relaying it), not a status" in reasons["relayed"]
    assert await home(node, "bob") == []


async def test_a_polls_new_counts_are_not_an_edit_and_a_deleted_account_takes_its_statuses(
    node, clock, remote, members
):
    alice = remote.add("alice")
    await follows(node, "bob", alice.id, clock.now)
    options = [{"type": "Note", "name": "Yes", "replies": {"totalItems": 0}}]
    poll = note(alice, 1, type="Question", oneOf=options)
    await send(
        node, clock, alice, wrap("Create", alice, poll, 1), wrap("Create", alice, note(alice, 2), 2)
    )
    counted = poll | {"oneOf": [options[0] | {"replies": {"totalItems": 5}}], "votersCount": 5}
    await send(node, clock, alice, wrap("Update", alice, counted, 1))
    stored = await status(node, poll["id"])
    assert stored is not None
    assert stored.poll is not None
    assert (stored.poll["options"][0]["votes_count"], stored.poll["voters_count"]) == (5, 5)
    assert stored.edited_at is None

    await send(node, clock, alice, wrap("Delete", alice, alice.id, "account"))
    assert await home(node, "bob") == []
    assert await status(node, poll["id"]) is None
