"""Statuses from other servers: posts of the accounts our members follow.

``Create`` of a ``Note``, ``Question`` (a poll, read-only here), ``Article``, ``Page`` or
``Event`` from an account a member here follows (an accepted follow), or naming one of our
members, becomes a :class:`Status` in the home timelines of those members; ``Update`` and
``Delete`` from its author change and remove it; ``Announce`` of a status by an account a
member follows is a boost, ``Undo`` takes it back. What is addressed to people only (no public
collection, no followers collection) is a direct message: node/conversations keeps those.

Every legal form of a property is read (``attributedTo`` a string, an object or a list,
``to``/``cc`` a string or a list, ``content`` or ``contentMap``, ``url`` a string, a Link or a
list); anything this handler leaves alone raises ``NotActedOn`` with the reason, which the
worker keeps for the node's admins. Rules as Mastodon's (mastodon/mastodon
``app/lib/activitypub/activity/create.rb`` and ``parser/status_parser.rb``): visibility from
the object's ``to``/``cc`` (the activity's when the object has none), the language from the
first key of ``contentMap`` (then ``nameMap``, ``summaryMap``), ``summary`` as the content
warning, Article, Page and Event shown as their title linked to their page.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import activities
from activitypub.actor_documents import same_host
from activitypub.listings import looks_like_listing
from activitypub.notes import (
    PUBLIC,
    html_to_text,
    is_collection_address,
    read_attachments,
)
from activitypub.notices import is_notice
from activitypub.properties import (
    format_timestamp,
    link_href,
    natural_language,
    object_types,
    reference,
    references,
    timestamp,
    values,
)
from activitypub.uris import UriScheme
from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import DereferenceError, NotActedOn
from node.clock import Clock
from node.relations.models import MemberRelation
from node.statuses.attachments import stored_attachment
from node.statuses.html import sanitize
from node.statuses.models import Status, StatusKind, Visibility
from node.statuses.service import Timelines

SHOWN = {
    "Note": StatusKind.NOTE,
    "Question": StatusKind.QUESTION,
    "Article": StatusKind.ARTICLE,
    "Page": StatusKind.PAGE,
    "Event": StatusKind.EVENT,
}
CONVERTED = frozenset({StatusKind.ARTICLE, StatusKind.PAGE, StatusKind.EVENT})
# An ``object`` of these types is an activity (a group relaying a post, FEP-1b12), not a post.
ACTIVITY_TYPES = frozenset(
    {"Create", "Update", "Delete", "Announce", "Like", "Undo", "Add", "Remove", "Follow"}
)
MAX_URI = 2048
MAX_SPOILER = 1000
MAX_TITLE = 500
MAX_TAGS = 50
MAX_MENTIONS = 100
MAX_OPTIONS = 20
MAX_ADDRESSES = 500
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


@dataclass
class Incoming:
    """A received status in plain values, checked, ready to store."""

    ap_id: str
    author: str
    kind: StatusKind
    visibility: Visibility
    url: str | None
    content: str
    title: str
    spoiler_text: str
    sensitive: bool
    language: str | None
    in_reply_to: str | None
    in_reply_to_author: str | None
    created_at: datetime
    mentions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    poll: dict[str, Any] | None = None
    addressed: list[str] = field(default_factory=list)  # actors in to/cc

    def shown_fields(self) -> dict[str, Any]:
        """What an edit may change."""
        return {
            "content": self.content,
            "title": self.title,
            "spoiler_text": self.spoiler_text,
            "sensitive": self.sensitive,
            "language": self.language,
            "attachments": self.attachments,
            "poll": self.poll,
            "tags": self.tags,
            "mentions": self.mentions,
            "url": self.url,
        }


class ReceivedStatuses:
    """Handlers for inbound statuses."""

    def __init__(
        self, uris: UriScheme, timelines: Timelines, resolver: ActorResolver, clock: Clock
    ) -> None:
        self._uris = uris
        self._timelines = timelines
        self._resolver = resolver
        self._clock = clock

    def register(self, dispatcher: Dispatcher) -> None:
        """Route the activities this handles to it: every Create (what it does not show is
        left alone with the reason), Update of the types it shows, every Delete, Announce and
        Undo."""
        dispatcher.register("Create", self.on_create)
        for object_type in SHOWN:
            dispatcher.register("Update", self.on_update, object_type=object_type)
        dispatcher.register("Delete", self.on_delete)
        dispatcher.register("Announce", self.on_announce)
        dispatcher.register("Undo", self.on_undo)

    # -- Create ------------------------------------------------------------------------------

    async def on_create(self, activity: InboundActivity) -> None:
        """A post of an account members follow, or naming a member: stored, in their home
        timelines."""
        obj = activity.body.get("object")
        if not isinstance(obj, dict):
            raise NotActedOn("a Create of a status must embed the status")
        incoming = self._shape(obj, activity.actor, activity.body, await self._followers(activity))
        # Whom it reaches before its content is read: sanitising is the costly part, and most
        # public posts a server sends reach no one here (not followed, naming no one).
        audience = await self._audience(incoming)
        self._fill(incoming, obj)
        status = await self._store(incoming)
        await self._timelines.fan_out(status, audience)

    async def _audience(self, incoming: Incoming) -> list[int]:
        """The members whose home timeline gets the status: followers of its author here, and
        the members it mentions or addresses; not those who block or mute its author."""
        followers = await self._timelines.followers_here(incoming.author)
        named = await self._timelines.members_named([*incoming.mentions, *incoming.addressed])
        wanted = set(followers) | set(named)
        if not wanted:
            raise NotActedOn("not from an account anyone here follows, and it names no one here")
        members = await self._without_hiding(wanted, [incoming.author])
        if not members:
            raise NotActedOn("everyone here it would reach blocks or mutes its author")
        return members

    async def _without_hiding(self, members: set[int], actors: list[str]) -> list[int]:
        """``members`` but those who block or mute any of ``actors`` (Mastodon keeps them out
        of home timelines too)."""
        hiding = await MemberRelation.filter(
            owner_id__in=list(members), target__in=actors
        ).values_list("owner_id", flat=True)
        return sorted(members - {int(m) for m in hiding})  # type: ignore[call-overload]

    async def _store(self, incoming: Incoming, reblog_of: Status | None = None) -> Status:
        """The status row for ``incoming``, created once (a second delivery, or a retry after
        a crash between storing and fan-out, finds it)."""
        existing = await Status.get_or_none(ap_id=incoming.ap_id)
        if existing is not None:
            if existing.author != incoming.author:
                raise NotActedOn("a status of another account has that id")
            return existing
        try:
            async with in_transaction():  # a savepoint when nested: PostgreSQL aborts else
                return await Status.create(
                    ap_id=incoming.ap_id,
                    author=incoming.author,
                    local=False,
                    kind=incoming.kind,
                    visibility=incoming.visibility,
                    in_reply_to=incoming.in_reply_to,
                    in_reply_to_author=incoming.in_reply_to_author,
                    created_at=incoming.created_at,
                    reblog_of=reblog_of,
                    **incoming.shown_fields(),
                )
        except IntegrityError:  # stored meanwhile by a concurrent delivery
            return await Status.get(ap_id=incoming.ap_id)

    # -- reading -----------------------------------------------------------------------------

    async def _followers(self, activity: InboundActivity) -> str | None:
        """The sender's followers collection, as its actor document names it (cached: the
        inbox fetched the document to check the signature)."""
        try:
            return (await self._resolver.actor(activity.actor)).profile.followers
        except DereferenceError:
            return None

    def read(
        self,
        obj: dict[str, Any],
        actor: str,
        activity: dict[str, Any],
        followers: str | None = None,
    ) -> Incoming:
        """``obj`` as a status of ``actor``, or ``NotActedOn`` saying why it is not one we
        show. Malformed values never raise anything else. ``followers`` is the author's
        followers collection, when known (addressed to it, a status is followers-only)."""
        incoming = self._shape(obj, actor, activity, followers)
        self._fill(incoming, obj)
        return incoming

    def _shape(
        self,
        obj: dict[str, Any],
        actor: str,
        activity: dict[str, Any],
        followers: str | None = None,
    ) -> Incoming:
        """:meth:`read` but the content and content warning (left empty)."""
        kind = self._kind(obj)
        ap_id = reference(obj.get("id"))
        if ap_id is None:
            raise NotActedOn("the status has no usable id")
        if not same_host(ap_id, actor):
            raise NotActedOn("the status's id is not on its author's server")
        if ap_id.startswith(self._uris.url("/")):
            raise NotActedOn("the status's id names this node")
        if actor not in references(obj.get("attributedTo"), limit=10):
            raise NotActedOn("the status is not attributed to the actor who sent it")
        to = _addresses(obj, activity, "to")
        cc = _addresses(obj, activity, "cc")
        if any(self._uris.group_slug_from_actor(a) for a in [*to, *cc]):
            raise NotActedOn("a post to a group of this node (circles keep those)")
        visibility = _visibility(to, cc, followers)
        if visibility is Visibility.DIRECT:
            raise NotActedOn("a direct message (conversations keep those)")
        now = self._clock()
        published = timestamp(obj.get("published"))
        incoming = Incoming(
            ap_id=ap_id,
            author=actor,
            kind=kind,
            visibility=visibility,
            url=_page_url(obj.get("url"), actor) or ap_id,
            content="",
            title=_plain(natural_language(obj, "name"), MAX_TITLE),
            spoiler_text="",
            sensitive=obj.get("sensitive") is True,
            language=_language(obj, activity),
            in_reply_to=_in_reply_to(obj.get("inReplyTo")),
            in_reply_to_author=_in_reply_to_author(obj.get("inReplyTo")),
            created_at=min(published or now, now),
            mentions=_mentions(obj.get("tag")),
            tags=_hashtags(obj.get("tag")),
            attachments=[stored_attachment(a) for a in read_attachments(obj.get("attachment"))],
            poll=_poll(obj) if kind is StatusKind.QUESTION else None,
            addressed=[
                a
                for a in [*to, *cc]
                if a not in PUBLIC and a != followers and not is_collection_address(a)
            ],
        )
        return incoming

    def _fill(self, incoming: Incoming, obj: dict[str, Any]) -> None:
        """The content and content warning of ``incoming``, read from ``obj``; ``NotActedOn``
        when it has nothing to show."""
        summary = natural_language(obj, "summary")
        if incoming.kind in CONVERTED:
            incoming.content = _converted(incoming.title, summary, incoming.url or incoming.ap_id)
        else:
            # Cut before sanitising (html.MAX_HTML), never after: a cut would break the markup.
            incoming.content = sanitize(natural_language(obj, "content"))
            incoming.spoiler_text = _plain(summary, MAX_SPOILER)
            incoming.sensitive = incoming.sensitive or bool(incoming.spoiler_text)
        if not (
            html_to_text(incoming.content)
            or incoming.spoiler_text
            or incoming.attachments
            or incoming.poll
        ):
            raise NotActedOn("no content: no text, content warning, attachment or poll")

    def _kind(self, obj: dict[str, Any]) -> StatusKind:
        types = object_types(obj)
        kinds = [SHOWN[t] for t in sorted(types) if t in SHOWN]
        if not kinds:
            shown = ", ".join(sorted(types))[:100] or "none"
            raise NotActedOn(f"object type {shown} not shown")
        if looks_like_listing(obj):
            raise NotActedOn("a listing (listings keep those)")
        if is_notice(obj):
            raise NotActedOn("a notice (notices keep those)")
        return kinds[0]

    # -- Update, Delete ----------------------------------------------------------------------

    async def on_update(self, activity: InboundActivity) -> None:
        """Its author edited a status: new content, content warning, attachments, poll."""
        obj = activity.body.get("object")
        if not isinstance(obj, dict):
            raise NotActedOn("an Update of a status must embed the status")
        if not object_types(obj) & SHOWN.keys():
            raise NotActedOn(f"object type {', '.join(sorted(object_types(obj)))[:100]} not shown")
        status = await self._held(reference(obj.get("id")))
        if status.author != activity.actor:
            raise NotActedOn("only its author may edit a status")
        incoming = self.read(obj, activity.actor, activity.body, await self._followers(activity))
        changed = {k: v for k, v in incoming.shown_fields().items() if getattr(status, k) != v}
        if not changed:
            raise NotActedOn("the edit changes nothing shown")
        for name, value in changed.items():
            setattr(status, name, value)
        fields = list(changed)
        # A poll's counts change with every vote (Mastodon sends an Update): not an edit.
        if set(changed) - {"poll"}:
            status.edited_at = self._clock()
            fields.append("edited_at")
        await status.save(update_fields=fields)

    async def on_delete(self, activity: InboundActivity) -> None:
        """Its author deleted a status (its boosts and timeline entries go with it); a
        deleted account's statuses all go."""
        target = activities.object_id(activity.body.get("object"))
        if target is not None and target == activity.actor:
            gone = await Status.filter(author=activity.actor, local=False).delete()
            if not gone:
                raise NotActedOn("no status of that account is held here")
            return
        status = await self._held(target)
        if status.author != activity.actor:
            raise NotActedOn("only its author may delete a status")
        await status.delete()

    async def _held(self, ap_id: str | None) -> Status:
        status = await Status.get_or_none(ap_id=ap_id, local=False) if ap_id else None
        if status is None:
            raise NotActedOn("no status here has that id")
        return status

    # -- Announce, Undo ----------------------------------------------------------------------

    async def on_announce(self, activity: InboundActivity) -> None:
        """A boost by an account members follow: the boost in their home timelines, the
        boosted status stored (from the boost when its own server sent it, else fetched)."""
        obj = activity.body.get("object")
        if isinstance(obj, dict) and object_types(obj) & ACTIVITY_TYPES:
            raise NotActedOn("an announced activity (a group relaying it), not a status")
        announced = reference(obj)
        if announced is None:
            raise NotActedOn("the Announce names no status")
        followers = await self._timelines.followers_here(activity.actor)
        if not followers:
            raise NotActedOn("not from an account anyone here follows")
        if await Status.exists(ap_id=activity.activity_id):
            raise NotActedOn("this boost was received already")
        original = await Status.get_or_none(ap_id=announced)
        if original is None:
            original = await self._store(await self._announced(obj, announced, activity.actor))
        if original.reblog_of_id is not None:  # type: ignore[attr-defined]
            raise NotActedOn("a boost of a boost")
        if original.visibility not in (Visibility.PUBLIC, Visibility.UNLISTED):
            raise NotActedOn("only public and unlisted statuses can be boosted")
        to = _addresses(activity.body, {}, "to")
        cc = _addresses(activity.body, {}, "cc")
        visibility = _visibility(to, cc)
        if visibility is Visibility.DIRECT:
            visibility = Visibility.PRIVATE  # a boost goes to the booster's followers
        now = self._clock()
        published = timestamp(activity.body.get("published"))
        boost = Incoming(
            ap_id=activity.activity_id,
            author=activity.actor,
            kind=original.kind,
            visibility=visibility,
            url=None,
            content="",
            title="",
            spoiler_text="",
            sensitive=False,
            language=None,
            in_reply_to=None,
            in_reply_to_author=None,
            created_at=min(published or now, now),
        )
        members = await self._without_hiding(set(followers), [activity.actor, original.author])
        if not members:
            raise NotActedOn("everyone here it would reach blocks or mutes its author")
        status = await self._store(boost, reblog_of=original)
        await self._timelines.fan_out(status, members)

    async def _announced(self, obj: Any, announced: str, announcer: str) -> Incoming:
        """The boosted status: the embedded one when the announcer's server is its author's
        (it speaks for its own), else the one its own server serves."""
        doc: Any = obj
        if not (isinstance(obj, dict) and same_host(announced, announcer) and "type" in obj):
            if self._uris.username_from_actor(announced) or announced.startswith(
                self._uris.url("/")
            ):
                raise NotActedOn("a boost of a status of this node not held here")
            try:
                doc = await self._resolver.fetch_object(announced)
            except DereferenceError as exc:
                raise NotActedOn(f"the boosted status cannot be fetched: {exc}") from None
        if not _storable(doc):
            raise NotActedOn(
                "the boosted status holds text that cannot be stored (NUL, surrogates)"
            )
        if reference(doc.get("id")) != announced:
            raise NotActedOn("the boosted status's server serves another object under its id")
        authors = references(doc.get("attributedTo"), limit=10)
        if not authors:
            raise NotActedOn("the boosted status names no author")
        author = next((a for a in authors if same_host(a, announced)), authors[0])
        return self.read(doc, author, {})

    async def on_undo(self, activity: InboundActivity) -> None:
        """The booster took a boost back."""
        undone = activities.object_id(activity.body.get("object"))
        boost = (
            await Status.get_or_none(ap_id=undone, reblog_of_id__isnull=False) if undone else None
        )
        if boost is None:
            raise NotActedOn("no boost here has that id")
        if boost.author != activity.actor:
            raise NotActedOn("only its author may undo a boost")
        async with in_transaction():
            await boost.delete()


# -- property readers ------------------------------------------------------------------------


def _addresses(obj: dict[str, Any], activity: dict[str, Any], name: str) -> list[str]:
    """``to`` or ``cc`` of the object (of the activity when the object has none, as Mastodon
    reads it): URIs, or embedded objects by their id; the public collection in any spelling."""
    value = obj.get(name)
    if value is None:
        value = activity.get(name)
    found: dict[str, None] = {}
    for item in values(value, MAX_ADDRESSES):
        address = item if isinstance(item, str) and item in PUBLIC else reference(item)
        if address is not None:
            found.setdefault(address, None)
    return list(found)


def _visibility(to: list[str], cc: list[str], followers: str | None = None) -> Visibility:
    if any(a in PUBLIC for a in to):
        return Visibility.PUBLIC
    if any(a in PUBLIC for a in cc):
        return Visibility.UNLISTED
    # The author's followers collection, or another collection (a list, a group's members):
    # not people named one by one, so not a direct message.
    if any(is_collection_address(a) or a == followers for a in [*to, *cc]):
        return Visibility.PRIVATE
    return Visibility.DIRECT


def _plain(value: str, limit: int) -> str:
    """A text-only property (a content warning, a title): its text, cut to ``limit``."""
    return html_to_text(value, limit).replace("\n", " ").replace("\x00", "")


def _storable(doc: Any) -> bool:
    """Whether a fetched document can be stored: the inbox refuses NUL and lone surrogates in
    deliveries (PostgreSQL cannot store them); a fetched one is checked here."""
    try:
        dumped = json.dumps(doc, ensure_ascii=False)
        dumped.encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return False
    return "\x00" not in dumped and "\\u0000" not in dumped


def _page_url(value: Any, author: str) -> str | None:
    """The page a person opens: ``url`` as a string, a Link or a list (an HTML one first),
    only on the author's own server (Mastodon's rule: a server speaks for its own pages)."""
    candidates = values(value, limit=10)
    html_first = sorted(
        candidates,
        key=lambda v: not (isinstance(v, dict) and v.get("mediaType") == "text/html"),
    )
    for candidate in html_first:
        url = link_href(candidate)
        if url is not None and same_host(url, author):
            return url
    return None


def _language(obj: dict[str, Any], activity: dict[str, Any]) -> str | None:
    """The first key of ``contentMap`` (then ``nameMap``, ``summaryMap``), else the
    ``@language`` of the object's or activity's ``@context``."""
    for name in ("contentMap", "nameMap", "summaryMap"):
        mapped = obj.get(name)
        if isinstance(mapped, dict):
            for key in mapped:
                if (language := _language_tag(key)) is not None:
                    return language
    for context in (obj.get("@context"), activity.get("@context")):
        for entry in values(context, limit=10):
            if isinstance(entry, dict) and (language := _language_tag(entry.get("@language"))):
                return language
    return None


def _language_tag(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 16 or not _LANGUAGE.match(value):
        return None
    if value.lower() == "und":
        return None
    primary, _, rest = value.partition("-")
    return primary.lower() + (f"-{rest}" if rest else "")


def _in_reply_to(value: Any) -> str | None:
    for item in values(value, limit=5):
        if (uri := reference(item)) is not None:
            return uri
    return None


def _in_reply_to_author(value: Any) -> str | None:
    """The author of the status answered, when ``inReplyTo`` embeds it."""
    for item in values(value, limit=5):
        if isinstance(item, dict):
            authors = references(item.get("attributedTo"), limit=5)
            return authors[0] if authors else None
    return None


def _tags(value: Any, kind: str) -> list[dict[str, Any]]:
    return [
        item
        for item in values(value, MAX_MENTIONS + MAX_TAGS)
        if isinstance(item, dict) and kind in object_types(item)
    ]


def _hashtags(value: Any) -> list[str]:
    """Hashtag names, lower case, without '#', once each."""
    found: dict[str, None] = {}
    for item in _tags(value, "Hashtag"):
        name = item.get("name")
        if isinstance(name, str):
            name = name.strip().removeprefix("#").lower()
            if name and len(name) <= 100 and not any(ch.isspace() for ch in name):
                found.setdefault(name, None)
    return list(found)[:MAX_TAGS]


def _mentions(value: Any) -> list[str]:
    """The actor ids of ``Mention`` tags (their ``href``)."""
    found: dict[str, None] = {}
    for item in _tags(value, "Mention"):
        href = link_href(item)
        if href is not None:
            found.setdefault(href, None)
    return list(found)[:MAX_MENTIONS]


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _poll(obj: dict[str, Any]) -> dict[str, Any] | None:
    """A Question's poll: its options (``oneOf``, or ``anyOf`` for several choices) with their
    votes (``replies.totalItems``), when it ends (``endTime``, or ``closed``) and how many
    voted (``votersCount``). None when it has no options (then it shows as a post)."""
    multiple = obj.get("oneOf") is None and obj.get("anyOf") is not None
    options = []
    for item in values(obj.get("anyOf") if multiple else obj.get("oneOf"), MAX_OPTIONS):
        if not isinstance(item, dict):
            continue
        title = _plain(natural_language(item, "name"), 200)
        if not title:
            continue
        replies = item.get("replies")
        votes = _count(replies.get("totalItems")) if isinstance(replies, dict) else None
        options.append({"title": title, "votes_count": votes or 0})
    if not options:
        return None
    closed = obj.get("closed")
    ends = timestamp(obj.get("endTime")) or timestamp(closed)
    return {
        "options": options,
        "multiple": multiple,
        "expires_at": format_timestamp(ends),
        "closed": closed is not None and closed is not False,
        "voters_count": _count(obj.get("votersCount")),
    }


def _converted(title: str, summary: str, url: str) -> str:
    """An Article, Page or Event as Mastodon shows it: its title linking to its page, and
    its summary (here a description, not a content warning)."""
    link = sanitize(f'<a href="{html.escape(url)}">{html.escape(title or url)}</a>')
    description = sanitize(summary)
    if description and not description.startswith("<p"):
        description = f"<p>{description}</p>"
    return f"<p>{link}</p>{description}"
