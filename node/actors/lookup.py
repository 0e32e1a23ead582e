"""Turning what a member types (``bob``, ``bob@other.example``, an actor URL) into an actor id."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from activitypub.uris import UriScheme
from federation.dereference import ActorResolver
from federation.errors import DereferenceError
from federation.transport import Transport
from federation.webfinger import lookup, parse_handle
from node.errors import BadRequest, NotFound
from node.members.service import is_valid_username

log = logging.getLogger(__name__)
MAX_TARGET = 2048


async def resolve_actor(
    uris: UriScheme,
    resolver: ActorResolver,
    transport: Transport,
    target: str,
    check_host: Callable[[str], Awaitable[None]] | None = None,
) -> str:
    """The actor id ``target`` names: an actor URL as is; a bare username (``bob``) or a
    handle of ours, a neighbour here; another server's handle from what we know of that
    account already, else through WebFinger. 400 for what is not a handle, 404 when not found.
    ``check_host`` may refuse another server's host before anything is asked of it."""
    target = target.strip()
    if len(target) > MAX_TARGET:
        raise BadRequest(f"a recipient is a handle or a URL of at most {MAX_TARGET} characters")
    if target.startswith(("https://", "http://")):
        return target
    bare = target.removeprefix("@")
    if "@" not in bare:
        if not is_valid_username(bare.lower()):
            raise BadRequest("name a neighbour by username (bob) or handle (bob@other.example)")
        return uris.actor(bare.lower())
    try:
        user, host = parse_handle(target)
    except DereferenceError as exc:
        raise BadRequest(str(exc)) from None
    if host == uris.domain.lower():
        return uris.actor(user.lower())
    if check_host is not None:
        await check_host(host)
    known = await resolver.known_handle(user, host)
    if known is not None:
        return known
    try:
        return await lookup(transport, target)
    except DereferenceError as exc:
        log.info("WebFinger lookup of %s@%s failed: %s", user, host, exc)
        raise NotFound(
            f"cannot find {user}@{host}: their server did not answer or knows no such account."
            " Check the address, or try again later."
        ) from None
