"""The node's signed GETs (actor and key fetches): Ed25519 RFC 9421 to hosts known to take it,
draft-cavage otherwise, and the double knock when a host refuses RFC 9421."""

from __future__ import annotations

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from activitypub.errors import SignatureError
from activitypub.keys import multibase_to_ed25519
from activitypub.signatures import parse_signature, verify_signature
from activitypub.uris import UriScheme
from federation.models import PeerSignatureScheme, SignatureScheme
from federation.signing import SchemeMemory
from federation.transport import TransportSettings, open_transport
from moderation.domains import authority_of
from node.actors.service import SigningKeys, ensure_instance_actor, sign_fetches

URIS = UriScheme("https://here.example")
LOCAL = TransportSettings(user_agent="test", allow_private=True, allow_http=True)


class Server:
    """Serves ``/actor`` to signed GETs only, verifying both schemes with our instance actor's
    published keys; refuses RFC 9421 (401) when ``refuse_rfc9421``."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.refuse_rfc9421 = False
        self.seen: list[tuple[str, str]] = []  # (scheme, key id) of each GET
        self.base = ""
        self.keys: dict[str, object] = {}

    async def actor(self, request: web.Request) -> web.Response:
        url = f"{self.base}{request.raw_path}"
        try:
            to_verify = parse_signature(
                "GET", url, list(request.headers.items()), None, self.clock()
            )
            verify_signature(to_verify, self.keys[to_verify.key_id])  # type: ignore[arg-type]
        except (SignatureError, KeyError):
            return web.Response(status=401)
        self.seen.append((to_verify.scheme, to_verify.key_id))
        if to_verify.scheme == "rfc9421" and self.refuse_rfc9421:
            return web.Response(status=401)
        return web.json_response({"id": url}, content_type="application/activity+json")


@pytest.fixture
async def server(db, clock, aiohttp_server) -> Server:
    server = Server(clock)
    me = await ensure_instance_actor()
    server.keys = {
        URIS.rsa_key_id(URIS.instance_actor): load_pem_public_key(me.rsa_public_pem.encode()),
        URIS.ed25519_key_id(URIS.instance_actor): multibase_to_ed25519(me.ed25519_multibase),
    }
    app = web.Application()
    app.router.add_get("/actor", server.actor)
    server.base = f"http://127.0.0.1:{(await aiohttp_server(app)).port}"
    return server


async def test_signed_gets_follow_what_the_host_takes_with_the_double_knock(clock, server):
    keys = SigningKeys(URIS)
    rsa_id, ed_id = URIS.rsa_key_id(URIS.instance_actor), URIS.ed25519_key_id(URIS.instance_actor)
    url = f"{server.base}/actor"
    async with open_transport(LOCAL) as transport:
        sign_fetches(transport, URIS, keys, clock, SchemeMemory(transport, clock))
        # Unknown host: draft-cavage (a GET never reads NodeInfo to decide).
        await transport.get_json(url)
        assert server.seen == [("cavage", rsa_id)]

        # A host known to take RFC 9421: the instance actor's Multikey signs.
        host = authority_of(url)
        await PeerSignatureScheme.create(
            host=host, scheme=SignatureScheme.RFC9421, learnt_at=clock.now
        )
        sign_fetches(transport, URIS, keys, clock, SchemeMemory(transport, clock))
        assert await transport.get_json(url) == {"id": url}
        assert server.seen[1:] == [("rfc9421", ed_id)]

        # It refuses RFC 9421: the same GET again at once, draft-cavage, and remembered.
        server.refuse_rfc9421 = True
        assert await transport.get_json(url) == {"id": url}
        assert server.seen[2:] == [("rfc9421", ed_id), ("cavage", rsa_id)]
        row = await PeerSignatureScheme.get(host=host)
        assert row.scheme == SignatureScheme.CAVAGE
        await transport.get_json(url)
        assert server.seen[4:] == [("cavage", rsa_id)]
