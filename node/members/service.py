"""What can happen to members: invites, registration, login sessions, profiles, roles.

Functions take plain arguments and return models of this package; HTTP and CLI are thin layers
on top. Secrets (invite codes, session tokens) are returned once and stored only as SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.keys import generate_actor_keys
from activitypub.uris import UriScheme
from federation.trust import trusted_residents
from node.clock import Clock
from node.errors import (
    AccountSuspended,
    Conflict,
    InvalidCredentials,
    InviteUnusable,
    NotFound,
    ValidationFailed,
    WrongPassword,
)
from node.groups.models import LocalGroup
from node.languages import PAGE_LANGUAGES
from node.members.models import (
    ErasedAccount,
    Invite,
    LoginSession,
    Member,
    Role,
    Verification,
)
from node.members.passwords import hash_password, needs_rehash, verify_password

USERNAME_PATTERN = re.compile(r"[a-z0-9_]{1,30}")
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "administrator",
        "root",
        "system",
        "quartier",
        "actor",
        "instance",
        "inbox",
        "moderator",
        "moderation",
        "support",
        "api",
        "users",
        "nodeinfo",
        "webfinger",
        "postmaster",
    }
)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# Refresh last_active_at at most this often, so authenticated reads do not all write.
ACTIVITY_RESOLUTION = timedelta(hours=1)


def secret_hash(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (token, invite code).

    ``surrogatepass``: a client can send lone surrogates (in JSON, or as undecodable header
    bytes); such a secret must simply not match, not crash the encoder.
    """
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


MAX_NAME_LENGTH = 100
MAX_NOTE_LENGTH = 200
MAX_INVITE_TTL = timedelta(days=365)


def canonical_username(username: str) -> str:
    """The form usernames are stored and compared in."""
    return username.strip().lower()


def is_valid_username(username: str) -> bool:
    """Whether ``username`` (canonical) could be a member's: checked before any lookup."""
    return USERNAME_PATTERN.fullmatch(username) is not None


async def _not_a_group(name: str) -> None:
    """Groups (the neighbourhood, circles) and members share the ``acct:`` handle space: a
    circle's slug is as reserved as the neighbourhood's."""
    if await LocalGroup.exists(slug=name):
        raise ValidationFailed(
            "the username is not available",
            details=[{"field": "username", "message": f"{name!r} is reserved"}],
        )


def normalise_username(username: str, reserved: frozenset[str] = frozenset()) -> str:
    """Lower-case and validate a username, raising ``ValidationFailed`` with the rule."""
    name = canonical_username(username)
    if not is_valid_username(name):
        raise ValidationFailed(
            "invalid username",
            details=[{"field": "username", "message": "1 to 30 of a-z, 0-9 and _"}],
        )
    if name in RESERVED_USERNAMES or name in reserved:
        raise ValidationFailed(
            "invalid username",
            details=[{"field": "username", "message": f"{name!r} is reserved"}],
        )
    return name


def check_password_strength(password: str, field: str = "password") -> None:
    """Refuse passwords that are too short or absurdly long (argon2 cost is per byte).

    ``field`` names the request field in the error, so a client can flag the right input.
    """
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            "invalid password",
            details=[
                {
                    "field": field,
                    "message": f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
                }
            ],
        )


def check_name(field: str, value: str) -> str:
    """A real or display name: 1 to 100 printable characters once trimmed."""
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not name.isprintable():
        raise ValidationFailed(
            f"invalid {field.replace('_', ' ')}",
            details=[{"field": field, "message": f"1 to {MAX_NAME_LENGTH} printable characters"}],
        )
    return name


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+")
MAX_EMAIL_LENGTH = 254


def check_unit(value: str) -> str:
    """Where in the community a member lives (flat, building, street): empty, or up to 100
    printable characters once trimmed."""
    unit = " ".join(value.split())
    if len(unit) > MAX_NAME_LENGTH or not unit.isprintable():
        raise ValidationFailed(
            "invalid unit",
            details=[
                {"field": "unit", "message": f"at most {MAX_NAME_LENGTH} printable characters"}
            ],
        )
    return unit


def check_language(value: str) -> str:
    """A member's page language: one the pages are written in, or "" to follow the browser."""
    if value and value not in PAGE_LANGUAGES:
        choices = ", ".join(f'"{code}"' for code in PAGE_LANGUAGES)
        raise ValidationFailed(
            "invalid language",
            details=[{"field": "language", "message": f'one of {choices}, or "" (the browser\'s)'}],
        )
    return value


def check_email(value: str) -> str:
    """An e-mail address (only its shape is checked; it is never written to), or empty."""
    email = value.strip().lower()
    if email and (len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email)):
        raise ValidationFailed(
            "invalid e-mail address",
            details=[{"field": "email", "message": "an address such as ada@example.org"}],
        )
    return email


@dataclass(frozen=True)
class NewSecret:
    """A secret shown to its owner once."""

    secret: str
    expires_at: datetime


class MemberService:
    """Members, invites and sessions of one node."""

    def __init__(
        self,
        clock: Clock,
        *,
        invite_ttl: timedelta,
        session_ttl: timedelta,
        reserved_usernames: frozenset[str] = frozenset(),
    ) -> None:
        self._clock = clock
        self.invite_ttl = invite_ttl
        self.session_ttl = session_ttl
        # Told the ids of sessions just ended here (the streaming API closes their streams).
        self.sessions_ended: list[Callable[[list[int]], None]] = []
        # Names that must not become members' (the node actor's handle on a dotless host).
        self.reserved_usernames = reserved_usernames

    # Invites
    async def create_invite(
        self,
        role: Role = Role.RESIDENT,
        *,
        created_by: Member | None = None,
        note: str = "",
        ttl: timedelta | None = None,
        vouch: bool = False,
    ) -> tuple[Invite, NewSecret]:
        """A new single-use invite; the code is in the returned secret only. With ``vouch``
        its creator (a verified member) vouches for whoever registers with it."""
        if len(note) > MAX_NOTE_LENGTH:
            raise ValidationFailed(
                "invalid note",
                details=[{"field": "note", "message": f"at most {MAX_NOTE_LENGTH} characters"}],
            )
        if ttl is not None and not timedelta(hours=1) <= ttl <= MAX_INVITE_TTL:
            raise ValidationFailed(
                "invalid validity",
                details=[{"field": "ttl_hours", "message": "1 hour to 365 days"}],
            )
        code = secrets.token_urlsafe(18)
        expires_at = self._clock() + (ttl or self.invite_ttl)
        invite = await Invite.create(
            code_hash=secret_hash(code),
            role=role,
            note=note,
            created_by=created_by,
            expires_at=expires_at,
            vouch=vouch,
        )
        return invite, NewSecret(code, expires_at)

    async def list_invites(
        self, *, include_spent: bool = False, created_by: Member | None = None
    ) -> list[Invite]:
        """Invites, newest first; by default only those still usable; with ``created_by``
        only that member's."""
        query = Invite.all().order_by("-id")
        if created_by is not None:
            query = query.filter(created_by_id=created_by.id)
        if not include_spent:
            query = query.filter(
                used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=self._clock()
            )
        return await query

    async def revoke_invite(self, invite_id: int, *, created_by: Member | None = None) -> Invite:
        """Revoke an unused invite (with ``created_by``: only one that member made)."""
        invite = await Invite.get_or_none(id=invite_id)
        if invite is None or (
            created_by is not None and invite.created_by_id != created_by.id  # type: ignore[attr-defined]
        ):
            raise NotFound("no such invite")
        if invite.used_at is not None:
            raise Conflict("this invite was already used")
        if invite.revoked_at is None:
            invite.revoked_at = self._clock()
            await invite.save(update_fields=["revoked_at"])
        return invite

    async def revoke_unused_invites(self, role: Role, note: str) -> int:
        """Revoke the unused invites of ``role`` made with ``note``; returns how many."""
        return await Invite.filter(
            role=role, note=note, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=self._clock())

    # Registration
    async def register(
        self,
        invite_code: str,
        *,
        username: str,
        password: str,
        real_name: str,
        display_name: str | None = None,
        unit: str = "",
        email: str = "",
    ) -> Member:
        """Create a member from an invite. The invite is consumed atomically with the creation.

        Real names stay on the node: the public display name defaults to the username. Unit
        and e-mail are optional and seen by staff only.
        """
        name = normalise_username(username, self.reserved_usernames)
        await _not_a_group(name)
        real_name = check_name("real_name", real_name)
        unit, email = check_unit(unit), check_email(email)
        display_name = check_name("display_name", display_name or name)
        check_password_strength(password)
        invite = await Invite.get_or_none(code_hash=secret_hash(invite_code))
        now = self._clock()
        if invite is None or invite.revoked_at is not None:
            raise InviteUnusable("this invite code is not valid")
        if invite.used_at is not None:
            raise InviteUnusable("this invite was already used")
        if invite.expires_at <= now:
            raise InviteUnusable("this invite has expired")
        # An erased account's name stays taken: other servers still know that actor by it.
        if await Member.exists(username=name) or await ErasedAccount.exists(username=name):
            raise Conflict("this username is taken")
        password_hash, keys = await asyncio.gather(
            hash_password(password), asyncio.to_thread(generate_actor_keys)
        )
        try:
            async with in_transaction():
                member = await Member.create(
                    username=name,
                    real_name=real_name,
                    display_name=display_name,
                    unit=unit,
                    email=email,
                    password_hash=password_hash,
                    role=invite.role,
                    **Member.key_columns(keys),
                )
                # Conditional update: of two registrations racing for one invite, one wins.
                claimed = await Invite.filter(id=invite.id, used_at__isnull=True).update(
                    used_at=now, used_by_id=member.id
                )
                if not claimed:
                    raise InviteUnusable("this invite was already used")
        except IntegrityError:
            raise Conflict("this username is taken") from None
        return member

    async def create_member(
        self,
        *,
        username: str,
        password: str,
        real_name: str,
        display_name: str | None = None,
        role: Role,
        unit: str = "",
        email: str = "",
    ) -> Member:
        """Create a member directly (``quartier admin create``), without an invite."""
        name = normalise_username(username, self.reserved_usernames)
        await _not_a_group(name)
        real_name = check_name("real_name", real_name)
        unit, email = check_unit(unit), check_email(email)
        display_name = check_name("display_name", display_name or name)
        check_password_strength(password)
        # An erased account's name stays taken: other servers still know that actor by it.
        if await Member.exists(username=name) or await ErasedAccount.exists(username=name):
            raise Conflict("this username is taken")
        password_hash, keys = await asyncio.gather(
            hash_password(password), asyncio.to_thread(generate_actor_keys)
        )
        try:
            return await Member.create(
                username=name,
                real_name=real_name,
                display_name=display_name,
                unit=unit,
                email=email,
                password_hash=password_hash,
                role=role,
                **Member.key_columns(keys),
            )
        except IntegrityError:
            raise Conflict("this username is taken") from None

    # Sessions
    async def authenticate(self, username: str, password: str) -> Member:
        """The member whose credentials these are, or ``InvalidCredentials``."""
        member = await Member.get_or_none(username=canonical_username(username))
        ok = await verify_password(member.password_hash if member else None, password)
        if member is None or not ok:
            raise InvalidCredentials("wrong username or password")
        if member.suspended_at is not None:
            # Only after the password: a guesser learns nothing of the suspension.
            raise AccountSuspended(
                "this account is suspended by the moderators: "
                "appeal with POST /api/quartier/v1/suspension/appeal"
            )
        if needs_rehash(member.password_hash):
            member.password_hash = await hash_password(password)
            await member.save(update_fields=["password_hash"])
        return member

    async def open_session(self, member: Member, label: str = "") -> tuple[LoginSession, NewSecret]:
        """A new login session; the token is in the returned secret only."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = await LoginSession.create(
            member=member,
            token_hash=secret_hash(token),
            label=label[:200],
            expires_at=now + self.session_ttl,
            last_used_at=now,
        )
        await self.touch(member)
        return session, NewSecret(token, session.expires_at)

    async def session_for_token(self, token: str) -> LoginSession | None:
        """The live session of a token (with its member loaded), or ``None``."""
        now = self._clock()
        session = (
            await LoginSession.filter(
                token_hash=secret_hash(token),
                revoked_at__isnull=True,
                expires_at__gt=now,
                member__suspended_at__isnull=True,
            )
            .select_related("member")
            .first()
        )
        if session is None:
            return None
        if session.last_used_at is None or now - session.last_used_at > ACTIVITY_RESOLUTION:
            session.last_used_at = now
            await session.save(update_fields=["last_used_at"])
            await self.touch(session.member)
        return session

    async def list_sessions(self, member: Member) -> list[LoginSession]:
        """The member's live sessions, newest first."""
        return await LoginSession.filter(
            member=member, revoked_at__isnull=True, expires_at__gt=self._clock()
        ).order_by("-id")

    async def revoke_session(self, member: Member, session_id: int) -> None:
        """End one of the member's own sessions."""
        updated = await LoginSession.filter(
            id=session_id, member=member, revoked_at__isnull=True
        ).update(revoked_at=self._clock())
        if not updated:
            raise NotFound("no such session")
        self._ended([session_id])

    def _ended(self, session_ids: list[int]) -> None:
        for listener in self.sessions_ended:
            listener(session_ids)

    async def touch(self, member: Member) -> None:
        """Record that the member was active now (feeds NodeInfo's active user counts)."""
        now = self._clock()
        if member.last_active_at is None or now - member.last_active_at > ACTIVITY_RESOLUTION:
            await Member.filter(id=member.id).update(last_active_at=now)
            member.last_active_at = now

    # Profiles and roles
    async def get(self, username: str) -> Member:
        """A member by username, or ``NotFound``."""
        name = canonical_username(username)
        # Never send what cannot be a username to the database (NUL, huge strings).
        member = await Member.get_or_none(username=name) if is_valid_username(name) else None
        if member is None:
            raise NotFound("no such member")
        return member

    async def update_profile(
        self,
        member: Member,
        *,
        display_name: str | None = None,
        real_name: str | None = None,
        bio: str | None = None,
        unit: str | None = None,
        email: str | None = None,
        language: str | None = None,
    ) -> Member:
        """Change what the member may change of their own profile and settings."""
        if display_name is not None:
            display_name = check_name("display_name", display_name)
        if real_name is not None:
            real_name = check_name("real_name", real_name)
        unit = check_unit(unit) if unit is not None else None
        email = check_email(email) if email is not None else None
        language = check_language(language) if language is not None else None
        changed = []
        for field, value in (
            ("display_name", display_name),
            ("real_name", real_name),
            ("bio", bio),
            ("unit", unit),
            ("email", email),
            ("language", language),
        ):
            if value is not None:
                setattr(member, field, value)
                changed.append(field)
        if changed:
            await member.save(update_fields=[*changed, "updated_at"])
        return member

    async def change_password(
        self, member: Member, current: str, new: str, *, keep_session_id: int | None
    ) -> None:
        """Change the password after checking the current one; ends every other session."""
        if not await verify_password(member.password_hash, current):
            raise WrongPassword("current_password")
        check_password_strength(new, field="new_password")
        member.password_hash = await hash_password(new)
        others = LoginSession.filter(member=member, revoked_at__isnull=True).exclude(
            id=keep_session_id or 0
        )
        async with in_transaction():
            await member.save(update_fields=["password_hash", "updated_at"])
            ended = [int(i) for i in await others.values_list("id", flat=True)]  # type: ignore[call-overload]
            await others.update(revoked_at=self._clock())
        self._ended(ended)

    async def set_role(self, username: str, role: Role) -> Member:
        """Give a member another role; the last admin cannot be demoted."""
        member = await self.get(username)
        async with in_transaction():
            # Lock the admins' rows (PostgreSQL) so two admins demoting each other at the same
            # moment cannot both see "another admin remains"; SQLite transactions are
            # already serialised by tortoise's single connection.
            # Model rows, not values_list: tortoise 1.1.9 drops FOR UPDATE from values_list.
            locked = await Member.filter(role=Role.ADMIN).select_for_update().only("id")
            admins = [admin.id for admin in locked]
            if member.id in admins and role != Role.ADMIN and len(admins) <= 1:
                raise Conflict("the node must keep at least one admin")
            member.role = role
            await member.save(update_fields=["role", "updated_at"])
        return member

    async def list_members(self) -> list[Member]:
        """Every member, oldest first."""
        return await Member.all().order_by("id")

    async def has_admin(self) -> bool:
        """Whether the node has at least one admin."""
        return await Member.exists(role=Role.ADMIN)


async def verified_actors(uris: UriScheme, now: datetime) -> frozenset[str]:
    """The actor ids of this node's verified members, and of other nodes' members whose
    residency credential this node checked and trusts."""
    names = await Member.filter(verification=Verification.VERIFIED).values_list(
        "username", flat=True
    )
    return frozenset(uris.actor(str(name)) for name in names) | await trusted_residents(now)
