"""Copies of other nodes' listing photos, so our members' browsers never reach other nodes.

A remote listing's photos are ``Media`` rows attached to it with ``remote_url`` set (where its
origin serves the photo) and ``owner`` its author. A photo is fetched through the node's
transport (signed by the node's actor, so a partner serves it the photos of its ``partners``
listings; https only, no private addresses, its size capped at ``media.max_upload_bytes``),
then checked and re-encoded exactly like an upload.

A row whose ``file`` is empty is a photo we do not hold: it could not be fetched (unreachable,
too large, not an image), or it was evicted because the cache grew past
``media.remote_cache_bytes`` (oldest first). Its listing then shows the origin's URL
(``node.media.render``), and the photo is fetched again when the listing is next updated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise.functions import Sum

from federation.errors import TransportError
from federation.transport import Transport
from node.errors import NodeError
from node.listings.models import Listing
from node.media.images import ProcessedImage
from node.media.models import Media
from node.media.storage import new_media_id

if TYPE_CHECKING:
    from node.media.service import MediaService

log = logging.getLogger(__name__)

ACCEPTED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
_ACCEPT = "image/jpeg, image/png, image/webp"
MAX_URL = 2048  # the column's width
MAX_DESCRIPTION = 1500
CHUNK = 500


@dataclass(frozen=True)
class RemotePhoto:
    """A photo as a remote listing names it (an ``Image`` attachment)."""

    url: str
    media_type: str | None = None  # as declared (``mediaType``); checked again by content
    description: str = ""  # alt text (``name``)


def usable_url(url: str) -> bool:
    """Whether ``url`` can be stored and fetched at all (http(s), fits the column)."""
    return 0 < len(url) <= MAX_URL and url.startswith(("https://", "http://")) and "\x00" not in url


class RemotePhotos:
    """The cache of remote photos; reached through :class:`MediaService`."""

    def __init__(self, service: MediaService, transport: Transport) -> None:
        self._service = service
        self._transport = transport

    async def cache(
        self,
        listing_id: int,
        url: str,
        media_type: str | None,
        description: str,
        position: int,
    ) -> Media:
        """The row of photo ``url`` of the remote listing ``listing_id``, fetched and stored if
        we do not hold it yet; its alt text and position updated. Idempotent per (listing,
        url). The row's ``file`` is empty when the photo could not be had (logged): never an
        exception for what the other server does. ``ValueError`` for a local listing, a missing
        listing, or an unusable ``url`` (see :func:`usable_url`): the caller's mistakes.
        """
        if not usable_url(url):
            raise ValueError(f"not a photo URL we can use: {url[:100]!r}")
        listing = await Listing.get_or_none(id=listing_id)
        if listing is None or listing.local:
            raise ValueError(f"listing {listing_id} is not a remote listing")
        text = _alt_text(description)
        existing = await Media.filter(listing_id=listing_id, remote_url=url).first()
        if existing is not None and existing.file:
            if (existing.description, existing.position) != (text, position):
                existing.description, existing.position = text, position
                await existing.save(update_fields=["description", "position"])
            return existing
        processed = await self._fetch(url, media_type)
        if processed is None:
            if existing is not None:
                existing.description, existing.position = text, position
                await existing.save(update_fields=["description", "position"])
                return existing
            return await Media.create(
                id=new_media_id(),
                owner=listing.author,
                listing_id=listing_id,
                position=position,
                description=text,
                content_type=_declared(media_type),
                width=0,
                height=0,
                size=0,
                file="",
                thumbnail="",
                remote_url=url,
                created_at=self._service.now(),
            )
        row = await self._service.store(
            processed,
            owner=listing.author,
            description=text,
            listing_id=listing_id,
            position=position,
            remote_url=url,
        )
        if existing is not None:
            await existing.delete()  # the placeholder of an earlier failed fetch: no files
        await self.enforce_bound()
        return row

    async def sync(self, listing_id: int, photos: Sequence[RemotePhoto]) -> list[Media]:
        """Make the photos of remote listing ``listing_id`` be ``photos``, in this order (a
        new listing, or an ``Update``): new ones fetched, kept ones updated, others deleted
        with their files. Unusable URLs and duplicates are skipped; at most
        ``media.photos_per_listing`` are kept. Returns the rows, cached or not."""
        wanted: list[RemotePhoto] = []
        for photo in photos:
            if usable_url(photo.url) and photo.url not in {w.url for w in wanted}:
                wanted.append(photo)
        wanted = wanted[: self._service.settings.photos_per_listing]
        dropped = Media.filter(listing_id=listing_id).exclude(
            remote_url__in=[w.url for w in wanted]
        )
        await self._service.delete_rows(dropped)
        return [
            await self.cache(listing_id, photo.url, photo.media_type, photo.description, position)
            for position, photo in enumerate(wanted)
        ]

    async def enforce_bound(self) -> int:
        """Evict the oldest cached photos until the cache holds at most
        ``media.remote_cache_bytes`` (photo sizes; thumbnails come on top, about a tenth).
        The rows stay, without files: their listings show the origin's URL. How many went."""
        bound = self._service.settings.remote_cache_bytes
        cached = Media.filter(remote_url__isnull=False).exclude(file="")
        totals = await cached.annotate(total=Sum("size")).values_list("total", flat=True)
        total = int(str(totals[0] or 0)) if totals else 0
        if total <= bound:
            return 0
        excess, freed = total - bound, 0
        victims: list[tuple[str, str, str]] = []
        offset = 0
        while freed < excess:
            rows = (
                await cached.order_by("created_at", "id")
                .offset(offset)
                .limit(CHUNK)
                .values_list("id", "size", "file", "thumbnail")
            )
            if not rows:
                break
            for media_id, size, file, thumbnail in rows:
                if freed >= excess:
                    break
                victims.append((str(media_id), str(file), str(thumbnail)))
                freed += int(size)
            offset += CHUNK
        ids = [media_id for media_id, _, _ in victims]
        # Rows first: from now on nothing names the files, then they go.
        await Media.filter(id__in=ids).update(file="", thumbnail="")
        self._service.files.remove(name for _, file, thumb in victims for name in (file, thumb))
        log.info("remote photo cache: evicted %d photos (%d bytes)", len(victims), freed)
        return len(victims)

    async def _fetch(self, url: str, media_type: str | None) -> ProcessedImage | None:
        """The photo at ``url``, checked and re-encoded, or ``None`` (logged) if it cannot be."""
        if self._service.settings.remote_cache_bytes == 0:
            return None
        if media_type and _declared(media_type) not in ACCEPTED_TYPES:
            log.info("remote photo %s not cached: declared as %s", url, media_type[:64])
            return None
        try:
            response = await self._transport.request(
                "GET",
                url,
                headers={"Accept": _ACCEPT},
                max_bytes=self._service.limits.max_bytes,
            )
        except TransportError as exc:
            log.info("remote photo %s not cached: %s", url, exc)
            return None
        if not 200 <= response.status < 300:
            log.info("remote photo %s not cached: the server answered %d", url, response.status)
            return None
        try:
            return await self._service.process(response.body)
        except NodeError as exc:
            log.info("remote photo %s not cached: %s", url, exc.safe)
            return None


def _alt_text(text: str) -> str:
    """Alt text from another server: cut to fit rather than refused."""
    return text.replace("\x00", "").strip()[:MAX_DESCRIPTION]


def _declared(media_type: str | None) -> str:
    return (media_type or "").split(";", 1)[0].strip().lower()[:32]
