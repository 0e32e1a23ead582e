"""Which HTTP signature scheme each peer host gets, learnt per host (the "double knock").

We sign with RFC 9421 ``ed25519`` (the actor's Multikey) where a peer is known to take it, and
with draft-cavage ``rsa-sha256`` everywhere else, as the fediverse has for years. An Ed25519
signature costs a fraction of an RSA-2048 one, and RFC 9421 is the standard; but most servers
(Mastodon before 4.5, GoToSocial, Misskey, Akkoma...) verify only draft-cavage, so RFC 9421 is
tried only where it is expected to work:

- a host whose NodeInfo names Quartier as its software, or advertises RFC 9421 in
  ``metadata.httpSignatures.verifies``, starts at RFC 9421; any other host at draft-cavage.
  The NodeInfo is read once, before the first delivery to a host, and the answer stored;
- a delivery signed with RFC 9421 that a host refuses (``SIGNATURE_REFUSALS`` of
  :mod:`federation.transport`) is sent again at once signed with draft-cavage; when that one
  is accepted, the host is remembered as draft-cavage;
- a draft-cavage entry is checked again (NodeInfo) after ``recheck`` (30 days): a peer that was
  upgraded (or whose refusal was a passing fault) gets one RFC 9421 knock again.

What a host takes is kept in ``peer_signature_scheme`` (host, scheme, when learnt) so that a
restart does not ask again, and in memory, so that a delivery costs no query: a host's row is
read once, then again only after ``refresh`` (to see what other workers learnt).

Signed GETs (actor and key fetches) use RFC 9421 only for hosts already known to take it,
never probing: a server that cannot verify a signed GET may answer a stripped document with 200
(Misskey does) instead of refusing, so a GET's success proves nothing. Only deliveries, whose
inboxes verify before answering 2xx, teach the memory that RFC 9421 works.

Mastodon 4.5 signs draft-cavage first and knocks again with RFC 9421; Fedify signs RFC 9421
first and knocks again with draft-cavage (on 400, 401 and, for now, anything above 401),
remembering per origin what worked. We take Fedify's direction for the peers we know verify RFC
9421 and Mastodon's for all others, so no unknown server pays two requests per delivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from federation.errors import FederationError
from federation.models import PeerSignatureScheme, SignatureScheme
from federation.transport import Transport
from federation.webfinger import fetch_nodeinfo
from moderation.domains import authority_of

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# The answers to an RFC 9421-signed request that we read as "this signature was not accepted":
# 401 is what Mastodon, GoToSocial and Quartier answer to a signature they cannot verify; 400 is
# what several servers answer to a Signature header they cannot parse (a draft-cavage-only
# parser reading RFC 9421's "sig1=:...:" dictionary); 403 is Fedify-based servers' and some
# proxies' answer to an unverified request. Fedify also knocks again on 5xx, as a stopgap for a
# Mastodon bug; we do not: a 5xx is retried later by the delivery worker, and a server that
# crashes on RFC 9421 is not one whose NodeInfo said it takes it. (The set itself is
# federation.transport.SIGNATURE_REFUSALS: signed GETs knock again there.)

# NodeInfo software names of servers that verify our RFC 9421 signatures.
RFC9421_SOFTWARE = frozenset({"quartier"})


@dataclass(frozen=True)
class _Known:
    scheme: SignatureScheme
    learnt_at: datetime | None  # when the stored row was learnt; None: no row
    read_at: datetime  # when this entry was read or learnt
    settled: bool  # a row, or a NodeInfo asked for; not settled: a GET's default only


class SchemeMemory:
    """What each peer host takes, learnt from NodeInfo and from its answers."""

    def __init__(
        self,
        transport: Transport | None,
        clock: Clock,
        *,
        refresh: timedelta = timedelta(hours=1),
        recheck: timedelta = timedelta(days=30),
        probe_timeout: float = 5.0,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self.refresh = refresh
        self.recheck = recheck
        self.probe_timeout = probe_timeout
        self._known: dict[str, _Known] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def for_delivery(self, url: str) -> SignatureScheme:
        """The scheme to sign a POST to ``url`` with. Never raises.

        Costs nothing when the host is in memory; otherwise one query (and, for a host never
        seen, or a draft-cavage one not checked for ``recheck``, a read of its NodeInfo), once
        for all concurrent deliveries to that host.
        """
        host = authority_of(url)
        known = self._fresh(host)
        if known is not None and known.settled:
            return known.scheme
        async with self._locks.setdefault(host, asyncio.Lock()):
            known = self._fresh(host)
            if known is None or not known.settled:
                known = await self._settle(host, url)
        return known.scheme

    async def for_fetch(self, url: str) -> SignatureScheme:
        """The scheme to sign a GET of ``url`` with: RFC 9421 only where a row says so (no
        NodeInfo is read for a GET). Never raises."""
        host = authority_of(url)
        known = self._fresh(host)
        if known is None:
            known = await self._read(host)
        return known.scheme

    async def accepted(self, url: str) -> None:
        """A delivery to ``url`` signed with RFC 9421 was accepted (2xx): the host takes it.

        Writes only when memory did not already say so. Never raises."""
        host = authority_of(url)
        known = self._known.get(host)
        if known is not None and known.scheme is SignatureScheme.RFC9421 and known.learnt_at:
            return
        await self._learn(host, SignatureScheme.RFC9421)

    async def refused(self, url: str) -> None:
        """The host of ``url`` refused an RFC 9421 signature and accepted draft-cavage right
        after: it gets draft-cavage from now on (until ``recheck``). Never raises."""
        host = authority_of(url)
        log.info("%s refused an RFC 9421 signature: draft-cavage from now on", host)
        await self._learn(host, SignatureScheme.CAVAGE)

    def _fresh(self, host: str) -> _Known | None:
        known = self._known.get(host)
        if known is None or self._clock() - known.read_at >= self.refresh:
            return None
        return known

    async def _read(self, host: str) -> _Known:
        now = self._clock()
        try:
            row = await PeerSignatureScheme.get_or_none(host=host)
        except Exception:
            log.exception("reading the signature scheme of %s failed", host)
            row = None
        if row is None:
            known = _Known(SignatureScheme.CAVAGE, None, now, settled=False)
        else:
            known = _Known(SignatureScheme(row.scheme), row.learnt_at, now, settled=True)
        self._known[host] = known
        return known

    async def _settle(self, host: str, url: str) -> _Known:
        known = await self._read(host)
        now = self._clock()
        stale = (
            known.scheme is SignatureScheme.CAVAGE
            and known.learnt_at is not None
            and now - known.learnt_at >= self.recheck
        )
        if known.settled and not stale:
            return known
        takes_rfc9421 = await self._probe(url)
        if takes_rfc9421 is None:
            # NodeInfo unreadable (the host is down, or has none): draft-cavage, asked again
            # after ``refresh``; nothing stored, so that a passing outage decides nothing.
            known = _Known(known.scheme, known.learnt_at, now, settled=True)
            self._known[host] = known
            return known
        scheme = SignatureScheme.RFC9421 if takes_rfc9421 else SignatureScheme.CAVAGE
        return await self._learn(host, scheme)

    async def _learn(self, host: str, scheme: SignatureScheme) -> _Known:
        now = self._clock()
        known = _Known(scheme, now, now, settled=True)
        self._known[host] = known  # first: the deliveries running meanwhile use it already
        try:
            await _store(host, scheme, now)
        except Exception:
            log.exception("storing the signature scheme of %s failed", host)
        return known

    async def _probe(self, url: str) -> bool | None:
        """Whether the NodeInfo of ``url``'s server says it verifies RFC 9421; ``None`` when
        it cannot be read."""
        if self._transport is None:
            return None
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        try:
            probe = fetch_nodeinfo(self._transport, origin)
            info = await asyncio.wait_for(probe, self.probe_timeout)
        except (FederationError, TimeoutError) as exc:
            log.info("NodeInfo of %s unreadable (%s): draft-cavage for now", origin, exc)
            return None
        except Exception:
            log.exception("reading the NodeInfo of %s failed", origin)
            return None
        return None if info is None else verifies_rfc9421(info)


def verifies_rfc9421(nodeinfo: dict[str, Any]) -> bool:
    """Whether a NodeInfo document says its server verifies RFC 9421 signatures: its software
    is Quartier, or its ``metadata.httpSignatures.verifies`` lists ``rfc9421`` (what ours
    publishes, for other software to say the same)."""
    software = nodeinfo.get("software")
    name = software.get("name") if isinstance(software, dict) else None
    if isinstance(name, str) and name.lower() in RFC9421_SOFTWARE:
        return True
    metadata = nodeinfo.get("metadata")
    signatures = metadata.get("httpSignatures") if isinstance(metadata, dict) else None
    verifies = signatures.get("verifies") if isinstance(signatures, dict) else None
    return isinstance(verifies, list) and "rfc9421" in verifies


async def _store(host: str, scheme: SignatureScheme, now: datetime) -> None:
    # update_or_create runs in its own transaction (a savepoint when nested) and takes the
    # row another worker inserted first.
    await PeerSignatureScheme.update_or_create(
        defaults={"scheme": scheme, "learnt_at": now}, host=host
    )
