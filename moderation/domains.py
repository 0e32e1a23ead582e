"""Domains as blocks name them: normalising what an admin typed, and matching a server to it.

A block names a host (``example.com``, an IP address) and, rarely, a port
(``127.0.0.1:8081``, for nodes on non-standard ports: development, tests). It covers the host
and every subdomain of it (``example.com`` covers ``a.example.com``), on any port unless a
port is given. Hosts are stored lower-case in their ASCII (IDNA) form, so ``München.de`` and
``xn--mnchen-3ya.de`` are one block. Pure functions: no database, no network.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator, Set
from urllib.parse import urlsplit

from moderation.errors import InvalidBlock

MAX_DOMAIN_LENGTH = 255  # the column's width, and more than DNS allows (253)
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_PORT = re.compile(r"[0-9]{1,5}")
_URL_CHARACTERS = frozenset("/?#@\\")


def normalise_domain(text: str) -> str:
    """The canonical form of a domain an admin typed, or ``InvalidBlock`` saying what is wrong.

    Accepts a bare host (``Example.COM.`` becomes ``example.com``), an internationalised
    name (stored as IDNA), an IPv4 or IPv6 address, each optionally with ``:port``.
    Refuses URLs, wildcards (a block covers subdomains already) and anything else.
    """
    value = text.strip()
    if not value:
        raise InvalidBlock("give a domain such as example.com")
    if len(value) > MAX_DOMAIN_LENGTH:
        raise InvalidBlock(f"a domain is at most {MAX_DOMAIN_LENGTH} characters")
    if "://" in value or _URL_CHARACTERS & set(value):
        raise InvalidBlock(f"give a bare host such as example.com, not a URL: {value!r}")
    if value.startswith("*."):
        raise InvalidBlock(f"a block covers subdomains already: give {value[2:]!r}, not {value!r}")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise InvalidBlock(f"a domain has no spaces or control characters: {value!r}")
    host, port = _split(value)
    canonical = _canonical_host(host, value)
    normalised = canonical if port is None else f"{canonical}:{port}"
    if len(normalised) > MAX_DOMAIN_LENGTH:
        raise InvalidBlock(f"a domain is at most {MAX_DOMAIN_LENGTH} characters")
    return normalised


# Cached: the inbox and the workers ask for the same few actors and hosts on every request,
# and parsing (IP literals through ipaddress) cost more than the RSA verify of the request.
@functools.lru_cache(maxsize=4096)
def authority_of(url: str) -> str:
    """The host (and port, when the URL has one) of a URL, as blocks and partnerships match it.

    Lenient: this reads what other servers send, already checked for shape by the caller.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    host = _bracketed_v6(host) if ":" in host else _wire_host(host)  # urlsplit drops brackets
    return host if port is None else f"{host}:{port}"


def covers(block: str, authority: str) -> bool:
    """Whether the normalised ``block`` covers a server at ``authority`` (``host[:port]``)."""
    return block in set(candidates(authority))


def candidates(authority: str) -> Iterator[str]:
    """Every block that would cover ``authority``: its host and each parent domain, each with
    and without the port. A set lookup per candidate keeps the check independent of how many
    blocks there are."""
    return iter(_candidates(authority))


@functools.lru_cache(maxsize=4096)
def _candidates(authority: str) -> tuple[str, ...]:
    host, port = _split_lenient(authority)
    if not host:
        return ()
    if _is_ip_literal(host):
        names = [host]
    else:
        labels = host.split(".")
        names = [".".join(labels[i:]) for i in range(len(labels))]
    found: list[str] = []
    for name in names:
        found.append(name)
        if port is not None:
            found.append(f"{name}:{port}")
    return tuple(found)


def blocked_by(blocks: Set[str], authority: str) -> str | None:
    """The block among ``blocks`` that covers ``authority``, if any."""
    for candidate in candidates(authority):
        if candidate in blocks:
            return candidate
    return None


def _split(value: str) -> tuple[str, int | None]:
    """Host and port of ``host[:port]``, ``[v6]:port`` or a bare IPv6 address."""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket:
            raise InvalidBlock(f"an IPv6 address in brackets needs its ']': {value!r}")
        if rest and not rest.startswith(":"):
            raise InvalidBlock(f"unexpected text after the IPv6 address: {value!r}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidBlock(f"not an IPv6 address: {host!r}") from None
        return f"[{host}]", _port(rest[1:], value) if rest else None
    if value.count(":") > 1:  # a bare IPv6 address: no port can follow without brackets
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            raise InvalidBlock(f"not a host name or an IP address: {value!r}") from None
        return f"[{value}]", None
    host, colon, port = value.partition(":")
    return host, _port(port, value) if colon else None


def _port(text: str, value: str) -> int:
    if not _PORT.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise InvalidBlock(f"the port must be a number from 1 to 65535: {value!r}")
    return int(text)


def _canonical_host(host: str, value: str) -> str:
    if host.startswith("["):
        return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
    host = host.rstrip(".").lower()  # "example.com." is the same, fully qualified
    if not host:
        raise InvalidBlock(f"no host in {value!r}")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidBlock(f"not a valid domain name: {value!r}") from None
    labels = ascii_host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidBlock(
            f"not a valid domain name: {value!r} (letters, digits and inner hyphens, dot-separated)"
        )
    if labels[-1].isdigit():  # "300.1.2.3" is neither an address nor a name
        raise InvalidBlock(f"not a valid IP address or domain name: {value!r}")
    return ascii_host


def _split_lenient(authority: str) -> tuple[str, int | None]:
    authority = authority.strip().lower()
    if authority.startswith("["):
        host, _, rest = authority.partition("]")
        return _bracketed_v6(host[1:]), _lenient_port(rest)
    elif authority.count(":") > 1:
        return _bracketed_v6(authority), None
    else:
        host, _, rest = authority.partition(":")
        rest = f":{rest}" if rest else ""
    return _wire_host(host), _lenient_port(rest)


def _lenient_port(rest: str) -> int | None:
    return int(rest[1:]) if rest[1:].isdigit() and rest[1:].isascii() else None


def _bracketed_v6(host: str) -> str:
    """``[v6]`` compressed, as blocks store it (``2001:0db8::01`` is ``2001:db8::1``)."""
    try:
        return f"[{ipaddress.IPv6Address(host).compressed}]"
    except ValueError:
        return f"[{host.lower()}]"


def _wire_host(host: str) -> str:
    """A host name as received, in the form blocks are stored in (best effort)."""
    host = host.rstrip(".").lower()
    if not host or host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host


def _is_ip_literal(host: str) -> bool:
    if host.startswith("["):
        return True
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True
