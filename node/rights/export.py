"""A member's data as one ZIP archive, streamed: everything they created here, in JSON, and
their photos.

The archive is produced while it is sent: each part is read from the database a chunk at a
time and written through ``zipfile`` into a small buffer that is handed out as soon as it
holds a few dozen kilobytes, so a member with ten thousand messages costs the node a chunk's
worth of memory, not the archive's.

Contents (``README.txt`` in the archive says the same):

- ``profile.json``: the account (real name, unit, e-mail, role, verification);
- ``listings.json``: their listings;
- ``problems.json``: the problems they reported;
- ``agreements.json`` and ``agreements_on_my_listings.json``: responses they made to
  listings, and those made to theirs;
- ``messages.json`` and ``conversations.json``: every message of the conversations they take
  part in (theirs and the others', as they read them), and who takes part in each;
- ``vouches.json``: vouches they gave and received;
- ``credentials.json``: the residency credentials the node issued them, as signed;
- ``sharing.json``: their sharing ledger (what of theirs went to which server, when);
- ``follows.json``: who they follow and who follows them;
- ``blocks.json``: whom they block and mute;
- ``photos/``: the photos they uploaded, as stored.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from tortoise.queryset import QuerySet

from activitypub.uris import UriScheme
from federation.models import SharedItem
from node.circles.models import CircleMember, CirclePost
from node.conversations.models import Message, Participant
from node.follows.models import Follow
from node.listings.models import Listing, Response
from node.media.models import Media
from node.members.models import Member
from node.members.render import member_to_api
from node.problems.models import Problem
from node.relations.models import MemberRelation, RelationKind
from node.verification.models import IssuedCredential, Vouch

CHUNK = 500  # rows read at a time
FLUSH_AT = 64 * 1024  # bytes buffered before they are handed out

README = """This archive holds what {username} created on {node}, as of {when} (UTC).

profile.json      your account: names, unit, e-mail, role, verification
listings.json     your listings
problems.json     the problems you reported
agreements.json   responses you made to listings
agreements_on_my_listings.json   responses others made to your listings
messages.json     the messages of your conversations, yours and the others'
conversations.json   who takes part in each of your conversations
vouches.json      vouches you gave and received
credentials.json  the residency credentials this node issued you, as signed
sharing.json      what of yours was delivered to which other server, and when
follows.json      whom you follow, who follows you
blocks.json       whom you block and whom you mute
photos/           the photos you uploaded
"""


class _Buffer(io.RawIOBase):
    """Where zipfile writes; drained by the exporter. Not seekable: zipfile then writes
    the sizes after each file (data descriptors), which a streamed archive needs."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.data += chunk
        return len(chunk)

    def take(self) -> bytes:
        taken, self.data = bytes(self.data), bytearray()
        return taken


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    return value


def _row(row: dict[str, Any], drop: Iterable[str] = ()) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row.items() if key not in drop}


class Exporter:
    """Builds one member's archive."""

    def __init__(self, uris: UriScheme, media_path: Path, clock: Callable[[], datetime]) -> None:
        self._uris = uris
        self._media_path = media_path
        self._clock = clock
        # usernames whose archive this process is sending: one at a time per member
        self.busy: set[str] = set()

    async def archive(self, member: Member) -> AsyncIterator[bytes]:
        """The archive's bytes, a part at a time."""
        actor = self._uris.actor(member.username)
        buffer = _Buffer()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            readme = README.format(
                username=member.username,
                node=self._uris.domain,
                when=f"{self._clock():%Y-%m-%d %H:%M}",
            )
            archive.writestr("README.txt", readme)
            profile = member_to_api(member, self._uris, private=True)
            archive.writestr("profile.json", json.dumps(profile, ensure_ascii=False, indent=1))
            yield buffer.take()
            parts: list[tuple[str, QuerySet[Any], tuple[str, ...]]] = [
                ("listings.json", Listing.filter(author=actor, local=True), ("search_text",)),
                ("agreements.json", Response.filter(responder=actor), ()),
                ("sharing.json", SharedItem.filter(owner=actor), ("owner",)),
                ("problems.json", Problem.filter(reporter_id=member.id), ()),
                # what the member posted to circles, and the circles of this node they are in
                ("circle_posts.json", CirclePost.filter(author=actor, local=True), ("activity",)),
                ("circles.json", CircleMember.filter(actor=actor), ("follow", "inbox")),
            ]
            for name, query, drop in parts:
                async for chunk in self._json_list(archive, buffer, name, query, drop):
                    yield chunk
            async for chunk in self._json_list(
                archive,
                buffer,
                "agreements_on_my_listings.json",
                Response.filter(listing__author=actor, listing__local=True),
                (),
            ):
                yield chunk
            async for chunk in self._messages(archive, buffer, actor):
                yield chunk
            archive.writestr("vouches.json", json.dumps(await _vouches(member), indent=1))
            credentials = await IssuedCredential.filter(member_id=member.id).order_by("id")
            archive.writestr(
                "credentials.json",
                json.dumps(
                    [
                        {
                            "document": c.document,
                            "revoked_at": _plain(c.revoked_at),
                        }
                        for c in credentials
                    ],
                    ensure_ascii=False,
                    indent=1,
                ),
            )
            follows = {
                "following": await _values(Follow.filter(follower=actor)),
                "followers": await _values(Follow.filter(followee=actor)),
            }
            archive.writestr("follows.json", json.dumps(follows, ensure_ascii=False, indent=1))
            relations = {
                f"{kind.value}s": await _values(MemberRelation.filter(owner=member, kind=kind))
                for kind in RelationKind
            }
            archive.writestr("blocks.json", json.dumps(relations, ensure_ascii=False, indent=1))
            yield buffer.take()
            async for chunk in self._photos(archive, buffer, actor):
                yield chunk
        yield buffer.take()  # the central directory, written when the archive closes

    async def _json_list(
        self,
        archive: zipfile.ZipFile,
        buffer: _Buffer,
        name: str,
        query: QuerySet[Any],
        drop: tuple[str, ...],
    ) -> AsyncIterator[bytes]:
        """A JSON array of ``query``'s rows, read and written a chunk at a time."""
        with archive.open(name, "w", force_zip64=True) as out:
            out.write(b"[")
            first, last_id = True, None
            while True:
                page = query.order_by("id").limit(CHUNK)
                if last_id is not None:
                    page = page.filter(id__gt=last_id)
                rows = await page.values()
                if not rows:
                    break
                for row in rows:
                    out.write(b"\n" if first else b",\n")
                    out.write(json.dumps(_row(row, drop), ensure_ascii=False).encode("utf-8"))
                    first = False
                last_id = rows[-1]["id"]
                if len(buffer.data) >= FLUSH_AT:
                    yield buffer.take()
            out.write(b"\n]\n")
        yield buffer.take()

    async def _messages(
        self, archive: zipfile.ZipFile, buffer: _Buffer, actor: str
    ) -> AsyncIterator[bytes]:
        conversations = list(
            await Participant.filter(actor=actor).values_list("conversation_id", flat=True)
        )
        query = Message.filter(conversation_id__in=conversations)
        async for chunk in self._json_list(archive, buffer, "messages.json", query, ()):
            yield chunk
        participants = await Participant.filter(conversation_id__in=conversations).values(
            "conversation_id", "actor"
        )
        archive.writestr("conversations.json", json.dumps(participants, indent=1))

    async def _photos(
        self, archive: zipfile.ZipFile, buffer: _Buffer, actor: str
    ) -> AsyncIterator[bytes]:
        rows = await Media.filter(owner=actor, remote_url__isnull=True).values_list("id", "file")
        for media_id, file in rows:
            if not file:
                continue
            path = self._media_path / str(file)
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except FileNotFoundError:
                continue  # purged meanwhile
            suffix = Path(str(file)).suffix
            # Stored, not compressed: JPEG and PNG do not shrink.
            archive.writestr(f"photos/{media_id}{suffix}", data, compress_type=zipfile.ZIP_STORED)
            yield buffer.take()


async def _values(query: QuerySet[Any]) -> list[dict[str, Any]]:
    return [_row(row) for row in await query.order_by("id").values()]


async def _vouches(member: Member) -> dict[str, list[dict[str, Any]]]:
    async def side(query: QuerySet[Vouch], other: str) -> list[dict[str, Any]]:
        rows = await query.order_by("id").values(
            other, "created_at", "withdrawn_at", "discredited_at"
        )
        return [_row(row) for row in rows]

    return {
        "given": await side(Vouch.filter(voucher_id=member.id), "member__username"),
        "received": await side(Vouch.filter(member_id=member.id), "voucher__username"),
    }


def export_filename(member: Member, now: datetime) -> str:
    """The name the archive is offered under."""
    return f"quartier-{member.username}-{now:%Y%m%d}.zip"
