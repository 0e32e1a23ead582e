"""Turning what a member types (``bob@other.example``, an actor URL) into an actor id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from activitypub.uris import UriScheme
from federation.errors import DereferenceError
from federation.transport import Transport
from federation.webfinger import lookup, parse_handle
from node.errors import BadRequest, NotFound


async def resolve_actor(
    uris: UriScheme,
    transport: Transport,
    target: str,
    check_host: Callable[[str], Awaitable[None]] | None = None,
) -> str:
    """The actor id ``target`` names: an actor URL as is, a handle of ours directly, another
    server's handle through WebFinger. 400 for what is not a handle, 404 when not found.
    ``check_host`` may refuse another server's host before anything is asked of it."""
    target = target.strip()
    if target.startswith(("https://", "http://")):
        return target
    try:
        user, host = parse_handle(target)
    except DereferenceError as exc:
        raise BadRequest(str(exc)) from None
    if host == uris.domain.lower():
        return uris.actor(user.lower())
    if check_host is not None:
        await check_host(host)
    try:
        return await lookup(transport, target)
    except DereferenceError as exc:
        raise NotFound(f"cannot find {target}: {exc}") from None
