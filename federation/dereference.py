"""Fetching remote actors and their keys, with a cache.

A signature's ``keyId`` names a key; we always fetch the *actor document* it belongs to (the
URL without its fragment), even when the key URL would serve a stub, and believe only keys the
actor document itself vouches for. Documents are cached in ``RemoteActor`` for ``ttl``; a caller
whose signature check failed asks again with ``refresh=True`` once, which follows key rotation.

The inbox looks a key up on every POST, so recently used documents are also kept decoded in
memory for ``MEMORY_TTL``: no query and no PEM parsing on the hot path. The memory copy is
short-lived because another process (a second worker on PostgreSQL) may refresh or delete the
row; a signature that fails against it still triggers the refresh, which reads the database.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.actor_documents import (
    ActorDocument,
    Profile,
    PublicKey,
    key_owner,
    parse_actor_document,
    same_host,
)
from activitypub.errors import ActorDocumentError, KeyFormatError
from activitypub.keys import ed25519_to_multibase, multibase_to_ed25519
from federation.errors import DereferenceError, TransportError
from federation.models import RemoteActor
from federation.transport import Transport

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
DEFAULT_TTL = timedelta(hours=6)
MIN_REFRESH_INTERVAL = timedelta(minutes=1)
MAX_REMEMBERED_OWNERS = 10_000
MEMORY_TTL = timedelta(minutes=1)
MAX_IN_MEMORY = 10_000


@dataclass(frozen=True)
class ResolvedKey:
    """A public key and the actor that owns it."""

    key_id: str
    owner: str
    key: PublicKey


class ActorResolver:
    """Remote actors by URI, through the cache."""

    def __init__(self, transport: Transport, clock: Clock, ttl: timedelta = DEFAULT_TTL) -> None:
        # Told of every actor document fetched anew (the credential checker marks the
        # member's credential due); a failure there never fails the fetch.
        self.on_fetched: Callable[[ActorDocument], Awaitable[None]] | None = None
        self._transport = transport
        self._clock = clock
        self.ttl = ttl
        # key id -> owner actor, for key ids that are not <actor>#fragment
        self._owners: dict[str, str] = {}
        # actor URI -> (document, when the row was fetched, when we read it), least recent first
        self._recent: OrderedDict[str, tuple[ActorDocument, datetime, datetime]] = OrderedDict()

    async def actor(self, uri: str, *, refresh: bool = False) -> ActorDocument:
        """The actor document at ``uri``, from the cache unless stale or ``refresh``."""
        uri = urldefrag(uri)[0]
        now = self._clock()
        if not refresh and (recent := self._recent.get(uri)) is not None:
            remembered, fetched_at, read_at = recent
            if now - read_at < MEMORY_TTL and now - fetched_at < self.ttl:
                self._recent.move_to_end(uri)
                return remembered
        cached = await RemoteActor.get_or_none(uri=uri)
        if cached is not None:
            age = now - cached.fetched_at
            # A refresh at most once a minute: bad signatures must not make us fetch on demand.
            if age < (MIN_REFRESH_INTERVAL if refresh else self.ttl):
                return self._remember(_from_row(cached), cached.fetched_at)
        try:
            doc = await self._transport.get_json(uri)
            parsed = parse_actor_document(doc, uri)
        except (TransportError, ActorDocumentError) as exc:
            if cached is not None and not refresh:
                # Unreachable or gone now: the keys we knew still verify what it sent before
                # (a deleted account's farewell Delete, signed with its last key).
                return _from_row(cached)
            raise DereferenceError(f"cannot fetch actor {uri}: {exc}") from exc
        if parsed.actor_id != uri:
            raise DereferenceError(f"{uri} describes another actor ({parsed.actor_id})")
        await self._store(parsed)
        if self.on_fetched is not None:
            try:
                await self.on_fetched(parsed)
            except Exception:
                log.exception("after fetching %s", uri)
        return self._remember(parsed, self._clock())

    async def known_handle(self, username: str, host: str) -> str | None:
        """The actor id of ``username@host`` if we have its document already: a known contact
        is found without asking its server (which may be down right now).

        Only an actor on that very host counts; a server whose handles name another domain
        than its actors' host is asked through WebFinger, as before.
        """
        # A person before a group or service of the same name (Lemmy names both), and of
        # several, the one fetched last.
        for name in dict.fromkeys((username, username.lower())):
            found = await RemoteActor.filter(host=host.lower(), preferred_username=name).order_by(
                "-fetched_at"
            )
            if found:
                return min(found, key=lambda a: a.actor_type != "Person").uri
        return None

    async def known_username(self, uri: str) -> str | None:
        """The ``preferredUsername`` we hold for ``uri``, without any request (``None`` when we
        hold none): safe inside a transaction and for servers we may no longer reach."""
        uri = urldefrag(uri)[0]
        if (recent := self._recent.get(uri)) is not None:
            return recent[0].preferred_username
        found = await RemoteActor.filter(uri=uri).values_list("preferred_username", flat=True)
        return str(found[0]) if found and found[0] else None

    async def fetch_object(self, uri: str) -> dict[str, Any]:
        """The ActivityStreams object at ``uri`` (a status a boost names), fetched now through
        the node's transport: signed as the node, refused for private and loopback addresses
        (unless configured for local testing), capped in size. Its ``id`` must be ``uri``.
        """
        try:
            doc = await self._transport.get_json(uri)
        except TransportError as exc:
            raise DereferenceError(f"cannot fetch {uri}: {exc}") from exc
        if doc.get("id") != uri:
            raise DereferenceError(f"{uri} serves another object ({str(doc.get('id'))[:200]})")
        return doc

    async def known_profile(self, uri: str) -> Profile | None:
        """The profile we hold for ``uri`` (display name, bio, avatar, ...), without any
        request: ``None`` when we hold no document of it. For showing accounts in lists,
        where fetching each one would be too slow."""
        uri = urldefrag(uri)[0]
        if (recent := self._recent.get(uri)) is not None:
            return recent[0].profile
        row = await RemoteActor.get_or_none(uri=uri)
        return _from_row(row).profile if row is not None else None

    def forget(self, uri: str) -> None:
        """Drop the in-memory copy of ``uri`` (its row was deleted or changed elsewhere)."""
        self._recent.pop(urldefrag(uri)[0], None)

    def _remember(self, doc: ActorDocument, fetched_at: datetime) -> ActorDocument:
        self._recent[doc.actor_id] = (doc, fetched_at, self._clock())
        self._recent.move_to_end(doc.actor_id)
        while len(self._recent) > MAX_IN_MEMORY:
            self._recent.popitem(last=False)
        return doc

    async def key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey:
        """The key ``key_id`` as vouched for by the actor document it belongs to.

        A key id with a fragment (``<actor>#main-key``) names its actor directly. One without
        (GoToSocial's ``<actor>/main-key``) is fetched once to learn its owner, which must be
        on the same host; either way the key is believed only if the owner's actor document
        lists it.
        """
        owner = self._owners.get(key_id)
        if owner is None:
            owner = await self._owner_of(key_id)
            if len(self._owners) >= MAX_REMEMBERED_OWNERS:
                self._owners.clear()
            self._owners[key_id] = owner
        actor = await self.actor(owner, refresh=refresh)
        key = actor.keys.get(key_id)
        if key is None and not refresh:
            # A key id the cached document does not list: maybe a new key, fetch once more.
            actor = await self.actor(owner, refresh=True)
            key = actor.keys.get(key_id)
        if key is None:
            raise DereferenceError(f"actor {actor.actor_id} does not publish key {key_id}")
        return ResolvedKey(key_id=key_id, owner=actor.actor_id, key=key)

    async def _owner_of(self, key_id: str) -> str:
        url, fragment = urldefrag(key_id)
        if fragment:
            return url
        try:
            doc = await self._transport.get_json(url)
        except TransportError as exc:
            raise DereferenceError(f"cannot fetch key {key_id}: {exc}") from exc
        owner = key_owner(doc, key_id)
        if owner is None:
            # The URL may simply be the actor itself, its key listed inside.
            owner = doc.get("id") if isinstance(doc.get("id"), str) else None
        if owner is None or not same_host(owner, key_id):
            raise DereferenceError(f"key {key_id} has no owner on its own host")
        return urldefrag(owner)[0]

    async def _store(self, actor: ActorDocument) -> None:
        values = {
            "host": urlsplit(actor.actor_id).netloc.lower(),
            "actor_type": actor.actor_type,
            "inbox": actor.inbox,
            "shared_inbox": actor.shared_inbox,
            "preferred_username": actor.preferred_username,
            "keys": {key_id: _encode_key(key) for key_id, key in actor.keys.items()},
            "residency_credential": actor.residency_credential,
            "endorsements": actor.endorsements,
            "name": actor.profile.name,
            "summary": actor.profile.summary,
            "icon": actor.profile.icon,
            "image": actor.profile.image,
            "url": actor.profile.url,
            "published": actor.profile.published,
            "manually_approves_followers": actor.profile.manually_approves_followers,
            "followers": actor.profile.followers,
            "fetched_at": self._clock(),
        }
        await RemoteActor.update_or_create(defaults=values, uri=actor.actor_id)


def _encode_key(key: PublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ed25519_to_multibase(key)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _decode_key(text: str) -> PublicKey | None:
    try:
        if text.startswith("z"):
            return multibase_to_ed25519(text)
        key = serialization.load_pem_public_key(text.encode("ascii"))
    except (KeyFormatError, ValueError, TypeError):
        return None
    return key  # type: ignore[return-value]


def _from_row(row: RemoteActor) -> ActorDocument:
    keys = {key_id: key for key_id, text in row.keys.items() if (key := _decode_key(text))}
    return ActorDocument(
        actor_id=row.uri,
        actor_type=row.actor_type,
        inbox=row.inbox,
        shared_inbox=row.shared_inbox,
        preferred_username=row.preferred_username,
        keys=keys,
        residency_credential=row.residency_credential,
        endorsements=row.endorsements,
        profile=Profile(
            name=row.name,
            summary=row.summary,
            icon=row.icon,
            image=row.image,
            url=row.url,
            published=row.published,
            manually_approves_followers=row.manually_approves_followers,
            followers=row.followers,
        ),
    )
