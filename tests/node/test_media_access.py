"""Who may see a photo: per its listing's audience, members, partners' signed fetches, anyone.

Real node over real HTTP; the partner and non-partner servers are fake remote servers on
127.0.0.1 (their own ports, so their own hosts) publishing actors whose keys the test holds.
"""

from __future__ import annotations

import os

import pytest
from aiohttp.test_utils import TestClient

from activitypub.signatures import sign_request
from federation.models import PartnershipState
from node.db import activated
from node.http.keys import DATABASE, MEDIA, SETTINGS
from node.listings.models import Audience
from tests.api import admin_token, bearer, error_of, member_token
from tests.node.media_support import NODE, jpeg, make_listing, path_of, photo_server, uploaded
from tests.node.test_federation_policy_inbox import block, host_of, partnership
from tests.node.test_inbox import Remote, RemoteActor, start_remote

pytestmark = pytest.mark.local_testing

PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, no-cache"


@pytest.fixture
async def ada(node) -> str:
    token = await admin_token(node)
    forget_cookies(node)
    return token


def forget_cookies(node: TestClient) -> None:
    """Logging in set the session cookie on the test's client: requests meant to come from
    nobody in particular must not carry it."""
    node.session.cookie_jar.clear()


@pytest.fixture
async def partner(aiohttp_server, node, clock) -> Remote:
    remote = await start_remote(aiohttp_server)
    await partnership(node, remote, PartnershipState.ACTIVE, clock)
    return remote


@pytest.fixture
async def stranger(aiohttp_server) -> Remote:
    return await start_remote(aiohttp_server)


async def photo_of(node: TestClient, token: str, audience: Audience | None) -> dict:
    """A photo uploaded by ada, attached to a listing of ``audience`` (None: unattached)."""
    photo = await uploaded(node, token, jpeg((64, 48)))
    if audience is not None:
        listing = await make_listing(node, audience, n=int.from_bytes(os.urandom(3), "big"))
        with activated(node.app[DATABASE]):
            service = node.app[MEDIA]
            claimed = await service.claim(f"{NODE}/users/ada", [photo["id"]])
            await service.attach(claimed, listing)
    return photo


async def signed_get(node: TestClient, clock, signer: RemoteActor, url: str, method: str = "GET"):
    path = path_of(url)
    headers = sign_request(method, f"{NODE}{path}", None, signer.key_id, signer.rsa_key, clock.now)
    return await node.request(method, path, headers=headers)


async def refused(resp) -> None:
    await error_of(resp, 404, "not_found")


# The headers of a served photo


async def test_a_public_photo_is_served_to_anyone_with_safe_and_cacheable_headers(node, ada):
    photo = await photo_of(node, ada, Audience.PUBLIC)
    for url in (photo["url"], photo["thumbnail_url"]):
        resp = await node.get(path_of(url))
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"] == "image/jpeg"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Content-Disposition"] == "inline"
        assert resp.headers["Cache-Control"] == PUBLIC_CACHE
        assert (await resp.read())[:3] == b"\xff\xd8\xff"


async def test_a_photo_is_not_fetched_again_when_unchanged(node, ada):
    photo = await photo_of(node, ada, Audience.PUBLIC)
    first = await node.get(path_of(photo["url"]))
    etag = first.headers["ETag"]
    again = await node.get(path_of(photo["url"]), headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    since = await node.get(
        path_of(photo["url"]), headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert since.status == 304


async def test_head_answers_like_get_without_the_body(node, ada):
    photo = await photo_of(node, ada, Audience.PUBLIC)
    resp = await node.head(path_of(photo["url"]))
    assert resp.status == 200
    assert int(resp.headers["Content-Length"]) == photo["size"]
    assert await resp.read() == b""


async def test_unknown_or_malformed_photo_names_are_404(node, ada):
    photo = await photo_of(node, ada, Audience.PUBLIC)
    for path in (
        f"/media/{'0' * 32}.jpg",
        f"/media/{photo['id']}.png",  # right id, wrong file
        f"/media/{photo['id']}.jpg.exe",
        "/media/..%2Fquartier.sqlite3",
        f"/media/{photo['id'].upper()}.jpg",
    ):
        await refused(await node.get(path))


async def test_a_photo_whose_file_went_missing_is_404_not_500(node, ada):
    photo = await photo_of(node, ada, Audience.PUBLIC)
    name = photo["url"].rsplit("/", 1)[1]
    (node.app[SETTINGS].media_path / name).unlink()
    await refused(await node.get(path_of(photo["url"])))


# Unattached uploads


async def test_an_unattached_upload_is_seen_by_its_owner_only(node, ada):
    bob = await member_token(node, ada, "bob")
    forget_cookies(node)
    photo = await photo_of(node, ada, None)
    resp = await node.get(path_of(photo["url"]), headers=bearer(ada))
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == PRIVATE_CACHE
    await refused(await node.get(path_of(photo["url"]), headers=bearer(bob)))
    await refused(await node.get(path_of(photo["url"])))
    await refused(await node.get(path_of(photo["url"]), headers=bearer("not-a-token")))


async def test_the_browser_session_cookie_counts_as_logged_in(node, ada):
    photo = await photo_of(node, ada, None)
    resp = await node.get(path_of(photo["url"]), cookies={"quartier_session": ada})
    assert resp.status == 200


# Audiences


async def test_a_node_photo_is_for_members_only(node, ada, clock, partner):
    bob = await member_token(node, ada, "bob")
    forget_cookies(node)
    photo = await photo_of(node, ada, Audience.NODE)
    resp = await node.get(path_of(photo["url"]), headers=bearer(bob))
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == PRIVATE_CACHE
    await refused(await node.get(path_of(photo["url"])))
    # Partners do not see what the neighbourhood keeps to itself.
    await refused(await signed_get(node, clock, partner.add("node"), photo["url"]))


async def test_a_partners_photo_is_served_to_members_and_to_signed_partner_fetches(
    node, ada, clock, partner
):
    bob = await member_token(node, ada, "bob")
    forget_cookies(node)
    photo = await photo_of(node, ada, Audience.PARTNERS)
    assert (await node.get(path_of(photo["url"]), headers=bearer(bob))).status == 200
    actor = partner.add("node")
    for url in (photo["url"], photo["thumbnail_url"]):
        resp = await signed_get(node, clock, actor, url)
        assert resp.status == 200, await resp.text()
        assert resp.headers["Cache-Control"] == PRIVATE_CACHE
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    resp = await signed_get(node, clock, actor, photo["url"], method="HEAD")
    assert resp.status == 200


async def test_a_partners_photo_is_refused_to_unsigned_and_non_partner_fetches(
    node, ada, clock, partner, stranger
):
    photo = await photo_of(node, ada, Audience.PARTNERS)
    await refused(await node.get(path_of(photo["url"])))
    await refused(await signed_get(node, clock, stranger.add("node"), photo["url"]))
    assert stranger.fetches == 0  # its key was not even fetched


async def test_a_bad_or_stale_partner_signature_is_refused(node, ada, clock, partner):
    photo = await photo_of(node, ada, Audience.PARTNERS)
    actor = partner.add("node")
    path = path_of(photo["url"])
    old = sign_request("GET", f"{NODE}{path}", None, actor.key_id, actor.rsa_key, clock.now)
    clock.advance(hours=3)
    await refused(await node.get(path, headers=old))
    # Signed for another photo: the signature covers the path.
    other = await photo_of(node, ada, Audience.PARTNERS)
    headers = sign_request(
        "GET", f"{NODE}{path_of(other['url'])}", None, actor.key_id, actor.rsa_key, clock.now
    )
    await refused(await node.get(path, headers=headers))
    # Signed with a key that is not the one the actor publishes.
    impostor = RemoteActor("impostor", partner.base)
    headers = sign_request("GET", f"{NODE}{path}", None, actor.key_id, impostor.rsa_key, clock.now)
    await refused(await node.get(path, headers=headers))


@pytest.mark.parametrize("state", [PartnershipState.ENDED, PartnershipState.PROPOSED])
async def test_a_node_that_is_not_an_active_partner_is_refused(node, ada, clock, stranger, state):
    await partnership(node, stranger, state, clock)
    photo = await photo_of(node, ada, Audience.PARTNERS)
    await refused(await signed_get(node, clock, stranger.add("node"), photo["url"]))


async def test_a_blocked_partner_is_refused(node, ada, clock, partner):
    photo = await photo_of(node, ada, Audience.PARTNERS)
    await block(node, host_of(partner))
    await refused(await signed_get(node, clock, partner.add("node"), photo["url"]))


# Copies of other nodes' photos


async def test_a_cached_copy_is_for_local_members_never_for_other_nodes(
    node, ada, clock, partner, aiohttp_server
):
    origin = await photo_server(aiohttp_server)
    url = origin.photo("/p.jpg", jpeg((80, 60)))
    listing = await make_listing(
        node, Audience.PARTNERS, author=f"{origin.base}/users/zoe", local=False
    )
    with activated(node.app[DATABASE]):
        copy = await node.app[MEDIA].cache_remote(listing, url, None, "", 0)
    path = f"/media/{copy.file}"
    resp = await node.get(path, headers=bearer(ada))
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == PRIVATE_CACHE
    await refused(await node.get(path))
    await refused(await signed_get(node, clock, partner.add("node"), f"{NODE}{path}"))


async def test_a_cached_copy_of_a_public_photo_is_public(node, ada, aiohttp_server):
    origin = await photo_server(aiohttp_server)
    url = origin.photo("/p.jpg", jpeg((80, 60)))
    listing = await make_listing(
        node, Audience.PUBLIC, author=f"{origin.base}/users/zoe", local=False
    )
    with activated(node.app[DATABASE]):
        copy = await node.app[MEDIA].cache_remote(listing, url, "image/jpeg", "", 0)
    resp = await node.get(f"/media/{copy.thumbnail}")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == PUBLIC_CACHE
