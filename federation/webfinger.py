"""Discovery: a remote actor from a handle (``user@host``) with WebFinger, and a server's
NodeInfo."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from federation.errors import DereferenceError, TransportError
from federation.transport import Transport

MAX_HANDLE_LENGTH = 320
NODEINFO_SCHEMAS = (
    "http://nodeinfo.diaspora.software/ns/schema/2.1",
    "http://nodeinfo.diaspora.software/ns/schema/2.0",
)


def parse_handle(handle: str) -> tuple[str, str]:
    """``user@host`` (a leading ``@`` or ``acct:`` is allowed) into (user, host)."""
    text = handle.strip().removeprefix("acct:").removeprefix("@")
    user, at, host = text.rpartition("@")
    if not at or not user or not host or len(text) > MAX_HANDLE_LENGTH or "/" in host:
        # Quoted only when short: an error must not echo a megabyte back to its sender.
        shown = repr(handle) if len(handle) <= MAX_HANDLE_LENGTH else "(too long)"
        raise DereferenceError(f"not a handle of the form user@host: {shown}")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise DereferenceError("a handle cannot contain spaces or control characters")
    return user, host.lower()


async def lookup(transport: Transport, handle: str) -> str:
    """The actor id that ``handle`` names, from its server's WebFinger ``self`` link."""
    user, host = parse_handle(handle)
    resource = quote(f"acct:{user}@{host}", safe=":@")
    schemes = ("https", "http") if transport.settings.allow_http else ("https",)
    last: Exception | None = None
    for scheme in schemes:
        url = f"{scheme}://{host}/.well-known/webfinger?resource={resource}"
        try:
            doc = await transport.get_json(url, headers={"Accept": "application/jrd+json"})
        except TransportError as exc:
            last = exc
            continue
        for link in doc.get("links") or []:
            if (
                isinstance(link, dict)
                and link.get("rel") == "self"
                and link.get("type") in ("application/activity+json", "application/ld+json")
                and isinstance(link.get("href"), str)
            ):
                return str(link["href"])
        raise DereferenceError(f"{handle} has no ActivityPub actor")
    raise DereferenceError(f"cannot look {handle} up: {last}")


async def fetch_nodeinfo(transport: Transport, origin: str) -> dict[str, Any] | None:
    """The NodeInfo (2.1, else 2.0) of the server at ``origin`` (``scheme://host[:port]``);
    ``None`` when its ``/.well-known/nodeinfo`` links none on its own host. Transport errors
    propagate."""
    index = await transport.get_json(f"{origin}/.well-known/nodeinfo")
    links = index.get("links")
    hrefs = (
        {link.get("rel"): link.get("href") for link in links if isinstance(link, dict)}
        if isinstance(links, list)
        else {}
    )
    for schema in NODEINFO_SCHEMAS:
        href = hrefs.get(schema)
        # Only on the same host: another server cannot speak for this one.
        if isinstance(href, str) and urlsplit(href).netloc == urlsplit(origin).netloc:
            return await transport.get_json(href)
    return None
