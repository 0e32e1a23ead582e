"""Notes: the private ``Create(Note)`` we send, and reading the ones we receive.

Remote servers send HTML. We keep text only (``html_to_text``): no markup from elsewhere is ever
stored or served, so nothing needs sanitising later; what we send is our plain text, escaped.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from activitypub.actors import plain_text_to_html

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
_BREAKS = frozenset({"br", "p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"})
_HIDDEN = frozenset({"script", "style", "template"})


def private_note(
    note_id: str,
    author: str,
    recipients: list[str],
    text: str,
    context: str,
    published: str,
    in_reply_to: str | None = None,
) -> dict[str, Any]:
    """A direct message: addressed to ``recipients`` only, never public or to followers."""
    note: dict[str, Any] = {
        "id": note_id,
        "type": "Note",
        "attributedTo": author,
        "to": recipients,
        "cc": [],
        "content": plain_text_to_html(text),
        "context": context,
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


MAX_ADDRESSEES = 50


def addressees(doc: dict[str, Any], limit: int = MAX_ADDRESSEES) -> list[str]:
    """Who a note or activity is addressed to (``to``, ``cc``, ``bto``, ``bcc``), in order,
    without duplicates, at most ``limit`` (a long list is not a private message)."""
    found: dict[str, None] = {}
    for field in ("to", "cc", "bto", "bcc"):
        value = doc.get(field)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                found.setdefault(item, None)
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
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BREAKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self._hidden:
            self._hidden -= 1
        elif tag in ("p", "div", "blockquote", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str, limit: int = 20_000) -> str:
    """The text of an HTML fragment: tags dropped, scripts and styles removed, line breaks kept."""
    parser = _TextExtractor()
    parser.feed(html[: limit * 4])
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    text = "\n".join(line for line in lines if line)
    return text[:limit]
