"""The one place that makes outbound HTTP requests.

Owns the process's single :class:`aiohttp.ClientSession`; every outbound call carries a timeout
and our User-Agent. The node creates it in a cleanup context and hands it to whoever needs the
network, so tests can substitute a transport pointed at local servers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True)
class TransportSettings:
    """Timeouts and identity of outbound requests."""

    user_agent: str
    connect_timeout: float = 5.0
    total_timeout: float = 20.0
    max_connections: int = 100


@asynccontextmanager
async def client_session(settings: TransportSettings) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield the process's client session, closed on exit."""
    timeout = aiohttp.ClientTimeout(total=settings.total_timeout, connect=settings.connect_timeout)
    connector = aiohttp.TCPConnector(limit=settings.max_connections)
    async with aiohttp.ClientSession(
        timeout=timeout,
        connector=connector,
        headers={"User-Agent": settings.user_agent},
    ) as session:
        yield session
