"""A real client library drives the client API end to end: Mastodon.py 2.3.3.

The node listens on a real port whose URL is its base URL (apps follow the URLs the node
gives them: the streaming URL, the Link headers). Mastodon.py is synchronous: each call runs
in a thread while the node answers on the test's event loop.

Mastodon.py knows nothing of PKCE, so the test adds it around the library the way an app
adding PKCE to it would: the challenge on the authorization URL, the verifier on the token
request (a requests.Session that adds it), everything else through Mastodon.py's own code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import mastodon
import pytest
import requests

from tests.api import PASSWORD, bearer, login
from tests.integration.conftest import Peer, member, settle
from tests.node.media_support import png
from tests.node.oauth_support import CHALLENGE, HIDDEN, VERIFIER
from tests.web.support import csrf_of

T = TypeVar("T")
CALLBACK = "http://127.0.0.1:9/callback"  # never opened: the code is read from the redirect
SCOPES = ["read", "write", "follow", "push"]
PATIENCE = 10.0


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a Mastodon.py call in a thread (it blocks; the node runs on this loop)."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class PKCESession(requests.Session):
    """A requests session that adds the PKCE verifier to the token request, and nothing else."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if url.endswith("/oauth/token") and isinstance(kwargs.get("data"), dict):
            kwargs["data"] = {**kwargs["data"], "code_verifier": self.verifier}
        return super().request(method, url, *args, **kwargs)

    verifier = VERIFIER


async def _consent(peer: Peer, url: str, username: str) -> str:
    """A member logs in on the node's pages and approves the app; the code it is given."""
    client = peer.client
    client.session.cookie_jar.clear()
    origin = {"Origin": peer.base}
    login_page = await client.get("/login")
    form = {
        "username": username,
        "password": PASSWORD,
        "csrf_token": csrf_of(await login_page.text()),
    }
    resp = await client.post("/login", data=form, headers=origin, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    path = url.removeprefix(peer.base)
    page = await client.get(path)
    assert page.status == 200, await page.text()
    html = await page.text()
    assert "Quartier client test" in html  # the consent page names the app
    fields = dict(HIDDEN.findall(html))
    fields["csrf_token"] = csrf_of(html)
    resp = await client.post(
        "/oauth/authorize", data={**fields, "approve": "1"}, headers=origin, allow_redirects=False
    )
    assert resp.status == 302, await resp.text()
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


async def _app_login(peer: Peer, username: str) -> mastodon.Mastodon:
    """The whole authorization-code flow with PKCE, through Mastodon.py."""
    client_id, client_secret = await call(
        mastodon.Mastodon.create_app,
        "Quartier client test",
        scopes=SCOPES,
        redirect_uris=CALLBACK,
        api_base_url=peer.base,
    )
    api = mastodon.Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=peer.base,
        session=PKCESession(),
        ratelimit_method="throw",
    )
    url = await call(
        api.auth_request_url, redirect_uris=CALLBACK, scopes=SCOPES, state="xyz", allow_http=True
    )
    url += f"&code_challenge={CHALLENGE}&code_challenge_method=S256"
    code = await _consent(peer, url, username)
    token = await call(api.log_in, code=code, redirect_uri=CALLBACK, scopes=SCOPES, allow_http=True)
    assert token
    return api


async def test_mastodon_py_end_to_end(peers: Callable[..., Any]) -> None:
    a: Peer = await peers("a")
    ada_token = await member(a, "ada")
    resp = await a.client.post("/api/quartier/v1/admin/invites", json={}, headers=bearer(ada_token))
    invite = (await resp.json())["code"]
    resp = await a.client.post(
        "/api/quartier/v1/accounts",
        json={"invite": invite, "username": "bob", "password": PASSWORD, "real_name": "Bob"},
    )
    assert resp.status == 201, await resp.text()
    await login(a.client, "bob")

    ada = await _app_login(a, "ada")
    bob = await _app_login(a, "bob")
    assert await call(ada.retrieve_mastodon_version) == "4.3.0"

    me = await call(ada.account_verify_credentials)
    assert me.acct == "ada"
    bob_me = await call(bob.account_verify_credentials)

    # bob asks to follow ada; ada is told and approves.
    relationship = await call(bob.account_follow, me.id)
    assert relationship.requested
    requests_ = await call(ada.follow_requests)
    assert [r.id for r in requests_] == [bob_me.id]
    notifications = await call(ada.notifications)
    assert [n.type for n in notifications] == ["follow_request"]
    await call(ada.follow_request_authorize, bob_me.id)
    assert (await call(bob.account_relationships, me.id))[0].following

    # bob listens to his home timeline over the WebSocket, and over SSE.
    got_ws: asyncio.Queue[Any] = asyncio.Queue()
    got_sse: asyncio.Queue[Any] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    class Listener(mastodon.StreamListener):  # type: ignore[misc]
        def __init__(self, queue: asyncio.Queue[Any]) -> None:
            super().__init__()
            self.queue = queue

        def on_update(self, status: Any) -> None:
            loop.call_soon_threadsafe(self.queue.put_nowait, status)

    socket = await call(bob.stream_open_websocket)
    await call(bob.stream_user, Listener(got_ws), websocket_handle=socket)
    sse = await call(bob.stream_user, Listener(got_sse), run_async=True)
    try:
        # ada posts with a photo; bob's home timeline and both streams get it.
        media = await call(ada.media_post, png((90, 60)), mime_type="image/png", description="Lift")
        assert media.url
        posted = await call(
            ada.status_post,
            "The lift works again #building",
            media_ids=[media],
            idempotency_key="k1",
        )
        again = await call(
            ada.status_post,
            "The lift works again #building",
            media_ids=[media],
            idempotency_key="k1",
        )
        assert again.id == posted.id
        streamed_ws = await _first(got_ws, posted.id)
        streamed_sse = await _first(got_sse, posted.id)
        assert streamed_ws.content == streamed_sse.content == posted.content
        home = await call(bob.timeline_home)
        assert [s.id for s in home] == [posted.id]
        assert home[0].media_attachments[0].description == "Lift"
    finally:
        await call(sse.close)
        await call(socket.close)

    # A direct message and the conversation it opens.
    await call(bob.status_post, "@ada thanks for the news", visibility="direct")
    conversations = await call(ada.conversations)
    assert len(conversations) == 1
    assert conversations[0].accounts[0].acct == "bob"
    assert conversations[0].unread
    assert conversations[0].last_status.visibility == "direct"

    # Search and pagination with Link headers.
    found = await call(bob.search_v2, "lift")
    assert [s.id for s in found.statuses] == [posted.id]
    for i in range(4):
        await call(ada.status_post, f"note {i}")
    page = await call(ada.timeline_home, limit=2)
    assert len(page) == 2
    following = await call(ada.fetch_next, page)
    assert following is not None
    assert len(following) == 2
    assert following[0].id < page[-1].id
    # Revoking the token ends it: the same token, in a fresh client, is refused.
    token = bob.access_token
    await call(bob.revoke_access_token, allow_http=True)
    stale = mastodon.Mastodon(access_token=token, api_base_url=a.base, ratelimit_method="throw")
    with pytest.raises(mastodon.MastodonUnauthorizedError):
        await call(stale.account_verify_credentials)


async def _first(queue: asyncio.Queue[Any], status_id: Any) -> Any:
    while True:
        status = await asyncio.wait_for(queue.get(), PATIENCE)
        if status.id == status_id:
            return status


async def test_mastodon_py_across_two_nodes(peers: Callable[..., Any]) -> None:
    """bea on node b finds ada on node a, follows her, reads her posts in her home timeline
    (delivered by federation), and writes to her directly."""
    a: Peer = await peers("a")
    b: Peer = await peers("b")
    await member(a, "ada")
    await member(b, "bea")
    ada = await _app_login(a, "ada")
    bea = await _app_login(b, "bea")

    found = await call(bea.search_v2, f"@ada@{a.domain}", resolve=True)
    assert [x.acct for x in found.accounts] == [f"ada@{a.domain}"]
    remote_ada = found.accounts[0]
    assert (await call(bea.account_follow, remote_ada.id)).requested
    await settle(a, b)
    requests_ = await call(ada.follow_requests)
    assert [r.acct for r in requests_] == [f"bea@{b.domain}"]
    await call(ada.follow_request_authorize, requests_[0].id)
    await settle(a, b)
    assert (await call(bea.account_relationships, remote_ada.id))[0].following

    posted = await call(ada.status_post, "Street party on Saturday #events")
    await settle(a, b)
    home = await call(bea.timeline_home)
    assert [s.uri for s in home] == [posted.uri]
    assert home[0].account.acct == f"ada@{a.domain}"
    assert "Street party" in home[0].content
    assert [t.name for t in home[0].tags] == ["events"]

    await call(bea.status_post, f"@ada@{a.domain} count me in", visibility="direct")
    await settle(a, b)
    conversations = await call(ada.conversations)
    assert [c.accounts[0].acct for c in conversations] == [f"bea@{b.domain}"]
    assert "count me in" in conversations[0].last_status.content

    # ada edits her post: bea's copy follows; ada deletes it: it leaves bea's timeline.
    async def bea_copy() -> Any:
        # bea's home has her own direct message too (Mastodon shows them there).
        copies = [s for s in await call(bea.timeline_home) if s.uri == posted.uri]
        return copies[0] if copies else None

    await call(ada.status_update, posted.id, "Street party on Sunday")
    await settle(a, b)
    edited = await bea_copy()
    assert "Sunday" in edited.content
    assert edited.edited_at is not None
    await call(ada.status_delete, posted.id)
    await settle(a, b)
    assert await bea_copy() is None
