"""Attachments of received notes as statuses and messages keep them: links, never files."""

from __future__ import annotations

from typing import Any

from activitypub.notes import Attachment


def media_type_of(attachment: Attachment) -> str:
    """Mastodon's attachment type: ``image``, ``video`` or ``audio`` from the media type, else
    from the ActivityStreams type (``Image``, ``Video``, ``Audio``), else ``unknown``."""
    major = attachment.media_type.split("/", 1)[0].lower()
    if major in ("image", "video", "audio"):
        return major
    return {"Image": "image", "Video": "video", "Audio": "audio"}.get(attachment.kind, "unknown")


def stored_attachment(attachment: Attachment) -> dict[str, Any]:
    """What a status or a message keeps of an attachment: where it is, its media type and
    Mastodon's type, its description (alt text), size and blurhash (apps show a placeholder
    of that size and colour before the file loads)."""
    return {
        "url": attachment.url,
        "media_type": attachment.media_type,
        "type": media_type_of(attachment),
        "description": attachment.description,
        "width": attachment.width,
        "height": attachment.height,
        "blurhash": attachment.blurhash,
    }
