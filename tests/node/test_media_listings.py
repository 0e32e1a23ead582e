"""Photos and listings: claiming uploads for a listing, their order, and cleaning up after.

The listing service calls these (claim and attach in its transaction, forget_listing before
deleting a listing); the tests call them the same way, on a real node with real files.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from node.db import activated
from node.errors import ValidationFailed
from node.http.keys import DATABASE, MEDIA, SETTINGS
from node.listings.models import Audience, Listing
from node.media.models import Media
from tests.api import admin_token, member_token
from tests.node.media_support import NODE, jpeg, make_listing, uploaded

ADA, BOB = f"{NODE}/users/ada", f"{NODE}/users/bob"


@pytest.fixture
async def tokens(node) -> dict[str, str]:
    ada = await admin_token(node)
    return {"ada": ada, "bob": await member_token(node, ada, "bob")}


async def photos(node, token: str, n: int) -> list[str]:
    return [(await uploaded(node, token, jpeg((20 + i, 20))))["id"] for i in range(n)]


def files_on_disk(node) -> set[str]:
    folder = node.app[SETTINGS].media_path
    return set(os.listdir(folder)) if folder.exists() else set()


async def claim_error(node, owner: str, ids: list[str], **kwargs) -> list[dict[str, str]]:
    with activated(node.app[DATABASE]), pytest.raises(ValidationFailed) as caught:
        await node.app[MEDIA].claim(owner, ids, **kwargs)
    assert caught.value.status == 422
    return caught.value.details


async def attached(node, owner: str, ids: list[str], listing: int) -> list[Media]:
    with activated(node.app[DATABASE]):
        service = node.app[MEDIA]
        await service.attach(await service.claim(owner, ids, listing_id=listing), listing)
        return await service.photos_of(listing)


# Claiming


async def test_a_listing_takes_its_authors_photos_in_the_given_order(node, tokens):
    ids = await photos(node, tokens["ada"], 3)
    listing = await make_listing(node, Audience.NODE)
    order = [ids[2], ids[0], ids[1]]
    rows = await attached(node, ADA, order, listing)
    assert [(m.id, m.position) for m in rows] == [(order[0], 0), (order[1], 1), (order[2], 2)]


async def test_an_edit_reorders_keeps_and_drops_photos(node, tokens, clock):
    ids = await photos(node, tokens["ada"], 3)
    listing = await make_listing(node, Audience.NODE)
    await attached(node, ADA, ids, listing)
    rows = await attached(node, ADA, [ids[2], ids[0]], listing)
    assert [m.id for m in rows] == [ids[2], ids[0]]
    with activated(node.app[DATABASE]):
        dropped = await Media.get(id=ids[1])
        assert dropped.listing_id is None  # an upload again: purged with the orphans
        clock.advance(hours=25)
        assert await node.app[MEDIA].purge_orphans(clock.now) == 1
        assert not await Media.exists(id=ids[1])
        assert {m.id for m in await node.app[MEDIA].photos_of(listing)} == {ids[0], ids[2]}


async def test_someone_elses_or_unknown_photos_cannot_be_claimed(node, tokens):
    mine = await photos(node, tokens["ada"], 1)
    his = await photos(node, tokens["bob"], 1)
    details = await claim_error(node, ADA, [mine[0], his[0], "0" * 32, "../etc/passwd"])
    assert details == [
        {"field": "photos.1", "message": "no such photo of yours"},
        {"field": "photos.2", "message": "no such photo of yours"},
        {"field": "photos.3", "message": "no such photo of yours"},
    ]


async def test_a_listing_takes_at_most_the_configured_number_of_photos(node, tokens):
    ids = await photos(node, tokens["ada"], 5)
    details = await claim_error(node, ADA, ids, field="photo_ids")
    assert details == [{"field": "photo_ids", "message": "at most 4 photos"}]
    fifty = await claim_error(node, ADA, [ids[0]] * 50)
    assert fifty == [{"field": "photos", "message": "at most 4 photos"}]
    with activated(node.app[DATABASE]):
        assert len(await node.app[MEDIA].claim(ADA, ids[:4])) == 4


async def test_the_same_photo_twice_is_refused(node, tokens):
    [one] = await photos(node, tokens["ada"], 1)
    details = await claim_error(node, ADA, [one, one])
    assert details == [{"field": "photos.1", "message": "the same photo is listed twice"}]


async def test_a_photo_of_another_listing_cannot_be_taken(node, tokens):
    ids = await photos(node, tokens["ada"], 2)
    first = await make_listing(node, Audience.NODE, n=1)
    second = await make_listing(node, Audience.NODE, n=2)
    await attached(node, ADA, ids, first)
    details = await claim_error(node, ADA, [ids[1]], listing_id=second)
    assert details == [{"field": "photos.0", "message": "belongs to another listing"}]


async def test_a_photo_taken_by_another_listing_since_it_was_claimed_is_refused(node, tokens):
    ids = await photos(node, tokens["ada"], 1)
    first = await make_listing(node, Audience.NODE, n=1)
    second = await make_listing(node, Audience.NODE, n=2)
    with activated(node.app[DATABASE]):
        service = node.app[MEDIA]
        claimed_for_second = await service.claim(ADA, ids)
        await service.attach(await service.claim(ADA, ids), first)
        with pytest.raises(ValidationFailed) as caught:
            await service.attach(claimed_for_second, second)
        assert caught.value.details == [
            {"field": "photos.0", "message": "belongs to another listing"}
        ]
        assert [m.id for m in await service.photos_of(first)] == ids


# Cleaning up


async def test_forgetting_a_listing_deletes_its_photos_and_files(node, tokens):
    ids = await photos(node, tokens["ada"], 2)
    other = await photos(node, tokens["ada"], 1)
    listing = await make_listing(node, Audience.PUBLIC)
    rows = await attached(node, ADA, ids, listing)
    (node.app[SETTINGS].media_path / rows[0].thumbnail).unlink()  # already gone: tolerated
    with activated(node.app[DATABASE]):
        assert await node.app[MEDIA].forget_listing(listing) == 2
        await Listing.filter(id=listing).delete()
        assert await Media.filter(id__in=ids).count() == 0
    with activated(node.app[DATABASE]):
        survivor = await Media.get(id=other[0])
    assert files_on_disk(node) == {survivor.file, survivor.thumbnail}


async def test_uploads_no_listing_took_are_purged_after_their_lifetime(node, tokens, clock):
    early = await photos(node, tokens["ada"], 2)
    listing = await make_listing(node, Audience.NODE)
    await attached(node, ADA, early[:1], listing)
    clock.advance(hours=20)
    late = await photos(node, tokens["bob"], 1)
    clock.advance(hours=5)  # early: 25 h old, late: 5 h
    with activated(node.app[DATABASE]):
        assert await node.app[MEDIA].purge_orphans(clock.now) == 1
        left = {m.id: m for m in await Media.all()}
    assert set(left) == {early[0], late[0]}
    assert files_on_disk(node) == {name for m in left.values() for name in (m.file, m.thumbnail)}


async def test_files_no_row_names_are_swept_but_not_other_files(node, tokens, clock):
    ids = await photos(node, tokens["ada"], 2)
    listing = await make_listing(node, Audience.NODE)
    await attached(node, ADA, ids, listing)
    folder = node.app[SETTINGS].media_path
    (folder / "README").write_text("the operator's note")
    (folder / ".tmp-0123456789abcdef-aa.jpg").write_bytes(b"half a photo")
    with activated(node.app[DATABASE]):
        # A listing deleted without forget_listing: its rows went by CASCADE, its files stayed.
        await Listing.filter(id=listing).delete()
        assert await Media.all().count() == 0
        kept = await photos(node, tokens["ada"], 1)
        # File ages are the files' own times: on the real clock.
        later = datetime.now(UTC) + timedelta(hours=2)
        assert await node.app[MEDIA].sweep_stray_files(later) == 5  # 2 x 2 + temporary
        survivor = await Media.get(id=kept[0])
    assert files_on_disk(node) == {"README", survivor.file, survivor.thumbnail}


async def test_recent_files_without_a_row_are_left_to_their_upload(node, tokens):
    folder = node.app[SETTINGS].media_path
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{'a' * 32}.jpg"
    (folder / name).write_bytes(jpeg((10, 10)))
    written = datetime.fromtimestamp((folder / name).stat().st_mtime, UTC)
    with activated(node.app[DATABASE]):
        assert await node.app[MEDIA].sweep_stray_files(written + timedelta(minutes=10)) == 0
        assert await node.app[MEDIA].sweep_stray_files(written + timedelta(hours=2)) == 1
    assert name not in files_on_disk(node)
