"""The node's Application actor: created once, with its keys, on first start."""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives.asymmetric import rsa
from tortoise.exceptions import IntegrityError

from activitypub.keys import generate_actor_keys, load_private_key
from activitypub.signatures import sign_request
from activitypub.uris import UriScheme
from federation.transport import FetchSigner
from node.actors.models import InstanceActor
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
    """The RSA keys our actors sign deliveries with, loaded once per actor.

    Loading a PEM validates the RSA key, about 40 ms: done in a thread, and once per actor
    even when a batch of deliveries asks at the same moment (the benchmark saw the event loop
    blocked 2.5 s after start-up by concurrent loads).
    """

    def __init__(self, uris: UriScheme) -> None:
        self._uris = uris
        self._loaded: dict[str, tuple[str, rsa.RSAPrivateKey]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def __call__(self, actor_id: str) -> tuple[str, rsa.RSAPrivateKey]:
        """(key id, private key) of a local actor; ``LookupError`` if it is not ours."""
        if actor_id in self._loaded:
            return self._loaded[actor_id]
        async with self._locks.setdefault(actor_id, asyncio.Lock()):
            if actor_id not in self._loaded:
                self._loaded[actor_id] = await self._load(actor_id)
        return self._loaded[actor_id]

    async def _load(self, actor_id: str) -> tuple[str, rsa.RSAPrivateKey]:
        slug = self._uris.group_slug_from_actor(actor_id)
        if actor_id == self._uris.instance_actor:
            pem = (await ensure_instance_actor()).rsa_private_pem
        elif slug is not None:
            group = await LocalGroup.get_or_none(slug=slug)
            if group is None:
                raise LookupError(f"{actor_id} is not a local actor")
            pem = group.rsa_private_pem
        else:
            username = self._uris.username_from_actor(actor_id)
            member = await Member.get_or_none(username=username) if username else None
            if member is not None:
                pem = member.rsa_private_pem
            else:
                # An erased account still signs the Deletes that tell others it is gone.
                erased = await ErasedAccount.get_or_none(username=username) if username else None
                if erased is None:
                    raise LookupError(f"{actor_id} is not a local actor")
                pem = erased.rsa_private_pem
        key = await asyncio.to_thread(load_private_key, pem)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise LookupError(f"{actor_id} has no RSA key")
        return UriScheme.rsa_key_id(actor_id), key


def fetch_signer(uris: UriScheme, keys: SigningKeys, clock: Clock) -> FetchSigner:
    """Signs the node's own GETs with its Application actor's key (authorized fetch)."""

    async def sign(url: str) -> dict[str, str]:
        key_id, key = await keys(uris.instance_actor)
        return sign_request("GET", url, None, key_id, key, clock())

    return sign
