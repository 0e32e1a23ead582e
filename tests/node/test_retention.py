"""Retention on a real node: the job purges exactly what the policy's periods say, and says so
in the audit log."""

from __future__ import annotations

from datetime import timedelta

from federation.models import DeliveryState, InboundState
from moderation.models import AuditEntry
from node.conversations.models import Conversation, Message
from node.db import activated
from node.http.keys import DATABASE, GOVERNANCE, MEDIA, RETENTION, SETTINGS
from node.listings.models import Audience, Kind, Listing, Status
from tests.federation.test_retention import delivery, inbound
from tests.node.media_support import jpeg, uploaded

DAY = timedelta(days=1)
NODE = "http://127.0.0.1:8080"


async def listing(clock, n: int, status: Status, ended: timedelta, *, local: bool = True) -> int:
    at = clock.now - ended
    origin = NODE if local else "https://b.example"
    row = await Listing.create(
        ap_id=f"{origin}/listings/{n:032x}",
        local=local,
        author=f"{origin}/users/ada",
        origin_host=origin.split("://")[1],
        kind=Kind.GIVE,
        status=status,
        audience=Audience.PUBLIC,
        category="furniture",
        title=f"Listing {n}",
        published_at=at - 30 * DAY,
        updated_at=at,
    )
    return int(row.id)


async def message(conversation: Conversation, n: int, age: timedelta, clock) -> None:
    await Message.create(
        conversation=conversation,
        ap_id=f"{NODE}/users/ada/messages/{n:032x}",
        author=f"{NODE}/users/ada",
        text=f"message {n}",
        created_at=clock.now - age,
    )


async def test_retention_purges_exactly_what_expired_and_nothing_else(node, people, clock):
    photo = await uploaded(node, people["ada"], jpeg((32, 32)))
    with activated(node.app[DATABASE]):
        await node.app[GOVERNANCE].change(
            {"keep_messages_days": 30, "keep_audit_days": 365}, by="ada"
        )
        old_done = await listing(clock, 1, Status.EXPIRED, 91 * DAY)
        await listing(clock, 2, Status.EXPIRED, 89 * DAY)  # not yet
        await listing(clock, 3, Status.OPEN, 400 * DAY)  # open: never, however old
        await listing(clock, 4, Status.RESERVED, 400 * DAY)
        await listing(clock, 5, Status.WITHDRAWN, 100 * DAY, local=False)  # another node's copy
        await listing(clock, 6, Status.DONE, 95 * DAY)
        media = node.app[MEDIA]
        [claimed] = await media.claim(f"{NODE}/users/ada", [photo["id"]])
        await media.attach([claimed], old_done)
        photo_file = node.app[SETTINGS].media_path / claimed.file
        assert photo_file.exists()
        old = await Conversation.create(
            context="ctx-old", created_at=clock.now - 60 * DAY, updated_at=clock.now - 60 * DAY
        )
        live = await Conversation.create(
            context="ctx-live", created_at=clock.now - 60 * DAY, updated_at=clock.now - DAY
        )
        await message(old, 1, 60 * DAY, clock)
        await message(live, 2, 40 * DAY, clock)
        await message(live, 3, DAY, clock)
        await inbound(clock, 1, InboundState.DONE, 15 * DAY)
        await inbound(clock, 2, InboundState.DONE, 13 * DAY)
        await inbound(clock, 3, InboundState.PENDING, 90 * DAY)
        await delivery(clock, 1, DeliveryState.DELIVERED, 8 * DAY)
        await delivery(clock, 2, DeliveryState.DELIVERED, 6 * DAY)
        await delivery(clock, 3, DeliveryState.PENDING, 90 * DAY)
        await AuditEntry.create(
            actor="ada", action="warn", target="x", created_at=clock.now - 400 * DAY
        )
        await AuditEntry.create(
            actor="ada", action="warn", target="y", created_at=clock.now - 300 * DAY
        )

        purged = await node.app[RETENTION].run_once()

        assert (
            purged.listings,
            purged.messages,
            purged.inbound,
            purged.deliveries,
            purged.audit_entries,
        ) == (3, 2, 1, 1, 1)
        titles = sorted(await Listing.all().values_list("title", flat=True))
        assert titles == ["Listing 2", "Listing 3", "Listing 4"]
        assert not photo_file.exists()  # the photo's file went with its listing
        assert sorted(await Message.all().values_list("text", flat=True)) == ["message 3"]
        assert await Conversation.all().values_list("context", flat=True) == ["ctx-live"]
        kept = sorted(await AuditEntry.filter(action="warn").values_list("target", flat=True))
        assert kept == ["y"]
        said = sorted(
            await AuditEntry.filter(action="retention.purge").values_list("reason", flat=True)
        )
        assert said == [
            "1 audit entries older than 365 days",
            "1 deliveries made more than 7 days ago",
            "1 inbound activities processed more than 14 days ago",
            "2 messages older than 30 days",
            "3 listings ended more than 90 days ago",
        ]
        # Run again: nothing more goes, and nothing more is said.
        again = await node.app[RETENTION].run_once()
        assert again.total == 0
        assert await AuditEntry.filter(action="retention.purge").count() == 5


async def test_messages_are_kept_for_ever_by_default(node, clock):
    with activated(node.app[DATABASE]):
        conversation = await Conversation.create(
            context="c", created_at=clock.now, updated_at=clock.now
        )
        await message(conversation, 1, 3650 * DAY, clock)
        purged = await node.app[RETENTION].run_once()
        assert purged.messages == 0
        assert await Message.all().count() == 1
