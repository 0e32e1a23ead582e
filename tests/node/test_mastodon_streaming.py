"""Mastodon's streaming API over real HTTP: Server-Sent Events and WebSocket, as apps use them.

Events are published the way the node's services will: ``app[STREAMS].publish(...)``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from node.db import activated
from node.http.keys import DATABASE, MEMBERS, STREAMS
from node.members.models import Member
from tests.api import bearer
from tests.node.oauth_support import approve, authorize_url, exchange, register_app
from tests.web.support import log_in_by_form

PASSWORD = "correct horse battery staple"
STATUS = json.dumps({"id": "1", "content": "<p>Bonjour #Vélo</p>", "visibility": "public"})
# A frame that never comes means a bug, not a slow machine: this only keeps a failing test
# from hanging the run.
PATIENCE = 30


async def _member_id(node: TestClient, username: str) -> int:
    with activated(node.app[DATABASE]):
        member = await Member.get(username=username)
    return member.id


async def _session_id(node: TestClient, token: str) -> int:
    with activated(node.app[DATABASE]):
        session = await node.app[MEMBERS].session_for_token(token)
    assert session is not None
    return session.id


async def _sse(node: TestClient, path: str, **headers: str) -> aiohttp.ClientResponse:
    """Open an SSE stream; its opening comment is read, so the subscription is live."""
    resp = await node.get(path, headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/event-stream"
    assert resp.headers["Cache-Control"] == "no-store"
    assert await _line(resp) == ":)"
    return resp


async def _line(resp: aiohttp.ClientResponse) -> str:
    line = await asyncio.wait_for(resp.content.readline(), PATIENCE)
    return line.decode().rstrip("\n")


async def _event(resp: aiohttp.ClientResponse) -> tuple[str, str]:
    """The next SSE event (name, data), heartbeats skipped; how Mastodon.py parses them."""
    fields: dict[str, str] = {}
    while True:
        line = await _line(resp)
        if line.startswith(":"):
            continue
        if not line:
            if fields:
                return fields["event"], fields["data"]
            raise AssertionError("the stream ended")
        name, _, value = line.partition(": ")
        fields[name] = value


async def _message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), PATIENCE)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def _synced(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Wait until the server has handled every command sent so far: it answers them in order,
    and an unknown stream is answered with an error."""
    await ws.send_json({"type": "subscribe", "stream": "sync-point"})
    assert await _message(ws) == {"error": "Unknown stream type", "status": 400}


async def _oauth_token(node: TestClient, scope: str) -> str:
    """An app's token for ada with only ``scope``."""
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "ada", PASSWORD)
    app = await register_app(node, scopes="read write follow")
    query = await approve(node, authorize_url(app, scope=scope))
    resp = await exchange(node, app, query["code"][0])
    assert resp.status == 200, await resp.text()
    node.session.cookie_jar.clear()
    return (await resp.json())["access_token"]


async def test_health(node: TestClient) -> None:
    resp = await node.get("/api/v1/streaming/health")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert await resp.text() == "OK"


async def test_sse_user_stream_receives_an_update(node: TestClient, people) -> None:
    stream = await _sse(node, "/api/v1/streaming/user", **bearer(people["bea"]))
    node.app[STREAMS].publish("user", "update", STATUS, member_ids=[await _member_id(node, "bea")])
    event, data = await _event(stream)
    assert event == "update"
    assert json.loads(data) == json.loads(STATUS)
    # delete: the bare id, which Mastodon.py reads as JSON too
    node.app[STREAMS].publish("user", "delete", "1234", member_ids=[await _member_id(node, "bea")])
    assert await _event(stream) == ("delete", "1234")
    stream.close()


async def test_websocket_receives_an_update_with_its_stream(node: TestClient, people) -> None:
    async with node.ws_connect("/api/v1/streaming", headers=bearer(people["bea"])) as ws:
        await ws.send_json({"type": "subscribe", "stream": "user"})
        await _synced(ws)
        node.app[STREAMS].publish(
            "user", "update", STATUS, member_ids=[await _member_id(node, "bea")]
        )
        message = await _message(ws)
        assert message == {"stream": ["user"], "event": "update", "payload": STATUS}
        assert json.loads(message["payload"])["id"] == "1"  # a JSON text inside the JSON


async def test_member_streams_reach_only_their_member(node: TestClient, people) -> None:
    bea, cyd = await _member_id(node, "bea"), await _member_id(node, "cyd")
    bea_sse = await _sse(node, "/api/v1/streaming/user", **bearer(people["bea"]))
    async with node.ws_connect(
        "/api/v1/streaming?stream=direct", headers=bearer(people["cyd"])
    ) as ws:
        await _synced(ws)
        hub = node.app[STREAMS]
        hub.publish("direct", "conversation", '{"id":"for-bea"}', member_ids=[bea])
        hub.publish("user", "update", '{"id":"for-cyd-home"}', member_ids=[cyd])
        hub.publish("direct", "conversation", '{"id":"for-cyd"}', member_ids=[cyd])
        hub.publish("user", "update", '{"id":"for-bea-home"}', member_ids=[bea])
        # Each connection gets its frames in order: the first one is its own.
        assert (await _message(ws))["payload"] == '{"id":"for-cyd"}'
        assert await _event(bea_sse) == ("update", '{"id":"for-bea-home"}')
    bea_sse.close()


async def test_hashtag_streams_filter_by_tag(node: TestClient, people) -> None:
    hub = node.app[STREAMS]
    sse = await _sse(node, "/api/v1/streaming/hashtag?tag=V%C3%A9lo", **bearer(people["bea"]))
    async with node.ws_connect("/api/v1/streaming", headers=bearer(people["cyd"])) as ws:
        await ws.send_json({"type": "subscribe", "stream": "hashtag:local", "tag": "#vélo"})
        await _synced(ws)
        hub.publish("hashtag", "update", '{"id":"jardin"}', tag="jardin")
        hub.publish("hashtag:local", "update", '{"id":"jardin"}', tag="jardin")
        hub.publish("hashtag", "update", '{"id":"velo"}', tag="VÉLO")
        hub.publish("hashtag:local", "update", '{"id":"velo"}', tag="vélo")
        assert await _event(sse) == ("update", '{"id":"velo"}')
        message = await _message(ws)
        assert message["stream"] == ["hashtag:local", "vélo"]
        assert message["payload"] == '{"id":"velo"}'
    sse.close()


async def test_publish_status_reaches_the_public_streams(node: TestClient, people) -> None:
    hub = node.app[STREAMS]
    local = await _sse(node, "/api/v1/streaming/public/local", **bearer(people["bea"]))
    media = await _sse(node, "/api/v1/streaming/public?only_media=true", **bearer(people["bea"]))
    remote = await _sse(node, "/api/v1/streaming/public/remote", **bearer(people["bea"]))
    hub.publish_status("update", '{"id":"text"}', local=True, media=False)
    hub.publish_status("update", '{"id":"photo"}', local=True, media=True)
    hub.publish_status("update", '{"id":"far"}', local=False, media=False)
    assert await _event(local) == ("update", '{"id":"text"}')
    assert await _event(media) == ("update", '{"id":"photo"}')
    assert await _event(remote) == ("update", '{"id":"far"}')
    for stream in (local, media, remote):
        stream.close()


async def test_subscribe_and_unsubscribe(node: TestClient, people) -> None:
    hub = node.app[STREAMS]
    async with node.ws_connect("/api/v1/streaming", headers=bearer(people["bea"])) as ws:
        await ws.send_json({"type": "subscribe", "stream": "public:local"})
        await ws.send_json({"type": "subscribe", "stream": "public:local"})  # a no-op
        await ws.send_json({"type": "subscribe", "stream": "user"})
        await _synced(ws)
        hub.publish("public:local", "update", '{"id":"1"}')
        message = await _message(ws)
        assert message["stream"] == ["public:local"]
        assert message["payload"] == '{"id":"1"}'

        await ws.send_json({"type": "unsubscribe", "stream": "public:local"})
        await _synced(ws)
        hub.publish("public:local", "update", '{"id":"2"}')
        hub.publish("user", "update", '{"id":"3"}', member_ids=[await _member_id(node, "bea")])
        message = await _message(ws)
        assert message["stream"] == ["user"]
        assert message["payload"] == '{"id":"3"}'


async def test_the_three_ways_to_give_the_token(node: TestClient, people) -> None:
    hub = node.app[STREAMS]
    bea = await _member_id(node, "bea")
    token = people["bea"]
    # A browser (masto.js): the token as the protocol, which must be echoed back.
    async with node.ws_connect("/api/v1/streaming?stream=user", protocols=(token,)) as by_protocol:
        assert by_protocol.protocol == token
        async with node.ws_connect(
            f"/api/v1/streaming?stream=user&access_token={token}"
        ) as by_query:
            await _synced(by_protocol)
            await _synced(by_query)
            hub.publish("user", "update", '{"id":"1"}', member_ids=[bea])
            assert (await _message(by_protocol))["payload"] == '{"id":"1"}'
            assert (await _message(by_query))["payload"] == '{"id":"1"}'
    # Server-Sent Events take the query parameter too (EventSource cannot set headers).
    sse = await _sse(node, f"/api/v1/streaming/user?access_token={token}")
    hub.publish("user", "update", '{"id":"2"}', member_ids=[bea])
    assert await _event(sse) == ("update", '{"id":"2"}')
    sse.close()


async def test_a_token_is_required(node: TestClient, people) -> None:
    for headers, error in (
        ({}, "Missing access token"),
        (bearer("not-a-token"), "Invalid access token"),
    ):
        for path in ("/api/v1/streaming/user", "/api/v1/streaming/public"):
            resp = await node.get(path, headers=headers)
            assert resp.status == 401
            assert await resp.json() == {"error": error}
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await node.ws_connect("/api/v1/streaming?stream=user", headers=headers)
        assert refused.value.status == 401
    # Not a session cookie: another site's page could open a WebSocket with it.
    node.session.cookie_jar.clear()
    await log_in_by_form(node, "bea", PASSWORD)
    resp = await node.get("/api/v1/streaming/user")
    assert resp.status == 401


async def test_unknown_channel_and_missing_tag(node: TestClient, people) -> None:
    auth = bearer(people["bea"])
    resp = await node.get("/api/v1/streaming/nowhere", headers=auth)
    assert resp.status == 400
    assert await resp.json() == {"error": "Unknown channel requested"}
    for path in ("/api/v1/streaming/hashtag", "/api/v1/streaming/hashtag/local?tag="):
        resp = await node.get(path, headers=auth)
        assert resp.status == 400
        assert await resp.json() == {"error": "Missing tag name parameter"}
    # No lists on Quartier: every list is one the member may not stream, as on Mastodon.
    resp = await node.get("/api/v1/streaming/list?list=1", headers=auth)
    assert resp.status == 401
    assert await resp.json() == {"error": "Not authorized to stream this list"}
    async with node.ws_connect("/api/v1/streaming?stream=nowhere", headers=auth) as ws:
        assert await _message(ws) == {"error": "Unknown stream type", "status": 400}
        await ws.send_json({"type": "subscribe", "stream": "hashtag"})
        assert await _message(ws) == {"error": "Missing tag name parameter", "status": 400}
        await ws.send_json({"type": "subscribe", "stream": "list", "list": "1"})
        assert await _message(ws) == {"error": "Not authorized to stream this list", "status": 401}
        await ws.send_str("not json")  # ignored, as Mastodon does
        await _synced(ws)


async def test_plain_get_of_the_websocket_endpoint(node: TestClient) -> None:
    # Mastodon's answer on the main host when streaming is served from the same host.
    for path in ("/api/v1/streaming", "/api/v1/streaming/"):
        resp = await node.get(path)
        assert resp.status == 404
        assert await resp.json() == {"error": "Record not found"}


async def test_scopes(node: TestClient, people) -> None:
    hub = node.app[STREAMS]
    ada = await _member_id(node, "ada")
    write_only = await _oauth_token(node, "write")
    resp = await node.get("/api/v1/streaming/user", headers=bearer(write_only))
    assert resp.status == 401
    assert await resp.json() == {"error": "Access token does not cover required scopes"}
    async with node.ws_connect("/api/v1/streaming?stream=public", headers=bearer(write_only)) as ws:
        assert await _message(ws) == {
            "error": "Access token does not cover required scopes",
            "status": 401,
        }

    notifications_only = await _oauth_token(node, "read:notifications")
    resp = await node.get("/api/v1/streaming/user", headers=bearer(notifications_only))
    assert resp.status == 401
    notifications = await _sse(
        node, "/api/v1/streaming/user/notification", **bearer(notifications_only)
    )
    statuses_only = await _oauth_token(node, "read:statuses")
    home = await _sse(node, "/api/v1/streaming/user", **bearer(statuses_only))
    # A notification reaches the notification stream, and the user stream of a token that may
    # read notifications only: this one may not, so its next event is the status.
    hub.publish("user:notification", "notification", '{"id":"n1"}', member_ids=[ada])
    hub.publish("user", "update", '{"id":"s1"}', member_ids=[ada])
    assert await _event(notifications) == ("notification", '{"id":"n1"}')
    assert await _event(home) == ("update", '{"id":"s1"}')
    for stream in (notifications, home):
        stream.close()


async def test_notifications_on_the_user_stream(node: TestClient, people) -> None:
    async with node.ws_connect(
        "/api/v1/streaming?stream=user", headers=bearer(people["bea"])
    ) as ws:
        await _synced(ws)
        node.app[STREAMS].publish(
            "user:notification",
            "notification",
            '{"id":"n1"}',
            member_ids=[await _member_id(node, "bea")],
        )
        message = await _message(ws)
        assert message == {"stream": ["user"], "event": "notification", "payload": '{"id":"n1"}'}
        node.app[STREAMS].publish(
            "user", "filters_changed", None, member_ids=[await _member_id(node, "bea")]
        )
        assert await _message(ws) == {"stream": ["user"], "event": "filters_changed"}


async def test_close_session_closes_its_streams(node: TestClient, people) -> None:
    hub = node.app[STREAMS]
    token = people["bea"]
    sse = await _sse(node, "/api/v1/streaming/user", **bearer(token))
    other = await _sse(node, "/api/v1/streaming/user", **bearer(people["cyd"]))
    async with node.ws_connect("/api/v1/streaming?stream=user", headers=bearer(token)) as ws:
        await _synced(ws)
        hub.close_session(await _session_id(node, token))
        closing = await asyncio.wait_for(ws.receive(), PATIENCE)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert await asyncio.wait_for(sse.content.read(), PATIENCE) == b""  # the end
    # Somebody else's stream goes on.
    hub.publish("user", "update", '{"id":"1"}', member_ids=[await _member_id(node, "cyd")])
    assert await _event(other) == ("update", '{"id":"1"}')
    other.close()


async def test_close_member_closes_every_session_but_one(node: TestClient, people) -> None:
    hub = node.app[STREAMS]
    second = await node.post(
        "/api/quartier/v1/sessions", json={"username": "bea", "password": PASSWORD}
    )
    kept_token = (await second.json())["token"]
    ended = await _sse(node, "/api/v1/streaming/user", **bearer(people["bea"]))
    kept = await _sse(node, "/api/v1/streaming/user", **bearer(kept_token))
    bea = await _member_id(node, "bea")
    hub.close_member(bea, except_session_id=await _session_id(node, kept_token))
    assert await asyncio.wait_for(ended.content.read(), PATIENCE) == b""
    hub.publish("user", "update", '{"id":"1"}', member_ids=[bea])
    assert await _event(kept) == ("update", '{"id":"1"}')
    kept.close()


async def test_a_slow_client_is_cut_off_and_blocks_nobody(node: TestClient, people) -> None:
    hub = node.app[STREAMS]
    hub.queue_size = 4
    bea = await _member_id(node, "bea")
    # A client that never reads: a raw socket, so nothing buffers on its behalf.
    reader, writer = await asyncio.open_connection(node.host, node.port)
    writer.write(
        (
            "GET /api/v1/streaming/user HTTP/1.1\r\n"
            f"Host: {node.host}\r\nAuthorization: Bearer {people['bea']}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    assert (await asyncio.wait_for(reader.readline(), PATIENCE)).startswith(b"HTTP/1.1 200")
    async with node.ws_connect(
        "/api/v1/streaming?stream=user", headers=bearer(people["bea"])
    ) as ws:
        await _synced(ws)
        big = json.dumps({"id": "x", "content": "a" * 100_000})
        # Far more than the slow client's socket buffers and queue hold.
        for number in range(300):
            hub.publish("user", "update", big, member_ids=[bea])
            message = await _message(ws)
            assert message["payload"] == big, number
    assert hub.dropped_slow == 1
    # The slow client finds its connection ended after what its buffers held.
    while await asyncio.wait_for(reader.read(1 << 20), PATIENCE):
        pass
    writer.close()


async def test_heartbeat(node: TestClient, people) -> None:
    node.app[STREAMS].heartbeat_seconds = 0.05
    sse = await _sse(node, "/api/v1/streaming/public", **bearer(people["bea"]))
    assert await _line(sse) == ":thump"
    sse.close()


async def test_a_session_ended_anywhere_closes_its_streams(node: TestClient, people) -> None:
    """A revocation nobody told the hub of (here the API's logout, as the command line
    would) is found by the periodic check."""
    node.app[STREAMS].revalidate_seconds = 0.05
    token = people["bea"]
    sse = await _sse(node, "/api/v1/streaming/user", **bearer(token))
    async with node.ws_connect("/api/v1/streaming?stream=user", headers=bearer(token)) as ws:
        await _synced(ws)
        resp = await node.delete("/api/quartier/v1/sessions/current", headers=bearer(token))
        assert resp.status == 204
        closing = await asyncio.wait_for(ws.receive(), PATIENCE)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert await asyncio.wait_for(sse.content.read(), PATIENCE) == b""
    assert node.app[STREAMS].connection_count == 0
