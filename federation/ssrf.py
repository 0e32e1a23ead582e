"""Refusing outbound requests to addresses a remote party must not make us reach.

A remote actor controls the URLs we fetch (key ids, inboxes, object ids). Without this guard
one could point us at the node's own admin port, the cloud metadata service, or the LAN.
The check runs on the addresses actually connected to (through a resolver wrapper, so a DNS
answer cannot swap a public name for a private address) and on IP literals in URLs.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from federation.errors import ForbiddenAddress

# NAT64 (RFC 6052) and the deprecated IPv4-compatible form both end in an IPv4 address.
_IPV4_CARRYING = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast address.

    Loopback, private (RFC 1918, ULA), link-local, multicast, reserved, unspecified, CGNAT
    shared space and IPv4-mapped forms of any of those are not.
    """
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            address.split("%", 1)[0]
        )
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        # IPv6 forms that carry an IPv4 address: judge the IPv4 address they reach.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and any(ip in net for net in _IPV4_CARRYING):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def check_literal_host(host: str, *, allow_private: bool) -> None:
    """Refuse a URL whose host is a non-public IP literal (names are checked when resolved)."""
    literal = host.strip("[]")
    try:
        ipaddress.ip_address(literal.split("%", 1)[0])
    except ValueError:
        return
    if not allow_private and not is_public_address(literal):
        raise ForbiddenAddress(f"refusing to connect to non-public address {literal}")


class GuardedResolver(AbstractResolver):
    """A resolver that drops non-public addresses, failing when none is left."""

    def __init__(self, inner: AbstractResolver | None = None, *, allow_private: bool) -> None:
        self._inner = inner or ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host``, keeping only addresses we may connect to."""
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        allowed = [r for r in results if is_public_address(r["host"])]
        if not allowed:
            raise ForbiddenAddress(f"{host} resolves only to non-public addresses")
        return allowed

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()
