"""Which signature each peer gets: RFC 9421 Ed25519 to peers that take it, draft-cavage to the
rest, and the double knock, against fake peers on 127.0.0.1 that verify what they receive."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

from activitypub.errors import SignatureError
from activitypub.signatures import parse_signature, verify_signature
from federation.models import Delivery, DeliveryState, PeerSignatureScheme, SignatureScheme
from federation.outbound import DeliveryWorker, publish
from federation.signing import SchemeMemory
from federation.transport import TransportSettings, open_transport
from moderation.domains import authority_of

SIGNER = "https://here.example/users/alice"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED_KEY = ed25519.Ed25519PrivateKey.generate()
RSA_KEY_ID = f"{SIGNER}#main-key"
ED_KEY_ID = f"{SIGNER}#ed25519-key"
LOCAL = TransportSettings(user_agent="test", allow_private=True, allow_http=True)
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"


async def rsa_keys(actor: str) -> tuple[str, rsa.RSAPrivateKey]:
    assert actor == SIGNER
    return RSA_KEY_ID, RSA_KEY


async def ed25519_keys(actor: str) -> tuple[str, ed25519.Ed25519PrivateKey]:
    if actor != SIGNER:
        raise LookupError(f"{actor} has no Ed25519 key")
    return ED_KEY_ID, ED_KEY


class _Keys(HTTPSignatureKeyResolver):
    def resolve_public_key(self, key_id: str) -> ed25519.Ed25519PublicKey:
        assert key_id == ED_KEY_ID
        return ED_KEY.public_key()


@dataclass
class Received:
    scheme: str  # "rfc9421" or "cavage"
    key_id: str
    components: tuple[str, ...]
    activity: dict


class Peer:
    """A remote server: NodeInfo naming ``software`` (none: 404), and an inbox that verifies
    both schemes with our own verifier, answering 401 to RFC 9421 unless ``rfc9421``."""

    def __init__(self, clock, software: str | None, *, rfc9421: bool = True) -> None:
        self.clock = clock
        self.software = software
        self.rfc9421 = rfc9421
        self.cavage_status = 202
        self.library = False  # also verify RFC 9421 with http_message_signatures
        self.received: list[Received] = []
        self.nodeinfo_reads = 0
        self.base = ""

    @property
    def inbox_url(self) -> str:
        return f"{self.base}/inbox"

    @property
    def schemes(self) -> list[str]:
        return [r.scheme for r in self.received]

    async def nodeinfo_index(self, request: web.Request) -> web.Response:
        if self.software is None:
            return web.Response(status=404)
        return web.json_response({"links": [{"rel": NODEINFO_21, "href": f"{self.base}/ni"}]})

    async def nodeinfo(self, request: web.Request) -> web.Response:
        self.nodeinfo_reads += 1
        return web.json_response({"version": "2.1", "software": {"name": self.software}})

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        url = f"{self.base}{request.raw_path}"
        rfc9421 = "Signature-Input" in request.headers
        try:
            to_verify = parse_signature(
                "POST", url, list(request.headers.items()), body, self.clock()
            )
            verify_signature(to_verify, ED_KEY.public_key() if rfc9421 else RSA_KEY.public_key())
        except SignatureError:
            return web.Response(status=401)
        self.received.append(
            Received(
                "rfc9421" if rfc9421 else "cavage",
                to_verify.key_id,
                to_verify.components,
                json.loads(body),
            )
        )
        if rfc9421 and self.library:
            _verify_with_library(request.method, url, request.headers, body)
        if rfc9421 and not self.rfc9421:
            return web.Response(status=401)  # what Mastodon answers a signature it cannot read
        return web.Response(status=202 if rfc9421 else self.cavage_status)


def _verify_with_library(method: str, url: str, headers, body: bytes) -> None:
    @dataclass
    class Message:
        method: str
        url: str
        headers: object

    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=_Keys())
    [result] = verifier.verify(
        Message(method, url, headers),
        body=body,
        require_components=("@method", "@target-uri", "@authority", "content-digest"),
    )
    assert result.parameters["keyid"] == ED_KEY_ID


@pytest.fixture
async def transport():
    async with open_transport(LOCAL) as t:
        yield t


@pytest.fixture
def serve(aiohttp_server):
    async def start(peer: Peer) -> Peer:
        app = web.Application()
        app.router.add_get("/.well-known/nodeinfo", peer.nodeinfo_index)
        app.router.add_get("/ni", peer.nodeinfo)
        app.router.add_post("/inbox", peer.inbox)
        server = await aiohttp_server(app)
        peer.base = f"http://127.0.0.1:{server.port}"
        return peer

    return start


def worker(transport, clock) -> DeliveryWorker:
    """A worker with a memory of its own: a new one knows only what the database holds."""
    return DeliveryWorker(
        transport,
        rsa_keys,
        clock,
        rng=random.Random(3),
        schemes=SchemeMemory(transport, clock),
        ed25519_keys=ed25519_keys,
    )


def activity(n: int) -> dict:
    return {"id": f"https://here.example/activities/{n}", "type": "Create", "actor": SIGNER}


async def deliver(w: DeliveryWorker, peer: Peer, *numbers: int, now: datetime) -> None:
    for n in numbers:
        await publish(activity(n), [peer.inbox_url], SIGNER, now)
    assert await w.run_once() == len(numbers)


async def remembered(peer: Peer) -> SignatureScheme | None:
    row = await PeerSignatureScheme.get_or_none(host=authority_of(peer.base))
    return None if row is None else SignatureScheme(row.scheme)


async def test_a_quartier_peer_gets_ed25519_signatures_and_keeps_getting_them(
    db, clock, transport, serve
):
    peer = await serve(Peer(clock, "quartier"))
    await deliver(worker(transport, clock), peer, 1, 2, 3, now=clock.now)
    assert peer.schemes == ["rfc9421"] * 3
    # One read of its NodeInfo for the three concurrent deliveries, then remembered.
    assert peer.nodeinfo_reads == 1
    assert await remembered(peer) is SignatureScheme.RFC9421
    first = peer.received[0]
    assert first.key_id == ED_KEY_ID  # the Multikey id our actor documents publish
    assert first.components == ("@method", "@target-uri", "@authority", "content-digest")
    assert [d.state for d in await Delivery.all()] == [DeliveryState.DELIVERED] * 3

    # After a restart: the database says so, no NodeInfo read again.
    await deliver(worker(transport, clock), peer, 4, now=clock.now)
    assert peer.schemes == ["rfc9421"] * 4
    assert peer.nodeinfo_reads == 1


async def test_the_double_knock_lands_the_delivery_and_remembers_draft_cavage(
    db, clock, transport, serve
):
    peer = await serve(Peer(clock, "quartier", rfc9421=False))
    w = worker(transport, clock)
    await deliver(w, peer, 1, now=clock.now)
    # Refused with RFC 9421, then the same request at once signed draft-cavage.
    assert peer.schemes == ["rfc9421", "cavage"]
    assert [r.activity["id"] for r in peer.received] == [activity(1)["id"]] * 2
    assert peer.received[1].key_id == RSA_KEY_ID
    [row] = await Delivery.all()
    # One delivery, delivered at its first try: the knock is not a retry.
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.DELIVERED, 1, 202)
    assert await remembered(peer) is SignatureScheme.CAVAGE

    await deliver(w, peer, 2, now=clock.now)
    assert peer.schemes[2:] == ["cavage"]  # draft-cavage first now
    await deliver(worker(transport, clock), peer, 3, now=clock.now)
    assert peer.schemes[3:] == ["cavage"]  # and after a restart


async def test_a_refusal_both_ways_is_the_deliverys_and_teaches_nothing(
    db, clock, transport, serve
):
    peer = await serve(Peer(clock, "quartier", rfc9421=False))
    peer.cavage_status = 401  # e.g. it cannot fetch our actor: no scheme would do
    await deliver(worker(transport, clock), peer, 1, now=clock.now)
    assert peer.schemes == ["rfc9421", "cavage"]
    [row] = await Delivery.all()
    assert (row.state, row.last_status) == (DeliveryState.DEAD, 401)  # as any 401 is
    assert await remembered(peer) is SignatureScheme.RFC9421


async def test_other_software_gets_draft_cavage_only(db, clock, transport, serve):
    peer = await serve(Peer(clock, "mastodon"))
    await deliver(worker(transport, clock), peer, 1, now=clock.now)
    assert peer.schemes == ["cavage"]
    assert await remembered(peer) is SignatureScheme.CAVAGE
    await deliver(worker(transport, clock), peer, 2, now=clock.now)
    assert (peer.schemes, peer.nodeinfo_reads) == (["cavage", "cavage"], 1)


async def test_a_server_without_nodeinfo_gets_draft_cavage_and_is_not_judged(
    db, clock, transport, serve
):
    peer = await serve(Peer(clock, None))
    await deliver(worker(transport, clock), peer, 1, now=clock.now)
    assert peer.schemes == ["cavage"]
    assert await remembered(peer) is None  # maybe down for a moment: asked again later


async def test_a_draft_cavage_peer_gets_one_rfc9421_knock_again_after_a_month(
    db, clock, transport, serve
):
    peer = await serve(Peer(clock, "quartier", rfc9421=False))
    w = worker(transport, clock)
    await deliver(w, peer, 1, now=clock.now)
    assert await remembered(peer) is SignatureScheme.CAVAGE
    peer.rfc9421 = True  # upgraded meanwhile
    clock.advance(days=31)
    await deliver(w, peer, 2, now=clock.now)
    assert peer.schemes == ["rfc9421", "cavage", "rfc9421"]
    assert await remembered(peer) is SignatureScheme.RFC9421


async def test_an_actor_without_an_ed25519_key_signs_draft_cavage(db, clock, transport, serve):
    peer = await serve(Peer(clock, "quartier"))
    other = "https://here.example/users/erased"

    async def keys(actor: str) -> tuple[str, rsa.RSAPrivateKey]:
        return f"{actor}#main-key", RSA_KEY

    w = DeliveryWorker(
        transport, keys, clock, schemes=SchemeMemory(transport, clock), ed25519_keys=ed25519_keys
    )
    await publish(activity(1) | {"actor": other}, [peer.inbox_url], other, clock.now)
    await w.run_once()
    assert peer.schemes == ["cavage"]
    assert (await Delivery.get()).state == DeliveryState.DELIVERED


async def test_our_ed25519_deliveries_verify_with_an_independent_implementation(
    db, transport, serve
):
    # http_message_signatures checks `created` against the real clock.
    def now() -> datetime:
        return datetime.now(UTC)

    peer = await serve(Peer(now, "quartier"))
    peer.library = True
    await deliver(worker(transport, now), peer, 1, now=now())
    assert peer.schemes == ["rfc9421"]
    assert (await Delivery.get()).state == DeliveryState.DELIVERED
