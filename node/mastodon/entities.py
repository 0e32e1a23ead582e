"""Quartier's things as Mastodon's entities (docs.joinmastodon.org/entities).

Everything that renders a list does it in batches: a page of 40 statuses is a handful of
queries whatever it holds (authors, counts, media, replies), never a query per item.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date
from tortoise.functions import Count, Max

from activitypub.actors import plain_text_to_html
from federation.models import RemoteActor
from moderation import filters
from node.actors.render import instance_username
from node.config import Settings
from node.conversations.models import Conversation, Message, Participant
from node.follows.models import Follow, FollowState
from node.listings.models import Listing
from node.listings.money import format_price
from node.media.models import Media
from node.media.render import photo_urls
from node.members.models import Member, Verification
from node.statuses.html import sanitize
from node.statuses.models import Status, StatusKind, Visibility
from node.statuses.service import account_ids

# The kinds a profile's status count and public timelines count (a listing is counted too:
# it is what members here post most).
COUNTED_KINDS = (
    StatusKind.NOTE,
    StatusKind.QUESTION,
    StatusKind.ARTICLE,
    StatusKind.PAGE,
    StatusKind.EVENT,
    StatusKind.LISTING,
)


def iso(moment: datetime | None) -> str | None:
    """A datetime as Mastodon writes it: UTC, milliseconds, ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Renderer:
    """Renders entities for one node."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._uris = settings.uris
        self._base = settings.server.base_url

    @property
    def avatar(self) -> str:
        """The picture of an account without one (apps break on an empty URL)."""
        return f"{self._base}/static/avatar.png"

    @property
    def header(self) -> str:
        """The banner of an account without one."""
        return f"{self._base}/static/header.png"

    # Accounts

    async def accounts(self, actors: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The Account entity of each of ``actors`` (actor ids), by actor id."""
        wanted = list(dict.fromkeys(actors))
        if not wanted:
            return {}
        ids = await account_ids(wanted)
        usernames = {
            name: actor
            for actor in wanted
            if (name := self._uris.username_from_actor(actor)) is not None
        }
        members = {
            usernames[m.username]: m for m in await Member.filter(username__in=list(usernames))
        }
        others = [a for a in wanted if a not in members]
        remote = {r.uri: r for r in await _rows(RemoteActor, "uri", others)}
        followers = await _counts(Follow, "followee", wanted, state=FollowState.ACCEPTED)
        following = await _counts(Follow, "follower", wanted, state=FollowState.ACCEPTED)
        # What a profile shows: its public and unlisted posts, their number and the last one
        # (one GROUP BY for both).
        posted = await (
            Status.filter(
                author__in=wanted,
                kind__in=list(COUNTED_KINDS),
                visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED],
                reblog_of_id=None,
            )
            .group_by("author")
            .annotate(n=Count("id"), last=Max("created_at"))
            .values_list("author", "n", "last")
        )
        statuses = {str(a): int(n) for a, n, _ in posted}
        last = {str(a): when for a, _, when in posted}
        found: dict[str, dict[str, Any]] = {}
        for actor in wanted:
            counts = {
                "followers_count": followers.get(actor, 0),
                "following_count": following.get(actor, 0),
                "statuses_count": statuses.get(actor, 0),
                "last_status_at": _day(last.get(actor)),
            }
            if actor in members:
                body = self._member(members[actor])
            elif actor == self._uris.instance_actor:
                body = self._community()
            else:
                body = self._remote(actor, remote.get(actor))
            found[actor] = {"id": str(ids[actor]), **body, **counts}
        return found

    async def account(self, actor: str) -> dict[str, Any]:
        """The Account entity of ``actor``."""
        return (await self.accounts([actor]))[actor]

    async def credential_account(self, member: Member) -> dict[str, Any]:
        """The caller's own Account, with ``source`` (what the profile form edits) and
        ``role``."""
        actor = self._uris.actor(member.username)
        body = await self.account(actor)
        pending = await Follow.filter(followee=actor, state=FollowState.PENDING).count()
        body["source"] = {
            "note": member.bio,
            "fields": [
                {"name": f["name"], "value": f["value"], "verified_at": None}
                for f in body["fields"]
            ],
            "privacy": "public",
            "sensitive": False,
            "language": member.language or "",
            "follow_requests_count": pending,
            "hide_collections": False,
            "discoverable": True,
            "indexable": False,
        }
        body["role"] = {
            "id": "0",
            "name": str(member.role),
            "color": "",
            "permissions": "0",
            "highlighted": False,
        }
        return body

    def _member(self, member: Member) -> dict[str, Any]:
        actor = self._uris.actor(member.username)
        fields = []
        if member.verification == Verification.VERIFIED:
            fields.append(
                {
                    "name": "Verified",
                    "value": html.escape(f"Resident of {self._settings.community.name}"),
                    "verified_at": iso(member.verified_at),
                }
            )
        body = _account_body(
            member.username,
            member.username,
            member.display_name,
            # Members approve their followers (docs/follows.md), as a locked Mastodon account.
            locked=True,
            discoverable=True,
            noindex=True,
            created=member.created_at,
            note=_paragraphs(member.bio),
            url=actor,
            uri=actor,
            avatar=self.avatar,
            header=self.header,
            fields=fields,
        )
        if member.suspended_at is not None:
            body["suspended"] = True
        return body

    def _community(self) -> dict[str, Any]:
        """The community's own account (the node's Application actor): it speaks for the
        node in notifications."""
        actor = self._uris.instance_actor
        community = self._settings.community
        username = instance_username(self._uris)
        return _account_body(
            username,
            username,
            community.name,
            locked=True,
            bot=True,
            noindex=True,
            hide_collections=True,
            created=datetime(2026, 1, 1, tzinfo=UTC),
            note=plain_text_to_html(community.description),
            url=self._uris.url("/about"),
            uri=actor,
            avatar=self.avatar,
            header=self.header,
        )

    def _remote(self, actor: str, row: RemoteActor | None) -> dict[str, Any]:
        """An account elsewhere, from what its actor document said (its bio sanitised as a
        post is; a missing picture is ours, as apps break on an empty URL)."""
        host = urlsplit(actor).netloc or actor
        username = (row.preferred_username if row else None) or actor.rstrip("/").rsplit("/", 1)[-1]
        avatar = (row.icon if row else None) or self.avatar
        header = (row.image if row else None) or self.header
        created = (row.published or row.fetched_at) if row else datetime(1970, 1, 1, tzinfo=UTC)
        return _account_body(
            username,
            f"{username}@{host}",
            (row.name if row else None) or username,
            locked=bool(row and row.manually_approves_followers),
            bot=bool(row and row.actor_type in ("Service", "Application")),
            group=bool(row and row.actor_type == "Group"),
            created=created,
            note=sanitize(row.summary or "") if row else "",
            url=(row.url if row else None) or actor,
            uri=actor,
            avatar=avatar,
            header=header,
        )

    # Statuses

    async def statuses(self, rows: Sequence[Status]) -> list[dict[str, Any]]:
        """The Status entities of ``rows``, in their order."""
        rows = await self._shown(rows)
        if not rows:
            return []
        originals_ids = [r.reblog_of_id for r in rows if r.reblog_of_id]  # type: ignore[attr-defined]
        originals = {s.id: s for s in await _rows(Status, "id", originals_ids)}
        every = [*rows, *originals.values()]
        parents = [r.in_reply_to for r in every if r.in_reply_to]
        replied = {s.ap_id: s for s in await _rows(Status, "ap_id", parents)}
        actors = [r.author for r in every]
        actors += [m for r in every for m in r.mentions]
        actors += [s.author for s in replied.values()]
        accounts = await self.accounts(actors)
        media = await self._media(every)
        replies = await _counts(Status, "in_reply_to", [r.ap_id for r in every])
        listing_ids = [r.listing_id for r in every if r.listing_id]  # type: ignore[attr-defined]
        listings = {x.id: x for x in await _rows(Listing, "id", listing_ids)}
        message_ids = [r.message_id for r in every if r.message_id]  # type: ignore[attr-defined]
        messages = {x.id: x for x in await _rows(Message, "id", message_ids)}
        reblogs = await _counts(Status, "reblog_of_id", [r.id for r in every])

        def one(row: Status) -> dict[str, Any]:
            parent = replied.get(row.in_reply_to or "")
            content, url = row.content, row.url or row.ap_id
            listing = listings.get(row.listing_id or 0)  # type: ignore[attr-defined]
            if listing is not None:
                url = self._uris.url(f"/listings/{listing.id}") if listing.local else url
                content = listing_html(listing, self._language, url)
            message = messages.get(row.message_id or 0)  # type: ignore[attr-defined]
            if message is not None:
                content = self._message_html(message, row, accounts)
            return {
                "id": str(row.id),
                "uri": row.ap_id,
                "url": url,
                "created_at": iso(row.created_at),
                "edited_at": iso(row.edited_at),
                "account": accounts[row.author],
                "content": content,
                "visibility": str(row.visibility),
                "sensitive": row.sensitive,
                "spoiler_text": row.spoiler_text,
                "media_attachments": media.get(row.id, []),
                "mentions": [
                    {
                        "id": accounts[m]["id"],
                        "username": accounts[m]["username"],
                        "url": accounts[m]["url"],
                        "acct": accounts[m]["acct"],
                    }
                    for m in row.mentions
                ],
                "tags": [{"name": t, "url": f"{self._base}/tags/{t}"} for t in row.tags],
                "emojis": [],
                "reblogs_count": reblogs.get(row.id, 0),
                "favourites_count": 0,
                "replies_count": replies.get(row.ap_id, 0),
                "in_reply_to_id": str(parent.id) if parent else None,
                "in_reply_to_account_id": accounts[parent.author]["id"] if parent else None,
                "reblog": None,
                "poll": _poll(row),
                "card": None,
                "language": row.language,
                "text": None,
                "favourited": False,
                "reblogged": False,
                "muted": False,
                "bookmarked": False,
                "pinned": False,
                "filtered": [],
            }

        def with_app(row: Status) -> dict[str, Any]:
            body = one(row)
            if row.application:  # optional, not nullable: absent when unknown
                body["application"] = {"name": row.application, "website": None}
            return body

        rendered_originals = {i: with_app(s) for i, s in originals.items()}
        out = []
        for row in rows:
            body = with_app(row)
            original = rendered_originals.get(row.reblog_of_id)  # type: ignore[attr-defined]
            if original is not None:
                body["reblog"] = original
                body["content"] = ""
                body["media_attachments"] = []
            out.append(body)
        return out

    async def _shown(self, rows: Sequence[Status]) -> list[Status]:
        """``rows`` but the direct messages deleted, or held or hidden by the community's
        filters (those stay out of every view)."""
        message_ids = [r.message_id for r in rows if r.message_id]  # type: ignore[attr-defined]
        if not message_ids:
            return list(rows)
        deleted = set(
            await Message.filter(id__in=message_ids, deleted_at__isnull=False).values_list(
                "id", flat=True
            )
        )
        held = set(
            await filters.not_shown("message", [r.ap_id for r in rows if r.message_id])  # type: ignore[attr-defined]
        )
        return [
            r
            for r in rows
            if r.message_id not in deleted and r.ap_id not in held  # type: ignore[attr-defined]
        ]

    def _message_html(
        self, message: Message, row: Status, accounts: dict[str, dict[str, Any]]
    ) -> str:
        """A direct message as apps show one: the people it is for, then its text."""
        mentions = " ".join(
            f'<span class="h-card" translate="no"><a href="{html.escape(a)}" '
            f'class="u-url mention">@<span>{html.escape(accounts[a]["username"])}</span></a>'
            "</span>"
            for a in row.mentions
            if a in accounts
        )
        body = plain_text_to_html(message.text)
        if mentions:
            return f"<p>{mentions} {body[3:]}" if body.startswith("<p>") else f"<p>{mentions}</p>"
        return body

    @property
    def _language(self) -> str:
        languages = self._settings.community.languages
        return languages[0] if languages else "en"

    async def conversations(
        self, rows: Sequence[Conversation], me: str, last_read: dict[int, int]
    ) -> list[dict[str, Any]]:
        """The Conversation entities of ``rows`` as ``me`` (an actor id) sees them: the other
        participants, the newest message, unread when it is newer than ``last_read``."""
        ids = [c.id for c in rows]
        people: dict[int, list[str]] = {}
        for conversation_id, actor in await Participant.filter(conversation_id__in=ids).values_list(
            "conversation_id", "actor"
        ):
            if actor != me:
                people.setdefault(int(conversation_id), []).append(str(actor))
        last: dict[int, Message] = {}
        for message in await Message.filter(conversation_id__in=ids, deleted_at=None).order_by(
            "id"
        ):
            last[message.conversation_id] = message  # type: ignore[attr-defined]
        statuses = {
            s.message_id: s  # type: ignore[attr-defined]
            for s in await Status.filter(message_id__in=[m.id for m in last.values()])
        }
        shown = {int(s["id"]): s for s in await self.statuses(list(statuses.values()))}
        accounts = await self.accounts([a for group in people.values() for a in group])
        items = []
        for conversation in rows:
            newest = last.get(conversation.id)
            status = statuses.get(newest.id) if newest else None
            items.append(
                {
                    "id": str(conversation.id),
                    "unread": bool(newest and newest.id > last_read.get(conversation.id, 0)),
                    "accounts": [accounts[a] for a in people.get(conversation.id, [])],
                    "last_status": shown.get(status.id) if status else None,
                }
            )
        return items

    async def status(self, row: Status) -> dict[str, Any]:
        """The Status entity of ``row``."""
        return (await self.statuses([row]))[0]

    async def _media(self, rows: Sequence[Status]) -> dict[int, list[dict[str, Any]]]:
        local_ids = [a["media"] for r in rows for a in r.attachments if "media" in a]
        listing_ids = [r.listing_id for r in rows if r.listing_id]  # type: ignore[attr-defined]
        by_id: dict[str, Media] = {}
        by_listing: dict[int, list[Media]] = {}
        if local_ids:
            by_id = {m.id: m for m in await Media.filter(id__in=local_ids)}
        if listing_ids:
            for m in await Media.filter(listing_id__in=listing_ids).order_by("position"):
                by_listing.setdefault(m.listing_id, []).append(m)  # type: ignore[attr-defined]
        found: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            items: list[dict[str, Any]] = []
            for attached in row.attachments:
                if "media" in attached:
                    if (own := by_id.get(attached["media"])) is not None:
                        items.append(self.media(own))
                else:
                    items.append(remote_media(attached, len(items), row.id))
            for m in by_listing.get(row.listing_id or 0, []):  # type: ignore[attr-defined]
                items.append(self.media(m))
            found[row.id] = items
        return found

    def media(self, media: Media) -> dict[str, Any]:
        """The MediaAttachment entity of one of our images."""
        url, preview = photo_urls(media, self._uris)
        return {
            "id": media.id,
            "type": "image",
            "url": url,
            "preview_url": preview,
            "remote_url": None if media.file else media.remote_url,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {
                "original": {
                    "width": media.width,
                    "height": media.height,
                    "size": f"{media.width}x{media.height}",
                    "aspect": media.width / media.height if media.height else 1,
                },
            },
            "description": media.description or None,
            "blurhash": None,
        }


def _account_body(
    username: str,
    acct: str,
    display_name: str,
    *,
    created: datetime | None,
    note: str,
    url: str,
    uri: str,
    avatar: str,
    header: str,
    locked: bool = False,
    bot: bool = False,
    group: bool = False,
    discoverable: bool = False,
    noindex: bool = False,
    hide_collections: bool = False,
    fields: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An Account's own fields (its id and counts are added by :meth:`Renderer.accounts`)."""
    return {
        "username": username,
        "acct": acct,
        "display_name": display_name,
        "locked": locked,
        "bot": bot,
        "discoverable": discoverable,
        "indexable": False,
        "group": group,
        "created_at": iso(created),
        "note": note,
        "url": url,
        "uri": uri,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "emojis": [],
        "fields": fields or [],
        "noindex": noindex,
        "hide_collections": hide_collections,
        "roles": [],
    }


def remote_media(attached: dict[str, Any], position: int, status_id: int) -> dict[str, Any]:
    """A MediaAttachment for an attachment received from elsewhere (kept as a link)."""
    media_type = str(attached.get("media_type") or "")
    kind = str(attached.get("type") or media_type.split("/", 1)[0])
    mastodon_type = {"image": "image", "video": "video", "audio": "audio"}.get(kind, "unknown")
    if mastodon_type == "image" and media_type == "image/gif":
        mastodon_type = "gifv"
    width, height = attached.get("width"), attached.get("height")
    meta: dict[str, Any] = {}
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        meta["original"] = {
            "width": width,
            "height": height,
            "size": f"{width}x{height}",
            "aspect": width / height,
        }
    url = str(attached.get("url") or "")
    return {
        "id": f"{status_id}{position:02d}",
        "type": mastodon_type,
        "url": url,
        "preview_url": url if mastodon_type in ("image", "gifv") else None,
        "remote_url": url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta or None,
        "description": attached.get("description") or None,
        "blurhash": attached.get("blurhash") or None,
    }


def _poll(row: Status) -> dict[str, Any] | None:
    poll = row.poll
    if not poll:
        return None
    options = [
        {"title": str(o.get("title", "")), "votes_count": o.get("votes_count")}
        for o in poll.get("options", [])
        if isinstance(o, dict)
    ]
    expires = poll.get("expires_at")
    return {
        "id": str(row.id),
        "expires_at": expires,
        "expired": bool(poll.get("expired", False)),
        "multiple": bool(poll.get("multiple", False)),
        "votes_count": sum(int(o["votes_count"] or 0) for o in options),
        "voters_count": poll.get("voters_count"),
        "options": options,
        "emojis": [],
        # Voting on remote polls is not supported: apps then show results, not buttons.
        "voted": True,
        "own_votes": [],
    }


def _paragraphs(text: str) -> str:
    return plain_text_to_html(text)


def _day(moment: Any) -> str | None:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).date().isoformat()
    if isinstance(moment, str) and moment:
        return moment[:10]
    return None


async def _rows(model: Any, column: str, keys: Sequence[Any]) -> list[Any]:
    """The rows of ``model`` whose ``column`` is one of ``keys``; no query for no keys (a page
    of twenty statuses asks for several such lists, most often empty)."""
    if not keys:
        return []
    return list(await model.filter(**{f"{column}__in": list(dict.fromkeys(keys))}))


async def _counts(model: Any, column: str, keys: Sequence[Any], **filters: Any) -> dict[Any, int]:
    """How many rows of ``model`` have each of ``keys`` in ``column``: one GROUP BY."""
    if not keys:
        return {}
    rows = (
        await model.filter(**{f"{column}__in": list(dict.fromkeys(keys))}, **filters)
        .group_by(column)
        .annotate(n=Count("id"))
        .values_list(column, "n")
    )
    return {key: int(n) for key, n in rows}


# How a listing reads in an app, in the community's first language (apps know nothing of
# listings: the text must say it all).
_LISTING_WORDS = {
    "en": {
        "give": "Giving away",
        "lend": "Lending",
        "sell": "For sale",
        "service": "Offering a service",
        "request": "Looking for",
        "carpool": "Lift offered",
        "free": "Free",
        "until": "until",
        "see": "See the listing and answer",
        "reply": "Reply to this post to answer it.",
        "reserved": "Reserved",
        "done": "Done",
        "withdrawn": "Withdrawn",
        "expired": "Expired",
    },
    "fr": {
        "give": "Don",
        "lend": "Prêt",
        "sell": "À vendre",
        "service": "Service proposé",
        "request": "Recherche",
        "carpool": "Covoiturage",
        "free": "Gratuit",
        "until": "jusqu'au",
        "see": "Voir l'annonce et répondre",
        "reply": "Répondez à ce message pour répondre à l'annonce.",
        "reserved": "Réservé",
        "done": "Terminé",
        "withdrawn": "Retiré",
        "expired": "Expiré",
    },
}


def listing_html(listing: Any, language: str, page_url: str) -> str:
    """A listing as a status's HTML: kind and title, price or "free", until when, where,
    its description, and a link to its page."""
    words = _LISTING_WORDS.get(language, _LISTING_WORDS["en"])
    kind = str(listing.kind)
    head = f"<p><strong>{html.escape(words.get(kind, kind))}</strong>: "
    head += f"{html.escape(listing.title)} #{html.escape(kind)}</p>"
    facts = []
    if listing.price_minor is not None and listing.currency:
        facts.append(format_price(listing.price_minor, listing.currency, language))
    elif kind in ("give", "lend"):
        facts.append(words["free"])
    if listing.expires_at is not None:
        day = format_date(listing.expires_at, format="long", locale=language)
        facts.append(f"{words['until']} {day}")
    if listing.place_name:
        facts.append(listing.place_name)
    state = str(listing.status)
    if state in ("reserved", "done", "withdrawn", "expired"):
        facts.insert(0, words[state])
    body = head
    if facts:
        body += "<p>" + " · ".join(html.escape(f) for f in facts) + "</p>"
    body += listing.description_html or plain_text_to_html(listing.description or "")
    link = html.escape(page_url)
    body += (
        f'<p><a href="{link}">{html.escape(words["see"])}</a> — {html.escape(words["reply"])}</p>'
    )
    return body
