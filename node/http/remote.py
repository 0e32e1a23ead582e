"""The address of the client behind a request, seen through trusted reverse proxies."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from node.http.keys import SETTINGS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: web.Request) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    ``X-Forwarded-For`` hop that is not itself a trusted proxy.

    Right-most, because a client can put anything at the left of the header; only what our
    own proxies appended can be believed.
    """
    peer = request.remote or ""
    proxies = request.app[SETTINGS].server.trusted_networks
    if not proxies or not _within(peer, proxies):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _within(hop, proxies):
            return hop if _is_ip(hop) else peer
    return peer


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
