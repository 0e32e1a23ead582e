"""Verifying neighbours: by a manager, by a proof of residence, by vouches.

Every change of a member's level goes through :meth:`VerificationService._set_level`, which
records it in the audit trail, tells the member, and calls ``changed`` (the credential issuer)
inside the same transaction, so a credential never outlives the verification it attests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from node.clock import Clock
from node.config import VerificationSettings
from node.errors import Conflict, Forbidden, NotFound, ValidationFailed
from node.members.models import Invite, Member, Role, Verification, VerificationMethod
from node.notifications.models import NotificationType
from node.notifications.service import NotificationService
from node.verification.documents import check_document, clean_filename
from node.verification.models import DocumentState, ResidenceDocument, VerificationEvent, Vouch
from node.verification.vault import DocumentUnreadable, DocumentVault

log = logging.getLogger(__name__)

MAX_REASON = 500
# A file on disk without a row is an orphan only once older than this (an upload in flight).
ORPHAN_GRACE = timedelta(hours=1)
# What a member whose verification a discredited vouch held up reads (and staff, as the
# review reason): who and why stay in the audit trail.
DISCREDITED = "a vouch that verified you no longer counts; a manager will look at it"
# Called with a member whose level just changed, inside the transaction that changed it.
Changed = Callable[[Member], Awaitable[None]]


async def _nothing(member: Member) -> None:
    return None


@dataclass(frozen=True)
class OpenedDocument:
    """A proof of residence, decrypted for a manager's eyes, with the member's name for it."""

    document: ResidenceDocument
    filename: str
    data: bytes


class VerificationService:
    """Members' verification levels and what changes them."""

    def __init__(
        self,
        clock: Clock,
        settings: VerificationSettings,
        vault: DocumentVault,
        notifications: NotificationService,
        *,
        changed: Changed = _nothing,
    ) -> None:
        self._clock = clock
        self.settings = settings
        self.vault = vault
        self._notifications = notifications
        self.changed = changed

    # Levels
    async def verify(
        self, member: Member, method: VerificationMethod, *, by: Member | None, detail: str = ""
    ) -> bool:
        """Make ``member`` verified by ``method``; whether they were not already (a verified
        member keeps the method and date they were first verified with)."""
        if member.verification is Verification.VERIFIED:
            return False
        pending = await ResidenceDocument.filter(member_id=member.id, state=DocumentState.PENDING)
        for document in pending:  # not needed any more, so not kept any longer
            # Deleted inside the caller's transaction: should it roll back, the row stays
            # pending without its file, and the manager who opens it is asked for a new one.
            await self._destroy(
                [
                    await self._close(
                        document,
                        DocumentState.WITHDRAWN,
                        by=by,
                        reason=f"verified by {method.value}",
                    )
                ]
            )
        member.verification_method = method
        member.verified_at = self._clock()
        member.verified_by_id = by.id if by is not None else None  # type: ignore[attr-defined]
        await self._set_level(
            member,
            Verification.VERIFIED,
            action=f"verified.{method.value}",
            by=by,
            detail=detail,
            notify=NotificationType.VERIFIED,
        )
        return True

    async def set_by_manager(
        self,
        member: Member,
        *,
        verified: bool,
        by: Member | None,
        reason: str = "",
        false: bool = False,
    ) -> Member:
        """A manager verifies a member they know, or takes a verification back; ``false``
        says it was found false, which discredits the member's own vouches too. ``by`` is
        ``None`` for the node's own command line (run by whoever administers the machine)."""
        if by is not None and member.id == by.id and by.role is not Role.ADMIN:
            # the admin who runs the node answers for themself; a manager is verified by another
            raise Forbidden("another manager decides on your own verification")
        reason = _reason(reason, required=false)
        async with in_transaction():
            member = await _locked(member.id)
            if verified:
                await self.verify(member, VerificationMethod.MANAGER, by=by, detail=reason)
                await self._clear_review(member)
                return member
            if member.verification is not Verification.UNVERIFIED:
                await self._drop(member, Verification.UNVERIFIED, by=by, reason=reason)
            if false:
                await self.discredit(member, by=by, reason=reason or "found false")
            await self._clear_review(member)
        return member

    async def verify_listed(self, member_id: int, *, detail: str) -> bool:
        """A landlord's or town hall's list of residents names this member: verified by
        ``manager`` with no manager in person (``by`` is the node); whether they were not
        already. ``detail`` says where in the list (never what the list says)."""
        async with in_transaction():
            member = await _locked(member_id)
            verified = await self.verify(member, VerificationMethod.MANAGER, by=None, detail=detail)
            if verified:
                await self._clear_review(member)
        return verified

    async def discredit(self, voucher: Member, *, by: Member | None, reason: str) -> int:
        """``voucher`` was suspended or their verification found false: their vouches stop
        counting, and every member their vouch helped verify drops back to ``vouched`` and
        goes on the managers' review list. Returns how many members dropped back."""
        now = self._clock()
        async with in_transaction():
            vouches = await Vouch.filter(
                voucher_id=voucher.id, withdrawn_at__isnull=True, discredited_at__isnull=True
            ).select_related("member")
            dropped = 0
            for vouch in vouches:
                vouch.discredited_at = now
                await vouch.save(update_fields=["discredited_at"])
                member = await _locked(vouch.member_id)  # type: ignore[attr-defined]
                remaining = await _counting(member.id).count()
                by_vouching = (
                    member.verification is Verification.VERIFIED
                    and member.verification_method is VerificationMethod.VOUCHING
                )
                # It helped if it was there when they were verified, or if without it too
                # few vouches hold the verification up now.
                helped = by_vouching and (
                    (member.verified_at is not None and vouch.created_at <= member.verified_at)
                    or remaining < self.settings.vouches_needed
                )
                level = Verification.VOUCHED if remaining else Verification.UNVERIFIED
                if helped:
                    # The member is told neutrally: why the voucher was discredited is not
                    # theirs to read (the audit trail keeps it for staff).
                    await self._drop(member, level, by=by, reason=DISCREDITED)
                    await self._flag_for_review(member, DISCREDITED)
                    await self._audit(
                        "review.discredited_voucher",
                        by=by,
                        subject=member,
                        detail=f"vouched for by {voucher.username}",
                    )
                    dropped += 1
                elif not by_vouching and member.verification not in (
                    Verification.VERIFIED,
                    level,
                ):
                    await self._set_level(
                        member, level, action=f"level.{level.value}", by=by, detail="", notify=None
                    )
            await self._audit("vouches.discredited", by=by, subject=voucher, detail=reason)
        return dropped

    async def review_list(self) -> list[Member]:
        """Members whose verification needs a manager's look, longest waiting first."""
        return await Member.filter(review_since__isnull=False).order_by("review_since", "id")

    async def _set_level(
        self,
        member: Member,
        level: Verification,
        *,
        action: str,
        by: Member | None,
        detail: str,
        notify: NotificationType | None,
    ) -> None:
        member.verification = level
        if level is not Verification.VERIFIED:
            member.verification_method = None  # type: ignore[assignment]
            member.verified_at = None
            member.verified_by_id = None  # type: ignore[attr-defined]
        async with in_transaction():
            await member.save(
                update_fields=[
                    "verification",
                    "verification_method",
                    "verified_at",
                    "verified_by_id",
                    "updated_at",
                ]
            )
            await self._audit(action, by=by, subject=member, detail=detail)
            if notify is not None:
                await self._notifications.notify(member.id, notify, detail=detail)
            await self.changed(member)

    async def _drop(
        self, member: Member, level: Verification, *, by: Member | None, reason: str
    ) -> None:
        await self._set_level(
            member,
            level,
            action=f"dropped.{level.value}",
            by=by,
            detail=reason,
            notify=NotificationType.VERIFICATION_LOST,
        )

    async def _flag_for_review(self, member: Member, reason: str) -> None:
        member.review_reason = reason[:200]
        member.review_since = self._clock()
        await member.save(update_fields=["review_reason", "review_since"])
        for staff in await Member.filter(role__in=(Role.MANAGER, Role.ADMIN)).only("id"):
            await self._notifications.notify(
                staff.id, NotificationType.VERIFICATION_REVIEW, detail=member.username
            )

    async def _clear_review(self, member: Member) -> None:
        if member.review_since is not None:
            member.review_reason = ""
            member.review_since = None
            await member.save(update_fields=["review_reason", "review_since"])

    async def _audit(
        self,
        action: str,
        *,
        by: Member | None,
        subject: Member | None,
        document_id: int | None = None,
        detail: str = "",
    ) -> None:
        await VerificationEvent.create(
            at=self._clock(),
            action=action,
            by=by,
            subject=subject,
            document_id=document_id,
            detail=detail[:500],
        )

    # Proofs of residence
    async def upload(self, member: Member, data: bytes, filename: str | None) -> ResidenceDocument:
        """Store a proof of residence, encrypted, for a manager to review."""
        if member.verification is Verification.VERIFIED:
            raise Conflict("you are already verified")
        media_type = await asyncio.to_thread(check_document, data, self.settings.document_max_bytes)
        label = clean_filename(filename, media_type)
        if await ResidenceDocument.exists(member_id=member.id, state=DocumentState.PENDING):
            raise Conflict("a proof of residence of yours is already waiting for a manager")
        storage_name = await asyncio.to_thread(self.vault.seal, data, member.id, label)
        try:
            async with in_transaction():
                # Under the member's row lock, so two uploads at once leave one pending.
                await _locked(member.id)
                if await ResidenceDocument.exists(member_id=member.id, state=DocumentState.PENDING):
                    raise Conflict("a proof of residence of yours is already waiting for a manager")
                document = await ResidenceDocument.create(
                    member_id=member.id,
                    media_type=media_type,
                    size_bytes=len(data),
                    storage_name=storage_name,
                    uploaded_at=self._clock(),
                )
                await self._audit(
                    "document.uploaded", by=member, subject=member, document_id=document.id
                )
        except BaseException:
            await asyncio.to_thread(self.vault.destroy, storage_name)
            raise
        return document

    async def filename_of(self, document: ResidenceDocument) -> str | None:
        """The member's name for a pending document (sealed in its file), else ``None``."""
        if document.storage_name is None:
            return None
        label = await asyncio.to_thread(
            self.vault.label,
            document.storage_name,
            document.member_id,  # type: ignore[attr-defined]
        )
        return label or None

    async def documents_of(self, member: Member) -> list[ResidenceDocument]:
        """A member's proofs of residence (their outcomes), newest first."""
        return await ResidenceDocument.filter(member_id=member.id).order_by("-id")

    async def withdraw_document(self, member: Member) -> ResidenceDocument:
        """The member takes back their pending proof of residence; it is deleted."""
        document = await ResidenceDocument.get_or_none(
            member_id=member.id, state=DocumentState.PENDING
        )
        if document is None:
            raise NotFound("you have no proof of residence waiting")
        await self._destroy(
            [await self._close(document, DocumentState.WITHDRAWN, by=member, reason="")]
        )
        return document

    async def pending_documents(self) -> list[ResidenceDocument]:
        """Proofs of residence waiting for a manager, oldest first, with their members."""
        return (
            await ResidenceDocument.filter(state=DocumentState.PENDING)
            .order_by("uploaded_at", "id")
            .select_related("member")
        )

    async def open_document(self, document_id: int, viewer: Member) -> OpenedDocument:
        """A pending document decrypted for a manager or admin; the view is audited first."""
        _require_staff(viewer)
        document = await self._pending(document_id)
        await self._audit(
            "document.viewed",
            by=viewer,
            subject=await document.member,
            document_id=document.id,
        )
        try:
            label, data = await asyncio.to_thread(
                self.vault.open,
                document.storage_name or "",
                document.member_id,  # type: ignore[attr-defined]
            )
        except DocumentUnreadable as exc:
            log.error("proof of residence %d cannot be read: %s", document.id, exc)
            raise NotFound(
                "this document's file is missing or damaged; ask for a new one"
            ) from None
        return OpenedDocument(document, label, data)

    async def decide(
        self, document_id: int, *, by: Member, approve: bool, reason: str
    ) -> ResidenceDocument:
        """Approve (the member is verified by ``document``) or reject (with a reason they
        read) a proof of residence; either way its file is deleted now."""
        _require_staff(by)
        reason = _reason(reason, required=not approve)
        document = await self._pending(document_id)
        if document.member_id == by.id:  # type: ignore[attr-defined]
            raise Forbidden("another manager decides on your own proof of residence")
        async with in_transaction():
            member = await _locked(document.member_id)  # type: ignore[attr-defined]
            state = DocumentState.APPROVED if approve else DocumentState.REJECTED
            name = await self._close(document, state, by=by, reason=reason)
            if name is None:
                raise Conflict("this document was decided already")
            if approve:
                await self.verify(member, VerificationMethod.DOCUMENT, by=by, detail=reason)
                await self._clear_review(member)
            else:
                await self._notifications.notify(
                    member.id, NotificationType.DOCUMENT_REJECTED, detail=reason
                )
        await self._destroy([name])
        return document

    async def purge_documents(self) -> int:
        """Delete the proofs nobody decided on within ``document_max_days``, and files no
        row names (left by a crash between writing a file and its row); returns how many."""
        limit = self._clock() - timedelta(days=self.settings.document_max_days)
        stale = await ResidenceDocument.filter(
            state=DocumentState.PENDING, uploaded_at__lte=limit
        ).select_related("member")
        for document in stale:
            name = await self._close(document, DocumentState.EXPIRED, by=None, reason="")
            if name is not None:
                await self._destroy([name])
                await self._notifications.notify(
                    document.member.id,
                    NotificationType.DOCUMENT_REJECTED,
                    detail="no manager decided in time; you may send it again",
                )
        # The disk first, then the rows: a file sealed just now whose row is not committed yet
        # is young, and spared (its upload may still be under way).
        on_disk = await asyncio.to_thread(self.vault.stored_names)
        known = set(
            await ResidenceDocument.filter(storage_name__isnull=False).values_list(
                "storage_name", flat=True
            )
        )
        grace = self._clock().timestamp() - ORPHAN_GRACE.total_seconds()
        orphans = [
            name
            for name in on_disk
            if name not in known and await asyncio.to_thread(self.vault.modified, name) < grace
        ]
        await self._destroy(orphans)
        for name in await asyncio.to_thread(self.vault.stale_temporaries, grace):
            await asyncio.to_thread(self.vault.remove_temporary, name)
        return len(stale)

    async def sweep(self) -> int:
        """What the clock does to verification (run every few minutes): proofs of
        residence past ``document_max_days`` are deleted."""
        return await self.purge_documents()

    async def _pending(self, document_id: int) -> ResidenceDocument:
        document = await ResidenceDocument.get_or_none(id=document_id)
        if document is None:
            raise NotFound("no such document")
        if document.state is not DocumentState.PENDING or document.storage_name is None:
            raise Conflict(f"this document was {document.state.value}; its file is deleted")
        return document

    async def _close(
        self, document: ResidenceDocument, state: DocumentState, *, by: Member | None, reason: str
    ) -> str | None:
        """End a pending document's life: the outcome is kept, its name goes. Returns the
        file for the caller to :meth:`_destroy` once its transaction committed (``None``
        when another request closed it first)."""
        name = document.storage_name
        now = self._clock()
        closed = await ResidenceDocument.filter(id=document.id, state=DocumentState.PENDING).update(
            state=state,
            decided_at=now,
            decided_by_id=by.id if by is not None else None,
            reason=reason,
            storage_name=None,
            deleted_at=now,
        )
        if not closed:
            return None
        await self._audit(
            f"document.{state.value}",
            by=by,
            subject=await Member.get(id=document.member_id),  # type: ignore[attr-defined]
            document_id=document.id,
            detail=reason,
        )
        await document.refresh_from_db()
        return name

    async def _destroy(self, names: Sequence[str | None]) -> None:
        for name in names:
            if name is not None:
                await asyncio.to_thread(self.vault.destroy, name)

    # Vouching
    async def vouch(self, voucher: Member, member: Member) -> Vouch:
        """``voucher`` (verified) vouches that ``member`` lives here; enough such vouches
        verify them."""
        if voucher.id == member.id:
            raise Forbidden("you cannot vouch for yourself")
        if voucher.verification is not Verification.VERIFIED:
            raise Forbidden("only verified members may vouch for a neighbour")
        now = self._clock()
        async with in_transaction():
            member = await _locked(member.id)
            vouch = await Vouch.get_or_none(voucher_id=voucher.id, member_id=member.id)
            if vouch is not None and vouch.discredited_at is not None:
                raise Forbidden("your earlier vouch for this member was discredited")
            if vouch is not None and vouch.withdrawn_at is None:
                return vouch  # vouching twice is vouching once
            if vouch is None:
                vouch = await Vouch.create(
                    voucher_id=voucher.id, member_id=member.id, created_at=now
                )
            else:
                vouch.withdrawn_at = None
                vouch.created_at = now
                await vouch.save(update_fields=["withdrawn_at", "created_at"])
            await self._audit("vouch.given", by=voucher, subject=member)
            await self._recount(member, by=voucher)
        return vouch

    async def vouch_from_invite(self, member: Member) -> Vouch | None:
        """At registration: the vouch the member's invite carried, if its sender may still
        vouch (verified now); ``None`` when there was none to give."""
        invite = (
            await Invite.filter(used_by_id=member.id, vouch=True)
            .select_related("created_by")
            .first()
        )
        voucher = invite.created_by if invite is not None else None
        if voucher is None or voucher.verification is not Verification.VERIFIED:
            return None
        return await self.vouch(voucher, member)

    async def withdraw_vouch(self, voucher: Member, member: Member) -> None:
        """``voucher`` takes their vouch back; a member it verified with too few others left
        drops back to ``vouched`` (or ``unverified``)."""
        async with in_transaction():
            member = await _locked(member.id)
            withdrawn = await Vouch.filter(
                voucher_id=voucher.id,
                member_id=member.id,
                withdrawn_at__isnull=True,
                discredited_at__isnull=True,
            ).update(withdrawn_at=self._clock())
            if not withdrawn:
                raise NotFound("you have not vouched for this member")
            await self._audit("vouch.withdrawn", by=voucher, subject=member)
            await self._recount(member, by=voucher)

    async def vouchers_of(self, member: Member) -> list[Member]:
        """The verified members whose vouches for ``member`` count now."""
        rows = await _counting(member.id).select_related("voucher").order_by("created_at")
        return [row.voucher for row in rows]

    async def vouched_by(self, voucher: Member) -> list[Member]:
        """The members ``voucher`` vouches for (withdrawn and discredited vouches aside)."""
        rows = (
            await Vouch.filter(
                voucher_id=voucher.id, withdrawn_at__isnull=True, discredited_at__isnull=True
            )
            .select_related("member")
            .order_by("created_at")
        )
        return [row.member for row in rows]

    async def _recount(self, member: Member, *, by: Member) -> None:
        """Set ``member``'s level from the vouches that count; only levels that vouching
        gave are taken back by it (a document or a manager's verification stays)."""
        count = await _counting(member.id).count()
        needed = self.settings.vouches_needed
        # A member on the review list waits for a manager: vouches alone do not verify them.
        if count >= needed and member.review_since is None:
            verified = await self.verify(
                member, VerificationMethod.VOUCHING, by=None, detail=f"{count} vouches"
            )
            if verified:
                return
        if member.verification is Verification.VERIFIED:
            if member.verification_method is not VerificationMethod.VOUCHING or count >= needed:
                return
            await self._drop(
                member,
                Verification.VOUCHED if count else Verification.UNVERIFIED,
                by=by,
                reason=f"{count} of the {needed} vouches needed remain",
            )
            return
        level = Verification.VOUCHED if count else Verification.UNVERIFIED
        if level is not member.verification:
            notify = NotificationType.VOUCHED if count else None
            await self._set_level(
                member, level, action=f"level.{level.value}", by=by, detail="", notify=notify
            )


def _counting(member_id: int) -> QuerySet[Vouch]:
    """The vouches for a member that count: standing, from members verified now."""
    return Vouch.filter(
        Q(member_id=member_id)
        & Q(withdrawn_at__isnull=True)
        & Q(discredited_at__isnull=True)
        & Q(voucher__verification=Verification.VERIFIED)
    )


async def _locked(member_id: int) -> Member:
    """The member's row, locked for the transaction on PostgreSQL (SQLite serialises them)."""
    member = await Member.filter(id=member_id).select_for_update().first()
    if member is None:
        raise NotFound("no such member")
    return member


def _require_staff(member: Member) -> None:
    if member.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden("only managers and admins handle proofs of residence")


def _reason(reason: str, *, required: bool) -> str:
    text = " ".join(reason.split())
    if required and not text:
        raise ValidationFailed(
            "a reason is required", details=[{"field": "reason", "message": "say why"}]
        )
    if len(text) > MAX_REASON:
        raise ValidationFailed(
            "the reason is too long",
            details=[{"field": "reason", "message": f"at most {MAX_REASON} characters"}],
        )
    return text
