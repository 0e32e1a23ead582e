"""Direct messages: sent as Create(Note) addressed only to the participants, never public.

A conversation is keyed by the ActivityStreams ``context`` its messages share; messages from
servers that send no context join the conversation of the message they reply to, or start one
keyed by their own id. Only a note's author may edit or delete it: our members through
``edit``/``delete`` (sent on as ``Update(Note)`` and ``Delete(Tombstone)`` to the participants
the note was sent to), remote authors through the inbound handlers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from activitypub import activities, notes
from activitypub.actor_documents import same_host
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import DereferenceError
from federation.outbound import publish
from node.actors.lookup import resolve_actor
from node.conversations.models import Conversation, Message, Participant
from node.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from node.federated import FederatedService
from node.members.models import Member
from node.members.service import is_valid_username

MAX_RECIPIENTS = 20
MAX_URI = 2048
MAX_TEXT = 5000


@dataclass(frozen=True)
class Summary:
    """A conversation as its list shows it."""

    conversation: Conversation
    participants: list[str]
    last: Message | None
    unread: int


class ConversationService(FederatedService):
    """Direct messages of one node."""

    def register(self, dispatcher: Dispatcher) -> None:
        """Route inbound notes (Create, Update) and deletions here."""
        dispatcher.register("Create", self.on_create, object_type="Note")
        dispatcher.register("Update", self.on_update, object_type="Note")
        dispatcher.register("Delete", self.on_delete)

    # Members
    async def start(self, member: Member, to: list[str], text: str) -> Conversation:
        """A new conversation with ``to`` (handles or actor URLs), opened by a first message."""
        me = self._uris.actor(member.username)
        if not 1 <= len(to) <= MAX_RECIPIENTS:
            raise ValidationFailed(
                "invalid recipients",
                details=[{"field": "to", "message": f"1 to {MAX_RECIPIENTS} recipients"}],
            )
        recipients: list[str] = []
        for target in to:
            actor = await resolve_actor(self._uris, self._transport, target, self._check_reachable)
            if actor != me and actor not in recipients:
                recipients.append(actor)
        if not recipients:
            raise BadRequest("a conversation needs someone other than you")
        inboxes = await self._inboxes(recipients)
        now = self._clock()
        async with in_transaction():
            conversation = await Conversation.create(
                context=self._uris.url(f"/conversations/{uuid.uuid4().hex}"),
                created_at=now,
                updated_at=now,
            )
            for actor in [me, *recipients]:
                await Participant.create(
                    conversation=conversation,
                    actor=actor,
                    local=self._local_username(actor) is not None,
                )
            first = await self._send(conversation, member, recipients, inboxes, text, None, now)
            await Participant.filter(conversation=conversation, actor=me).update(
                last_read_id=first.id
            )
        self._queued()
        return conversation

    async def reply(self, member: Member, conversation_id: int, text: str) -> Message:
        """Add a message to a conversation the member is in."""
        me = self._uris.actor(member.username)
        conversation = await self._joined(me, conversation_id)
        others = [
            p.actor for p in await Participant.filter(conversation=conversation) if p.actor != me
        ]
        # A participant gone or unreachable must not silence the conversation for the others.
        inboxes = await self._inboxes(others, skip_unreachable=True)
        last = await Message.filter(conversation=conversation).order_by("-id").first()
        now = self._clock()
        async with in_transaction():
            message = await self._send(
                conversation, member, others, inboxes, text, last.ap_id if last else None, now
            )
            await Participant.filter(conversation=conversation, actor=me).update(
                last_read_id=message.id
            )
        self._queued()
        return message

    async def edit(
        self, member: Member, conversation_id: int, message_id: int, text: str
    ) -> Message:
        """New text for one of the member's own messages; remote participants get ``Update``.

        404 when the member is not in the conversation or the message is not in it, 403 when
        the message is someone else's, 409 when it was deleted, 422 for text a new message
        could not have.
        """
        message, conversation, others = await self._own_message(member, conversation_id, message_id)
        if message.deleted_at is not None:
            raise Conflict("this message was deleted: it can no longer be edited")
        text = _checked_text(text)
        inboxes = await self._inboxes(others, skip_unreachable=True)
        now = self._clock()
        message.text, message.edited_at = text, now
        async with in_transaction():
            # Conditional: an edit racing a deletion must not bring the deleted text back.
            changed = await Message.filter(id=message.id, deleted_at__isnull=True).update(
                text=text, edited_at=now
            )
            if not changed:
                raise Conflict("this message was deleted: it can no longer be edited")
            if inboxes:
                note = await self.note_of(message, conversation, others)
                update = notes.wrap("Update", f"{message.ap_id}#updates/{uuid.uuid4().hex}", note)
                await publish(update, inboxes, message.author, now)
        self._queued()
        return message

    async def delete(self, member: Member, conversation_id: int, message_id: int) -> None:
        """Delete one of the member's own messages for everyone: its text goes, its place in
        the conversation stays; remote participants get ``Delete`` with a ``Tombstone``.

        Deleting a deleted message again is a success that changes and sends nothing.
        Not found and not the author: as for :meth:`edit`.
        """
        message, _, others = await self._own_message(member, conversation_id, message_id)
        if message.deleted_at is not None:
            return
        inboxes = await self._inboxes(others, skip_unreachable=True)
        now = self._clock()
        async with in_transaction():
            # Conditional, so two concurrent deletions send one Delete between them.
            changed = await Message.filter(id=message.id, deleted_at__isnull=True).update(
                text="", deleted_at=now
            )
            if changed and inboxes:
                # ``wrap`` addresses the activity like the note and reduces it to a Tombstone.
                gone = {"id": message.ap_id, "attributedTo": message.author, "to": others}
                deletion = notes.wrap("Delete", f"{message.ap_id}#delete", gone)
                await publish(deletion, inboxes, message.author, now)
        if changed:
            self._queued()

    async def summaries(self, member: Member) -> list[Summary]:
        """The member's conversations, most recent first, with what is unread."""
        me = self._uris.actor(member.username)
        mine = await Participant.filter(actor=me).prefetch_related("conversation")
        result = []
        for part in mine:
            conversation = part.conversation
            everyone = await Participant.filter(conversation=conversation).values_list(
                "actor", flat=True
            )
            messages = Message.filter(conversation=conversation, deleted_at__isnull=True)
            last = await messages.order_by("-id").first()
            unread_query = messages.exclude(author=me).filter(id__gt=part.last_read_id)
            result.append(
                Summary(conversation, [str(a) for a in everyone], last, await unread_query.count())
            )
        result.sort(key=lambda s: s.conversation.updated_at, reverse=True)
        return result

    async def messages(self, member: Member, conversation_id: int) -> list[Message]:
        """The messages of a conversation the member is in, oldest first."""
        conversation = await self._joined(self._uris.actor(member.username), conversation_id)
        return await Message.filter(conversation=conversation).order_by("id")

    async def mark_read(self, member: Member, conversation_id: int) -> None:
        """Everything in the conversation is read, as of now."""
        me = self._uris.actor(member.username)
        conversation = await self._joined(me, conversation_id)
        last = await Message.filter(conversation=conversation).order_by("-id").first()
        await Participant.filter(conversation=conversation, actor=me).update(
            last_read_id=last.id if last else 0
        )

    # From other servers
    async def on_create(self, activity: InboundActivity) -> None:
        """A note addressed privately to some of our members becomes a message."""
        note = activity.body.get("object")
        if not isinstance(note, dict) or note.get("attributedTo") != activity.actor:
            return  # only the author may create their note
        note_id = note.get("id")
        if not isinstance(note_id, str) or len(note_id) > MAX_URI:
            return
        if not same_host(note_id, activity.actor) or self._local_username(note_id) is not None:
            return  # a note lives on its author's server, never in our namespace
        addressed = [a for a in notes.addressees(note) if a != activity.actor]
        if len(addressed) > notes.MAX_ADDRESSEES or any(
            notes.is_collection_address(a) or len(a) > MAX_URI for a in addressed
        ):
            return  # public, followers-only or mass-addressed: not a direct message
        if not any(self._local_username(a) for a in addressed):
            return
        if await Message.exists(ap_id=note_id):
            return
        conversation = await self._conversation_for(note, activity.actor)
        now = self._clock()
        if not await Participant.exists(conversation=conversation):
            # A new conversation: its people are the author and whom the note addresses.
            # An existing one never gains participants from a remote note.
            for actor in [activity.actor, *addressed]:
                local = self._local_username(actor) is not None
                if local and not await self._is_member(actor):
                    continue
                await Participant.get_or_create(
                    conversation=conversation, actor=actor, defaults={"local": local}
                )
        content = note.get("content")
        await Message.create(
            conversation=conversation,
            ap_id=note_id,
            author=activity.actor,
            text=notes.html_to_text(content if isinstance(content, str) else "", MAX_TEXT),
            created_at=now,
        )
        conversation.updated_at = now
        await conversation.save(update_fields=["updated_at"])

    async def on_update(self, activity: InboundActivity) -> None:
        """The author edited a message."""
        note = activity.body.get("object")
        if not isinstance(note, dict):
            return
        message = await Message.get_or_none(ap_id=activities.object_id(note))
        if message is None or message.author != activity.actor or message.deleted_at:
            return
        content = note.get("content")
        message.text = notes.html_to_text(content if isinstance(content, str) else "", MAX_TEXT)
        message.edited_at = self._clock()
        await message.save(update_fields=["text", "edited_at"])

    async def on_delete(self, activity: InboundActivity) -> None:
        """The author deleted a message: its text goes, a trace that it existed stays."""
        message = await Message.get_or_none(ap_id=activities.object_id(activity.body.get("object")))
        if message is None or message.author != activity.actor:
            return
        message.text, message.deleted_at = "", self._clock()
        await message.save(update_fields=["text", "deleted_at"])

    # Helpers
    async def _send(
        self,
        conversation: Conversation,
        member: Member,
        recipients: list[str],
        inboxes: list[str],
        text: str,
        in_reply_to: str | None,
        now: datetime,
    ) -> Message:
        text = _checked_text(text)
        me = self._uris.actor(member.username)
        note_id = f"{me}/messages/{uuid.uuid4().hex}"
        message = await Message.create(
            conversation=conversation, ap_id=note_id, author=me, text=text, created_at=now
        )
        conversation.updated_at = now
        await conversation.save(update_fields=["updated_at"])
        if inboxes:
            note = notes.private_note(
                note_id, me, recipients, text, conversation.context, _iso(now), in_reply_to
            )
            await publish(notes.wrap("Create", f"{note_id}/create", note), inboxes, me, now)
        return message

    async def _own_message(
        self, member: Member, conversation_id: int, message_id: int
    ) -> tuple[Message, Conversation, list[str]]:
        """The member's own message in a conversation they are in, with the conversation and
        its other participants (whom the message was sent to: participants never change)."""
        me = self._uris.actor(member.username)
        conversation = await self._joined(me, conversation_id)
        # Looked up within the conversation: an id from another one is not found, whoever's.
        message = await Message.get_or_none(id=message_id, conversation=conversation)
        if message is None:
            raise NotFound("no such message")
        if message.author != me:
            raise Forbidden("only its author may change a message")
        others = await Participant.filter(conversation=conversation).exclude(actor=me)
        return message, conversation, [p.actor for p in others]

    async def note_of(
        self, message: Message, conversation: Conversation, recipients: list[str]
    ) -> dict[str, Any]:
        """The Note of one of our messages as it was sent, with its current text (and
        ``updated`` once edited): what we deliver and what a participant's server fetches."""
        # A reply answered the message before it (``reply`` sends ``inReplyTo`` the same way).
        previous = (
            await Message.filter(conversation=conversation, id__lt=message.id)
            .order_by("-id")
            .first()
        )
        note = notes.private_note(
            message.ap_id,
            message.author,
            recipients,
            message.text,
            conversation.context,
            _iso(message.created_at),
            previous.ap_id if previous else None,
        )
        if message.edited_at is not None:
            note["updated"] = _iso(message.edited_at)
        return note

    async def _inboxes(self, actors: list[str], *, skip_unreachable: bool = False) -> list[str]:
        """Inboxes of the remote actors (fetched before any transaction); locals need none."""
        inboxes: list[str] = []
        for actor in actors:
            if self._local_username(actor) is not None:
                if not await self._is_member(actor) and not skip_unreachable:
                    raise NotFound(f"no such member: {actor}")
                continue
            if skip_unreachable and not await self._reachable(actor):
                continue  # the community stopped federating with that server since
            await self._check_reachable(actor)
            try:
                remote = await self._resolver.actor(actor)
            except DereferenceError as exc:
                if skip_unreachable:
                    continue
                raise NotFound(f"cannot reach {actor}: {exc}") from None
            inbox = remote.shared_inbox or remote.inbox
            if inbox not in inboxes:
                inboxes.append(inbox)
        return inboxes

    async def _conversation_for(self, note: dict[str, object], author: str) -> Conversation:
        """The conversation the note continues, if its author is in it; else a new one.

        Knowing a conversation's context or a message id must not be enough to join it.
        """
        context = note.get("context")
        existing = None
        if isinstance(context, str) and len(context) <= MAX_URI:
            existing = await Conversation.get_or_none(context=context)
        replied = note.get("inReplyTo")
        if existing is None and isinstance(replied, str) and len(replied) <= MAX_URI:
            parent = await Message.get_or_none(ap_id=replied)
            if parent is not None:
                existing = await Conversation.get(id=parent.conversation_id)  # type: ignore[attr-defined]
        if existing is not None and await Participant.exists(conversation=existing, actor=author):
            return existing
        now = self._clock()
        return await Conversation.create(context=str(note["id"]), created_at=now, updated_at=now)

    async def _joined(self, actor: str, conversation_id: int) -> Conversation:
        part = await Participant.get_or_none(
            conversation_id=conversation_id, actor=actor
        ).prefetch_related("conversation")
        if part is None:
            raise NotFound("no such conversation")
        return part.conversation

    def _local_username(self, actor: str) -> str | None:
        return self._uris.username_from_actor(actor)

    async def _is_member(self, actor: str) -> bool:
        username = self._local_username(actor)
        return bool(username and is_valid_username(username)) and await Member.exists(
            username=username
        )


def _checked_text(text: str) -> str:
    """A message's text as we store and send it (new or edited): trimmed, 1 to MAX_TEXT."""
    text = text.strip()
    if not 1 <= len(text) <= MAX_TEXT:
        raise ValidationFailed(
            "invalid message",
            details=[{"field": "text", "message": f"1 to {MAX_TEXT} characters"}],
        )
    return text


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
