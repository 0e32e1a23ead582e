"""Copies of other nodes' photos: fetched signed, checked like uploads, bounded, dropped.

The other node is a fake server on 127.0.0.1 (it only needs to serve files); the node runs
with ``federation.local_testing`` so it may fetch from loopback.
"""

from __future__ import annotations

import os

import pytest

from node.db import activated
from node.http.keys import DATABASE, MEDIA, SETTINGS
from node.listings.models import Audience, Listing
from node.media.images import ImageLimits, process_image
from node.media.models import Media
from node.media.remote import RemotePhoto
from node.media.render import media_to_ap, media_to_api, photo_urls
from tests.node.media_support import PhotoServer, gif, jpeg, make_listing, opened, photo_server

pytestmark = pytest.mark.local_testing


@pytest.fixture
async def origin(aiohttp_server) -> PhotoServer:
    return await photo_server(aiohttp_server)


async def remote_listing(
    node, origin: PhotoServer, n: int = 1, audience: Audience = Audience.PARTNERS
) -> int:
    return await make_listing(node, audience, author=f"{origin.base}/users/zoe", local=False, n=n)


async def cache(node, listing: int, url: str, media_type: str | None = None, **kw) -> Media:
    with activated(node.app[DATABASE]):
        return await node.app[MEDIA].cache_remote(
            listing, url, media_type, kw.get("description", ""), kw.get("position", 0)
        )


def files_on_disk(node) -> set[str]:
    folder = node.app[SETTINGS].media_path
    return set(os.listdir(folder)) if folder.exists() else set()


async def test_a_partners_photo_is_fetched_signed_checked_and_stored(node, origin):
    url = origin.photo("/files/drill.jpg", jpeg((2400, 1800), orientation=6, gps=True))
    listing = await remote_listing(node, origin)
    copy = await cache(node, listing, url, "image/jpeg", description="A drill", position=2)
    assert (copy.owner, copy.remote_url, copy.description, copy.position) == (
        f"{origin.base}/users/zoe",
        url,
        "A drill",
        2,
    )
    assert (copy.width, copy.height) == (1200, 1600)  # upright, resized
    # Signed by the node's own actor: a partner serves its partners-only photos to that.
    [request] = origin.requests
    assert "Signature" in request
    assert 'keyId="http://127.0.0.1:8080/actor#main-key"' in request["Signature"]
    stored = opened((node.app[SETTINGS].media_path / copy.file).read_bytes())
    assert not stored.getexif()
    assert files_on_disk(node) == {copy.file, copy.thumbnail}
    uris = node.app[SETTINGS].uris
    assert media_to_api(copy, uris)["url"] == f"http://127.0.0.1:8080/media/{copy.file}"


async def test_caching_again_updates_alt_text_and_position_without_fetching(node, origin):
    url = origin.photo("/p.jpg", jpeg((50, 50)))
    listing = await remote_listing(node, origin)
    first = await cache(node, listing, url, description="old", position=0)
    again = await cache(node, listing, url, description="new", position=1)
    assert again.id == first.id
    assert (again.description, again.position) == ("new", 1)
    assert len(origin.requests) == 1


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ((200, "image/jpeg", b"<html>not a photo</html>"), "not an image"),
        ((200, "image/gif", gif()), "a GIF"),
        ((200, "image/jpeg", jpeg((640, 480))[:3000]), "truncated"),
        ((404, "text/plain", b"gone"), "not found"),
        ((500, "text/plain", b"oops"), "server error"),
    ],
)
async def test_what_is_not_a_usable_photo_is_not_cached_and_the_origin_url_is_shown(
    node, origin, answer, why
):
    origin.answers["/p.jpg"] = answer
    url = f"{origin.base}/p.jpg"
    listing = await remote_listing(node, origin)
    copy = await cache(node, listing, url, description="a chair")
    assert copy.file == "", why
    assert files_on_disk(node) == set()
    uris = node.app[SETTINGS].uris
    assert photo_urls(copy, uris) == (url, url)
    assert media_to_ap(copy, uris) == {"type": "Image", "url": url, "name": "a chair"}


async def test_an_oversize_remote_photo_is_cut_off_and_not_cached(make_settings, make_node, origin):
    node = await make_node(
        make_settings(federation={"local_testing": "true"}, media={"max_upload_bytes": 50_000})
    )
    url = origin.photo("/big.jpg", os.urandom(200_000))
    copy = await cache(node, await remote_listing(node, origin), url)
    assert copy.file == ""
    assert files_on_disk(node) == set()


async def test_a_photo_declared_as_another_type_is_not_even_fetched(node, origin):
    url = origin.photo("/anim.gif", gif(), "image/gif")
    copy = await cache(node, await remote_listing(node, origin), url, "image/gif")
    assert copy.file == ""
    assert origin.requests == []


async def test_a_failed_photo_is_fetched_again_at_the_next_sync(node, origin):
    listing = await remote_listing(node, origin)
    url = f"{origin.base}/later.jpg"
    with activated(node.app[DATABASE]):
        [first] = await node.app[MEDIA].sync_remote(listing, [RemotePhoto(url)])
        assert first.file == ""
        origin.photo("/later.jpg", jpeg((40, 40)))
        [second] = await node.app[MEDIA].sync_remote(listing, [RemotePhoto(url, "image/jpeg")])
        assert second.file != ""
        assert await Media.filter(listing_id=listing).count() == 1


async def test_sync_makes_the_listings_photos_those_of_its_latest_version(node, origin):
    a, b, c = (origin.photo(f"/{n}.jpg", jpeg((30 + i, 30))) for i, n in enumerate("abc"))
    listing = await remote_listing(node, origin)
    with activated(node.app[DATABASE]):
        service = node.app[MEDIA]
        await service.sync_remote(listing, [RemotePhoto(a), RemotePhoto(b)])
        dropped = await Media.get(listing_id=listing, remote_url=a)
        rows = await service.sync_remote(
            listing,
            [RemotePhoto(c, description="third"), RemotePhoto(b), RemotePhoto(c),
             RemotePhoto("javascript:alert(1)"), RemotePhoto("https://x/" + "y" * 3000)],
        )  # fmt: skip
        assert [(m.remote_url, m.position) for m in rows] == [(c, 0), (b, 1)]
        assert [m.remote_url for m in await service.photos_of(listing)] == [c, b]
    assert dropped.file not in files_on_disk(node)
    assert len(files_on_disk(node)) == 4
    with activated(node.app[DATABASE]):  # an Update that removed every photo
        assert await service.sync_remote(listing, []) == []
        assert await service.photos_of(listing) == []
    assert files_on_disk(node) == set()


async def test_a_remote_listing_takes_at_most_the_configured_number_of_photos(node, origin):
    urls = [origin.photo(f"/{n}.jpg", jpeg((20, 20))) for n in range(6)]
    listing = await remote_listing(node, origin)
    with activated(node.app[DATABASE]):
        rows = await node.app[MEDIA].sync_remote(listing, [RemotePhoto(u) for u in urls])
    assert [m.remote_url for m in rows] == urls[:4]


async def test_the_cache_keeps_to_its_bound_by_evicting_the_oldest(
    make_settings, make_node, origin, clock
):
    photo = jpeg((200, 150))
    size = len(process_image(photo, ImageLimits()).data)  # what each copy will weigh
    node = await make_node(
        make_settings(
            federation={"local_testing": "true"}, media={"remote_cache_bytes": int(size * 2.5)}
        )
    )
    urls = [origin.photo(f"/{n}.jpg", photo) for n in range(3)]
    copies = []
    for n, url in enumerate(urls):
        listing = await remote_listing(node, origin, n=n, audience=Audience.PUBLIC)
        copies.append(await cache(node, listing, url))
        clock.advance(minutes=1)
    assert {c.size for c in copies} == {size}
    with activated(node.app[DATABASE]):
        rows = {m.remote_url: m for m in await Media.all()}
    assert rows[urls[0]].file == ""  # the oldest went; its listing shows the origin's URL
    assert rows[urls[1]].file != ""
    assert rows[urls[2]].file != ""
    assert files_on_disk(node) == {
        name for url in urls[1:] for name in (rows[url].file, rows[url].thumbnail)
    }
    assert photo_urls(rows[urls[0]], node.app[SETTINGS].uris) == (urls[0], urls[0])
    assert (await node.get(f"/media/{copies[0].file}")).status == 404
    assert (await node.get(f"/media/{copies[2].file}")).status == 200


async def test_no_cache_at_all_when_the_bound_is_zero(make_settings, make_node, origin):
    node = await make_node(
        make_settings(federation={"local_testing": "true"}, media={"remote_cache_bytes": 0})
    )
    url = origin.photo("/p.jpg", jpeg((20, 20)))
    copy = await cache(node, await remote_listing(node, origin), url)
    assert copy.file == ""
    assert origin.requests == []


async def test_a_remote_listings_photos_go_with_it(node, origin):
    url = origin.photo("/p.jpg", jpeg((20, 20)))
    listing = await remote_listing(node, origin)
    await cache(node, listing, url)
    with activated(node.app[DATABASE]):
        assert await node.app[MEDIA].forget_listing(listing) == 1
        await Listing.filter(id=listing).delete()
    assert files_on_disk(node) == set()


async def test_only_remote_listings_take_copies(node, origin):
    local = await make_listing(node, Audience.PUBLIC)
    with pytest.raises(ValueError, match="not a remote listing"):
        await cache(node, local, origin.photo("/p.jpg", jpeg((20, 20))))
    with pytest.raises(ValueError, match="not a photo URL"):
        await cache(node, await remote_listing(node, origin), "file:///etc/passwd")
