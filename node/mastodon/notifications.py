"""Quartier's notifications as Mastodon's.

Apps know Mastodon's notification types only (an unknown type is dropped or crashes them), so
ours are mapped onto the nearest one:

| Quartier                                   | Mastodon          | status                    |
|--------------------------------------------|-------------------|---------------------------|
| someone asks to follow you                 | ``follow_request``| none                      |
| a post mentions you                        | ``mention``       | that post                 |
| an answer to your listing                  | ``mention``       | the answer, or the listing|
| a change in an agreement                   | ``mention``       | the listing               |
| a new listing matches a saved search       | ``status``        | the listing               |
| anything else (verification, moderation,   | ``mention``       | a direct post from the    |
| notices, problems, a listing expiring)     |                   | community's own account   |

The community's own account is the node's Application actor; its posts for notifications are
made the first time they are read, addressed to the member alone.
"""

from __future__ import annotations

import html
from typing import Any

from activitypub.uris import UriScheme
from node.listings.models import Response
from node.mastodon.entities import Renderer, iso
from node.members.models import Member
from node.notifications.models import Notification, NotificationType
from node.statuses.models import Status, StatusKind, Visibility

# What each system notification says, in the community's language.
_TEXTS = {
    "en": {
        NotificationType.EXPIRING: "Your listing expires soon.",
        NotificationType.VERIFIED: "You are now a verified neighbour.",
        NotificationType.VOUCHED: "A neighbour vouched for you.",
        NotificationType.DOCUMENT_REJECTED: "Your proof of residence was refused.",
        NotificationType.VERIFICATION_LOST: "Your verification was taken back or has lapsed.",
        NotificationType.VERIFICATION_REVIEW: "A member's verification needs a look.",
        NotificationType.REPORT: "A new report is waiting for the moderators.",
        NotificationType.WARNING: "A moderator warned you.",
        NotificationType.DECISION: "The moderators decided about something of yours.",
        NotificationType.ENDED: "Your follows and conversations with a suspended server ended.",
        NotificationType.NOTICE: "A new notice was published.",
        NotificationType.URGENT_NOTICE: "An urgent notice was published.",
        NotificationType.PROBLEM_STATUS: "The status of a problem you follow changed.",
        NotificationType.PROBLEM_COMMENT: "A problem you follow has a new comment.",
        NotificationType.PROBLEM_NEW: "A new problem was reported.",
    },
    "fr": {
        NotificationType.EXPIRING: "Votre annonce expire bientôt.",
        NotificationType.VERIFIED: "Vous êtes maintenant un voisin vérifié.",
        NotificationType.VOUCHED: "Un voisin s'est porté garant pour vous.",
        NotificationType.DOCUMENT_REJECTED: "Votre justificatif de domicile a été refusé.",
        NotificationType.VERIFICATION_LOST: "Votre vérification a été retirée ou a expiré.",
        NotificationType.VERIFICATION_REVIEW: "La vérification d'un membre demande un examen.",
        NotificationType.REPORT: "Un nouveau signalement attend les modérateurs.",
        NotificationType.WARNING: "Un modérateur vous a averti.",
        NotificationType.DECISION: "Les modérateurs ont pris une décision vous concernant.",
        NotificationType.ENDED: (
            "Vos abonnements et conversations avec un serveur suspendu ont pris fin."
        ),
        NotificationType.NOTICE: "Un nouvel avis a été publié.",
        NotificationType.URGENT_NOTICE: "Un avis urgent a été publié.",
        NotificationType.PROBLEM_STATUS: "Le statut d'un problème que vous suivez a changé.",
        NotificationType.PROBLEM_COMMENT: "Un problème que vous suivez a un nouveau commentaire.",
        NotificationType.PROBLEM_NEW: "Un nouveau problème a été signalé.",
    },
}

# Our types by the Mastodon type they are shown as (for ``types[]`` and ``exclude_types[]``).
AS_MASTODON = {
    NotificationType.FOLLOW_REQUEST: "follow_request",
    NotificationType.MATCH: "status",
}
MASTODON_TYPES = ("mention", "status", "follow_request")


def mastodon_type(kind: NotificationType) -> str:
    """The Mastodon type a notification of ``kind`` is shown as."""
    return AS_MASTODON.get(kind, "mention")


def our_types(mastodon: list[str]) -> list[NotificationType]:
    """Our types shown as any of the ``mastodon`` types."""
    return [k for k in NotificationType if mastodon_type(k) in mastodon]


class NotificationRenderer:
    """Renders notifications, making the community's posts they need."""

    def __init__(self, renderer: Renderer, uris: UriScheme, language: str) -> None:
        self._renderer = renderer
        self._uris = uris
        self._language = language if language in _TEXTS else "en"

    async def render(self, rows: list[Notification], member: Member) -> list[dict[str, Any]]:
        """The Notification entities of ``rows`` (all ``member``'s)."""
        me = self._uris.actor(member.username)
        statuses: dict[int, Status | None] = {}
        for row in rows:
            statuses[row.id] = await self._status_of(row, me)
        actors = [self._actor_of(row, statuses[row.id]) for row in rows]
        accounts = await self._renderer.accounts(actors)
        present = [s for s in statuses.values() if s is not None]
        rendered = {int(s["id"]): s for s in await self._renderer.statuses(present)}
        found = []
        for row, actor in zip(rows, actors, strict=True):
            kind = mastodon_type(row.type)
            status = statuses[row.id]
            body: dict[str, Any] = {
                "id": str(row.id),
                "type": kind,
                "created_at": iso(row.created_at),
                "group_key": f"ungrouped-{row.id}",
                "account": accounts[actor],
            }
            if kind != "follow_request":
                if status is None or status.id not in rendered:
                    continue  # what it was about is gone (or no longer shown)
                body["status"] = rendered[status.id]
            found.append(body)
        return found

    def _actor_of(self, row: Notification, status: Status | None) -> str:
        if row.actor:
            return row.actor
        if status is not None:
            return status.author
        return self._uris.instance_actor

    async def _status_of(self, row: Notification, me: str) -> Status | None:
        kind = row.type
        if kind == NotificationType.FOLLOW_REQUEST:
            return None
        if row.status_id is not None:  # type: ignore[attr-defined]
            return await Status.get_or_none(id=row.status_id)  # type: ignore[attr-defined]
        if kind == NotificationType.RESPONSE and row.response_id is not None:  # type: ignore[attr-defined]
            response = await Response.get_or_none(id=row.response_id)  # type: ignore[attr-defined]
            answer = await Status.get_or_none(ap_id=response.ap_id) if response else None
            if answer is not None:
                return answer
        if kind in (NotificationType.RESPONSE, NotificationType.AGREEMENT, NotificationType.MATCH):
            if row.listing_id is not None:  # type: ignore[attr-defined]
                return await Status.get_or_none(listing_id=row.listing_id)  # type: ignore[attr-defined]
            return None
        return await self._community_post(row, me)

    async def _community_post(self, row: Notification, me: str) -> Status:
        """The community account's direct post that carries a system notification."""
        ap_id = self._uris.url(f"/notifications/{row.id}")
        existing = await Status.get_or_none(ap_id=ap_id)
        if existing is not None:
            return existing
        text = _TEXTS[self._language].get(row.type, row.type.value)
        content = f"<p>{html.escape(text)}</p>"
        if row.detail:
            content += f"<p>{html.escape(row.detail)}</p>"
        link = _link(self._uris, row)
        if link:
            content += f'<p><a href="{html.escape(link)}">{html.escape(link)}</a></p>'
        status, _ = await Status.get_or_create(
            ap_id=ap_id,
            defaults={
                "author": self._uris.instance_actor,
                "local": True,
                "kind": StatusKind.NOTE,
                "visibility": Visibility.DIRECT,
                "content": content,
                "mentions": [me],
                "created_at": row.created_at,
            },
        )
        return status


def _link(uris: UriScheme, row: Notification) -> str | None:
    if row.listing_id is not None:  # type: ignore[attr-defined]
        return uris.url(f"/listings/{row.listing_id}")  # type: ignore[attr-defined]
    if row.type.value.startswith("verification."):
        return uris.url("/verification")
    if row.notice_id is not None:  # type: ignore[attr-defined]
        return uris.url("/")
    return None
