"""The node's Application actor: created once, with its keys, on first start."""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from tortoise.exceptions import IntegrityError

from activitypub.keys import generate_actor_keys, load_private_key
from activitypub.signatures import sign_request, sign_request_rfc9421
from activitypub.uris import UriScheme
from federation.models import SignatureScheme
from federation.signing import SchemeMemory
from federation.transport import FetchSigner, Transport
from node.actors.models import InstanceActor, KeyedActor
from node.clock import Clock
from node.groups.models import LocalGroup
from node.members.models import ErasedAccount, Member


async def ensure_instance_actor() -> InstanceActor:
    """The node's Application actor, generating its keys on first use."""
    existing = await InstanceActor.first()
    if existing is not None:
        return existing
    keys = await asyncio.to_thread(generate_actor_keys)
    try:
        return await InstanceActor.create(id=1, **InstanceActor.key_columns(keys))
    except IntegrityError:
        # Another process (a concurrent 'migrate' or 'serve') created it first: use theirs.
        return await InstanceActor.get(id=1)


class SigningKeys:
    """The keys our actors sign with, loaded once per actor: RSA (draft-cavage) when called,
    Ed25519 (RFC 9421) through :meth:`ed25519`.

    Loading a PEM validates the RSA key, about 40 ms: done in a thread, and once per actor
    even when a batch of deliveries asks at the same moment (the benchmark saw the event loop
    blocked 2.5 s after start-up by concurrent loads).
    """

    def __init__(self, uris: UriScheme) -> None:
        self._uris = uris
        self._loaded: dict[str, tuple[str, rsa.RSAPrivateKey]] = {}
        self._ed25519: dict[str, tuple[str, ed25519.Ed25519PrivateKey]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def __call__(self, actor_id: str) -> tuple[str, rsa.RSAPrivateKey]:
        """(key id, private key) of a local actor; ``LookupError`` if it is not ours."""
        if actor_id in self._loaded:
            return self._loaded[actor_id]
        async with self._locks.setdefault(actor_id, asyncio.Lock()):
            if actor_id not in self._loaded:
                self._loaded[actor_id] = await self._load(actor_id)
        return self._loaded[actor_id]

    async def ed25519(self, actor_id: str) -> tuple[str, ed25519.Ed25519PrivateKey]:
        """(Multikey id, Ed25519 private key) of a local actor, the id its document publishes
        in ``assertionMethod``; ``LookupError`` if it is not ours or has none (an erased
        account keeps only its RSA key)."""
        if actor_id in self._ed25519:
            return self._ed25519[actor_id]
        async with self._locks.setdefault(actor_id, asyncio.Lock()):
            if actor_id not in self._ed25519:
                actor = await self._actor(actor_id)
                if not isinstance(actor, KeyedActor):
                    raise LookupError(f"{actor_id} has no Ed25519 key")
                key = load_private_key(actor.ed25519_private_pem)  # fast: no RSA check
                if not isinstance(key, ed25519.Ed25519PrivateKey):
                    raise LookupError(f"{actor_id} has no Ed25519 key")
                self._ed25519[actor_id] = (UriScheme.ed25519_key_id(actor_id), key)
        return self._ed25519[actor_id]

    async def _actor(self, actor_id: str) -> KeyedActor | ErasedAccount:
        slug = self._uris.group_slug_from_actor(actor_id)
        if actor_id == self._uris.instance_actor:
            return await ensure_instance_actor()
        if slug is not None:
            group = await LocalGroup.get_or_none(slug=slug)
            if group is None:
                raise LookupError(f"{actor_id} is not a local actor")
            return group
        username = self._uris.username_from_actor(actor_id)
        member = await Member.get_or_none(username=username) if username else None
        if member is not None:
            return member
        # An erased account still signs the Deletes that tell others it is gone.
        erased = await ErasedAccount.get_or_none(username=username) if username else None
        if erased is None:
            raise LookupError(f"{actor_id} is not a local actor")
        return erased

    async def _load(self, actor_id: str) -> tuple[str, rsa.RSAPrivateKey]:
        pem = (await self._actor(actor_id)).rsa_private_pem
        key = await asyncio.to_thread(load_private_key, pem)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise LookupError(f"{actor_id} has no RSA key")
        return UriScheme.rsa_key_id(actor_id), key


def fetch_signer(
    uris: UriScheme, keys: SigningKeys, clock: Clock, schemes: SchemeMemory | None = None
) -> FetchSigner:
    """Signs the node's own GETs with its Application actor's key (authorized fetch): RFC 9421
    with its Ed25519 key to hosts ``schemes`` knows take it, draft-cavage otherwise."""

    async def sign(url: str) -> dict[str, str]:
        if schemes is not None and await schemes.for_fetch(url) is SignatureScheme.RFC9421:
            key_id, ed_key = await keys.ed25519(uris.instance_actor)
            return sign_request_rfc9421("GET", url, None, key_id, ed_key, clock())
        return await sign_cavage(url)

    async def sign_cavage(url: str) -> dict[str, str]:
        key_id, key = await keys(uris.instance_actor)
        return sign_request("GET", url, None, key_id, key, clock())

    return sign


def sign_fetches(
    transport: Transport, uris: UriScheme, keys: SigningKeys, clock: Clock, schemes: SchemeMemory
) -> None:
    """Make ``transport`` sign the node's GETs, with the double knock: a GET whose RFC 9421
    signature is refused goes again signed draft-cavage, and the host is remembered when that
    one gets through."""
    transport.fetch_signer = fetch_signer(uris, keys, clock, schemes)
    transport.fetch_fallback = fetch_signer(uris, keys, clock)
    transport.fetch_learnt = schemes.refused
