"""The outbound transport: address and scheme guards, size caps, timeouts, redirects, JSON.

Remote servers are real aiohttp applications on 127.0.0.1 (the only fakes are of the outside
world). Loopback is private, so tests that must reach them use ``allow_private=True``, and the
guard itself is tested with the default settings.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from federation.errors import (
    BadResponse,
    ForbiddenAddress,
    ForbiddenScheme,
    ResponseTooLarge,
    TransportTimeout,
)
from federation.ssrf import GuardedResolver, is_public_address
from federation.transport import Transport, TransportSettings, open_transport

LOCAL = TransportSettings(user_agent="test", allow_private=True, allow_http=True)


@pytest.fixture
async def remote(aiohttp_server) -> Callable[[web.Application], Awaitable[str]]:
    """Start a remote server; returns its base URL."""

    async def start(app: web.Application) -> str:
        server = await aiohttp_server(app)
        return f"http://127.0.0.1:{server.port}"

    return start


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    async with open_transport(LOCAL) as t:
        yield t


def app_with(path: str, handler) -> web.Application:
    """A remote server answering ``path``; plain functions are wrapped as handlers."""
    if not asyncio.iscoroutinefunction(handler):
        make = handler

        async def handler(request: web.Request) -> web.StreamResponse:
            return make(request)

    app = web.Application()
    app.router.add_get(path, handler)
    app.router.add_post(path, handler)
    return app


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata service
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),  # noqa: S104 - a value under test, not a bind address
        ("::1", False),
        ("fd00::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("224.0.0.1", False),
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::5db8:d822", True),  # NAT64 of a public address
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("fec0::1", False),  # site-local
        ("not-an-ip", False),
    ],
)
def test_public_address_classification(address, public):
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/actor",
        "https://[::1]/actor",
        "https://10.0.0.5/inbox",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:7f00:1]/actor",
    ],
)
async def test_private_ip_literals_are_refused_by_default(url):
    async with open_transport(TransportSettings(user_agent="test")) as t:
        with pytest.raises(ForbiddenAddress):
            await t.get_json(url)


async def test_a_name_resolving_to_loopback_is_refused_by_default(remote):
    base = await remote(app_with("/actor", lambda r: web.json_response({"id": "x"})))
    port = base.rsplit(":", 1)[1]
    async with open_transport(TransportSettings(user_agent="test", allow_http=True)) as t:
        with pytest.raises(ForbiddenAddress):
            await t.get_json(f"http://localhost:{port}/actor")


class FixedResolver(AbstractResolver):
    """DNS of the outside world, faked: every name resolves to the given addresses."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family=socket.AF_INET) -> list[ResolveResult]:
        return [
            {"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
            for a in self.addresses
        ]

    async def close(self) -> None:
        return None


async def test_resolver_drops_private_answers_and_keeps_public_ones():
    mixed = GuardedResolver(FixedResolver("10.0.0.1", "93.184.216.34"), allow_private=False)
    kept = await mixed.resolve("rebind.example", 443)
    assert [r["host"] for r in kept] == ["93.184.216.34"]
    only_private = GuardedResolver(FixedResolver("127.0.0.1"), allow_private=False)
    with pytest.raises(ForbiddenAddress):
        await only_private.resolve("rebind.example", 443)
    allowed = GuardedResolver(FixedResolver("127.0.0.1"), allow_private=True)
    assert [r["host"] for r in await allowed.resolve("dev.example", 80)] == ["127.0.0.1"]


async def test_plain_http_is_refused_unless_configured():
    async with open_transport(TransportSettings(user_agent="test", allow_private=True)) as t:
        with pytest.raises(ForbiddenScheme):
            await t.get_json("http://127.0.0.1:9/actor")
        with pytest.raises(ForbiddenScheme):
            await t.get_json("ftp://example.org/actor")


async def test_a_url_with_credentials_is_refused_before_any_connection():
    settings = TransportSettings(user_agent="test", allow_private=True, allow_http=True)
    async with open_transport(settings) as t:
        for url in ("http://user@127.0.0.1:9/inbox", "http://u:p@127.0.0.1:9/inbox"):
            with pytest.raises(ForbiddenScheme, match="credentials"):
                await t.request("POST", url, body=b"{}")


async def test_get_json_returns_the_document_and_sends_accept_and_user_agent(remote, transport):
    seen = {}

    async def actor(request):
        seen.update(request.headers)
        return web.json_response(
            {"id": "https://a.example/actor"}, content_type="application/activity+json"
        )

    base = await remote(app_with("/actor", actor))
    assert await transport.get_json(f"{base}/actor") == {"id": "https://a.example/actor"}
    assert "application/activity+json" in seen["Accept"]
    assert seen["User-Agent"] == "test"


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (lambda r: web.Response(text="<html>hi</html>", content_type="text/html"), BadResponse),
        (lambda r: web.Response(text="{not json", content_type="application/json"), BadResponse),
        (lambda r: web.json_response([1, 2, 3]), BadResponse),
        (lambda r: web.json_response({"error": "gone"}, status=410), BadResponse),
        (  # deeply nested JSON, under the byte cap but past the nesting one
            lambda r: web.Response(
                body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json"
            ),
            ResponseTooLarge,
        ),
        (  # 2 MB announced by Content-Length, over the 1 MiB cap
            lambda r: web.Response(body=b" " * 2_000_000, content_type="application/json"),
            ResponseTooLarge,
        ),
    ],
)
async def test_garbage_answers_are_clear_errors(remote, transport, handler, error):
    base = await remote(app_with("/actor", handler))
    with pytest.raises(error):
        await transport.get_json(f"{base}/actor")


async def test_a_body_larger_than_the_cap_is_cut_off_even_without_content_length(remote):
    async def stream(request):
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for _ in range(64):
            await response.write(b" " * 65_536)
        return response

    base = await remote(app_with("/big", stream))
    settings = TransportSettings(
        user_agent="t", allow_private=True, allow_http=True, max_response_bytes=100_000
    )
    async with open_transport(settings) as t:
        with pytest.raises(ResponseTooLarge):
            await t.get_json(f"{base}/big")


async def test_a_peer_that_never_answers_times_out(remote):
    async def hang(request):
        await asyncio.sleep(30)
        return web.json_response({})

    base = await remote(app_with("/slow", hang))
    settings = TransportSettings(
        user_agent="t", allow_private=True, allow_http=True, total_timeout=0.5
    )
    async with open_transport(settings) as t:
        with pytest.raises(TransportTimeout):
            await t.get_json(f"{base}/slow")


async def test_redirects_are_followed_and_each_hop_is_checked(remote):
    async def moved(request):
        raise web.HTTPFound(location="/actor")

    async def to_metadata(request):
        raise web.HTTPFound(location="http://169.254.169.254/latest/meta-data/")

    app = app_with("/actor", lambda r: web.json_response({"id": "ok"}))
    app.router.add_get("/old", moved)
    app.router.add_get("/evil", to_metadata)
    base = await remote(app)
    async with open_transport(LOCAL) as t:
        assert await t.get_json(f"{base}/old") == {"id": "ok"}
    # Loopback allowed for the first hop only by local testing; the metadata address is
    # link-local, which even local testing must not reach when private addresses are refused.
    settings = TransportSettings(user_agent="t", allow_http=True)
    async with open_transport(settings) as t:
        with pytest.raises(ForbiddenAddress):
            await t.get_json(f"{base}/evil")


async def test_redirect_loops_end(remote):
    async def loop(request):
        raise web.HTTPFound(location="/loop")

    base = await remote(app_with("/loop", loop))
    async with open_transport(LOCAL) as t:
        with pytest.raises(BadResponse):
            await t.get_json(f"{base}/loop")


async def test_post_returns_the_status_without_following_redirects(remote, transport):
    received = []

    async def inbox(request):
        received.append(await request.read())
        return web.Response(status=202)

    base = await remote(app_with("/inbox", inbox))
    response = await transport.request("POST", f"{base}/inbox", body=b'{"type": "Follow"}')
    assert response.status == 202
    assert received == [b'{"type": "Follow"}']
