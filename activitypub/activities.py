"""Activity documents we send: Follow, Block, Accept, Reject, Undo.

Builders only; ids are minted by the caller (through :class:`~activitypub.uris.UriScheme`).
Accept, Reject and Undo embed the activity they answer, as Mastodon expects, so the receiver
need not fetch it.
"""

from __future__ import annotations

from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
# The address of everyone (what we write; activitypub.notes.PUBLIC lists what we read as it)
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def follow(activity_id: str, actor: str, target: str) -> dict[str, Any]:
    """``actor`` asks to follow ``target``."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Follow",
        "actor": actor,
        "object": target,
    }


def block(activity_id: str, actor: str, target: str) -> dict[str, Any]:
    """``actor`` blocks ``target`` (Mastodon's shape: the target's actor id as ``object``)."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Block",
        "actor": actor,
        "object": target,
    }


def respond(kind: str, activity_id: str, actor: str, answered: dict[str, Any]) -> dict[str, Any]:
    """``Accept``, ``Reject`` or ``Undo`` of ``answered``, embedded without its ``@context``."""
    if kind not in ("Accept", "Reject", "Undo"):
        raise ValueError(f"not a response type: {kind}")
    # Only what identifies the answered activity: never re-send (and re-sign) whatever else a
    # remote server put in its body.
    embedded = {k: answered[k] for k in ("id", "type", "actor", "object") if k in answered}
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor,
        "object": embedded,
    }


def object_id(value: Any) -> str | None:
    """The id of an activity's ``object``, embedded or given as a URI."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def announce(
    activity_id: str, actor: str, announced: dict[str, Any], to: list[str], cc: list[str]
) -> dict[str, Any]:
    """A group's ``Announce`` of ``announced`` (an activity, unaltered, as FEP-1b12 asks, or an
    object for servers that only show announced objects), addressed like it."""
    embedded = {k: v for k, v in announced.items() if k != "@context"}
    doc: dict[str, Any] = {
        "@context": announced.get("@context", AS_CONTEXT),
        "id": activity_id,
        "type": "Announce",
        "actor": actor,
        "object": embedded,
        "to": to,
    }
    if cc:
        doc["cc"] = cc
    return doc
