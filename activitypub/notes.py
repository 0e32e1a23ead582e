"""Notes: the private ``Create(Note)`` we send, and reading the ones we receive.

What we send names every addressee twice, as Mastodon does: a ``Mention`` tag (``href`` the
actor id, ``name`` ``@user@host``) and a mention link at the start of the text. GoToSocial
keeps a remote status only if the receiver follows its author or is mentioned in it, and shows
a direct status only to the accounts it mentions: addressing alone is not enough.

What we receive comes in every legal ActivityStreams form; :func:`read_note` reduces it to a
:class:`ReceivedNote` of plain values. Remote servers send HTML: we keep text only
(``html_to_text``), so no markup from elsewhere is ever stored or served and nothing needs
sanitising later; what we send is our plain text, escaped.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from activitypub.activities import AS_PUBLIC
from activitypub.actors import plain_text_to_html
from activitypub.properties import (
    first_reference,
    identifier,
    natural_language,
    reference,
    references,
    timestamp,
    values,
)

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = frozenset({AS_PUBLIC, "as:Public", "Public"})
_BREAKS = frozenset({"br", "p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"})
_HIDDEN = frozenset({"script", "style", "template"})
MAX_ADDRESSEES = 50
MAX_ATTACHMENTS = 16
MAX_TEXT = 5_000  # what a message keeps
_ATTACHMENT_TYPES = frozenset({"Document", "Image", "Video", "Audio", "Link"})


@dataclass(frozen=True)
class Mention:
    """Someone a note names: their actor id and their handle (``user@host``, no ``@``)."""

    actor: str
    handle: str

    def as_tag(self) -> dict[str, str]:
        """The ``Mention`` tag Mastodon, GoToSocial and others read."""
        return {"type": "Mention", "href": self.actor, "name": f"@{self.handle}"}

    def as_html(self) -> str:
        """The mention link, marked up as Mastodon marks it (an h-card with a mention link)."""
        user = html.escape(self.handle.split("@", 1)[0])
        return (
            f'<span class="h-card" translate="no"><a href="{html.escape(self.actor)}" '
            f'class="u-url mention">@<span>{user}</span></a></span>'
        )


def handle_for(actor: str, username: str | None) -> str:
    """``user@host`` for an actor: its ``preferredUsername`` when known, else the last part of
    its id's path, on the actor's own host."""
    parts = urlsplit(actor)
    if username and ("@" in username or not username.isprintable() or " " in username):
        username = None  # not a name a handle can carry
    name = username or parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc
    return f"{name}@{parts.netloc}"


def private_note(
    note_id: str,
    author: str,
    recipients: list[Mention],
    text: str,
    context: str,
    published: str,
    in_reply_to: str | None = None,
) -> dict[str, Any]:
    """A direct message: addressed to ``recipients`` only (never public or to followers), each
    of them mentioned, so every server shows it to them."""
    mentions = " ".join(m.as_html() for m in recipients)
    body = plain_text_to_html(text)
    if mentions:
        # The mentions open the first paragraph, as in a direct message written on Mastodon.
        body = f"<p>{mentions} {body[3:]}" if body.startswith("<p>") else f"<p>{mentions}</p>"
    note: dict[str, Any] = {
        "id": note_id,
        "type": "Note",
        "attributedTo": author,
        "to": [m.actor for m in recipients],
        "cc": [],
        "content": body,
        "tag": [m.as_tag() for m in recipients],
        # ``context`` is the ActivityStreams property; Mastodon reads OStatus' ``conversation``.
        "context": context,
        "conversation": context,
        "published": published,
    }
    if in_reply_to:
        note["inReplyTo"] = in_reply_to
    return note


def wrap(kind: str, activity_id: str, note: dict[str, Any]) -> dict[str, Any]:
    """``Create``, ``Update`` or ``Delete`` of a note, with the note's own addressing."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": note["attributedTo"],
        "to": note["to"],
        "cc": note.get("cc", []),
        "object": note if kind != "Delete" else {"id": note["id"], "type": "Tombstone"},
    }


@dataclass(frozen=True)
class Attachment:
    """A file a note links to (we keep the link, never the file)."""

    url: str
    media_type: str
    description: str
    kind: str = ""  # its ActivityStreams type (Document, Image, Video, Audio, Link)
    width: int | None = None
    height: int | None = None
    blurhash: str | None = None


class ReceivedNote:
    """A note from another server, in plain values whatever form it came in.

    Its text and content warning are read from the HTML on first use: most notes a server
    sends are set aside on their addressing alone (public posts nobody here follows), and
    reading HTML is the costly part of a note."""

    def __init__(self, note: dict[str, Any]) -> None:
        self._note = note
        thread = [
            key
            for key in (identifier(note.get("context")), identifier(note.get("conversation")))
            if key is not None
        ]
        self.id: str | None = reference(note.get("id"))
        self.authors: list[str] = references(note.get("attributedTo"), limit=10)
        self.attachments: list[Attachment] = _attachments(note.get("attachment"))
        self.published: datetime | None = timestamp(note.get("published"))
        # Keys that name its thread: ``context``, then Mastodon's ``conversation``.
        self.thread: list[str] = list(dict.fromkeys(thread))
        self.in_reply_to: str | None = first_reference(note.get("inReplyTo"))
        self.addressees: list[str] = addressees(note)

    @functools.cached_property
    def text(self) -> str:
        """Its content as plain text (leading mentions left out), at most ``MAX_TEXT``."""
        content = natural_language(self._note, "content")
        return html_to_text(content, MAX_TEXT, skip_leading_mentions=True)

    @functools.cached_property
    def summary(self) -> str:
        """Its content warning as plain text."""
        return html_to_text(natural_language(self._note, "summary"), 500)

    @property
    def is_empty(self) -> bool:
        """Nothing a reader could see: no text, no content warning, no attachment."""
        return not (self.text or self.summary or self.attachments)


def read_note(note: dict[str, Any]) -> ReceivedNote:
    """Every property of a received note we use, from any legal form of it."""
    return ReceivedNote(note)


def read_attachments(value: Any) -> list[Attachment]:
    """The files an ``attachment`` property links to, in any legal form (a URI, a Document,
    Image, Video, Audio or Link, one or a list; a Document's ``url`` a string, a Link or a
    list of Links), at most ``MAX_ATTACHMENTS``; unusable ones are left out."""
    return _attachments(value)


def _attachments(value: Any) -> list[Attachment]:
    found: list[Attachment] = []
    for item in values(value, MAX_ATTACHMENTS):
        kind, width, height, blurhash = "", None, None, None
        if isinstance(item, str):
            url, media_type, description = reference(item), "", ""
        elif isinstance(item, dict) and (_types(item) & _ATTACHMENT_TYPES or "url" in item):
            # A Document's ``url`` may itself be a string, a Link or a list of Links: the first
            # usable one is the file, and its media type is that Link's.
            links = values(item.get("url", item.get("href")), limit=10)
            chosen = next((x for x in links if _link_target(x) is not None), None)
            url = _link_target(chosen)
            link_type = chosen.get("mediaType") if isinstance(chosen, dict) else None
            media_type = _short(item.get("mediaType") or link_type, 127)
            description = html_to_text(natural_language(item, "name"), 1500)
            kind = next((t for t in sorted(_types(item)) if t in _ATTACHMENT_TYPES), "")
            width, height = _dimension(item.get("width")), _dimension(item.get("height"))
            hash_value = item.get("blurhash")
            if isinstance(hash_value, str) and 6 <= len(hash_value) <= 100 and hash_value.isascii():
                blurhash = hash_value
        else:
            continue
        if url is not None:
            found.append(
                Attachment(
                    url=url,
                    media_type=media_type,
                    description=description,
                    kind=kind,
                    width=width,
                    height=height,
                    blurhash=blurhash,
                )
            )
    return found


def _dimension(value: Any) -> int | None:
    """A width or height in pixels: a positive integer (JSON numbers may come as floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or not 0 < value < 1_000_000:  # NaN, or not a size
        return None
    return int(value)


def _types(item: dict[str, Any]) -> set[str]:
    """An object's types: ``type`` may be one name or a list of them (JSON-LD)."""
    return {t for t in values(item.get("type"), limit=10) if isinstance(t, str)}


def _link_target(value: Any) -> str | None:
    """Where a Link points (its ``href``; a Link's ``id`` names the Link, not the file)."""
    if isinstance(value, dict) and "href" in value:
        return reference(value["href"])
    return reference(value)


def _short(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def addressees(doc: dict[str, Any], limit: int = MAX_ADDRESSEES) -> list[str]:
    """Who a note or activity is addressed to (``to``, ``cc``, ``bto``, ``bcc``), in order,
    without duplicates, at most ``limit`` + 1 (a long list is not a private message).

    An address may be a URI or an embedded actor or collection (its ``id``); the public
    collection is kept in whichever spelling it came in.
    """
    found: dict[str, None] = {}
    for field in ("to", "cc", "bto", "bcc"):
        for item in values(doc.get(field), limit + 1):
            # A string is kept as it came (the public collection has several spellings, and an
            # odd address must be seen to be refused); an embedded object counts by its id.
            address = item if isinstance(item, str) else reference(item)
            if address is not None:
                found.setdefault(address, None)
                if len(found) > limit:
                    return list(found)
    return list(found)


def is_collection_address(address: str) -> bool:
    """Whether an address is a collection (followers) rather than an actor: Mastodon, Pleroma,
    GoToSocial and Misskey all name it ``<actor>/followers``."""
    return address in PUBLIC or address.rstrip("/").endswith("/followers")


def is_public(doc: dict[str, Any]) -> bool:
    """Whether the document is addressed to the public collection."""
    return any(a in PUBLIC for a in addressees(doc))


class _TextExtractor(HTMLParser):
    def __init__(self, skip_leading_mentions: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        # Mention links at the very start (``@bob hello``) address the message: the reader
        # sees the participants already. Once any other text comes, mentions are text again.
        self._leading = skip_leading_mentions
        self._in_mention = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "a" and (self._in_mention or (self._leading and _is_mention_link(attrs))):
            self._in_mention += 1
        elif tag in _BREAKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self._hidden:
            self._hidden -= 1
        elif tag == "a" and self._in_mention:
            self._in_mention -= 1
        elif tag in ("p", "div", "blockquote", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._hidden or self._in_mention:
            return
        if self._leading and data.strip():
            self._leading = False
            data = data.lstrip()
        self.parts.append(data)


def _is_mention_link(attrs: list[tuple[str, str | None]]) -> bool:
    classes = (dict(attrs).get("class") or "").split()
    return "mention" in classes and "hashtag" not in classes


# A '<' that opens no complete tag before the next '<' (or opens a marked section, '<![').
_NOT_A_TAG = re.compile(r"<(?![a-zA-Z/][^<>]*>)")


def _tags_only(fragment: str) -> str:
    """``fragment`` with every '<' that is not part of a complete tag or comment escaped.

    Python's HTMLParser before 3.11.13 takes quadratic time over unclosed tags and comments
    (CVE-2025-6069: 80,000 characters of ``<a `` held the event loop for a minute) and raises
    on some marked sections (``<![x[``). What remains for it is complete tags, complete
    comments and text, which it reads in one linear pass. Linear here too: comments are found
    with ``str.find``, and the pattern never looks past the next '<'.
    """
    parts: list[str] = []
    position = 0
    while (start := fragment.find("<!--", position)) != -1:
        end = fragment.find("-->", start + 4)
        if end == -1:
            break
        parts.append(_NOT_A_TAG.sub("&lt;", fragment[position:start]))
        position = end + 3  # a comment shows nothing: dropped
    parts.append(_NOT_A_TAG.sub("&lt;", fragment[position:]))
    return "".join(parts)


def html_to_text(
    html_text: str, limit: int = MAX_TEXT, *, skip_leading_mentions: bool = False
) -> str:
    """The text of an HTML fragment: tags dropped, scripts and styles removed, line breaks kept.

    With ``skip_leading_mentions``, the mention links a message opens with are left out.
    """
    parser = _TextExtractor(skip_leading_mentions)
    try:
        parser.feed(_tags_only(html_text[: limit * 4]))
        parser.close()
    except (AssertionError, ValueError):  # what it still refuses: keep the text read so far
        pass
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    text = "\n".join(line for line in lines if line)
    return text[:limit]
