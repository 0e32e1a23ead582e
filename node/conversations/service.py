"""Direct messages: sent as Create(Note) addressed only to the participants, never public.

Every note we send mentions each participant (a ``Mention`` tag and a mention link), which is
what GoToSocial and Mastodon need to keep and show a direct message. A conversation is keyed by
the ActivityStreams ``context`` its messages share (see :mod:`node.conversations.received` for
notes from elsewhere). Only a note's author may edit or delete it: our members through
``edit``/``delete`` (sent on as ``Update(Note)`` and ``Delete(Tombstone)`` to the participants
the note was sent to), remote authors through the inbound handlers.

A participant the message cannot be sent to (their server is blocked since, or cannot be
reached and was never known) is named in the message's ``not_sent_to``, with the reason:
nothing is dropped without the sender being told.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from activitypub import notes
from activitypub.properties import format_timestamp
from federation.dispatch import Dispatcher
from federation.errors import DereferenceError
from federation.outbound import publish
from moderation import filters
from moderation.content import FilterHit
from moderation.domains import authority_of
from moderation.governance import SharedKind
from moderation.models import FilterAction, FilteredContent
from node.conversations.models import Conversation, Message, Participant
from node.conversations.received import MAX_TEXT, ReceivedNotes
from node.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from node.federated import FederatedService
from node.members.models import Member
from node.members.service import is_valid_username
from node.moderation.safety import ContentGuard
from node.relations.checks import block_between, hidden_from

log = logging.getLogger(__name__)
MAX_RECIPIENTS = 20


@dataclass(frozen=True)
class Summary:
    """A conversation as its list shows it."""

    conversation: Conversation
    participants: list[str]
    last: Message | None
    unread: int


@dataclass(frozen=True)
class Recipients:
    """Where a message goes: the inboxes to deliver to, and who it cannot be sent to (why)."""

    inboxes: list[str]
    not_sent_to: list[dict[str, str]]


MessageHook = Callable[[Message], Awaitable[object]]


class ConversationService(FederatedService):
    """Direct messages of one node."""

    # limits on links and mentions, and the keyword filters (set once at start-up)
    guard: ContentGuard | None = None
    # Told of every message stored, ours or received (the client API's timelines index them);
    # set once at start-up.
    stored: MessageHook | None = None

    def register(self, dispatcher: Dispatcher) -> None:
        """Route inbound notes (Create, Update) and deletions to :class:`ReceivedNotes`."""
        ReceivedNotes(
            self._uris, self._clock, self._is_member, self.guard, stored=self.stored
        ).register(dispatcher)

    # Members
    async def start(
        self, member: Member, to: list[str], text: str, *, in_reply_to: str | None = None
    ) -> Conversation:
        """A new conversation with ``to`` (handles or actor URLs), opened by a first message
        (answering ``in_reply_to``, e.g. a listing, when given)."""
        me = self._uris.actor(member.username)
        if not 1 <= len(to) <= MAX_RECIPIENTS:
            raise ValidationFailed(
                "invalid recipients",
                details=[{"field": "to", "message": f"1 to {MAX_RECIPIENTS} recipients"}],
            )
        recipients: list[str] = []
        for target in to:
            actor = await self._resolve(target)
            if actor != me and actor not in recipients:
                recipients.append(actor)
        if not recipients:
            raise BadRequest("a conversation needs someone other than you")
        await self._check_blocks(me, recipients)
        route = await self._recipients(recipients)
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
            first = await self._send(
                conversation, member, recipients, route, text, in_reply_to, now
            )
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
            p.actor
            for p in await Participant.filter(conversation=conversation).order_by("id")
            if p.actor != me
        ]
        await self._check_blocks(me, others)
        # A participant gone or unreachable must not silence the conversation for the others.
        route = await self._recipients(others, skip_unreachable=True)
        last = await _latest(conversation)
        now = self._clock()
        async with in_transaction():
            message = await self._send(
                conversation, member, others, route, text, last.ap_id if last else None, now
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
        hit = await self._screen(text)
        # Whoever did not get the message does not get its edit either (an Update of a note
        # their server never received): they stay listed, with the reason they were skipped.
        missed = {entry["actor"] for entry in message.not_sent_to}
        route = await self._recipients(
            [a for a in others if a not in missed], skip_unreachable=True
        )
        route = Recipients(route.inboxes, [*message.not_sent_to, *route.not_sent_to])
        now = self._clock()
        message.text, message.edited_at, message.not_sent_to = text, now, route.not_sent_to
        async with in_transaction():
            # Conditional: an edit racing a deletion must not bring the deleted text back.
            changed = await Message.filter(id=message.id, deleted_at__isnull=True).update(
                text=text, edited_at=now, not_sent_to=route.not_sent_to
            )
            if not changed:
                raise Conflict("this message was deleted: it can no longer be edited")
            if hit is not None:
                await self._caught(message, hit.action, hit.reason)
            if route.inboxes and not await filters.not_shown("message", [message.ap_id]):
                note = await self.note_of(message, conversation, others)
                update = notes.wrap("Update", f"{message.ap_id}#updates/{uuid.uuid4().hex}", note)
                await publish(update, route.inboxes, message.author, now)
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
        route = await self._recipients(others, skip_unreachable=True)
        now = self._clock()
        async with in_transaction():
            # Conditional, so two concurrent deletions send one Delete between them.
            changed = await Message.filter(id=message.id, deleted_at__isnull=True).update(
                text="", summary="", attachments=[], deleted_at=now
            )
            if changed and route.inboxes:
                # ``wrap`` addresses the activity like the note and reduces it to a Tombstone.
                gone = {"id": message.ap_id, "attributedTo": message.author, "to": others}
                deletion = notes.wrap("Delete", f"{message.ap_id}#delete", gone)
                await publish(deletion, route.inboxes, message.author, now)
        if changed:
            self._queued()

    async def take_down(self, message: Message) -> None:
        """Moderators hide a message: its text goes, for everyone here; when one of our
        members wrote it, the other participants' servers get ``Delete`` too."""
        others = await Participant.filter(conversation_id=message.conversation_id).exclude(  # type: ignore[attr-defined]
            actor=message.author
        )
        local_author = self._local_username(message.author) is not None
        route = (
            await self._recipients([p.actor for p in others if not p.local], skip_unreachable=True)
            if local_author
            else Recipients([], [])
        )
        now = self._clock()
        async with in_transaction():
            changed = await Message.filter(id=message.id, deleted_at__isnull=True).update(
                text="", summary="", attachments=[], deleted_at=now
            )
            if changed and route.inboxes:
                to = [p.actor for p in others]
                gone = {"id": message.ap_id, "attributedTo": message.author, "to": to}
                deletion = notes.wrap("Delete", f"{message.ap_id}#delete", gone)
                await publish(deletion, route.inboxes, message.author, now)
        if changed and route.inboxes:
            self._queued()

    async def summaries(self, member: Member) -> list[Summary]:
        """The member's conversations, most recent first, with what is unread. Conversations
        only with people the member blocked or muted are left out, and their messages are not
        counted."""
        me = self._uris.actor(member.username)
        hidden = await hidden_from(member)
        mine = await Participant.filter(actor=me).prefetch_related("conversation")
        result = []
        for part in mine:
            conversation = part.conversation
            everyone = await Participant.filter(conversation=conversation).values_list(
                "actor", flat=True
            )
            others = {str(a) for a in everyone} - {me}
            if others and others <= hidden:
                continue
            messages = Message.filter(
                _shown_to(me), conversation=conversation, deleted_at__isnull=True
            )
            if hidden:
                messages = messages.exclude(author__in=list(hidden))
            last = await messages.order_by("-created_at", "-id").first()
            unread_query = messages.exclude(author=me).filter(id__gt=part.last_read_id)
            result.append(
                Summary(conversation, [str(a) for a in everyone], last, await unread_query.count())
            )
        result.sort(key=lambda s: s.conversation.updated_at, reverse=True)
        return result

    async def messages(self, member: Member, conversation_id: int) -> list[Message]:
        """The messages of a conversation the member is in, in the order they were written,
        but for those of people the member blocked or muted (and those the keyword filters
        keep from them)."""
        me = self._uris.actor(member.username)
        conversation = await self._joined(me, conversation_id)
        query = Message.filter(_shown_to(me), conversation=conversation)
        if hidden := await hidden_from(member):
            query = query.exclude(author__in=list(hidden))
        return await query.order_by("created_at", "id")

    async def between(self, one: str, other: str) -> int | None:
        """The id of the latest conversation of exactly these two actors, if any."""
        theirs = Participant.filter(actor=other).values_list("conversation_id", flat=True)
        shared = await Participant.filter(actor=one, conversation_id__in=Subquery(theirs))
        for part in sorted(shared, key=lambda p: p.conversation_id, reverse=True):  # type: ignore[attr-defined]
            count = await Participant.filter(conversation_id=part.conversation_id).count()  # type: ignore[attr-defined]
            if count == 2:
                return int(part.conversation_id)  # type: ignore[attr-defined]
        return None

    async def mark_read(self, member: Member, conversation_id: int) -> None:
        """Everything in the conversation is read, as of now."""
        me = self._uris.actor(member.username)
        conversation = await self._joined(me, conversation_id)
        # Read markers follow arrival (ids), so a late note that was written earlier is unread.
        last = await Message.filter(conversation=conversation).order_by("-id").first()
        await Participant.filter(conversation=conversation, actor=me).update(
            last_read_id=last.id if last else 0
        )

    # Helpers
    async def _send(
        self,
        conversation: Conversation,
        member: Member,
        recipients: list[str],
        route: Recipients,
        text: str,
        in_reply_to: str | None,
        now: datetime,
    ) -> Message:
        text = _checked_text(text)
        hit = await self._screen(text)
        me = self._uris.actor(member.username)
        note_id = f"{me}/messages/{uuid.uuid4().hex}"
        message = await Message.create(
            conversation=conversation,
            ap_id=note_id,
            author=me,
            text=text,
            in_reply_to=in_reply_to,
            created_at=now,
            not_sent_to=route.not_sent_to,
        )
        conversation.updated_at = now
        await conversation.save(update_fields=["updated_at"])
        if self.stored is not None:
            await self.stored(message)
        if hit is not None:
            # held or hidden: stored for its author, sent nowhere (a release sends it)
            await self._caught(message, hit.action, hit.reason)
        elif route.inboxes:
            note = await self.note_of(message, conversation, recipients)
            await publish(notes.wrap("Create", f"{note_id}/create", note), route.inboxes, me, now)
        return message

    async def _screen(self, text: str) -> FilterHit | None:
        """422 when a message carries too many links or mentions; else the keyword filter
        it matches, if any."""
        if self.guard is None:
            return None
        self.guard.check_post("text", text)
        return await self.guard.screen(text)

    async def _caught(self, message: Message, action: FilterAction, reason: str) -> None:
        await filters.caught(
            "message",
            message.ap_id,
            message.author,
            local=True,
            action=action,
            reason=reason,
            excerpt=message.text,
            at=self._clock(),
        )

    async def release(self, ap_id: str) -> None:
        """A held message a moderator released: sent now to the other participants' servers
        (in the caller's transaction). Another server's message is simply shown."""
        message = await Message.get_or_none(ap_id=ap_id, deleted_at__isnull=True)
        if message is None or self._local_username(message.author) is None:
            return
        conversation = await Conversation.get(id=message.conversation_id)  # type: ignore[attr-defined]
        others = [
            p.actor
            for p in await Participant.filter(conversation=conversation).order_by("id")
            if p.actor != message.author
        ]
        route = await self._recipients(others, skip_unreachable=True)
        if route.inboxes:
            note = await self.note_of(message, conversation, others)
            create = notes.wrap("Create", f"{message.ap_id}/create", note)
            await publish(create, route.inboxes, message.author, self._clock())
            self._queued()

    async def reject(self, ap_id: str) -> None:
        """A held message a moderator rejected: its text goes (it was never sent)."""
        await Message.filter(ap_id=ap_id, deleted_at__isnull=True).update(
            text="", summary="", attachments=[], deleted_at=self._clock()
        )

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
        others = (
            await Participant.filter(conversation=conversation).exclude(actor=me).order_by("id")
        )
        return message, conversation, [p.actor for p in others]

    async def note_of(
        self, message: Message, conversation: Conversation, recipients: list[str]
    ) -> dict[str, Any]:
        """The Note of one of our messages as it was sent, with its current text (and
        ``updated`` once edited): what we deliver and what a participant's server fetches."""
        note = notes.private_note(
            message.ap_id,
            message.author,
            await self._mentions(recipients),
            message.text,
            conversation.context,
            _iso(message.created_at),
            message.in_reply_to,
        )
        if message.edited_at is not None:
            note["updated"] = _iso(message.edited_at)
        return note

    async def _recipients(self, actors: list[str], *, skip_unreachable: bool = False) -> Recipients:
        """Inboxes of the remote actors (found before any transaction); locals need none.

        What we knew of an actor serves when its server is down: the message is queued and
        delivered when it answers again. With ``skip_unreachable`` (replies, edits), whoever
        cannot be sent to is listed with the reason instead of failing the whole message;
        without it (a new conversation), the first such recipient is an error.
        """
        inboxes: list[str] = []
        skipped: list[dict[str, str]] = []
        for actor in actors:
            if self._local_username(actor) is not None:
                if not await self._is_member(actor):
                    if not skip_unreachable:
                        raise NotFound(f"no member of this node is called {actor}")
                    skipped.append({"actor": actor, "reason": "no longer a member here"})
                continue
            host = authority_of(actor)
            if skip_unreachable and not await self._reachable(actor):
                # The community stopped federating with that server since.
                reason = f"this node's community no longer federates with {host}"
                skipped.append({"actor": actor, "reason": reason})
                continue
            await self._check_reachable(actor)
            if (refusal := await self._sharing_refusal(SharedKind.MESSAGES, actor)) is not None:
                if not skip_unreachable:
                    raise Forbidden(f"cannot send to {host}: {refusal}")
                skipped.append({"actor": actor, "reason": refusal})
                continue
            try:
                remote = await self._resolver.actor(actor)
            except DereferenceError as exc:
                log.info("cannot get the actor document of %s: %s", actor, exc)
                if not skip_unreachable:
                    raise NotFound(
                        f"cannot reach {host} to find {actor}: try again later"
                    ) from None
                skipped.append({"actor": actor, "reason": f"{host} could not be reached"})
                continue
            inbox = remote.shared_inbox or remote.inbox
            if inbox not in inboxes:
                inboxes.append(inbox)
        return Recipients(inboxes, skipped)

    async def _check_blocks(self, me: str, others: list[str]) -> None:
        """403 when ``me`` and one of ``others`` block each other: a message would reach (or
        come from) someone who does not want it."""
        for other in others:
            if (refusal := await block_between(self._uris, me, other)) is not None:
                raise Forbidden(f"cannot send this message: {refusal}")

    async def _mentions(self, actors: list[str]) -> list[notes.Mention]:
        """How each recipient is named in a note: ``@user@host`` as we know them."""
        found = []
        for actor in actors:
            username = self._local_username(actor)
            if username is not None:
                found.append(notes.Mention(actor, f"{username}@{self._uris.domain}"))
                continue
            # What we know already: no request here (this runs inside the transaction that
            # stores the message, and for servers that may be down or blocked).
            known = await self._resolver.known_username(actor)
            found.append(notes.Mention(actor, notes.handle_for(actor, known)))
        return found

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


async def _latest(conversation: Conversation) -> Message | None:
    """The last message of a conversation in reading order (what a reply answers)."""
    return await Message.filter(conversation=conversation).order_by("-created_at", "-id").first()


def _shown_to(me: str) -> Q:
    """Messages ``me`` may read: their own, and the others' no keyword filter keeps back."""
    kept_back = FilteredContent.filter(kind="message", state__in=filters.NOT_SHOWN).values_list(
        "target", flat=True
    )
    return Q(author=me) | ~Q(ap_id__in=Subquery(kept_back))


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
    return format_timestamp(value) or ""
