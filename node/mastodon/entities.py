"""Quartier's things as Mastodon's entities (docs.joinmastodon.org/entities).

Everything that renders a list does it in batches: a page of 40 statuses is a handful of
queries whatever it holds (authors, counts, media, replies), never a query per item.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.functions import Count, Max

from activitypub.actors import plain_text_to_html
from federation.models import RemoteActor
from node.config import Settings
from node.follows.models import Follow, FollowState
from node.media.models import Media
from node.media.render import photo_urls
from node.members.models import Member, Verification
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
        remote = {
            r.uri: r
            for r in await RemoteActor.filter(uri__in=[a for a in wanted if a not in members])
        }
        followers = await _counts(Follow, "followee", wanted, state=FollowState.ACCEPTED)
        following = await _counts(Follow, "follower", wanted, state=FollowState.ACCEPTED)
        statuses = await _counts(
            Status,
            "author",
            wanted,
            kind__in=list(COUNTED_KINDS),
            visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED],
            reblog_of_id=None,
        )
        last = dict(
            await Status.filter(author__in=wanted, kind__in=list(COUNTED_KINDS))
            .group_by("author")
            .annotate(last=Max("created_at"))
            .values_list("author", "last")
        )
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
        return {
            "username": member.username,
            "acct": member.username,
            "display_name": member.display_name,
            # Members approve their followers (docs/follows.md), as a locked Mastodon account.
            "locked": True,
            "bot": False,
            "discoverable": True,
            "indexable": False,
            "group": False,
            "created_at": iso(member.created_at),
            "note": _paragraphs(member.bio),
            "url": actor,
            "uri": actor,
            "avatar": self.avatar,
            "avatar_static": self.avatar,
            "header": self.header,
            "header_static": self.header,
            "emojis": [],
            "fields": fields,
            "noindex": True,
            "hide_collections": False,
            "roles": [],
            **({"suspended": True} if member.suspended_at is not None else {}),
        }

    def _remote(self, actor: str, row: RemoteActor | None) -> dict[str, Any]:
        host = actor.split("/")[2] if actor.count("/") >= 2 else actor
        username = (row.preferred_username if row else None) or actor.rstrip("/").rsplit("/", 1)[-1]
        return {
            "username": username,
            "acct": f"{username}@{host}",
            "display_name": username,
            "locked": False,
            "bot": bool(row and row.actor_type in ("Service", "Application")),
            "discoverable": False,
            "indexable": False,
            "group": bool(row and row.actor_type == "Group"),
            "created_at": iso(row.fetched_at if row else datetime(1970, 1, 1, tzinfo=UTC)),
            "note": "",
            "url": actor,
            "uri": actor,
            "avatar": self.avatar,
            "avatar_static": self.avatar,
            "header": self.header,
            "header_static": self.header,
            "emojis": [],
            "fields": [],
            "noindex": False,
            "hide_collections": False,
            "roles": [],
        }

    # Statuses

    async def statuses(self, rows: Sequence[Status]) -> list[dict[str, Any]]:
        """The Status entities of ``rows``, in their order."""
        if not rows:
            return []
        originals_ids = [r.reblog_of_id for r in rows if r.reblog_of_id]  # type: ignore[attr-defined]
        originals = {s.id: s for s in await Status.filter(id__in=originals_ids)}
        every = [*rows, *originals.values()]
        replied = {
            s.ap_id: s
            for s in await Status.filter(ap_id__in=[r.in_reply_to for r in every if r.in_reply_to])
        }
        actors = [r.author for r in every]
        actors += [m for r in every for m in r.mentions]
        actors += [s.author for s in replied.values()]
        accounts = await self.accounts(actors)
        media = await self._media(every)
        replies = await _counts(Status, "in_reply_to", [r.ap_id for r in every])
        reblogs = await _counts(Status, "reblog_of_id", [r.id for r in every])

        def one(row: Status) -> dict[str, Any]:
            parent = replied.get(row.in_reply_to or "")
            return {
                "id": str(row.id),
                "uri": row.ap_id,
                "url": row.url or row.ap_id,
                "created_at": iso(row.created_at),
                "edited_at": iso(row.edited_at),
                "account": accounts[row.author],
                "content": row.content,
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


def remote_media(attached: dict[str, Any], position: int, status_id: int) -> dict[str, Any]:
    """A MediaAttachment for an attachment received from elsewhere (kept as a link)."""
    media_type = str(attached.get("media_type") or "")
    kind = media_type.split("/", 1)[0]
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
