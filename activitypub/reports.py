"""Reports between servers: the ``Flag`` activity, in the profile Mastodon and GoToSocial use.

What they send (and what we send, so that their parsers take ours):

- Mastodon (``app/serializers/activitypub/flag_serializer.rb``): ``id`` (a URI of its own),
  ``type: Flag``, ``actor`` = the server's instance actor (not the member who reported),
  ``content`` = the reporter's comment (plain text, may be empty), ``object`` = a list: the
  reported account's URI first, then the URIs of the reported statuses.
- GoToSocial (``internal/typeutils/internaltoas.go`` ``ReportToASFlag``): the same shape,
  ``actor`` its instance account (``https://host/users/host``), ``object`` the account then
  the statuses.

Reading them (Mastodon ``app/lib/activitypub/activity/flag.rb``, GoToSocial
``internal/typeutils/astointernal.go`` ``ASFlagToReport``): each object URI is looked up as an
account or a status of the receiving server, anything else ignored; GoToSocial requires exactly
one account of its own among them. We accept every legal form: ``object`` a URI, an embedded
object with an ``id``, or a list of those; ``content`` a string, a ``contentMap``, HTML or
absent; the actor any actor of the sending server. Pure functions: no database, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from activitypub.activities import AS_CONTEXT
from activitypub.errors import FlagMalformed
from activitypub.notes import html_to_text
from activitypub.properties import natural_language, reference, references

# Mastodon keeps 5000 characters of a remote report's comment (report_comment); so do we.
MAX_COMMENT = 5000
# A report names one account and a few of its posts; more is not a report but a flood.
MAX_OBJECTS = 50


@dataclass(frozen=True)
class ReceivedFlag:
    """A report from another server, as plain values."""

    activity_id: str | None
    actor: str
    objects: tuple[str, ...]  # URIs, in the order given (accounts and statuses mixed)
    comment: str  # plain text


def build_flag(flag_id: str, actor: str, objects: Sequence[str], comment: str) -> dict[str, Any]:
    """A ``Flag`` of ``objects`` (the reported account first, then its content), sent by
    ``actor`` (our instance actor: the member who reported stays anonymous), with the
    member's ``comment`` as plain text."""
    if not objects:
        raise ValueError("a Flag names at least the reported account")
    return {
        "@context": AS_CONTEXT,
        "id": flag_id,
        "type": "Flag",
        "actor": actor,
        "content": comment,
        "object": list(dict.fromkeys(objects)),
    }


def read_flag(activity: dict[str, Any]) -> ReceivedFlag:
    """The plain values of a received ``Flag``; ``FlagMalformed`` saying what is missing."""
    if activity.get("type") != "Flag":
        raise FlagMalformed("not a Flag")
    actor = reference(activity.get("actor"))
    if actor is None:
        raise FlagMalformed("the Flag has no actor")
    objects = references(activity.get("object"), limit=MAX_OBJECTS)
    if not objects:
        raise FlagMalformed("the Flag names no object")
    raw_id = activity.get("id")
    comment = natural_language(activity, "content")
    # Plain text is what Mastodon and GoToSocial send; anything else (Misskey's HTML) is read
    # as HTML and reduced to its text, never kept as markup.
    text = html_to_text(comment, MAX_COMMENT) if "<" in comment else comment.strip()
    return ReceivedFlag(
        activity_id=raw_id if reference(raw_id) else None,
        actor=actor,
        objects=tuple(objects),
        comment=_printable(text)[:MAX_COMMENT],
    )


def _printable(text: str) -> str:
    """``text`` without control characters other than line breaks (NUL cannot be stored)."""
    return "".join(ch for ch in text if ch.isprintable() or ch == "\n")
