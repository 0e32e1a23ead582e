"""Notes from other servers: new messages, edits and deletions of direct messages.

A conversation is found by the keys its notes name (``context``, then Mastodon's
``conversation``; a conversation may be known by several, see ``ThreadKey``), else by the note
it answers (``inReplyTo``). A note answering one that has not arrived yet (replies queued
during an outage arrive in any order) starts a conversation that waits for that note, and
joins its conversation when it comes. Messages are read in the order their authors wrote them
(``published``), not the order they arrived in.

Each note is stored in one transaction: conversation, participants and message together, so a
crash leaves either all or nothing, and the worker's retry after a restart starts clean.
Knowing a conversation's key or a message id is never enough to join a conversation: a note
continues one only if its author is in it already.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import activities
from activitypub.actor_documents import same_host
from activitypub.notes import MAX_ADDRESSEES, ReceivedNote, is_collection_address, read_note
from activitypub.uris import UriScheme
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import NotActedOn
from moderation import filters
from moderation.content import FilterHit, hrefs_of
from node.conversations.models import Conversation, Message, Participant, ThreadKey
from node.moderation.safety import ContentGuard
from node.relations.checks import blocks
from node.statuses.attachments import stored_attachment

MAX_URI = 2048
MAX_TEXT = 5000
Clock = Callable[[], datetime]
IsMember = Callable[[str], Awaitable[bool]]


class ReceivedNotes:
    """The inbound handlers for direct messages."""

    def __init__(
        self,
        uris: UriScheme,
        clock: Clock,
        is_member: IsMember,
        guard: ContentGuard | None = None,
        *,
        stored: Callable[[Message], Awaitable[object]] | None = None,
    ) -> None:
        # limits on links and mentions, and the keyword filters: over one, held or hidden
        self._guard = guard
        self._stored = stored  # told of each message stored (the timelines index them)
        self._uris = uris
        self._clock = clock
        self._is_member = is_member

    def register(self, dispatcher: Dispatcher) -> None:
        """Route inbound notes (Create, Update) and deletions here."""
        dispatcher.register("Create", self.on_create, object_type="Note")
        dispatcher.register("Update", self.on_update, object_type="Note")
        dispatcher.register("Delete", self.on_delete)

    async def on_create(self, activity: InboundActivity) -> None:
        """A note addressed privately to some of our members becomes a message."""
        note, addressed = await self._direct_message(activity)
        hit = await self._screen(note, activity.body["object"])
        try:
            await self._store(note, activity.actor, addressed, hit)
        except IntegrityError:
            # Another note of the same new thread, from another sender, was stored at the
            # same moment and took the thread's key: the conversation exists now, join it.
            await self._store(note, activity.actor, addressed, hit)

    async def on_update(self, activity: InboundActivity) -> None:
        """The author edited a message: new text, content warning and attachments."""
        body = activity.body.get("object")
        if not isinstance(body, dict):
            raise NotActedOn("an Update of a note must embed the note")
        note = read_note(body)
        message = await Message.get_or_none(ap_id=note.id) if note.id else None
        if message is None:
            raise NotActedOn("no message here has that note's id")
        if message.author != activity.actor:
            raise NotActedOn("only its author may edit a message")
        if message.deleted_at is not None:
            raise NotActedOn("the message was deleted")
        if note.is_empty:
            raise NotActedOn("the edited note has no text, content warning or attachment")
        hit = await self._screen(note, body)
        message.text, message.summary = note.text[:MAX_TEXT], note.summary
        message.attachments = _attachments(note)
        message.edited_at = self._clock()
        async with in_transaction():
            await message.save(update_fields=["text", "summary", "attachments", "edited_at"])
            if hit is not None:  # an edit is screened like a new message
                await filters.caught(
                    "message",
                    message.ap_id,
                    message.author,
                    local=False,
                    action=hit.action,
                    reason=hit.reason,
                    excerpt=message.text,
                    at=message.edited_at,
                )

    async def _screen(self, note: ReceivedNote, body: dict[str, Any]) -> FilterHit | None:
        """What the limits and keyword filters say of a received note, if anything."""
        if self._guard is None:
            return None
        content = body.get("content")
        return await self._guard.screen_inbound(
            [note.summary, note.text], hrefs_of(content if isinstance(content, str) else "")
        )

    async def on_delete(self, activity: InboundActivity) -> None:
        """The author deleted a message: its text goes, a trace that it existed stays."""
        target = activities.object_id(activity.body.get("object"))
        message = await Message.get_or_none(ap_id=target) if target else None
        if message is None:
            raise NotActedOn("no message here has that id")
        if message.author != activity.actor:
            raise NotActedOn("only its author may delete a message")
        message.text, message.summary, message.attachments = "", "", []
        message.deleted_at = self._clock()
        await message.save(update_fields=["text", "summary", "attachments", "deleted_at"])

    async def _direct_message(self, activity: InboundActivity) -> tuple[ReceivedNote, list[str]]:
        """The note of a Create, and whom it addresses, if it is a direct message to one of
        our members that we can keep; otherwise ``NotActedOn`` saying why not."""
        body = activity.body.get("object")
        if not isinstance(body, dict):
            raise NotActedOn("a Create of a note must embed the note")
        note = read_note(body)
        if activity.actor not in note.authors:
            raise NotActedOn("the note is not attributed to the actor who sent it")
        if note.id is None:
            raise NotActedOn("the note has no usable id")
        if not same_host(note.id, activity.actor) or self._uris.username_from_actor(note.id):
            raise NotActedOn("the note's id is not on its author's server")
        addressed = [a for a in note.addressees if a != activity.actor]
        if len(addressed) > MAX_ADDRESSEES or any(
            is_collection_address(a) or len(a) > MAX_URI for a in addressed
        ):
            raise NotActedOn("public, followers-only or mass-addressed: not a direct message")
        members = [a for a in addressed if await self._is_member(a)]
        if not members:
            raise NotActedOn("the note is not addressed to any member of this node")
        if all([await blocks(self._uris, a, activity.actor) for a in members]):
            raise NotActedOn("every member it is addressed to blocks its author")
        if note.is_empty:
            raise NotActedOn("the note has no text, content warning or attachment to show")
        return note, addressed

    async def _store(
        self, note: ReceivedNote, author: str, addressed: list[str], hit: FilterHit | None = None
    ) -> None:
        assert note.id is not None  # checked by _direct_message
        now = self._clock()
        async with in_transaction():
            if await Message.exists(ap_id=note.id):
                raise NotActedOn("this note was received already")
            conversation = await self._thread(note, author, addressed, now)
            message = await Message.create(
                conversation=conversation,
                ap_id=note.id,
                author=author,
                text=note.text[:MAX_TEXT],
                summary=note.summary,
                attachments=_attachments(note),
                in_reply_to=note.in_reply_to,
                # When it was written, as its author says, but never in the future.
                created_at=min(note.published or now, now),
            )
            conversation.updated_at = now
            await conversation.save(update_fields=["updated_at"])
            await self._adopt_answers(conversation, note.id)
            if self._stored is not None:
                await self._stored(message)
            if hit is not None:
                await filters.caught(
                    "message",
                    note.id,
                    author,
                    local=False,
                    action=hit.action,
                    reason=hit.reason,
                    excerpt=note.text,
                    at=now,
                )

    async def _thread(
        self, note: ReceivedNote, author: str, addressed: list[str], now: datetime
    ) -> Conversation:
        """The conversation the note continues, if its author is in it; else a new one.

        Every candidate is tried (each key the note names, then the conversation of the note it
        answers): a key someone else attached to a conversation of theirs must not keep this
        note from the conversation it belongs to.
        """
        assert note.id is not None
        candidates = [found for key in note.thread if (found := await _by_key(key))]
        parent = await Message.get_or_none(ap_id=note.in_reply_to) if note.in_reply_to else None
        if parent is not None:
            candidates.append(await Conversation.get(id=parent.conversation_id))  # type: ignore[attr-defined]
        ours = _keys_of(author, note.thread)
        for candidate in candidates:
            if await Participant.exists(conversation=candidate, actor=author):
                await _add_keys(candidate, ours)
                return candidate
        free = [key for key in ours if await _by_key(key) is None]
        if not free:
            # The note's own id names the conversation, unless that is taken too (someone
            # used it as a key first): then a key of ours, which nobody else can name.
            taken = await _by_key(note.id) is not None
            free = [self._uris.url(f"/conversations/{uuid.uuid4().hex}") if taken else note.id]
        conversation = await Conversation.create(
            context=free[0],
            created_at=now,
            updated_at=now,
            awaiting_parent=note.in_reply_to if parent is None else None,
        )
        await _add_keys(conversation, free[1:])
        # A new conversation: its people are the author and whom the note addresses.
        for actor in [author, *addressed]:
            local = self._uris.username_from_actor(actor) is not None
            if local and not await self._is_member(actor):
                continue
            await Participant.get_or_create(
                conversation=conversation, actor=actor, defaults={"local": local}
            )
        return conversation

    async def _adopt_answers(self, conversation: Conversation, note_id: str) -> None:
        """Conversations started by answers to ``note_id`` that arrived before it join its
        conversation if they have exactly its people: an answer addressed to fewer people
        stays apart (merged, it would show their private replies to the others)."""
        people = set(
            await Participant.filter(conversation=conversation).values_list("actor", flat=True)
        )
        for waiting in await Conversation.filter(awaiting_parent=note_id):
            waiting.awaiting_parent = None
            theirs = await Participant.filter(conversation=waiting).values_list("actor", flat=True)
            if waiting.id == conversation.id or set(theirs) != people:
                await waiting.save(update_fields=["awaiting_parent"])
                continue
            await Message.filter(conversation=waiting).update(conversation=conversation)
            await ThreadKey.filter(conversation=waiting).update(conversation=conversation)
            key = waiting.context
            await waiting.delete()
            await _add_keys(conversation, [key])


def _keys_of(author: str, keys: list[str]) -> list[str]:
    """The thread keys an author may give a conversation: those minted on its own server
    (an http(s) URI on its host, or a ``tag:`` URI of its domain). Another server's key could
    otherwise be taken first, to split that server's threads or to pull its notes in."""
    host = (urlsplit(author).hostname or "").lower()
    mine = []
    for key in keys:
        if key.startswith(("https://", "http://")):
            if same_host(key, author):
                mine.append(key)
        elif key.lower().startswith("tag:") and key[4:].split(",", 1)[0].lower() == host:
            mine.append(key)
    return mine


async def _by_key(key: str) -> Conversation | None:
    conversation = await Conversation.get_or_none(context=key)
    if conversation is None:
        alias = await ThreadKey.get_or_none(key=key).prefetch_related("conversation")
        conversation = alias.conversation if alias is not None else None
    return conversation


async def _add_keys(conversation: Conversation, keys: list[str]) -> None:
    """Remember the other keys a server names this conversation by (unless taken: in either
    table, a key names one conversation)."""
    for key in keys:
        if key != conversation.context and await _by_key(key) is None:
            await ThreadKey.create(key=key, conversation=conversation)


def _attachments(note: ReceivedNote) -> list[dict[str, Any]]:
    # As statuses keep them (type, size and blurhash too), for the client API's rendering.
    return [stored_attachment(a) for a in note.attachments]
