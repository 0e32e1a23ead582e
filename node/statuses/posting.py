"""A member's own statuses: posted, edited and deleted from an app, sent to their followers.

Visibility decides the addressing, as on Mastodon: ``public`` to everyone (and public
timelines), ``unlisted`` to everyone but not public timelines, ``private`` to followers and
the accounts mentioned. ``direct`` is a direct message: it becomes a conversation (or a reply
in one) through the conversation service, the one way messages are kept here. A reply to a
listing is a response to that listing (the listing's author is notified and may accept it).

What leaves the node follows the community's policy like any message does (docs/governance.md:
a post is held to the messages' reach).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.activities import AS_PUBLIC
from activitypub.notes import AS_CONTEXT, handle_for
from federation.errors import DereferenceError
from federation.outbound import publish
from node.conversations.models import Message
from node.errors import BadRequest, Forbidden, NodeError, NotFound, ValidationFailed
from node.federated import FederatedService
from node.follows.models import Follow, FollowState
from node.media.models import Media
from node.members.models import Member
from node.moderation.safety import ContentGuard, Creation
from node.statuses import text as status_text
from node.statuses.models import IdempotentPost, Status, StatusKind, Visibility
from node.statuses.service import Timelines

log = logging.getLogger(__name__)

MAX_CHARACTERS = 5000
MAX_MEDIA = 4
MAX_SPOILER = 500
IDEMPOTENCY = timedelta(hours=1)


@dataclass
class Draft:
    """What an app sends to post a status."""

    text: str
    visibility: Visibility = Visibility.PUBLIC
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: int | None = None
    media_ids: list[str] = field(default_factory=list)
    application: str | None = None


class StatusService(FederatedService):
    """Posting, editing and deleting our members' statuses."""

    timelines: Timelines
    guard: ContentGuard | None = None
    # Set by the app: the conversation and listing services (direct messages, responses).
    conversations: Any = None
    listings: Any = None

    async def post(self, member: Member, draft: Draft, idempotency_key: str | None) -> Status:
        """Post ``draft``; with ``idempotency_key``, the same key within an hour gives the
        status it gave the first time instead of a second one."""
        key = hashlib.sha256(idempotency_key.encode()).hexdigest() if idempotency_key else None
        if key is not None:
            earlier = await self._earlier(member, key)
            if earlier is not None:
                return earlier
        status = await self._post(member, draft)
        if key is not None:
            with contextlib.suppress(IntegrityError):  # the same key raced: the first stands
                async with in_transaction():  # a savepoint when nested: PostgreSQL aborts else
                    await IdempotentPost.create(
                        member=member, key=key, status=status, created_at=self._clock()
                    )
        return status

    async def _earlier(self, member: Member, key: str) -> Status | None:
        row = await IdempotentPost.get_or_none(member=member, key=key).prefetch_related("status")
        if row is None:
            return None
        if row.created_at < self._clock() - IDEMPOTENCY:
            await row.delete()
            return None
        return row.status

    async def _post(self, member: Member, draft: Draft) -> Status:
        text = _checked_text(draft)
        if len(draft.spoiler_text) > MAX_SPOILER:
            raise ValidationFailed(f"Validation failed: Spoiler text is over {MAX_SPOILER}")
        if self.guard is not None:
            self.guard.count(Creation.MESSAGE, member)
            self.guard.check_post("status", text)
            hit = await self.guard.screen(text, draft.spoiler_text)
            if hit is not None:
                raise ValidationFailed(
                    "Validation failed: the community's filters do not let this through"
                    f" ({hit.reason})"
                )
        parent = await self._parent(member, draft.in_reply_to_id)
        if parent is not None and parent.kind == StatusKind.LISTING:
            return await self._respond(member, parent, text)
        if draft.visibility == Visibility.DIRECT:
            return await self._direct(member, draft, text, parent)
        return await self._publish(member, draft, text, parent)

    async def _parent(self, member: Member, status_id: int | None) -> Status | None:
        if status_id is None:
            return None
        parent = await Status.get_or_none(id=status_id)
        if parent is None or not await self.may_see(member, parent):
            raise NotFound("Record not found")
        return parent

    async def may_see(self, member: Member | None, status: Status) -> bool:
        """Whether ``member`` (``None``: a visitor) may read ``status``."""
        if status.visibility in (Visibility.PUBLIC, Visibility.UNLISTED):
            return True
        if member is None:
            return False
        me = self._uris.actor(member.username)
        if status.author == me or me in status.mentions:
            return True
        if await self.timelines_has(member, status):
            return True
        if status.visibility == Visibility.PRIVATE:
            return await Follow.exists(
                follower=me, followee=status.author, state=FollowState.ACCEPTED
            )
        return False

    async def timelines_has(self, member: Member, status: Status) -> bool:
        """Whether ``status`` was put in ``member``'s home timeline (its audience)."""
        from node.statuses.models import TimelineEntry

        return await TimelineEntry.exists(member_id=member.id, status_id=status.id)

    async def _respond(self, member: Member, listing: Status, text: str) -> Status:
        """A reply to a listing is a response to it: the listing's flow, and a direct
        status between the two that stands for it in the app."""
        if self.listings is None:
            raise Forbidden("responses are not available here")
        response = await self.listings.respond(member, listing.listing_id, text)  # type: ignore[attr-defined]
        me = self._uris.actor(member.username)
        status = await Status.create(
            ap_id=response.ap_id,
            author=me,
            local=True,
            kind=StatusKind.NOTE,
            visibility=Visibility.DIRECT,
            content=status_text.to_html(text, {}, self._tag_url),
            text=text,
            in_reply_to=listing.ap_id,
            in_reply_to_author=listing.author,
            # No mention: the listing's own notification (an answer) tells its author.
            created_at=self._clock(),
        )
        await self.timelines.fan_out(
            status, [member.id, *await self.timelines.members_named([listing.author])]
        )
        return status

    async def _direct(
        self, member: Member, draft: Draft, text: str, parent: Status | None
    ) -> Status:
        """A direct status is a message: a reply in the parent's conversation, or a new
        conversation with the accounts it mentions."""
        if self.conversations is None:
            raise Forbidden("direct messages are not available here")
        parent_message = None
        if parent is not None and parent.message_id is not None:  # type: ignore[attr-defined]
            parent_message = await Message.get_or_none(id=parent.message_id)  # type: ignore[attr-defined]
        if parent_message is not None:
            message = await self.conversations.reply(
                member,
                parent_message.conversation_id,  # type: ignore[attr-defined]
                _without_leading_mentions(text),
            )
        else:
            handles = status_text.parse(text).handles
            if not handles:
                raise ValidationFailed(
                    "Validation failed: a direct message mentions who it is for (@name)"
                )
            conversation = await self.conversations.start(
                member, handles, _without_leading_mentions(text) or text
            )
            message = await Message.filter(conversation=conversation).order_by("-id").first()
        status = await Status.get_or_none(message_id=message.id)
        if status is None:
            raise NotFound("the message was not indexed")
        return status

    async def _publish(
        self, member: Member, draft: Draft, text: str, parent: Status | None
    ) -> Status:
        me = self._uris.actor(member.username)
        parsed = status_text.parse(text)
        mentions = await self._mentions(parsed.handles)
        media = await self._own_media(member, draft.media_ids)
        now = self._clock()
        ap_id = f"{me}/statuses/{uuid.uuid4().hex}"
        status = Status(
            ap_id=ap_id,
            url=ap_id,
            author=me,
            local=True,
            kind=StatusKind.NOTE,
            visibility=draft.visibility,
            content=status_text.to_html(text, mentions, self._tag_url),
            text=text,
            spoiler_text=draft.spoiler_text,
            sensitive=draft.sensitive or bool(draft.spoiler_text),
            language=draft.language,
            in_reply_to=parent.ap_id if parent else None,
            in_reply_to_author=parent.author if parent else None,
            mentions=list(dict.fromkeys(mentions.values())),
            tags=parsed.tags,
            attachments=[{"media": m.id} for m in media],
            application=draft.application,
            created_at=now,
        )
        note = self.note(status, media)
        inboxes = await self._inboxes(status)
        async with in_transaction():
            await status.save()
            await _attach(status, media)
            if inboxes:
                await publish(_wrap("Create", note), inboxes, me, now)
        if inboxes:
            self._queued()
        await self.timelines.fan_out(status, await self._audience(member, status))
        return status

    async def edit(self, member: Member, status: Status, draft: Draft) -> Status:
        """Change one of the member's own statuses (text, warning, media, language)."""
        me = self._uris.actor(member.username)
        if status.author != me or status.kind != StatusKind.NOTE or not status.local:
            raise NotFound("Record not found")
        if status.visibility == Visibility.DIRECT:
            raise ValidationFailed("Validation failed: edit a direct message in its conversation")
        text = _checked_text(draft)
        if self.guard is not None:
            self.guard.check_post("status", text)
        parsed = status_text.parse(text)
        mentions = await self._mentions(parsed.handles)
        media = await self._own_media(member, draft.media_ids, status)
        status.text = text
        status.content = status_text.to_html(text, mentions, self._tag_url)
        status.spoiler_text = draft.spoiler_text
        status.sensitive = draft.sensitive or bool(draft.spoiler_text)
        status.language = draft.language or status.language
        status.mentions = list(dict.fromkeys(mentions.values()))
        status.tags = parsed.tags
        status.attachments = [{"media": m.id} for m in media]
        status.has_media = bool(media)
        status.edited_at = self._clock()
        inboxes = await self._inboxes(status)
        async with in_transaction():
            await status.save()
            await _attach(status, media)
            if inboxes:
                note = self.note(status, media)
                await publish(_wrap("Update", note), inboxes, me, status.edited_at)
        if inboxes:
            self._queued()
        await self.timelines.edited(status)
        return status

    async def delete(self, member: Member, status: Status) -> None:
        """Delete one of the member's own statuses; the servers it went to are told."""
        me = self._uris.actor(member.username)
        if status.author != me:
            raise NotFound("Record not found")
        if status.message_id is not None and self.conversations is not None:  # type: ignore[attr-defined]
            message = await Message.get(id=status.message_id)  # type: ignore[attr-defined]
            await self.conversations.delete(
                member,
                message.conversation_id,  # type: ignore[attr-defined]
                message.id,
            )
            await self.timelines.remove(status)
            return
        if status.kind == StatusKind.LISTING:
            raise BadRequest("withdraw a listing from the listing itself")
        inboxes = await self._inboxes(status) if status.local else []
        now = self._clock()
        async with in_transaction():
            if inboxes:
                tombstone = {
                    "@context": AS_CONTEXT,
                    "id": f"{status.ap_id}#delete",
                    "type": "Delete",
                    "actor": me,
                    "to": [AS_PUBLIC],
                    "object": {"id": status.ap_id, "type": "Tombstone"},
                }
                await publish(tombstone, inboxes, me, now)
            await self.timelines.remove(status)
        if inboxes:
            self._queued()

    def note(self, status: Status, media: list[Media]) -> dict[str, Any]:
        """The ActivityStreams Note of one of our statuses."""
        from node.media.render import media_to_ap

        to, cc = self._addressing(status)
        note: dict[str, Any] = {
            "id": status.ap_id,
            "type": "Note",
            "attributedTo": status.author,
            "to": to,
            "cc": cc,
            "content": status.content,
            "published": _iso(status.created_at),
            "url": status.url or status.ap_id,
            "sensitive": status.sensitive,
            "tag": [
                *(
                    {"type": "Mention", "href": actor, "name": "@" + handle_for(actor, None)}
                    for actor in status.mentions
                ),
                *(
                    {"type": "Hashtag", "href": self._tag_url + tag, "name": f"#{tag}"}
                    for tag in status.tags
                ),
            ],
            "attachment": [media_to_ap(m, self._uris) for m in media],
        }
        if status.spoiler_text:
            note["summary"] = status.spoiler_text
        if status.language:
            note["contentMap"] = {status.language: status.content}
        if status.in_reply_to:
            note["inReplyTo"] = status.in_reply_to
        if status.edited_at is not None:
            note["updated"] = _iso(status.edited_at)
        return note

    def _addressing(self, status: Status) -> tuple[list[str], list[str]]:
        followers = self._uris.collection(status.author, "followers")
        if status.visibility == Visibility.PUBLIC:
            return [AS_PUBLIC], [followers, *status.mentions]
        if status.visibility == Visibility.UNLISTED:
            return [followers], [AS_PUBLIC, *status.mentions]
        return [followers], list(status.mentions)

    async def _inboxes(self, status: Status) -> list[str]:
        """Where a status of ours goes: its author's followers elsewhere and the remote
        accounts it mentions."""
        follower_inboxes = await Follow.filter(
            followee=status.author, state=FollowState.ACCEPTED, follower_inbox__isnull=False
        ).values_list("follower_inbox", flat=True)
        inboxes = {str(i) for i in follower_inboxes}
        for actor in status.mentions:
            if self._uris.username_from_actor(actor) is None and await self._reachable(actor):
                try:
                    document = await self._resolver.actor(actor)
                except DereferenceError as exc:
                    log.info("%s misses a post: %s", actor, exc)  # unreachable for now
                    continue
                inboxes.add(document.shared_inbox or document.inbox)
        return sorted(inboxes)

    async def _audience(self, member: Member, status: Status) -> list[int]:
        """The members here whose home timeline gets ``status``: its author, their
        followers here and the members it mentions."""
        me = self._uris.actor(member.username)
        return [
            member.id,
            *await self.timelines.followers_here(me),
            *await self.timelines.members_named(status.mentions),
        ]

    async def _mentions(self, handles: list[str]) -> dict[str, str]:
        """Handle -> actor id for the handles that name an account (unknown ones stay text)."""
        found: dict[str, str] = {}
        for handle in handles[:20]:
            try:
                actor = await self._resolve(handle)
            except NodeError:
                continue  # a handle we cannot find (or may not reach) stays text
            if self._uris.username_from_actor(actor) is not None:
                username = self._uris.username_from_actor(actor) or ""
                if not await Member.exists(username=username):
                    continue
            found[handle] = actor
        return found

    async def _own_media(
        self, member: Member, media_ids: list[str], status: Status | None = None
    ) -> list[Media]:
        if len(media_ids) > MAX_MEDIA:
            raise ValidationFailed(f"Validation failed: at most {MAX_MEDIA} media attachments")
        if not media_ids:
            return []
        me = self._uris.actor(member.username)
        rows = await Media.filter(
            id__in=media_ids, owner=me, listing_id=None, notice_id=None, problem_id=None
        )
        # Free uploads, or already this status's (an edit keeps them).
        found = {
            m.id: m
            for m in rows
            if m.status_id is None or (status is not None and m.status_id == status.id)  # type: ignore[attr-defined]
        }
        missing = [i for i in media_ids if i not in found]
        if missing:
            raise ValidationFailed("Validation failed: a media attachment is not yours or gone")
        return [found[i] for i in media_ids]

    @property
    def _tag_url(self) -> str:
        return self._uris.url("/tags/")


async def _attach(status: Status, media: list[Media]) -> None:
    """Make ``media`` the status's attachments, in order; photos it no longer shows become
    free uploads again (purged after ``media.orphan_hours``)."""
    keep = [m.id for m in media]
    await Media.filter(status_id=status.id).exclude(id__in=keep).update(status_id=None)
    for position, item in enumerate(media):
        item.status_id, item.position = status.id, position  # type: ignore[attr-defined]
        await item.save(update_fields=["status_id", "position"])


def _checked_text(draft: Draft) -> str:
    """The draft's text, which must say something (or carry media) and fit the limit."""
    text = draft.text.strip()
    if not text and not draft.media_ids:
        raise ValidationFailed("Validation failed: Text can't be blank")
    if len(text) > MAX_CHARACTERS:
        raise ValidationFailed(
            f"Validation failed: Text character limit of {MAX_CHARACTERS} exceeded"
        )
    return text


def _without_leading_mentions(text: str) -> str:
    """A direct message's text without the mentions that open it (they are its addressing,
    which the conversation keeps; apps put them there)."""
    words = text.split(" ")
    while words and status_text.MENTION.fullmatch(words[0]):
        words.pop(0)
    return " ".join(words).strip()


def _wrap(kind: str, note: dict[str, Any]) -> dict[str, Any]:
    stamp = note.get("updated") or note["published"]
    return {
        "@context": AS_CONTEXT,
        "id": f"{note['id']}#{kind.lower()}-{stamp}",
        "type": kind,
        "actor": note["attributedTo"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
