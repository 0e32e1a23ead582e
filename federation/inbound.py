"""Accepting activities delivered to our inboxes.

``accept`` does, in order: parse (size is capped by the caller) and shape checks; HTTP signature
(draft-cavage or RFC 9421, freshness and digest); the signer's key, fetched through the actor
document and re-fetched once if it does not verify (key rotation); binding: the key's owner
must be the activity's actor, unless the activity carries a valid FEP-8b32 proof by its actor
(relayed activities); the activity id must be on the actor's host; blocked senders are dropped
quietly; duplicates (same activity id) are recognised; the activity is stored durably. Only
then may the caller answer 202. Processing happens later, in the worker.

The community's policy (``InboxPolicy``, filled by the node from :mod:`federation.policy`)
is asked before anything is fetched: a blocked sender is dropped (the caller answers 202, so
it does not retry), a sender the federation mode does not admit is refused (403). A relayed
activity signed by a blocked server is dropped once the signer is known.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urldefrag, urlsplit

from activitypub.activities import object_id
from activitypub.actor_documents import same_host
from activitypub.errors import ProofError, SignatureError, SignatureInvalid, UnsupportedAlgorithm
from activitypub.proofs import proof_verification_method, verify_proof
from activitypub.signatures import (
    DEFAULT_FRESHNESS,
    FreshnessPolicy,
    Headers,
    SignatureToVerify,
    parse_signature,
    verify_signature,
)
from federation.dereference import ActorResolver
from federation.errors import (
    BadResponse,
    DereferenceError,
    ForbiddenActivity,
    MalformedActivity,
    UnverifiedSender,
)
from federation.ingest import InboxWriter
from federation.models import URI_LENGTH, RemoteActor
from federation.queue_sql import NewInbound
from moderation.domains import authority_of

MAX_DEPTH = 32
# What can decode to NUL or a lone surrogate: the escapes \u0000 and \uD800-\uDFFF, and the
# bytes of a UTF-8-encoded surrogate (ED A0-BF ..), which json.loads lets through
# ("surrogatepass") although they are not valid UTF-8.
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")
# host[:port] of a sender -> whether the community blocks it
BlockCheck = Callable[[str], Awaitable[bool]]
# (host[:port] of the actor, the activity) -> why the community turns it away, or None
Admission = Callable[[str, dict[str, Any]], Awaitable[str | None]]


async def _nobody_blocked(authority: str) -> bool:
    return False


async def _everyone_admitted(authority: str, activity: dict[str, Any]) -> str | None:
    return None


def addressed_to_us(headers: Mapping[str, str], our_authority: str) -> list[tuple[str, str]]:
    """The request's headers with ``Host`` set to our own authority.

    A signature covers the Host the sender addressed; verifying against our authority (not the
    Host as received) means a delivery signed for another server cannot be replayed to us.
    """
    kept = [(k, v) for k, v in headers.items() if k.lower() != "host"]
    return [*kept, ("Host", our_authority)]


@dataclass(frozen=True)
class InboundRequest:
    """A delivery as received: ``url`` is absolute, as the sender addressed it (raw path)."""

    method: str
    url: str
    headers: Headers
    body: bytes | None  # None for a GET
    recipient: str | None = None


@dataclass(frozen=True)
class InboxPolicy:
    """What the community lets in.

    ``is_blocked`` takes a sender's ``host[:port]``: a blocked sender is dropped without a
    word. ``refuse`` takes the actor's ``host[:port]`` and the activity: a reason refuses the
    delivery (``ForbiddenActivity`` with that reason). Both run on every POST, before any
    fetch: keep them free of network calls, and of queries where they can be avoided.
    """

    freshness: FreshnessPolicy = DEFAULT_FRESHNESS
    is_blocked: BlockCheck = field(default=_nobody_blocked)
    refuse: Admission = field(default=_everyone_admitted)


@dataclass(frozen=True)
class Accepted:
    """The outcome of a delivery the sender should see as accepted (202)."""

    activity_id: str
    actor: str
    duplicate: bool = False
    dropped: bool = False
    # whose key signed the request (the server that reached us); empty when dropped
    signer: str = ""


async def accept(
    request: InboundRequest,
    resolver: ActorResolver,
    now: datetime,
    policy: InboxPolicy | None = None,
    writer: InboxWriter | None = None,
) -> Accepted:
    """Verify and store one delivery; raises an ``InboxRejected`` subclass when refused.

    ``writer`` is the node's group-commit writer; without one, the delivery is committed
    alone (same code, a group of one).
    """
    policy = policy or InboxPolicy()
    activity = _parse(request.body or b"")
    activity_id, actor, activity_type = _shape(activity)
    # Cheap refusals first: they need no network, so they cannot be used to make us fetch.
    if not same_host(activity_id, actor):
        raise ForbiddenActivity(f"activity {activity_id} is not on the host of its actor {actor}")
    authority = authority_of(actor)
    if await policy.is_blocked(authority):
        return Accepted(activity_id=activity_id, actor=actor, dropped=True)
    reason = await policy.refuse(authority, activity)
    if reason is not None:
        raise ForbiddenActivity(reason)
    try:
        signer = await _authenticate(request, activity, actor, resolver, now, policy)
    except UnverifiedSender as exc:
        known = await RemoteActor.exists(uri=actor)
        if not known and _is_farewell_of_unknown_actor(activity_type, activity, actor, exc):
            # A deleted account's server announces the deletion, signed with a key it no
            # longer serves (410). We never cached that actor, so there is nothing of theirs
            # to delete: accept and drop, or its server retries for days.
            return Accepted(activity_id=activity_id, actor=actor, dropped=True)
        raise
    if signer is None:
        # Signed on a blocked server (a relay): the community wants nothing that server sends.
        return Accepted(activity_id=activity_id, actor=actor, dropped=True)
    message = NewInbound(
        activity_id=activity_id,
        actor=actor,
        activity_type=activity_type,
        recipient=request.recipient,
        body=activity,
        received_at=now,
        next_attempt_at=now,
    )
    stored = await (writer or InboxWriter()).store(message)
    return Accepted(activity_id=activity_id, actor=actor, duplicate=not stored, signer=signer)


def _is_farewell_of_unknown_actor(
    activity_type: str, activity: dict[str, Any], actor: str, exc: UnverifiedSender
) -> bool:
    if activity_type != "Delete" or object_id(activity.get("object")) != actor:
        return False
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        if isinstance(cause, BadResponse) and cause.status == 410:
            return True
        cause = cause.__cause__
    return False


def _parse(body: bytes) -> dict[str, Any]:
    try:
        # NaN, Infinity and numbers too large for a float are not JSON (RFC 8259), though
        # Python's parser takes them; PostgreSQL's jsonb would refuse the row later.
        activity = json.loads(body, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError):
        raise MalformedActivity("the body is not valid JSON") from None
    if not isinstance(activity, dict):
        raise MalformedActivity("the body is not a JSON object")
    if _too_deep(activity):
        raise MalformedActivity(f"the activity is nested deeper than {MAX_DEPTH} levels")
    if _may_hold_unstorable(body) and not _storable(activity):
        # PostgreSQL's jsonb refuses NUL and lone surrogates: refuse them here, with a 400.
        raise MalformedActivity("the activity contains NUL characters or invalid unicode")
    return activity


def _storable(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _not_json(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _may_hold_unstorable(body: bytes) -> bool:
    """Whether the parsed body could hold NUL or a lone surrogate (the inbox's hot path).

    In UTF-8 JSON (no NUL byte: not UTF-16 or UTF-32) strings get those only from the escapes
    ``\\u0000`` and ``\\uD800``-``\\uDFFF`` or from surrogates encoded as UTF-8 bytes (a raw
    control character fails parsing). Without any of them the walk over every string is
    skipped.
    """
    return b"\x00" in body or _SUSPECT.search(body) is not None


def _too_deep(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > MAX_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return False


def _shape(activity: dict[str, Any]) -> tuple[str, str, str]:
    activity_id = _uri(activity.get("id"), "id")
    actor_value = activity.get("actor")
    if isinstance(actor_value, dict):
        actor_value = actor_value.get("id")
    actor = _uri(actor_value, "actor")
    activity_type = activity.get("type")
    if not isinstance(activity_type, str) or not 0 < len(activity_type) <= 64:
        raise MalformedActivity("'type' must be a string of 1 to 64 characters")
    return activity_id, actor, activity_type


def _uri(value: Any, name: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= URI_LENGTH:
        raise MalformedActivity(f"{name!r} must be a URI string")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise MalformedActivity(f"{name!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "\x00" in value:
        raise MalformedActivity(f"{name!r} must be an http(s) URI")
    if "@" in parts.netloc:
        raise MalformedActivity(f"{name!r} must not carry credentials (user@host)")
    return value


async def _authenticate(
    request: InboundRequest,
    activity: dict[str, Any],
    actor: str,
    resolver: ActorResolver,
    now: datetime,
    policy: InboxPolicy,
) -> str | None:
    """The signer of ``request``, once it is established that the actor sent ``activity``;
    ``None`` when the signature's key lives on a blocked server (nothing is fetched from it).
    """
    to_verify = _parsed_signature(request, now, policy.freshness)
    # The key's host is its owner's (the resolver insists), so this covers the signer.
    if await policy.is_blocked(authority_of(to_verify.key_id)):
        return None
    signer = await _verified_signer(to_verify, resolver)
    if signer == actor:
        return signer
    # Signed by someone else: acceptable only with the actor's own integrity proof (relays).
    if "proof" in activity and await _proof_by(activity, actor, resolver):
        return signer
    raise UnverifiedSender(f"signed by {signer}, not by the actor {actor}")


async def signer_of(
    request: InboundRequest,
    resolver: ActorResolver,
    now: datetime,
    freshness: FreshnessPolicy = DEFAULT_FRESHNESS,
    admit: Callable[[str], Awaitable[bool]] | None = None,
) -> str:
    """The actor whose key signed ``request`` (any method: inbox POSTs, authorized GETs).

    ``admit``, when given, is asked with the ``host[:port]`` of the signing key before the key
    is fetched (the key's owner is on that host: the resolver insists), so a server that may
    not have the resource anyway cannot make us fetch from it.

    Raises ``UnverifiedSender`` when the signature is missing, stale, malformed or wrong, or
    when ``admit`` refuses the signer's server.
    """
    to_verify = _parsed_signature(request, now, freshness)
    if admit is not None and not await admit(authority_of(to_verify.key_id)):
        raise UnverifiedSender("signed by a server that is not admitted here")
    return await _verified_signer(to_verify, resolver)


def _parsed_signature(
    request: InboundRequest, now: datetime, freshness: FreshnessPolicy
) -> SignatureToVerify:
    try:
        return parse_signature(
            request.method, request.url, request.headers, request.body, now, freshness
        )
    except SignatureError as exc:
        raise UnverifiedSender(f"signature refused: {exc}") from None


async def _verified_signer(to_verify: SignatureToVerify, resolver: ActorResolver) -> str:
    for refresh in (False, True):
        try:
            resolved = await resolver.key(to_verify.key_id, refresh=refresh)
            verify_signature(to_verify, resolved.key)
        except DereferenceError as exc:
            raise UnverifiedSender(f"cannot get the signer's key: {exc}") from exc
        except UnsupportedAlgorithm as exc:
            raise UnverifiedSender(f"signature refused: {exc}") from None
        except SignatureInvalid:
            continue  # maybe the key was rotated: fetch the actor again, once
        return resolved.owner
    raise UnverifiedSender("the signature does not verify with the signer's key")


async def _proof_by(activity: dict[str, Any], actor: str, resolver: ActorResolver) -> bool:
    try:
        method = proof_verification_method(activity)
        if urldefrag(method)[0] != actor:
            return False
        resolved = await resolver.key(method)
        verify_proof(activity, resolved.key)  # type: ignore[arg-type]
    except (ProofError, DereferenceError, TypeError):
        return False
    return resolved.owner == actor
