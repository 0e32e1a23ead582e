"""Which residency credentials of other nodes this node believes, and checking them.

A remote member is shown as verified here only when the credential their actor document links
passes every check: it is well formed and small; its issuer is the member's own node (a node
attests its own members only); its proof verifies with the Ed25519 key the issuer's actor
document lists; it is valid now and about that very actor; its bit in the issuer's revocation
list (itself signed by the issuer) is clear; and the issuer is trusted:

- an active partner node,
- a node listed in ``verification.trusted_issuers``,
- or a node endorsed by one of ``verification.trust_anchors`` (a municipality), whose
  endorsement credential passes the same checks (one level of delegation, no further).

Checks never run inside an inbox request: fetching a changed actor document marks the
member's credential due (:meth:`CredentialChecker.actor_fetched`), and the checker's loop
(:meth:`CredentialChecker.run_once`) does the network work, then checks again before
``validUntil`` and after every status-list refresh. A refusal is logged with its reason and
recorded; it never stops anything else.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub import activities
from activitypub.actor_documents import ActorDocument
from activitypub.attestations import (
    ENDORSEMENT_CREDENTIAL,
    RESIDENCY_CREDENTIAL,
    CredentialClaims,
    StatusList,
    check_endorsement,
    check_status,
    decode_status_list,
    read_credential,
    verify_credential,
    verify_status_list,
)
from activitypub.attestations.vocabulary import REVOCATION
from activitypub.errors import CredentialRejected, CredentialRejection, ProtocolError
from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import (
    BadResponse,
    DereferenceError,
    NotActedOn,
    ResponseTooLarge,
    TransportError,
)
from federation.models import (
    CredentialCheck,
    Partnership,
    PartnershipState,
    RemoteCredential,
    StatusListCopy,
)
from federation.transport import Transport

log = logging.getLogger(__name__)

RESIDENCY = "residency"
# A credential that could not be fetched is tried again this soon (the issuer may be down).
RETRY = timedelta(minutes=10)
BATCH = 50
GONE = (404, 410)
# A credential whose issuer could not be reached for this long is no longer believed.
STALE = timedelta(days=1)
# A refused credential is checked again at most this often, whatever Updates its node sends.
UPDATE_THROTTLE = timedelta(minutes=1)
MAX_ENDORSEMENTS = 1000
# Unknown actors a lookup fetches and checks on the spot (others wait for the checker's loop).
LOOKUP_LIMIT = 10
INSTANCE_ACTOR_PATH = "/actor"


class Untrusted(Exception):
    """The credential is genuine but its issuer is not one this node trusts."""


class AnchorUnreachable(Exception):
    """No anchor endorsed the issuer, and one of them could not be asked."""


def _storable(text: str, limit: int) -> str:
    """Text quoted from remote data, safe for any database column (no NUL, no surrogates,
    no control characters) and cut to ``limit``."""
    cleaned = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(ch for ch in cleaned if ch.isprintable() or ch == " ")[:limit]


@dataclass(frozen=True)
class TrustSettings:
    """Who this node trusts besides its partners, and how often lists are fetched again."""

    trusted_issuers: tuple[str, ...] = ()  # origins
    trust_anchors: tuple[str, ...] = ()  # origins
    status_refresh: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class RemoteResidency:
    """A remote member's verified residency, as the API shows it."""

    community: str
    area: str
    method: str
    issuer: str
    attested_by: str  # the issuer's host
    trusted_through: str | None  # the anchor whose endorsement made the issuer trusted
    valid_until: datetime | None
    checked_at: datetime


class CredentialChecker:
    """Checks remote members' residency credentials and keeps the outcome."""

    def __init__(
        self,
        resolver: ActorResolver,
        transport: Transport,
        clock: Callable[[], datetime],
        settings: TrustSettings,
    ) -> None:
        self._resolver = resolver
        self._transport = transport
        self._clock = clock
        self.settings = settings
        # anchor actor -> (when fetched, its endorsements), so checks do not refetch them
        self._anchor_cache: dict[str, tuple[datetime, list[Any]]] = {}

    def register(self, dispatcher: Dispatcher) -> None:
        """An ``Update`` of a person is how their node says "check again" (a revocation, a
        renewal): after the handler that fetched the actor again, the credential is checked
        at once."""
        dispatcher.register("Update", self.on_actor_update, object_type="Person")

    async def on_actor_update(self, activity: InboundActivity) -> None:
        """Check the credential of the actor that sent an ``Update`` of itself now. (When the
        actor was fetched less than a minute ago the link is the one known: a revoked
        credential then answers 410, which is enough to stop believing it.)"""
        if activities.object_id(activity.body.get("object")) != activity.actor:
            # The same words as the actor refetch's, so the ignored row reads as one reason.
            raise NotActedOn("an Update of another actor (an actor may update only itself)")
        row = await RemoteCredential.get_or_none(kind=RESIDENCY, subject=activity.actor)
        if row is None:
            raise NotActedOn("the actor links no residency credential")
        refused = row.outcome in (CredentialCheck.REJECTED, CredentialCheck.UNTRUSTED)
        if refused and self._clock() - row.checked_at < UPDATE_THROTTLE:
            # A refused credential's node cannot make us fetch on every Update it sends: the
            # next check is a minute after the last one.
            await RemoteCredential.filter(id=row.id).update(
                next_check_at=row.checked_at + UPDATE_THROTTLE
            )
            raise NotActedOn("its credential was refused moments ago; checked again shortly")
        await self.check(row)

    # Scheduling
    async def actor_fetched(self, actor: ActorDocument) -> None:
        """A remote actor's document was fetched: mark its credential due when the link
        changed, forget it when the actor links none any more."""
        row = await RemoteCredential.get_or_none(kind=RESIDENCY, subject=actor.actor_id)
        link = actor.residency_credential
        if link is None:
            if row is not None:
                await row.delete()
            return
        now = self._clock()
        if row is None:
            await RemoteCredential.create(
                kind=RESIDENCY,
                subject=actor.actor_id,
                url=link,
                outcome=CredentialCheck.PENDING,
                checked_at=now,
                next_check_at=now,
            )
        else:
            # Checked again now even when the link is the same: an Update of the actor is
            # how an issuer says "look again" (a revocation, a renewal).
            if row.url != link:
                row.outcome = CredentialCheck.PENDING
            row.url = link
            row.next_check_at = now
            await row.save(update_fields=["url", "next_check_at", "outcome"])

    async def run_once(self) -> int:
        """Check every credential that is due; how many were checked."""
        now = self._clock()
        due = (
            await RemoteCredential.filter(next_check_at__lte=now)
            .order_by("next_check_at", "id")
            .limit(BATCH)
        )
        for row in due:
            await self.check(row)
        return len(due)

    # Checking
    async def check(self, row: RemoteCredential) -> RemoteCredential:
        """Check the credential ``row`` names and record the outcome. Never raises: what a
        remote server sent, or a bug it triggers, is logged and the row tried again later,
        so one credential can never stop the checks of the others."""
        now = self._clock()
        checked_url = row.url
        try:
            await self._check_into(row, now)
        except Exception:
            log.exception("checking the credential of %s failed", row.subject)
            await RemoteCredential.filter(id=row.id).update(next_check_at=now + RETRY)
            return row
        fields = {
            name: getattr(row, name)
            for name in (
                "outcome",
                "reason",
                "issuer",
                "trusted_through",
                "community_name",
                "community_area",
                "method",
                "valid_from",
                "valid_until",
                "status_list",
                "status_index",
                "checked_at",
                "next_check_at",
            )
        }
        # Only if the actor still links what was checked: an actor fetched meanwhile may have
        # brought a new link (then checked on its own), which this outcome must not overwrite.
        await RemoteCredential.filter(id=row.id, url=checked_url).update(**fields)
        return row

    async def _check_into(self, row: RemoteCredential, now: datetime) -> None:
        try:
            claims, trusted_through = await self._check(row.subject, row.url, now)
        except CredentialRejected as exc:
            self._refused(row, CredentialCheck.REJECTED, f"{exc.reason.value}: {exc}", now)
        except Untrusted as exc:
            self._refused(row, CredentialCheck.UNTRUSTED, f"untrusted: {exc}", now)
        except (TransportError, DereferenceError, AnchorUnreachable) as exc:
            self._unreachable(row, exc, now)
        except ProtocolError as exc:
            self._refused(row, CredentialCheck.REJECTED, f"malformed: {exc}", now)
        else:
            row.outcome = CredentialCheck.VALID
            row.reason = ""
            row.issuer = claims.issuer
            row.trusted_through = trusted_through
            row.community_name = _storable(claims.community_name, 200)
            row.community_area = _storable(claims.community_area, 200)
            row.method = claims.method or ""
            row.valid_from = claims.valid_from
            row.valid_until = claims.valid_until
            row.status_list = claims.status.list_url if claims.status else None
            row.status_index = claims.status.index if claims.status else None
            row.checked_at = now
            row.next_check_at = min(claims.valid_until, now + self.settings.status_refresh)

    def _unreachable(self, row: RemoteCredential, exc: Exception, now: datetime) -> None:
        # Not the issuer's word: keep what we knew, try again soon; but a credential whose
        # revocation list we could not read for a day is no longer believed.
        log.info("could not check the credential of %s now: %s", row.subject, exc)
        row.reason = _storable(f"unreachable: {exc}", 500)
        row.next_check_at = now + RETRY
        if row.outcome is CredentialCheck.VALID and now - row.checked_at > STALE:
            row.outcome = CredentialCheck.PENDING
            row.checked_at = now

    def _refused(
        self, row: RemoteCredential, outcome: CredentialCheck, reason: str, now: datetime
    ) -> None:
        reason = _storable(reason, 500)
        log.warning("refused the residency credential %s of %s: %s", row.url, row.subject, reason)
        row.outcome = outcome
        row.reason = reason
        row.checked_at = now
        # A refused credential is looked at again when the actor changes (an Update), or
        # after a day (an issuer may start being trusted: a new partnership).
        row.next_check_at = now + timedelta(days=1)

    async def _check(
        self, subject: str, url: str, now: datetime
    ) -> tuple[CredentialClaims, str | None]:
        document = await self._fetch(url)
        claims = read_credential(document, expected_type=RESIDENCY_CREDENTIAL)
        if claims.issuer != _origin(subject) + INSTANCE_ACTOR_PATH:
            raise CredentialRejected(
                CredentialRejection.ISSUER_MISMATCH,
                f"{claims.issuer} is not the node actor of {subject}'s node: a node attests "
                "its own members, in its own name",
            )
        key = await self._issuer_key(claims)
        claims = verify_credential(
            document, key, now=now, expected_type=RESIDENCY_CREDENTIAL, expected_subject=subject
        )
        await self._check_status(claims, key, now)
        return claims, await self._trust(claims, now)

    async def _fetch(self, url: str) -> dict[str, Any]:
        """A credential or list its issuer serves. What the issuer answers is its word (gone:
        revoked; too large or not JSON: refused); only an issuer we cannot reach is not."""
        try:
            return await self._transport.get_json(url)
        except ResponseTooLarge as exc:
            raise CredentialRejected(CredentialRejection.TOO_LARGE, str(exc)) from None
        except BadResponse as exc:
            if exc.status in GONE:
                raise CredentialRejected(
                    CredentialRejection.REVOKED, f"its issuer answers {exc.status}: {url}"
                ) from None
            if exc.status is not None and 200 <= exc.status < 300:
                raise CredentialRejected(CredentialRejection.MALFORMED, str(exc)) from None
            raise

    async def _issuer_key(self, claims: CredentialClaims) -> ed25519.Ed25519PublicKey:
        resolved = await self._resolver.key(claims.verification_method)
        if resolved.owner != claims.issuer:
            raise CredentialRejected(
                CredentialRejection.ISSUER_MISMATCH,
                f"the proof's key belongs to {resolved.owner}, not to the issuer {claims.issuer}",
            )
        if not isinstance(resolved.key, ed25519.Ed25519PublicKey):
            raise CredentialRejected(
                CredentialRejection.BAD_PROOF, "the proof's key is not Ed25519"
            )
        return resolved.key

    async def _check_status(
        self, claims: CredentialClaims, key: ed25519.Ed25519PublicKey, now: datetime
    ) -> None:
        if claims.status is None:
            raise CredentialRejected(
                CredentialRejection.BAD_STATUS_LIST, "the credential has no revocation entry"
            )
        status_list = await self._status_list(claims.status.list_url, claims.issuer, key, now)
        check_status(claims.status, status_list)

    async def _status_list(
        self, url: str, issuer: str, key: ed25519.Ed25519PublicKey, now: datetime
    ) -> StatusList:
        """The issuer's list, from the copy fetched within ``status_refresh``, else fetched
        (and verified) again."""
        if _origin(url) != _origin(issuer):
            raise CredentialRejected(
                CredentialRejection.BAD_STATUS_LIST,
                f"the status list {url} is not on the issuer's node",
            )
        copy = await StatusListCopy.get_or_none(url=url)
        fresh = copy is not None and now - copy.fetched_at < self.settings.status_refresh
        if copy is not None and fresh and copy.issuer == issuer:
            # Its proof, issuer and id were verified when it was fetched.
            bits = decode_status_list(copy.encoded)
            return StatusList(list_id=url, issuer=copy.issuer, purpose=REVOCATION, bits=bits)
        try:
            document = await self._transport.get_json(url)
        except BadResponse as exc:
            if exc.status is not None and 200 <= exc.status < 300:
                raise CredentialRejected(CredentialRejection.BAD_STATUS_LIST, str(exc)) from None
            raise  # unreachable (a 404 of a list is not a revocation of the credential)
        except ResponseTooLarge as exc:
            raise CredentialRejected(CredentialRejection.TOO_LARGE, str(exc)) from None
        status_list = verify_status_list(document, key, now=now, issuer=issuer)
        if status_list.list_id != url:
            raise CredentialRejected(
                CredentialRejection.BAD_STATUS_LIST,
                f"the list served at {url} calls itself {status_list.list_id}",
            )
        encoded = str(document["credentialSubject"]["encodedList"])
        await StatusListCopy.update_or_create(
            defaults={
                "issuer": issuer,
                "encoded": encoded,
                "digest": hashlib.sha256(encoded.encode()).hexdigest(),
                "fetched_at": now,
            },
            url=url,
        )
        return status_list

    async def _trust(self, claims: CredentialClaims, now: datetime) -> str | None:
        """``None`` when the issuer is trusted directly, the anchor's actor when through an
        endorsement; raises ``Untrusted`` otherwise."""
        issuer = claims.issuer
        if await Partnership.exists(peer_actor=issuer, state=PartnershipState.ACTIVE):
            return None
        if _origin(issuer) in self.settings.trusted_issuers:
            return None
        unreachable: list[str] = []
        for anchor_origin in self.settings.trust_anchors:
            anchor = anchor_origin + INSTANCE_ACTOR_PATH
            try:
                if await self._endorsed(claims, anchor, now):
                    return anchor
            except (TransportError, DereferenceError) as exc:
                log.info("could not read the endorsements of %s: %s", anchor, exc)
                unreachable.append(anchor)
            except ProtocolError as exc:
                log.warning("the endorsements of %s cannot be read: %s", anchor, exc)
        if unreachable:
            # An anchor that is down says nothing: what we knew stands until it answers.
            raise AnchorUnreachable(f"could not ask {', '.join(unreachable)}")
        raise Untrusted(f"{issuer} is not a partner, a trusted issuer or endorsed by an anchor")

    async def _endorsed(self, claims: CredentialClaims, anchor: str, now: datetime) -> bool:
        """Whether the trust anchor ``anchor`` endorses the residency credential's issuer."""
        for item in await self._endorsements(anchor, now):
            try:
                endorsement = read_credential(item, expected_type=ENDORSEMENT_CREDENTIAL)
                if endorsement.subject != claims.issuer or endorsement.issuer != anchor:
                    continue
                key = await self._issuer_key(endorsement)
                endorsement = verify_credential(
                    item,
                    key,
                    now=now,
                    expected_type=ENDORSEMENT_CREDENTIAL,
                    expected_subject=claims.issuer,
                )
                await self._check_status(endorsement, key, now)
                check_endorsement(claims, endorsement)
            except CredentialRejected as exc:
                log.warning(
                    "refused an endorsement of %s by %s: %s: %s",
                    claims.issuer,
                    anchor,
                    exc.reason.value,
                    exc,
                )
                continue
            return True
        return False

    async def look_up(self, actors: list[str] | set[str]) -> None:
        """Fetch and check, now, the credentials of remote ``actors`` this node has not
        checked yet (up to ``LOOKUP_LIMIT``): a member asking about a neighbour from another
        node gets the answer at once. Unreachable actors are skipped."""
        known = set(
            await RemoteCredential.filter(kind=RESIDENCY, subject__in=list(actors))
            .exclude(outcome=CredentialCheck.PENDING)
            .values_list("subject", flat=True)
        )
        for actor in [a for a in actors if a not in known][:LOOKUP_LIMIT]:
            try:
                await self._resolver.actor(actor)
            except DereferenceError as exc:
                log.info("could not look %s up: %s", actor, exc)
                continue
            row = await RemoteCredential.get_or_none(kind=RESIDENCY, subject=actor)
            if row is not None:
                await self.check(row)

    async def is_verified(self, actor: str) -> bool:
        """Whether the remote ``actor`` is a verified resident we trust, checking a credential
        not checked yet on the spot (an answer must not be refused because the checker's
        loop had not come round to its author)."""
        row = await RemoteCredential.get_or_none(kind=RESIDENCY, subject=actor)
        if row is None or row.outcome is CredentialCheck.PENDING:
            await self.look_up([actor])
        return await is_trusted_resident(actor, self._clock())

    async def _endorsements(self, anchor: str, now: datetime) -> list[Any]:
        """The endorsements ``anchor`` publishes, fetched at most once per status refresh."""
        cached = self._anchor_cache.get(anchor)
        if cached is not None and now - cached[0] < self.settings.status_refresh:
            return cached[1]
        anchor_doc = await self._resolver.actor(anchor)
        items: list[Any] = []
        if anchor_doc.endorsements is not None:
            collection = await self._transport.get_json(anchor_doc.endorsements)
            found = collection.get("orderedItems")
            items = found[:MAX_ENDORSEMENTS] if isinstance(found, list) else []
        self._anchor_cache[anchor] = (now, items)
        return items

    # Reading
    async def residencies(self, actors: list[str] | set[str]) -> dict[str, RemoteResidency]:
        """The remote actors among ``actors`` whose residency is verified and trusted now."""
        if not actors:
            return {}
        rows = await RemoteCredential.filter(
            kind=RESIDENCY,
            subject__in=list(actors),
            outcome=CredentialCheck.VALID,
            valid_until__gt=self._clock(),
        )
        return {row.subject: _residency(row) for row in rows}


async def is_trusted_resident(actor: str, now: datetime) -> bool:
    """Whether ``actor`` (remote) holds a residency credential found valid and trusted."""
    return await RemoteCredential.exists(
        kind=RESIDENCY, subject=actor, outcome=CredentialCheck.VALID, valid_until__gt=now
    )


async def trusted_residents(now: datetime) -> frozenset[str]:
    """Every remote actor whose residency credential was found valid and trusted."""
    subjects = await RemoteCredential.filter(
        kind=RESIDENCY, outcome=CredentialCheck.VALID, valid_until__gt=now
    ).values_list("subject", flat=True)
    return frozenset(str(subject) for subject in subjects)


def _residency(row: RemoteCredential) -> RemoteResidency:
    return RemoteResidency(
        community=row.community_name,
        area=row.community_area,
        method=row.method,
        issuer=row.issuer,
        attested_by=urlsplit(row.issuer).netloc,
        trusted_through=row.trusted_through,
        valid_until=row.valid_until,
        checked_at=row.checked_at,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
