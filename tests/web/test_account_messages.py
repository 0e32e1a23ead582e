"""Messages through the pages: the conversations list, a conversation (read on opening),
replying (with a reply that survives an ended session), starting a conversation."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.api import bearer
from tests.web.account_support import (
    FRENCH,
    SCRIPT,
    assert_escaped,
    end_browser_session,
    neighbours,
    post_page_form,
    relogin_token,
)
from tests.web.support import ORIGIN, page_token

pytestmark = pytest.mark.usefixtures("tokens")


@pytest.fixture
async def tokens(node) -> dict[str, str]:
    return await neighbours(node)


async def ada_writes(node, tokens, text: str = "Bonjour Bob") -> int:
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": ["bob"], "text": text},
        headers=bearer(tokens["ada"]),
    )
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def api_messages(node, token: str, cid: int) -> list[dict]:
    resp = await node.get(f"/api/quartier/v1/conversations/{cid}", headers=bearer(token))
    assert resp.status == 200
    return await resp.json()


async def unread(node, token: str) -> int:
    resp = await node.get("/api/quartier/v1/conversations", headers=bearer(token))
    return sum(c["unread"] for c in await resp.json())


async def test_a_visitor_is_sent_to_log_in(node):
    node.session.cookie_jar.clear()
    for path in ("/messages", "/messages/1", "/messages/new?to=ada"):
        resp = await node.get(path, allow_redirects=False)
        assert resp.status == 303
        assert unquote(resp.headers["Location"]) == f"/login?next={path}"


async def test_the_list_shows_conversations_with_unread_counts(node, tokens):
    await ada_writes(node, tokens, "Is the drill still free?")
    page = await (await node.get("/messages")).text()
    assert "Ada Lovelace (@ada)" in page or "(@ada)" in page
    assert "Is the drill still free?" in page
    assert "1 unread" in page


async def test_the_list_in_french(node, tokens):
    await ada_writes(node, tokens)
    page = await (await node.get("/messages", headers=FRENCH)).text()
    assert "1 non lu" in page
    assert "Écrire à un voisin" in page


async def test_opening_a_conversation_reads_it(node, tokens):
    cid = await ada_writes(node, tokens, "Line one\nline two")
    assert await unread(node, tokens["bob"]) == 1
    resp = await node.get(f"/messages/{cid}")
    assert resp.status == 200
    page = await resp.text()
    assert "Line one\nline two" in page
    assert f'action="/messages/{cid}"' in page
    assert await unread(node, tokens["bob"]) == 0
    french = await (await node.get(f"/messages/{cid}", headers=FRENCH)).text()
    assert "Votre réponse" in french


async def test_someone_elses_conversation_is_not_found(node, tokens):
    # ada writes to herself-and-bob; a conversation bob is not in does not exist for him
    ada_only = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": ["ada"], "text": "note"},
        headers=bearer(tokens["ada"]),
    )
    assert ada_only.status in (400, 201)
    resp = await node.get("/messages/999999")
    assert resp.status == 404
    assert "text/html" in resp.headers["Content-Type"]


async def test_a_reply_is_sent_and_the_page_shown_again(node, tokens):
    cid = await ada_writes(node, tokens)
    resp = await post_page_form(node, f"/messages/{cid}", f"/messages/{cid}", {"text": "Yes!"})
    assert resp.status == 303
    assert resp.headers["Location"] == f"/messages/{cid}#reply"
    texts = [m["text"] for m in await api_messages(node, tokens["ada"], cid)]
    assert texts == ["Bonjour Bob", "Yes!"]


async def test_an_empty_reply_is_refused_next_to_the_field(node, tokens):
    cid = await ada_writes(node, tokens)
    resp = await post_page_form(node, f"/messages/{cid}", f"/messages/{cid}", {"text": "   "})
    assert resp.status == 422
    page = await resp.text()
    assert 'id="text-error"' in page
    assert 'aria-describedby="text-error"' in page
    assert len(await api_messages(node, tokens["ada"], cid)) == 1


async def test_a_too_long_reply_keeps_its_text(node, tokens):
    cid = await ada_writes(node, tokens)
    long = "x" * 5001
    resp = await post_page_form(node, f"/messages/{cid}", f"/messages/{cid}", {"text": long})
    assert resp.status == 422
    assert "x" * 5000 in await resp.text()


async def test_a_script_in_a_message_is_text(node, tokens):
    cid = await ada_writes(node, tokens)
    resp = await post_page_form(node, f"/messages/{cid}", f"/messages/{cid}", {"text": SCRIPT})
    assert resp.status == 303
    assert_escaped(await (await node.get(f"/messages/{cid}")).text())
    assert_escaped(await (await node.get("/messages")).text())


@pytest.mark.parametrize("token", ["", "wrong"])
async def test_a_reply_without_the_right_token_is_refused(node, tokens, token):
    cid = await ada_writes(node, tokens)
    resp = await node.post(
        f"/messages/{cid}", data={"csrf_token": token, "text": "hi"}, headers=ORIGIN
    )
    assert resp.status == 403
    assert "text/html" in resp.headers["Content-Type"]
    assert len(await api_messages(node, tokens["ada"], cid)) == 1


async def test_a_reply_from_another_origin_is_refused(node, tokens):
    cid = await ada_writes(node, tokens)
    token = await page_token(node, f"/messages/{cid}")
    for headers in ({"Origin": "https://evil.example"}, {}):
        resp = await node.post(
            f"/messages/{cid}", data={"csrf_token": token, "text": "hi"}, headers=headers
        )
        assert resp.status == 403
    assert len(await api_messages(node, tokens["ada"], cid)) == 1


async def test_a_reply_after_the_session_ended_keeps_its_text(node, tokens):
    cid = await ada_writes(node, tokens)
    token = await page_token(node, f"/messages/{cid}")
    tokens["bob"] = await end_browser_session(node, "bob")
    typed = "A long reply I would hate to type again"
    resp = await node.post(
        f"/messages/{cid}", data={"csrf_token": token, "text": typed}, headers=ORIGIN
    )
    assert resp.status == 401
    page = await resp.text()
    assert typed in page
    assert 'name="relogin_username"' in page
    assert "Bonjour Bob" not in page  # the conversation is not shown to whoever this is
    # Logging in inside the form sends the reply.
    form = {
        "csrf_token": await relogin_token(resp),
        "text": typed,
        "relogin_username": "bob",
        "relogin_password": "correct horse battery staple",
    }
    resp = await node.post(f"/messages/{cid}", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303
    assert [m["text"] for m in await api_messages(node, tokens["ada"], cid)][-1] == typed
    assert (await node.get("/messages")).status == 200  # logged in again


async def test_starting_a_conversation(node, tokens):
    page = await (await node.get("/messages/new?to=ada")).text()
    assert 'value="ada"' in page
    resp = await post_page_form(
        node, "/messages/new", "/messages/new", {"to": "ada", "text": "Hello Ada"}
    )
    assert resp.status == 303
    cid = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert [m["text"] for m in await api_messages(node, tokens["ada"], cid)] == ["Hello Ada"]


async def test_starting_a_conversation_with_nobody_known(node, tokens):
    resp = await post_page_form(
        node, "/messages/new", "/messages/new", {"to": "nobody_here", "text": SCRIPT}
    )
    assert resp.status == 404
    page = await resp.text()
    assert 'id="to-error"' in page
    assert 'value="nobody_here"' in page
    assert_escaped(page)


async def test_starting_a_conversation_in_french_with_a_script_as_name(node, tokens):
    resp = await post_page_form(
        node, "/messages/new", "/messages/new", {"to": SCRIPT, "text": "x"}, headers=FRENCH
    )
    assert resp.status == 400  # the API's status: not a username or handle
    page = await resp.text()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "Indiquez le nom d\u2019utilisateur du voisin" in page


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_starting_from_another_origin_is_refused(node, tokens, headers):
    token = await page_token(node, "/messages/new")
    resp = await node.post(
        "/messages/new", data={"csrf_token": token, "to": "ada", "text": "hi"}, headers=headers
    )
    assert resp.status == 403
    assert (
        await (
            await node.get("/api/quartier/v1/conversations", headers=bearer(tokens["ada"]))
        ).json()
        == []
    )
