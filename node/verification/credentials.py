"""The credentials this node issues: residency credentials for its verified members,
endorsements of district nodes (when it is a municipality), and its revocation list.

A residency credential lives as long as the member's verification: issued when they become
verified, renewed before ``validUntil`` while they stay verified, revoked (its status bit set)
the moment they stop being. Each revocation also sends an ``Update`` of the member's actor to
the partner nodes, so they check again at once instead of at their next status-list refresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.actors import Residency
from activitypub.attestations import (
    MIN_LENGTH,
    StatusEntry,
    endorsement_credential,
    residency_credential,
    sign_credential,
    status_list_credential,
)
from activitypub.keys import load_private_key
from activitypub.listings.vocabulary import AS_CONTEXT
from activitypub.proofs import format_date_time_stamp
from activitypub.uris import UriScheme
from federation.models import Partnership, PartnershipState
from federation.outbound import publish
from node.actors.service import ensure_instance_actor
from node.clock import Clock
from node.config import CommunitySettings, VerificationSettings
from node.errors import Gone, NotFound
from node.members.models import Member, Verification
from node.members.render import member_to_ap
from node.verification.models import CredentialKind, IssuedCredential

log = logging.getLogger(__name__)

# How long a signed status list is served before it is signed again even if unchanged: a
# verifier reads its validUntil as "fetch me again after this".
STATUS_LIST_VALIDITY = timedelta(days=1)
_INDEX_TRIES = 64
# Random bits looked up at once for a free one: while the list is under an eighth full, all
# eight are taken less than once in ten million issuances (another eight are drawn then).
_CANDIDATES = 8


class CredentialIssuer:
    """Issues, renews, revokes and serves this node's credentials."""

    def __init__(
        self,
        uris: UriScheme,
        clock: Clock,
        community: CommunitySettings,
        settings: VerificationSettings,
        *,
        queued: Callable[[], None] = lambda: None,
        actor_changed: Callable[[str], None] = lambda username: None,
    ) -> None:
        self._uris = uris
        self._clock = clock
        self._community = community
        self.settings = settings
        self._queued = queued
        self._actor_changed = actor_changed
        self._key: ed25519.Ed25519PrivateKey | None = None
        self._status_list: tuple[str, dict[str, Any]] | None = None

    # Residency
    async def member_changed(self, member: Member) -> None:
        """Keep the member's credential in step with their level (the verification service
        calls this inside the transaction that changed it)."""
        current = await self.current(member)
        verified = member.verification is Verification.VERIFIED
        method = member.verification_method.value if member.verification_method else None
        if current is not None and (not verified or _method_of(current) != method):
            await self._revoke(current, member)
            current = None
        if verified and current is None:
            await self._issue(member)

    async def current(self, member: Member) -> IssuedCredential | None:
        """The member's credential in force, if any."""
        return (
            await IssuedCredential.filter(
                kind=CredentialKind.RESIDENCY,
                member_id=member.id,
                revoked_at__isnull=True,
                valid_until__gt=self._clock(),
            )
            .order_by("-id")
            .first()
        )

    async def renew_due(self) -> int:
        """Renew the credentials ending within ``renew_days_before`` (same id and status
        bit, a new window and proof): residency credentials of members still verified, and
        endorsements this node gave; how many."""
        now = self._clock()
        horizon = now + timedelta(days=self.settings.renew_days_before)
        due = await IssuedCredential.filter(
            revoked_at__isnull=True, valid_until__lte=horizon, valid_until__gt=now
        ).select_related("member")
        renewed = 0
        for credential in due:
            member = credential.member
            credential.valid_from = now
            credential.valid_until = now + timedelta(days=self.settings.credential_days)
            if credential.kind is CredentialKind.ENDORSEMENT:
                credential.document = await self._sign(_rewindowed(credential))
            elif member is not None and member.verification is Verification.VERIFIED:
                credential.document = await self._residency_document(credential, member)
                self._actor_changed(member.username)
            else:
                continue
            await credential.save(update_fields=["valid_from", "valid_until", "document"])
            renewed += 1
        return renewed

    async def issue_missing(self) -> int:
        """Issue a credential to every verified member without one in force: members
        verified before credentials existed, and those whose credential ended while the node
        was down past its renewal; how many."""
        now = self._clock()
        holders = await IssuedCredential.filter(
            kind=CredentialKind.RESIDENCY, revoked_at__isnull=True, valid_until__gt=now
        ).only("member_id")
        held = [row.member_id for row in holders]  # type: ignore[attr-defined]
        missing = await Member.filter(verification=Verification.VERIFIED).exclude(id__in=held)
        for member in missing:
            await self._issue(member)
        return len(missing)

    async def _issue(self, member: Member) -> IssuedCredential:
        now = self._clock()
        for _ in range(_INDEX_TRIES):
            try:
                # A savepoint: on PostgreSQL a failed insert aborts the enclosing transaction.
                async with in_transaction():
                    credential = await IssuedCredential.create(
                        token=secrets.token_hex(16),
                        kind=CredentialKind.RESIDENCY,
                        member_id=member.id,
                        subject=self._uris.actor(member.username),
                        status_index=await self._free_index(),
                        issued_at=now,
                        valid_from=now,
                        valid_until=now + timedelta(days=self.settings.credential_days),
                        document={},
                    )
                break
            except IntegrityError:  # another issuance took that index a moment ago
                continue
        else:
            raise RuntimeError("no free index in the revocation list")
        credential.document = await self._residency_document(credential, member)
        await credential.save(update_fields=["document"])
        self._actor_changed(member.username)
        await self._tell_partners(member)
        return credential

    async def _residency_document(
        self, credential: IssuedCredential, member: Member
    ) -> dict[str, Any]:
        method = member.verification_method.value if member.verification_method else "manager"
        unsigned = residency_credential(
            credential_id=self._uris.credential(credential.token),
            issuer=self._uris.instance_actor,
            subject=credential.subject,
            community_name=self._community.name,
            community_area=self._community.area,
            method=method,
            valid_from=credential.valid_from,
            valid_until=credential.valid_until,
            status=self._status_entry(credential),
        )
        return await self._sign(unsigned)

    async def _revoke(self, credential: IssuedCredential, member: Member | None) -> None:
        credential.revoked_at = self._clock()
        await credential.save(update_fields=["revoked_at"])
        if member is not None:
            self._actor_changed(member.username)
            await self._tell_partners(member)

    async def _tell_partners(self, member: Member) -> None:
        """An ``Update`` of the member's actor to every partner node: they fetch it again and
        check the credential it now links (or no longer links)."""
        partners = await Partnership.filter(state=PartnershipState.ACTIVE).values_list(
            "peer_actor", "peer_inbox"
        )
        if not partners:
            return
        actor = self._uris.actor(member.username)
        residency = await self.residency_of(member)
        update = {
            "@context": AS_CONTEXT,
            "id": f"{actor}#updates/{uuid.uuid4().hex}",
            "type": "Update",
            "actor": actor,
            "to": [str(peer) for peer, _ in partners],
            "object": member_to_ap(member, self._uris, residency=residency),
        }
        inboxes = [str(inbox) for _, inbox in partners]
        await publish(update, inboxes, actor, self._clock(), partners_only=True)
        self._queued()

    async def residency_of(self, member: Member) -> Residency | None:
        """The member's credential in force, as their actor document links and shows it."""
        current = await self.current(member)
        if current is None:
            return None
        return Residency(
            credential=self._uris.credential(current.token),
            community=self._community.name,
            issuer_host=self._uris.domain,
        )

    # Endorsements (a municipality node endorsing its districts)
    async def endorse(self, node_actor: str, name: str, area: str) -> IssuedCredential:
        """Endorse ``node_actor`` (a district node's Application actor) as an issuer of
        residency credentials for the community ``name`` in ``area``; replaces an earlier
        endorsement of that node."""
        now = self._clock()
        for earlier in await IssuedCredential.filter(
            kind=CredentialKind.ENDORSEMENT, subject=node_actor, revoked_at__isnull=True
        ):
            await self._revoke(earlier, None)
        credential = await IssuedCredential.create(
            token=secrets.token_hex(16),
            kind=CredentialKind.ENDORSEMENT,
            subject=node_actor,
            status_index=await self._free_index(),
            issued_at=now,
            valid_from=now,
            valid_until=now + timedelta(days=self.settings.credential_days),
            document={},
        )
        unsigned = endorsement_credential(
            credential_id=self._uris.credential(credential.token),
            issuer=self._uris.instance_actor,
            subject_node=node_actor,
            community_name=name,
            community_area=area,
            valid_from=credential.valid_from,
            valid_until=credential.valid_until,
            status=self._status_entry(credential),
        )
        credential.document = await self._sign(unsigned)
        await credential.save(update_fields=["document"])
        self._actor_changed("")
        return credential

    async def end_endorsement(self, node_actor: str) -> int:
        """Revoke the endorsement of ``node_actor``; how many were in force."""
        ended = await IssuedCredential.filter(
            kind=CredentialKind.ENDORSEMENT, subject=node_actor, revoked_at__isnull=True
        )
        for credential in ended:
            await self._revoke(credential, None)
        return len(ended)

    async def endorsements(self) -> list[IssuedCredential]:
        """The endorsements in force, oldest first."""
        return await IssuedCredential.filter(
            kind=CredentialKind.ENDORSEMENT,
            revoked_at__isnull=True,
            valid_until__gt=self._clock(),
        ).order_by("id")

    # Serving
    async def document(self, token: str) -> dict[str, Any]:
        """The signed credential at its URL; 410 once revoked or ended, 404 if unknown."""
        credential = await IssuedCredential.get_or_none(token=token)
        if credential is None or not credential.document:
            raise NotFound("no such credential")
        if credential.revoked_at is not None or credential.valid_until <= self._clock():
            raise Gone("this credential was revoked or has ended")
        return dict(credential.document)

    async def status_list(self) -> dict[str, Any]:
        """The signed revocation list. Signed again only when a bit changed or the signed
        copy is about to end, so verifiers can compare copies."""
        rows = await IssuedCredential.filter(revoked_at__isnull=False).only("status_index")
        revoked = sorted(row.status_index for row in rows)
        fingerprint = hashlib.sha256(repr(revoked).encode()).hexdigest()
        now = self._clock()
        if self._status_list is not None:
            signed_for, document = self._status_list
            fresh = _ends(document) - now > STATUS_LIST_VALIDITY / 2
            if signed_for == fingerprint and fresh:
                return document
        unsigned = status_list_credential(
            list_id=self._uris.status_list,
            issuer=self._uris.instance_actor,
            revoked=revoked,
            valid_from=now,
            valid_until=now + STATUS_LIST_VALIDITY,
        )
        document = await self._sign(unsigned)
        self._status_list = (fingerprint, document)
        return document

    # Helpers
    def _status_entry(self, credential: IssuedCredential) -> StatusEntry:
        return StatusEntry(list_url=self._uris.status_list, index=credential.status_index)

    async def _free_index(self) -> int:
        """A random unused bit of the list: neighbouring bits say nothing about each other.

        A few random bits are looked up at a time (the column's unique index answers), not
        every used one: reading them all for each credential made issuing n credentials read
        n²/2 rows, a third of the time a residents' list of 10,000 rows took to import."""
        while True:
            candidates = [secrets.randbelow(MIN_LENGTH) for _ in range(_CANDIDATES)]
            used = set(
                await IssuedCredential.filter(status_index__in=candidates).values_list(
                    "status_index", flat=True
                )
            )
            free = next((index for index in candidates if index not in used), None)
            if free is not None:
                return free
            if await IssuedCredential.all().count() >= MIN_LENGTH:
                raise RuntimeError("the revocation list is full")

    async def _sign(self, unsigned: dict[str, Any]) -> dict[str, Any]:
        key = await self._signing_key()
        return sign_credential(
            unsigned,
            key,
            UriScheme.ed25519_key_id(self._uris.instance_actor),
            self._clock(),
        )

    async def _signing_key(self) -> ed25519.Ed25519PrivateKey:
        if self._key is None:
            actor = await ensure_instance_actor()
            key = await asyncio.to_thread(load_private_key, actor.ed25519_private_pem)
            if not isinstance(key, ed25519.Ed25519PrivateKey):
                raise RuntimeError("the node actor's Ed25519 key is not an Ed25519 key")
            self._key = key
        return self._key


def _rewindowed(credential: IssuedCredential) -> dict[str, Any]:
    """The credential's document without its proof, with the credential's new window."""
    document = {key: value for key, value in credential.document.items() if key != "proof"}
    document["validFrom"] = format_date_time_stamp(credential.valid_from, "valid_from")
    document["validUntil"] = format_date_time_stamp(credential.valid_until, "valid_until")
    return document


def _method_of(credential: IssuedCredential) -> str | None:
    subject = credential.document.get("credentialSubject")
    method = subject.get("residencyMethod") if isinstance(subject, dict) else None
    return method if isinstance(method, str) else None


def _ends(document: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(document["validUntil"]))
