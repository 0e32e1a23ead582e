"""Photos: members' uploads, their attachment to listings, who may see them, and cleaning up.

The life of an upload: ``upload`` checks and re-encodes it (:mod:`node.media.images`) and
stores it unattached; a listing then ``claim``s it and ``attach``es it (in the listing's
transaction); an upload no listing took is deleted by ``purge_orphans`` after
``media.orphan_hours``. A listing's photos go with it: call ``forget_listing`` before deleting
the listing's row (the rows would go by CASCADE, the files would not).

Copies of other nodes' photos (``cache_remote``, ``sync_remote``) are in
:mod:`node.media.remote`, which this service exposes.

Files and rows: a file is written (atomically) before its row, and a row is deleted before its
files, so the database never names a file that is not there; a crash between the two leaves a
file without a row, which ``sweep_stray_files`` removes. Deleting tolerates a missing file.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from tortoise.queryset import QuerySet

from federation.transport import Transport
from node.clock import Clock
from node.config import MediaSettings
from node.errors import NotFound, ValidationFailed
from node.listings.models import Audience, Listing
from node.media.images import ImageLimits, ProcessedImage, process_image
from node.media.models import Media
from node.media.remote import RemotePhoto, RemotePhotos
from node.media.storage import MEDIA_ID, MediaFiles, file_names, media_id_of, new_media_id
from node.notices.models import Notice, NoticeAudience
from node.problems.models import Problem
from node.ratelimit import SlidingWindowLimiter
from node.statuses.models import Status, TimelineEntry, Visibility

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 1500  # the column's width
CHUNK = 500
# A file younger than this may belong to an upload whose row is not written yet.
STRAY_GRACE = timedelta(hours=1)
# Decoding a large photo takes a few hundred MB for a moment: not more at once than cores.
DECODERS = max(1, os.cpu_count() or 1)


class Access(Enum):
    """How a photo may be served to a request: to anyone (shared caches may keep it), or to
    this requester only."""

    PUBLIC = "public"
    PRIVATE = "private"


# "is the request signed by an active partner node?", asked only when it decides
PartnerCheck = Callable[[], Awaitable[bool]]


class MediaService:
    """The node's photos."""

    def __init__(
        self,
        settings: MediaSettings,
        files: MediaFiles,
        transport: Transport,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.files = files
        self._clock = clock
        self.limits = ImageLimits(
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_pixels,
            max_side=settings.max_side,
            thumbnail_side=settings.thumbnail_side,
        )
        self._uploads = SlidingWindowLimiter(settings.uploads_per_hour, 3600, clock)
        self._decoders = asyncio.Semaphore(DECODERS)
        self.remote = RemotePhotos(self, transport)

    def now(self) -> datetime:
        """The service's clock."""
        return self._clock()

    # Uploads
    async def upload(self, owner: str, data: bytes, description: str = "") -> Media:
        """Check, re-encode and store a member's photo (unattached); ``owner`` is their actor.

        429 past ``media.uploads_per_hour``; 413, 415 or 422 for what
        :func:`~node.media.images.process_image` refuses; 422 for a bad description.
        """
        text = checked_description(description)
        self._uploads.hit(f"upload:{owner}")  # counted before the (costly) decoding
        processed = await self.process(data)
        return await self.store(processed, owner=owner, description=text)

    def check_upload_rate(self, owner: str) -> None:
        """429 if ``owner`` has used up their uploads for now (asked before reading a body)."""
        self._uploads.check(f"upload:{owner}")

    async def process(self, data: bytes) -> ProcessedImage:
        """:func:`process_image` in a worker thread, at most ``DECODERS`` at a time."""
        async with self._decoders:
            return await asyncio.to_thread(process_image, data, self.limits)

    async def store(
        self,
        processed: ProcessedImage,
        *,
        owner: str,
        description: str,
        listing_id: int | None = None,
        position: int = 0,
        remote_url: str | None = None,
    ) -> Media:
        """Write the files, then the row (the files are removed again if the row fails)."""
        media_id = new_media_id()
        photo, thumbnail = file_names(media_id, processed.extension)
        await asyncio.to_thread(
            self.files.write, {photo: processed.data, thumbnail: processed.thumbnail}
        )
        try:
            return await Media.create(
                id=media_id,
                owner=owner,
                listing_id=listing_id,
                position=position,
                description=description,
                content_type=processed.content_type,
                width=processed.width,
                height=processed.height,
                size=len(processed.data),
                file=photo,
                thumbnail=thumbnail,
                remote_url=remote_url,
                created_at=self._clock(),
            )
        except BaseException:
            self.files.remove([photo, thumbnail])  # quick; also when cancelled
            raise

    async def owned(self, owner: str, media_id: str) -> Media:
        """A photo ``owner`` uploaded; 404 for anyone else's (its existence is not revealed)."""
        row = None
        if MEDIA_ID.fullmatch(media_id):
            row = await Media.get_or_none(id=media_id, owner=owner, remote_url__isnull=True)
        if row is None:
            raise NotFound("no such photo")
        return row

    async def describe(self, owner: str, media_id: str, description: str) -> Media:
        """Set the alt text of one of ``owner``'s photos (attached or not)."""
        row = await self.owned(owner, media_id)
        row.description = checked_description(description)
        await row.save(update_fields=["description"])
        return row

    # Listings
    async def claim(
        self,
        owner: str,
        ids: Sequence[str],
        *,
        listing_id: int | None = None,
        field: str = "photos",
    ) -> list[Media]:
        """The photos ``ids`` (in that order) for a listing of ``owner``, checked: each is
        ``owner``'s, unattached or already on ``listing_id`` (an edit), none twice, at most
        ``media.photos_per_listing``. 422 naming ``field`` (``photos.2``) otherwise."""
        limit = self.settings.photos_per_listing
        if len(ids) > limit:
            raise _field_error(field, f"at most {limit} photos")
        wellformed = [i for i in ids if isinstance(i, str) and MEDIA_ID.fullmatch(i)]
        rows = {m.id: m for m in await Media.filter(id__in=wellformed, remote_url__isnull=True)}
        details: list[dict[str, str]] = []
        seen: set[str] = set()
        for index, media_id in enumerate(ids):
            row = rows.get(media_id)
            where = f"{field}.{index}"
            if row is None or row.owner != owner:
                details.append({"field": where, "message": "no such photo of yours"})
            elif media_id in seen:
                details.append({"field": where, "message": "the same photo is listed twice"})
            elif row.listing_id not in (None, listing_id):  # type: ignore[attr-defined]
                details.append({"field": where, "message": "belongs to another listing"})
            elif row.notice_id is not None:  # type: ignore[attr-defined]
                details.append({"field": where, "message": "belongs to a notice"})
            elif row.problem_id is not None:  # type: ignore[attr-defined]
                details.append({"field": where, "message": "belongs to a problem report"})
            seen.add(media_id)
        if details:
            raise ValidationFailed("some photos cannot be used", details=details)
        return [rows[media_id] for media_id in ids]

    async def attach(
        self, media: Sequence[Media], listing_id: int, *, field: str = "photos"
    ) -> None:
        """Make ``media`` (from :meth:`claim`) the photos of ``listing_id``, in this order.

        Run it in the listing's transaction. Photos the listing had and no longer has become
        unattached uploads again (purged with the orphans). A photo another listing took since
        it was claimed is a 422, which rolls the caller's transaction back.
        """
        keep = [m.id for m in media]
        await (
            Media.filter(listing_id=listing_id, remote_url__isnull=True)
            .exclude(id__in=keep)
            .update(listing_id=None, position=0)
        )
        for position, row in enumerate(media):
            free = Media.filter(id=row.id, owner=row.owner, listing_id__isnull=True)
            updated = await free.update(listing_id=listing_id, position=position)
            if not updated:
                updated = await Media.filter(id=row.id, listing_id=listing_id).update(
                    position=position
                )
            if not updated:
                raise _field_error(f"{field}.{position}", "belongs to another listing")
            row.listing_id, row.position = listing_id, position  # type: ignore[attr-defined]

    async def attach_to_notice(self, owner: str, media_id: str, notice_id: int) -> Media:
        """Make ``owner``'s unattached upload ``media_id`` the photo of ``notice_id`` (in the
        notice's transaction); 422 naming ``photo`` when it is not such an upload."""
        taken = await Media.filter(
            id=media_id,
            owner=owner,
            listing_id__isnull=True,
            notice_id__isnull=True,
            problem_id__isnull=True,
            remote_url__isnull=True,
        ).update(notice_id=notice_id)
        if not taken:
            raise _field_error("photo", "no such photo of yours, or it is already in use")
        return await Media.get(id=media_id)

    async def attach_to_problem(self, media: Sequence[Media], problem_id: int) -> None:
        """Make ``media`` (from :meth:`claim`) the photos of a new problem report, in this
        order; run it in the report's transaction (a photo taken since is a 422, which rolls
        the report back)."""
        for position, row in enumerate(media):
            free = Media.filter(
                id=row.id,
                owner=row.owner,
                listing_id__isnull=True,
                notice_id__isnull=True,
                problem_id__isnull=True,
            )
            if not await free.update(problem_id=problem_id, position=position):
                raise _field_error(f"photos.{position}", "belongs to another listing or report")

    async def photos_of(self, listing_id: int) -> list[Media]:
        """The photos of a listing (ours or a remote one), in their order."""
        return await Media.filter(listing_id=listing_id).order_by("position", "created_at")

    async def forget_listing(self, listing_id: int) -> int:
        """Delete a listing's photos, rows then files; call it just before deleting the listing
        (whose row deletion would take the photo rows but not the files). Returns how many."""
        return await self.delete_rows(Media.filter(listing_id=listing_id))

    # Who may see a photo
    async def access(
        self, media: Media, member: str | None, partner: PartnerCheck
    ) -> Access | None:
        """How ``media`` may be served to a request by the local member ``member`` (an actor
        URI; ``None`` when not logged in), ``None`` when it must not be (answer 404).

        - not attached to a listing yet: its owner only;
        - a photo of a ``public`` listing: anyone;
        - of a ``node`` listing: local members;
        - of a ``partners`` listing: local members, and requests ``partner`` finds signed by an
          active partner node (our own listings' photos only: a copy of another node's photo
          is never served to third nodes, its origin serves it);
        - a copy of another node's photo no longer cached here: nobody (its origin serves it);
        - a notice's photo: anyone when the notice is public, else local members, and partner
          nodes for a municipality's notice to its districts.
        """
        if not media.file:
            return None
        listing_id = media.listing_id  # type: ignore[attr-defined]
        notice_id = media.notice_id  # type: ignore[attr-defined]
        if listing_id is None and notice_id is not None:
            notice = await Notice.get_or_none(id=notice_id)
            if notice is None:
                return None
            if notice.public:
                return Access.PUBLIC
            if member is not None:
                return Access.PRIVATE
            if notice.audience is NoticeAudience.DISTRICTS:
                return Access.PRIVATE if await partner() else None
            return None
        problem_id = media.problem_id  # type: ignore[attr-defined]
        if problem_id is not None:
            # A public problem's photos are seen by anyone (as the problem is); a private one's
            # by its reporter and, signed, by the partner node that handles it.
            public = await Problem.filter(id=problem_id).values_list("public", flat=True)
            if public and public[0]:
                return Access.PUBLIC
            if member is not None and member == media.owner:
                return Access.PRIVATE
            return Access.PRIVATE if await partner() else None
        status_id = media.status_id  # type: ignore[attr-defined]
        if status_id is not None:
            return await self._status_access(media, status_id, member)
        if listing_id is None:
            return Access.PRIVATE if member is not None and member == media.owner else None
        rows = await Listing.filter(id=listing_id).values_list("audience", "circle")
        if not rows:
            return None
        audience, circle = Audience(str(rows[0][0])), rows[0][1]
        if audience is Audience.PUBLIC:
            return Access.PUBLIC
        if member is not None:
            return Access.PRIVATE
        # a circle's listing goes to the partner nodes whose members joined the circle
        shared = audience is Audience.PARTNERS or circle is not None
        if shared and media.remote_url is None:
            return Access.PRIVATE if await partner() else None
        return None

    async def _status_access(
        self, media: Media, status_id: int, member: str | None
    ) -> Access | None:
        """A status's photo is seen as the status is: by anyone when it is public or
        unlisted, else by its author and the members whose timeline holds it."""
        status = await Status.get_or_none(id=status_id)
        if status is None:
            return None
        if status.visibility in (Visibility.PUBLIC, Visibility.UNLISTED):
            return Access.PUBLIC
        if member is None:
            return None
        if member == media.owner:
            return Access.PRIVATE
        # ``member`` is a local member's actor id (…/users/<username>), from our own session.
        username = member.rsplit("/users/", 1)[-1]
        seen = await TimelineEntry.exists(status_id=status_id, member__username=username)
        return Access.PRIVATE if seen else None

    async def by_file(self, name: str) -> Media | None:
        """The photo whose photo or thumbnail file is ``name``, if any."""
        media_id = media_id_of(name)
        if media_id is None:
            return None
        row = await Media.get_or_none(id=media_id)
        return row if row is not None and name in (row.file, row.thumbnail) else None

    # Cleaning up
    async def purge(self, now: datetime) -> int:
        """One round of cleaning: unattached uploads past their lifetime, files without a row,
        the remote cache beyond its bound. Returns how many photos and files went."""
        removed = await self.purge_orphans(now)
        removed += await self.sweep_stray_files(now)
        return removed + await self.remote.enforce_bound()

    async def purge_periodically(self, stop: asyncio.Event, every: timedelta) -> None:
        """:meth:`purge` now, then every ``every``, until ``stop`` is set."""
        while not stop.is_set():
            try:
                removed = await self.purge(self._clock())
            except Exception:
                log.exception("media purge failed")
            else:
                if removed:
                    log.info("media purge removed %d photos or files", removed)
            try:
                await asyncio.wait_for(stop.wait(), timeout=every.total_seconds())
            except TimeoutError:
                continue

    async def purge_orphans(self, now: datetime) -> int:
        """Delete the uploads no listing, notice or problem report took within
        ``media.orphan_hours``; how many went."""
        cutoff = now - timedelta(hours=self.settings.orphan_hours)
        query = Media.filter(
            listing_id__isnull=True,
            notice_id__isnull=True,
            problem_id__isnull=True,
            status_id__isnull=True,
            created_at__lt=cutoff,
        )
        return await self.delete_rows(query)

    async def sweep_stray_files(self, now: datetime) -> int:
        """Delete files no row names (a crash between a file and its row, a listing deleted
        without :meth:`forget_listing`), once older than an hour; how many went."""
        cutoff = (now - STRAY_GRACE).timestamp()
        old = [
            f
            for f in await asyncio.to_thread(lambda: list(self.files.listing()))
            if f.modified < cutoff
        ]
        for leftover in (f for f in old if f.temporary):
            await asyncio.to_thread(self.files.remove_temporary, leftover.name)
        candidates = [f.name for f in old if not f.temporary]
        stray: list[str] = []
        for start in range(0, len(candidates), CHUNK):
            names = candidates[start : start + CHUNK]
            ids = {media_id_of(name) for name in names}
            rows = await Media.filter(id__in=list(ids)).values_list("file", "thumbnail")
            known = {str(name) for row in rows for name in row}
            stray.extend(name for name in names if name not in known)
        removed = await asyncio.to_thread(self.files.remove, stray)
        temporary = sum(1 for f in old if f.temporary)
        return removed + temporary

    async def delete_rows(self, query: QuerySet[Media]) -> int:
        """Delete the photos ``query`` selects, rows first, then their files; how many went.

        The query's conditions hold again when deleting: a row that stopped matching meanwhile
        (an orphan a listing took) stays, and so do its files.
        """
        deleted = 0
        while True:
            rows = await query.limit(CHUNK).values_list("id", "file", "thumbnail")
            if not rows:
                return deleted
            ids = [str(row[0]) for row in rows]
            await query.filter(id__in=ids).delete()
            remaining = set(await Media.filter(id__in=ids).values_list("id", flat=True))
            gone = [row for row in rows if row[0] not in remaining]
            files = [str(name) for row in gone for name in row[1:] if name]
            await asyncio.to_thread(self.files.remove, files)
            deleted += len(gone)
            if remaining:  # what still matches would come back in the next chunk for ever
                return deleted

    # Copies of other nodes' photos (see node.media.remote)
    async def cache_remote(
        self,
        listing_id: int,
        url: str,
        media_type: str | None,
        description: str,
        position: int,
    ) -> Media:
        """See :meth:`node.media.remote.RemotePhotos.cache`."""
        return await self.remote.cache(listing_id, url, media_type, description, position)

    async def sync_remote(self, listing_id: int, photos: Sequence[RemotePhoto]) -> list[Media]:
        """See :meth:`node.media.remote.RemotePhotos.sync`."""
        return await self.remote.sync(listing_id, photos)


def checked_description(text: Any) -> str:
    """A photo's alt text, trimmed: at most 1500 characters, no NUL; 422 otherwise."""
    if not isinstance(text, str):
        raise _field_error("description", "must be a string")
    value = text.strip()
    if len(value) > MAX_DESCRIPTION:
        raise _field_error("description", f"at most {MAX_DESCRIPTION} characters")
    if "\x00" in value:
        raise _field_error("description", "must not contain NUL characters")
    return value


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])
