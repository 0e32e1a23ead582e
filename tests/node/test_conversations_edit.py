"""Editing and deleting one's own direct messages over the real HTTP API: who may, and what
a request that may not gets. (Across nodes: tests/integration/test_conversations.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import bearer, error_of

PATH = "/api/quartier/v1/conversations"


async def start(node, token: str, to: str, text: str) -> tuple[int, int]:
    """A conversation of the caller with ``to``; its id and the id of its first message."""
    resp = await node.post(
        PATH, json={"to": [f"{to}@127.0.0.1:8080"], "text": text}, headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()
    cid = (await resp.json())["id"]
    [first] = await messages(node, token, cid)
    return cid, first["id"]


async def messages(node, token: str, cid: int) -> list[dict[str, Any]]:
    resp = await node.get(f"{PATH}/{cid}", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def edit(node, token: str | None, cid: int, mid: int, body: Any) -> Any:
    headers = bearer(token) if token else {}
    return await node.patch(f"{PATH}/{cid}/messages/{mid}", json=body, headers=headers)


async def delete(node, token: str | None, cid: int, mid: int) -> Any:
    headers = bearer(token) if token else {}
    return await node.delete(f"{PATH}/{cid}/messages/{mid}", headers=headers)


async def test_only_the_author_may_edit_or_delete_a_message(node, people):
    cid, mid = await start(node, people["ada"], "bea", "Hi Bea")
    error = await error_of(
        await edit(node, people["bea"], cid, mid, {"text": "x"}), 403, "forbidden"
    )
    assert error["message"] == "only its author may change a message"
    await error_of(await delete(node, people["bea"], cid, mid), 403, "forbidden")
    # bea's own reply is hers to edit, not ada's
    resp = await node.post(
        f"{PATH}/{cid}/messages", json={"text": "Hi"}, headers=bearer(people["bea"])
    )
    reply = (await resp.json())["id"]
    await error_of(await edit(node, people["ada"], cid, reply, {"text": "x"}), 403, "forbidden")
    for token in (people["ada"], people["bea"]):
        texts = [
            (m["text"], m["edited_at"], m["deleted"]) for m in await messages(node, token, cid)
        ]
        assert texts == [("Hi Bea", None, False), ("Hi", None, False)]


async def test_outsiders_and_other_conversations_get_not_found_revealing_nothing(node, people):
    cid, mid = await start(node, people["ada"], "bea", "Hi Bea")
    other_cid, other_mid = await start(node, people["ada"], "cyd", "Hi Cyd")
    # cyd is not in ada's conversation with bea: as if it did not exist
    unknown = await error_of(
        await edit(node, people["cyd"], 999_999, mid, {"text": "x"}), 404, "not_found"
    )
    for resp in (
        await edit(node, people["cyd"], cid, mid, {"text": "x"}),
        await delete(node, people["cyd"], cid, mid),
        await delete(node, people["cyd"], 999_999, mid),
    ):
        assert await error_of(resp, 404, "not_found") == unknown
    # a message of another conversation, even one's own, is not in this one
    for token in (people["ada"], people["bea"]):
        await error_of(await edit(node, token, cid, other_mid, {"text": "x"}), 404, "not_found")
        await error_of(await delete(node, token, cid, other_mid), 404, "not_found")
    await error_of(await edit(node, people["ada"], cid, 999_999, {"text": "x"}), 404, "not_found")
    assert [m["text"] for m in await messages(node, people["cyd"], other_cid)] == ["Hi Cyd"]
    assert [m["text"] for m in await messages(node, people["bea"], cid)] == ["Hi Bea"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "validation_failed"),
        ({"text": " \n\t "}, 422, "validation_failed"),  # nothing left once trimmed
        ({"text": "x" * 5001}, 422, "validation_failed"),
        ({"text": 12}, 422, "validation_failed"),
        ({"text": None}, 422, "validation_failed"),
        ({}, 422, "validation_failed"),
        ({"text": "x", "to": ["cyd"]}, 422, "validation_failed"),
        (["x"], 400, "invalid_json"),  # not an object
    ],
)
async def test_malformed_or_oversized_text_is_refused_and_nothing_changes(
    node, people, body, status, code
):
    cid, mid = await start(node, people["ada"], "bea", "Hi Bea")
    await error_of(await edit(node, people["ada"], cid, mid, body), status, code)
    [message] = await messages(node, people["bea"], cid)
    assert (message["text"], message["edited_at"]) == ("Hi Bea", None)


async def test_unparseable_json_is_refused(node, people):
    cid, mid = await start(node, people["ada"], "bea", "Hi Bea")
    resp = await node.patch(
        f"{PATH}/{cid}/messages/{mid}",
        data=b'{"text": ',
        headers={**bearer(people["ada"]), "Content-Type": "application/json"},
    )
    await error_of(resp, 400, "invalid_json")


async def test_the_longest_message_can_be_edited_in(node, people):
    cid, mid = await start(node, people["ada"], "bea", "Hi Bea")
    resp = await edit(node, people["ada"], cid, mid, {"text": "y" * 5000})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["text"] == "y" * 5000


async def test_without_a_valid_token_nothing_is_edited_or_deleted(node, people):
    cid, mid = await start(node, people["ada"], "bea", "Hi Bea")
    node.session.cookie_jar.clear()  # the logins left a session cookie in the test client
    await error_of(await edit(node, None, cid, mid, {"text": "x"}), 401, "unauthorized")
    await error_of(await delete(node, None, cid, mid), 401, "unauthorized")
    await error_of(await edit(node, "not-a-token", cid, mid, {"text": "x"}), 401, "unauthorized")
    await error_of(await delete(node, "not-a-token", cid, mid), 401, "unauthorized")
    [message] = await messages(node, people["ada"], cid)
    assert (message["text"], message["deleted"]) == ("Hi Bea", False)


async def test_deletion_is_idempotent_and_a_deleted_message_cannot_be_edited(node, people):
    cid, mid = await start(node, people["ada"], "bea", "Hi Bea")
    assert (await delete(node, people["ada"], cid, mid)).status == 204
    assert (await delete(node, people["ada"], cid, mid)).status == 204
    error = await error_of(
        await edit(node, people["ada"], cid, mid, {"text": "back"}), 409, "conflict"
    )
    assert "deleted" in error["message"]
    # someone else's deleted message is still not theirs to delete
    await error_of(await delete(node, people["bea"], cid, mid), 403, "forbidden")
    [message] = await messages(node, people["bea"], cid)
    assert (message["id"], message["text"], message["deleted"]) == (mid, "", True)


async def test_an_edit_keeps_the_unread_count_and_the_order(node, people, clock):
    cid, mid = await start(node, people["ada"], "bea", "one")
    await node.post(f"{PATH}/{cid}/messages", json={"text": "two"}, headers=bearer(people["ada"]))
    clock.advance(hours=1)
    resp = await edit(node, people["ada"], cid, mid, {"text": "one, edited"})
    assert (await resp.json())["edited_at"] == "2026-11-26T13:00:00Z"
    assert [m["text"] for m in await messages(node, people["bea"], cid)] == ["one, edited", "two"]
    [summary] = await (await node.get(PATH, headers=bearer(people["bea"]))).json()
    assert summary["unread"] == 2
    assert summary["updated_at"] == "2026-11-26T12:00:00Z"  # an edit is not new activity


async def test_marking_read_takes_no_fields(node, people):
    cid, _ = await start(node, people["ada"], "bea", "Hi Bea")
    read = f"{PATH}/{cid}/read"
    headers = bearer(people["bea"])
    error = await error_of(
        await node.post(read, json={"all": True}, headers=headers), 422, "validation_failed"
    )
    assert error["details"] == [{"field": "all", "message": "unknown field"}]
    resp = await node.post(read, data=b"up to here", headers=headers)
    await error_of(resp, 415, "unsupported_media_type")
    [conversation] = await (await node.get(PATH, headers=headers)).json()
    assert conversation["unread"] == 1  # none of the refused requests marked anything
    assert (await node.post(read, json={}, headers=headers)).status == 204
    assert (await node.post(read, headers=headers)).status == 204
    [conversation] = await (await node.get(PATH, headers=headers)).json()
    assert conversation["unread"] == 0
