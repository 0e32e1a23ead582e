"""The one place that makes outbound HTTP requests.

Every request goes through :class:`Transport`: https only (http when configured for local
testing), never to private, loopback or link-local addresses (same exception), with timeouts,
a cap on the response size, redirects followed by hand so each hop is checked, and our
User-Agent. The node opens one per process in a cleanup context and hands it to whoever needs
the network; tests point it at local servers with ``allow_private=True``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from federation.errors import (
    BadResponse,
    ForbiddenAddress,
    ForbiddenScheme,
    PeerUnreachable,
    ResponseTooLarge,
    TransportError,
    TransportTimeout,
)
from federation.ssrf import GuardedResolver, check_literal_host

ACTIVITY_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
_JSON_TYPES = (
    "application/activity+json",
    "application/ld+json",
    "application/json",
    "application/jrd+json",
    "application/vc",  # a verifiable credential (VC Data Model 2.0)
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Answers to an RFC 9421-signed request that mean "signature not accepted": why these three,
# see federation/signing.py.
SIGNATURE_REFUSALS = frozenset({400, 401, 403})


@dataclass(frozen=True)
class TransportSettings:
    """Identity, limits and safety switches of outbound requests."""

    user_agent: str
    connect_timeout: float = 5.0
    total_timeout: float = 20.0
    max_connections: int = 100
    max_response_bytes: int = 1_048_576
    max_redirects: int = 3
    # Local testing only: allow loopback/private addresses and plain http.
    allow_private: bool = False
    allow_http: bool = False


@dataclass(frozen=True)
class Response:
    """A complete, size-capped response."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


# Signs a GET for ``url``: returns the headers to add (the node's own actor signs its fetches).
FetchSigner = Callable[[str], Awaitable[dict[str, str]]]
# Told the URL of a GET that a draft-cavage signature got through after the server refused
# an RFC 9421 one.
FetchLearnt = Callable[[str], Awaitable[None]]


class Transport:
    """Outbound HTTP with the safety rules above."""

    def __init__(self, session: aiohttp.ClientSession, settings: TransportSettings) -> None:
        self._session = session
        self.settings = settings
        # Set by the node once its own actor exists: servers in "authorized fetch" mode
        # (Mastodon's secure mode) answer only signed GETs.
        self.fetch_signer: FetchSigner | None = None
        # Signs a GET draft-cavage, for the second knock when a server refused the RFC 9421
        # signature ``fetch_signer`` gave it (federation/signing.py); then ``fetch_learnt``.
        self.fetch_fallback: FetchSigner | None = None
        self.fetch_learnt: FetchLearnt | None = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """Send one request. GET follows up to ``max_redirects`` redirects, each hop checked.

        ``max_bytes`` caps this response instead of ``max_response_bytes`` (photos are larger
        than the documents the default is made for).
        """
        hops = self.settings.max_redirects if method == "GET" else 0
        current = url
        for _ in range(hops + 1):
            hop_headers = dict(headers or {})
            signed = method == "GET" and self.fetch_signer is not None
            if signed:
                assert self.fetch_signer is not None
                hop_headers.update(await self.fetch_signer(current))  # signed per hop
            response = await self._send(method, current, hop_headers, body, max_bytes)
            if (
                signed
                and self.fetch_fallback is not None
                and "Signature-Input" in hop_headers
                and response.status in SIGNATURE_REFUSALS
            ):
                hop_headers = {**(headers or {}), **await self.fetch_fallback(current)}
                response = await self._send(method, current, hop_headers, body, max_bytes)
                if 200 <= response.status < 300 and self.fetch_learnt is not None:
                    await self.fetch_learnt(current)
            if response.status not in _REDIRECTS or method != "GET":
                return response
            location = response.headers.get("Location")
            if not location:
                raise BadResponse("redirect without Location", status=response.status)
            current = urljoin(current, location)
        raise BadResponse(f"more than {hops} redirects from {url}")

    async def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET an ActivityStreams document: 2xx, a JSON media type, a JSON object."""
        response = await self.request(
            "GET", url, headers={"Accept": ACTIVITY_ACCEPT, **(headers or {})}
        )
        if not 200 <= response.status < 300:
            raise BadResponse(f"GET {url} answered {response.status}", status=response.status)
        media = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media not in _JSON_TYPES:
            raise BadResponse(
                f"GET {url} answered {media or 'no content type'}, not JSON",
                status=response.status,
            )
        try:
            doc = json.loads(response.body)
        except RecursionError:
            # Nested deeper than the parser goes: a size limit, like a body over the cap.
            raise ResponseTooLarge(f"GET {url} answered JSON nested too deeply") from None
        except ValueError:
            raise BadResponse(f"GET {url} answered invalid JSON", status=response.status) from None
        if not isinstance(doc, dict):
            raise BadResponse(
                f"GET {url} answered JSON that is not an object", status=response.status
            )
        return doc

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        max_bytes: int | None = None,
    ) -> Response:
        self._check_url(url)
        limit = self.settings.max_response_bytes if max_bytes is None else max_bytes
        try:
            async with self._session.request(
                method, url, headers=headers, data=body, allow_redirects=False
            ) as resp:
                declared = resp.content_length
                if declared is not None and declared > limit:
                    raise ResponseTooLarge(f"{url} announced {declared} bytes (limit {limit})")
                data = bytearray()
                async for chunk in resp.content.iter_chunked(65_536):
                    data += chunk
                    if len(data) > limit:
                        raise ResponseTooLarge(f"{url} sent more than {limit} bytes")
                return Response(
                    url=url, status=resp.status, headers=dict(resp.headers), body=bytes(data)
                )
        except TransportError:
            raise
        except TimeoutError:
            raise TransportTimeout(f"{method} {url} timed out") from None
        except (aiohttp.ClientError, OSError) as exc:
            forbidden = _forbidden_cause(exc)
            if forbidden is not None:
                raise forbidden from None
            raise PeerUnreachable(f"{method} {url} failed: {exc}") from exc

    def _check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            raise TransportError(f"not a valid URL: {url!r}") from None
        allowed = ("https", "http") if self.settings.allow_http else ("https",)
        if parts.scheme not in allowed:
            raise ForbiddenScheme(f"refusing {parts.scheme or 'scheme-less'} URL {url}")
        if not host:
            raise TransportError(f"URL without a host: {url!r}")
        if "@" in parts.netloc:  # credentials: never sent, and they hide the host from checks
            raise ForbiddenScheme(f"refusing a URL with credentials: {url}")
        check_literal_host(host, allow_private=self.settings.allow_private)


def _forbidden_cause(exc: BaseException) -> ForbiddenAddress | None:
    """aiohttp wraps resolver errors; find our refusal inside."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ForbiddenAddress):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@asynccontextmanager
async def open_transport(settings: TransportSettings) -> AsyncIterator[Transport]:
    """Yield the process's transport (one client session), closed on exit."""
    timeout = aiohttp.ClientTimeout(total=settings.total_timeout, connect=settings.connect_timeout)
    connector = aiohttp.TCPConnector(
        limit=settings.max_connections,
        resolver=GuardedResolver(allow_private=settings.allow_private),
    )
    async with aiohttp.ClientSession(
        timeout=timeout,
        connector=connector,
        headers={"User-Agent": settings.user_agent},
    ) as session:
        yield Transport(session, settings)
