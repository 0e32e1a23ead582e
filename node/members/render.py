"""Members as API JSON and as ActivityPub ``Person`` actors."""

from __future__ import annotations

from typing import Any

from activitypub.actors import Residency
from activitypub.properties import format_timestamp
from activitypub.uris import UriScheme
from node.actors.render import local_actor_to_ap
from node.members.models import Invite, LoginSession, Member


def member_to_ap(
    member: Member,
    uris: UriScheme,
    *,
    residency: Residency | None = None,
    profile: bool = True,
    real_name: bool = False,
) -> dict[str, Any]:
    """The member's ``Person`` document; ``residency`` links their residency credential when
    they have one in force. What the community's policy shares decides the rest: without
    ``profile``, no display name or bio (only what federation needs: the handle, inboxes,
    keys); with ``real_name``, a "Real name" profile field."""
    actor_id = uris.actor(member.username)
    return local_actor_to_ap(
        member,
        actor_id,
        uris,
        actor_type="Person",
        preferred_username=member.username,
        name=member.display_name if profile else member.username,
        summary=member.bio if profile else "",
        url=actor_id,
        published=member.created_at,
        residency=residency,
        real_name=member.real_name if profile and real_name else None,
    )


def member_to_api(member: Member, uris: UriScheme, *, private: bool) -> dict[str, Any]:
    """The member as the client API shows it; ``private`` adds what only they and staff see."""
    doc: dict[str, Any] = {
        "username": member.username,
        "acct": f"{member.username}@{uris.domain}",
        "display_name": member.display_name,
        "bio": member.bio,
        "role": member.role.value,
        "actor": uris.actor(member.username),
        "created_at": format_timestamp(member.created_at),
        "verification": {
            "level": member.verification.value,
            "method": member.verification_method.value if member.verification_method else None,
            "verified_at": format_timestamp(member.verified_at),
        },
    }
    if private:
        doc["real_name"] = member.real_name
        doc["unit"] = member.unit
        doc["email"] = member.email
        # the language of their pages; "" follows the browser
        doc["language"] = member.language
        # why a manager should look at their verification again (a voucher was discredited)
        doc["review"] = (
            None
            if member.review_since is None
            else {"reason": member.review_reason, "since": format_timestamp(member.review_since)}
        )
        doc["last_active_at"] = format_timestamp(member.last_active_at)
    return doc


def invite_to_api(invite: Invite, code: str | None = None) -> dict[str, Any]:
    """An invite for admins; ``code`` only at creation."""
    doc: dict[str, Any] = {
        "id": invite.id,
        "role": invite.role.value,
        "note": invite.note,
        "created_at": format_timestamp(invite.created_at),
        "expires_at": format_timestamp(invite.expires_at),
        "used_at": format_timestamp(invite.used_at),
        "revoked_at": format_timestamp(invite.revoked_at),
        "vouch": invite.vouch,
    }
    if code is not None:
        doc["code"] = code
    return doc


def session_to_api(session: LoginSession, *, current: bool) -> dict[str, Any]:
    """A login session as its owner sees it (never the token)."""
    return {
        "id": session.id,
        "label": session.label,
        "created_at": format_timestamp(session.created_at),
        "expires_at": format_timestamp(session.expires_at),
        "last_used_at": format_timestamp(session.last_used_at),
        "current": current,
        # An app's OAuth token: what the member let it do (``None``: a login of their own).
        "scopes": session.scopes.split() if session.scopes is not None else None,
    }
