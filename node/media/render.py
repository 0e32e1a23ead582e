"""Photos as the API and ActivityPub show them."""

from __future__ import annotations

from typing import Any

from activitypub.uris import UriScheme
from node.media.models import Media


def photo_urls(media: Media, uris: UriScheme) -> tuple[str, str]:
    """Where a photo and its thumbnail are seen: our copy when we hold one, else (a remote
    photo we could not fetch or evicted) the origin's URL for both."""
    if media.file:
        return uris.media(media.file), uris.media(media.thumbnail)
    origin = media.remote_url or ""
    return origin, origin


def media_to_api(media: Media, uris: UriScheme) -> dict[str, Any]:
    """A photo in the JSON API."""
    url, thumbnail_url = photo_urls(media, uris)
    return {
        "id": media.id,
        "url": url,
        "thumbnail_url": thumbnail_url,
        "description": media.description,
        "content_type": media.content_type,
        "width": media.width,
        "height": media.height,
        "size": media.size,
    }


def media_to_ap(media: Media, uris: UriScheme) -> dict[str, Any]:
    """A photo as an ActivityStreams ``Image`` attachment (``name`` is its alt text, which
    Mastodon shows as the image description)."""
    url, _ = photo_urls(media, uris)
    image: dict[str, Any] = {"type": "Image", "url": url}
    if media.content_type:
        image["mediaType"] = media.content_type
    if media.description:
        image["name"] = media.description
    if media.width and media.height:
        image["width"], image["height"] = media.width, media.height
    return image
