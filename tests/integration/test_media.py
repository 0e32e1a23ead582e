"""Photos across nodes: a partner node caches the photos of a partners-only listing through
signed fetches; a node that is not a partner gets nothing, and neither does an unsigned fetch.

Three real nodes on 127.0.0.1: A and B partners, C not. The listing rows are made directly
(the listing service is built elsewhere); the photos go through each node's real media service,
transport, HTTP signature and partnership check.
"""

from __future__ import annotations

from datetime import UTC, datetime

from node.db import activated
from node.http.keys import DATABASE, MEDIA
from node.listings.models import Audience, Kind, Listing
from node.media.models import Media
from tests.api import bearer, member_token
from tests.integration.conftest import Peer
from tests.integration.test_partnerships import active_partnership
from tests.node.media_support import jpeg, opened, uploaded

PARTNERS_LISTING = "/listings/1"


async def listing_on(peer: Peer, origin: Peer, author: str, audience: Audience) -> int:
    """The listing ``origin`` published, as a row on ``peer`` (its own when the same)."""
    now = datetime(2026, 11, 26, tzinfo=UTC)
    with activated(peer.client.app[DATABASE]):
        row = await Listing.create(
            ap_id=f"{origin.base}{PARTNERS_LISTING}",
            local=peer is origin,
            author=author,
            origin_host=origin.domain,
            kind=Kind.LEND,
            audience=audience,
            category="tools",
            title="Drill",
            published_at=now,
            updated_at=now,
        )
    return int(row.id)


async def copy_on(peer: Peer, listing: int, url: str) -> Media:
    with activated(peer.client.app[DATABASE]):
        return await peer.client.app[MEDIA].cache_remote(listing, url, "image/jpeg", "A drill", 0)


async def test_a_partner_caches_a_partners_photo_and_a_stranger_gets_nothing(peers):
    a, b, c = await peers("a"), await peers("b"), await peers("c")
    admin_a, admin_b, _, _ = await active_partnership(a, b)
    zoe = await member_token(a.client, admin_a, "zoe")
    photo = await uploaded(a.client, zoe, jpeg((800, 600), gps=True), "A drill")
    on_a = await listing_on(a, a, a.actor("zoe"), Audience.PARTNERS)
    with activated(a.client.app[DATABASE]):
        service = a.client.app[MEDIA]
        await service.attach(await service.claim(a.actor("zoe"), [photo["id"]]), on_a)

    # B, a partner, fetches it signed by its node actor, and keeps a copy.
    on_b = await listing_on(b, a, a.actor("zoe"), Audience.PARTNERS)
    copy = await copy_on(b, on_b, photo["url"])
    assert copy.file != ""
    assert (copy.width, copy.height, copy.description) == (800, 600, "A drill")
    bob = await member_token(b.client, admin_b, "bob")
    b.client.session.cookie_jar.clear()
    resp = await b.client.get(f"/media/{copy.file}", headers=bearer(bob))
    assert resp.status == 200
    assert opened(await resp.read()).size == (800, 600)
    # ... which B's members see, and nobody else.
    assert (await b.client.get(f"/media/{copy.file}")).status == 404

    # C is no partner of A: A refuses its signed fetch; C shows A's URL, its members' browsers
    # get nothing from A without being A's members.
    on_c = await listing_on(c, a, a.actor("zoe"), Audience.PARTNERS)
    refused = await copy_on(c, on_c, photo["url"])
    assert refused.file == ""
    a.client.session.cookie_jar.clear()
    assert (await a.client.get(photo["url"].removeprefix(a.base))).status == 404


async def test_after_the_partnership_ends_the_photo_is_no_longer_served(peers):
    a, b = await peers("a"), await peers("b")
    admin_a, _admin_b, mine, _ = await active_partnership(a, b)
    zoe = await member_token(a.client, admin_a, "zoe")
    photo = await uploaded(a.client, zoe, jpeg((64, 48)))
    on_a = await listing_on(a, a, a.actor("zoe"), Audience.PARTNERS)
    with activated(a.client.app[DATABASE]):
        service = a.client.app[MEDIA]
        await service.attach(await service.claim(a.actor("zoe"), [photo["id"]]), on_a)
    resp = await a.client.delete(
        f"/api/quartier/v1/admin/partnerships/{mine['id']}", headers=bearer(admin_a)
    )
    assert resp.status == 200
    on_b = await listing_on(b, a, a.actor("zoe"), Audience.PARTNERS)
    assert (await copy_on(b, on_b, photo["url"])).file == ""
