"""Notices on one node: who publishes them, who is told, what current and past mean, what the
fediverse sees, and what a partner's group may (and may not) bring in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from activitypub.media_types import ACTIVITY_JSON
from activitypub.notices import NoticePlace, NoticeTerms, notice_object
from node.db import activated
from node.http.keys import DATABASE
from node.notices.models import Notice
from node.notifications.models import Notification
from tests.api import bearer, error_of
from tests.node.media_support import uploaded
from tests.node.test_inbox import NODE, deliver, start_remote, worker_round
from tests.node.test_listings_inbound import announced, last_reasons, make_partner

pytestmark = pytest.mark.local_testing

NOTICES = "/api/quartier/v1/notices"
LIFT = {
    "kind": "outage",
    "title": "Lift out of order",
    "text": "The lift of building B is stopped.\nA technician comes on Monday.",
    "place": "Building B",
    "starts_at": "2026-11-26T08:00:00Z",
    "ends_at": "2026-11-30T18:00:00Z",
}


async def publish(node, token: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    resp = await node.post(NOTICES, json=body, headers=bearer(token))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def notice_notifications(node, token: str) -> list[dict[str, Any]]:
    resp = await node.get("/api/quartier/v1/notifications", headers=bearer(token))
    assert resp.status == 200
    return [n for n in await resp.json() if n["notice_id"] is not None]


async def listed(node, token: str, state: str = "current") -> list[dict[str, Any]]:
    resp = await node.get(f"{NOTICES}?state={state}", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["notices"]


async def test_an_admin_publishes_and_every_other_member_is_notified(node, people):
    notice = await publish(node, people["ada"], LIFT)
    assert notice["kind"] == "outage"
    assert not notice["urgent"]
    assert notice["place"] == {"name": "Building B", "latitude": None, "longitude": None}
    assert notice["text_html"] == (
        "<p>The lift of building B is stopped.<br>A technician comes on Monday.</p>"
    )
    for name in ("bea", "cyd"):
        [note] = await notice_notifications(node, people[name])
        assert (note["type"], note["urgent"]) == ("notice.published", False)
        assert (note["notice_id"], note["detail"]) == (notice["id"], "Lift out of order")
    assert await notice_notifications(node, people["ada"]) == []  # not the author


async def test_current_notices_are_pinned_urgent_first_and_end_up_past(node, people, clock):
    ada = people["ada"]
    lift = await publish(node, ada, LIFT)
    clock.advance(minutes=5)
    fire = await publish(node, ada, {"kind": "urgent", "title": "Fire drill at 11:00"})
    clock.advance(minutes=5)
    party = await publish(node, ada, {"kind": "event", "title": "Courtyard party"})
    current = await listed(node, people["bea"])
    assert [n["id"] for n in current] == [fire["id"], party["id"], lift["id"]]
    assert all(n["pinned"] for n in current)
    [urgent] = [n for n in await notice_notifications(node, people["bea"]) if n["urgent"]]
    assert urgent["type"] == "notice.urgent"

    clock.advance(days=5)  # the lift notice ended on the 30th
    assert [n["id"] for n in await listed(node, people["bea"])] == [fire["id"], party["id"]]
    [past] = await listed(node, people["bea"], "past")
    assert (past["id"], past["pinned"]) == (lift["id"], False)


async def test_who_publishes_is_the_communitys_decision(node, people):
    forbidden = await error_of(
        await node.post(NOTICES, json=LIFT, headers=bearer(people["bea"])), 403, "forbidden"
    )
    assert "admin, manager" in forbidden["message"]
    with activated(node.app[DATABASE]):
        assert await Notice.all().count() == 0
    resp = await node.patch(
        "/api/quartier/v1/admin/governance",
        json={"notices_by": ["admin", "manager", "resident"]},
        headers=bearer(people["ada"]),
    )
    assert resp.status == 200, await resp.text()
    await publish(node, people["bea"], LIFT)


async def test_only_its_author_or_an_admin_changes_or_deletes_a_notice(node, people):
    await node.patch(
        "/api/quartier/v1/admin/members/bea",
        json={"role": "manager"},
        headers=bearer(people["ada"]),
    )
    notice = await publish(node, people["bea"], LIFT)
    path = f"{NOTICES}/{notice['id']}"
    edited = {**LIFT, "title": "Lift repaired", "kind": "information"}
    await error_of(
        await node.patch(path, json=edited, headers=bearer(people["cyd"])), 403, "forbidden"
    )
    await error_of(await node.delete(path, headers=bearer(people["cyd"])), 403, "forbidden")
    resp = await node.patch(path, json=edited, headers=bearer(people["bea"]))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["title"] == "Lift repaired"
    assert (await node.delete(path, headers=bearer(people["ada"]))).status == 204
    await error_of(await node.get(path, headers=bearer(people["cyd"])), 404, "not_found")
    with activated(node.app[DATABASE]):
        assert await Notification.filter(notice_id=notice["id"]).count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"text": "x" * 10_001}, "text"),
        ({"kind": "gossip"}, "kind"),
        ({"starts_at": "2026-11-26T08:00:00"}, "starts_at"),
        ({"ends_at": "2026-11-20T08:00:00Z"}, "(body)"),
        ({"latitude": 45.76}, "(body)"),
        ({"latitude": 95.0, "longitude": 4.8}, "latitude"),
        ({"audience": "everyone"}, "audience"),
        ({"audience": "circle"}, "(body)"),
        ({"circle": "batiment_b"}, "(body)"),
        ({"colour": "red"}, "colour"),
        ({"public": "yes"}, "public"),
    ],
)
async def test_malformed_notices_are_refused_naming_the_field(node, people, change, field):
    resp = await node.post(NOTICES, json={**LIFT, **change}, headers=bearer(people["ada"]))
    error = await error_of(resp, 422, "validation_failed")
    assert field in {d["field"] for d in error["details"]}, error
    with activated(node.app[DATABASE]):
        assert await Notice.all().count() == 0


async def test_unreadable_bodies_and_unknown_notices(node, people):
    ada = people["ada"]
    resp = await node.post(
        NOTICES, data=b"{not json", headers={**bearer(ada), "Content-Type": "application/json"}
    )
    await error_of(resp, 400, "invalid_json")
    node.session.cookie_jar.clear()  # logging in set a session cookie too
    await error_of(await node.post(NOTICES, json=LIFT), 401, "unauthorized")
    await error_of(await node.get(f"{NOTICES}/999", headers=bearer(ada)), 404, "not_found")
    await error_of(
        await node.get(f"{NOTICES}?state=soon", headers=bearer(ada)), 422, "validation_failed"
    )
    # "²" is a digit to str.isdigit(), not to int(); past 2**31 - 1 no id exists (and
    # PostgreSQL's int4 would refuse it): neither may reach the database.
    for before in ("-1", "²", "2147483648", "9" * 18):
        await error_of(
            await node.get(f"{NOTICES}?state=past&before={before}", headers=bearer(ada)),
            422,
            "validation_failed",
        )
    await error_of(await node.get(f"{NOTICES}/{'9' * 18}", headers=bearer(ada)), 404, "not_found")


async def test_only_a_municipality_publishes_to_districts(node, people):
    resp = await node.post(
        NOTICES, json={**LIFT, "audience": "districts"}, headers=bearer(people["ada"])
    )
    error = await error_of(resp, 422, "validation_failed")
    assert "municipality" in error["message"]


async def test_a_notice_to_a_circle_that_does_not_exist_is_a_404(node, people):
    body = {**LIFT, "audience": "circle", "circle": "nowhere"}
    resp = await node.post(NOTICES, json=body, headers=bearer(people["ada"]))
    await error_of(resp, 404, "not_found")
    with activated(node.app[DATABASE]):
        assert await Notice.all().count() == 0


async def test_a_local_circles_notice_is_for_its_members_only(node, people):
    ada = people["ada"]
    circle = {"slug": "batiment_b", "name": "Bâtiment B", "kind": "building"}
    assert (
        await node.post("/api/quartier/v1/circles", json=circle, headers=bearer(ada))
    ).status == 201
    resp = await node.post(
        "/api/quartier/v1/circles/batiment_b/join", headers=bearer(people["bea"])
    )
    assert resp.status in (200, 201), await resp.text()
    notice = await publish(node, ada, {**LIFT, "audience": "circle", "circle": "batiment_b"})
    assert [n["notice_id"] for n in await notice_notifications(node, people["bea"])] == [
        notice["id"]
    ]
    assert await notice_notifications(node, people["cyd"]) == []
    assert [n["id"] for n in await listed(node, people["bea"])] == [notice["id"]]
    assert await listed(node, people["cyd"]) == []
    await error_of(
        await node.get(f"{NOTICES}/{notice['id']}", headers=bearer(people["cyd"])),
        404,
        "not_found",
    )
    assert [n["id"] for n in await listed(node, ada)] == [notice["id"]]  # its author


async def test_a_notice_photo_is_the_publishers_own_and_stays_with_the_notice(node, people):
    ada, bea = people["ada"], people["bea"]
    theirs = await uploaded(node, bea)
    resp = await node.post(NOTICES, json={**LIFT, "photo": theirs["id"]}, headers=bearer(ada))
    error = await error_of(resp, 422, "validation_failed")
    assert error["details"][0]["field"] == "photo"
    with activated(node.app[DATABASE]):
        assert await Notice.all().count() == 0  # the whole notice rolled back

    mine = await uploaded(node, ada)
    notice = await publish(node, ada, {**LIFT, "photo": mine["id"]})
    [photo] = notice["photos"]
    assert photo["id"] == mine["id"]
    [shown] = await listed(node, bea)
    assert [p["id"] for p in shown["photos"]] == [mine["id"]]
    seen = await node.get(photo["url"].removeprefix(NODE), headers=bearer(bea))
    assert seen.status == 200
    node.session.cookie_jar.clear()  # logging in set a session cookie too
    assert (await node.get(photo["url"].removeprefix(NODE))).status == 404  # not public
    # A photo a notice took cannot become a listing's too.
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={"kind": "give", "title": "Sofa", "category": "furniture", "photos": [mine["id"]]},
        headers=bearer(ada),
    )
    await error_of(resp, 422, "validation_failed")


async def test_a_public_notice_is_a_note_any_fediverse_reader_shows(node, people):
    public = await publish(node, people["ada"], {**LIFT, "public": True})
    private = await publish(node, people["ada"], LIFT)
    headers = {"Accept": ACTIVITY_JSON}
    resp = await node.get(public["uri"].removeprefix(NODE), headers=headers)
    assert resp.status == 200
    note = await resp.json(content_type=None)
    assert note["type"] == "Note"
    assert note["noticeKind"] == "outage"
    assert note["content"].startswith("<p><strong>Outage: Lift out of order</strong></p>")
    assert "Building B" in note["content"]
    assert (note["startTime"], note["endTime"]) == (LIFT["starts_at"], LIFT["ends_at"])
    assert note["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert (await node.get(private["uri"].removeprefix(NODE), headers=headers)).status == 404


def town_hall_notice(actor, n: int, **changes: Any) -> dict[str, Any]:
    terms = NoticeTerms(
        kind=changes.pop("kind", "urgent"),
        title=changes.pop("title", "Boil the tap water"),
        text="Until further notice.",
        ends_at=datetime(2026, 12, 3, tzinfo=UTC),
        place=NoticePlace("Whole town", 45.76, 4.83),
    )
    when = changes.pop("updated", datetime(2026, 11, 26, 9, tzinfo=UTC))
    return notice_object(
        object_id=changes.pop("object_id", f"{actor.base}/notices/{n}"),
        author=actor.id,
        terms=terms,
        text_html="<p>Until further notice.</p>",
        published=datetime(2026, 11, 26, 9, tzinfo=UTC),
        updated=when,
        to=[f"{actor.base}/groups/neighbourhood/followers"],
        cc=[],
        url=f"{actor.base}/notices/{n}",
    )


def wrapped(kind: str, actor, obj: Any, n: int) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.base}/activities/{kind}-{n}",
        "type": kind,
        "actor": actor.id,
        "object": obj,
    }


async def held_notices(node) -> list[Notice]:
    with activated(node.app[DATABASE]):
        return list(await Notice.filter(local=False).order_by("id"))


async def test_a_partner_municipalitys_notice_reaches_every_member(node, clock, people, remote):
    mayor, group = remote.add("mayor"), remote.add("neighbourhood")
    await make_partner(node, remote)
    create = wrapped("Create", mayor, town_hall_notice(mayor, 1), 1)
    assert (await deliver(node, clock, group, announced(group, create, 1))).status == 202
    await worker_round(node)
    [notice] = await held_notices(node)
    assert (notice.kind, notice.title, notice.origin_host) == (
        "urgent",
        "Boil the tap water",
        remote.base.removeprefix("http://"),
    )
    assert (notice.latitude, notice.longitude, notice.place_name) == (45.76, 4.83, "Whole town")
    for name in ("ada", "bea", "cyd"):
        [note] = await notice_notifications(node, people[name])
        assert note["type"] == "notice.urgent"

    # The same Create again (a retry): stored once, nobody told twice.
    again = announced(group, create, 2)
    assert (await deliver(node, clock, group, again)).status == 202
    await worker_round(node)
    assert len(await notice_notifications(node, people["bea"])) == 1

    update = wrapped(
        "Update",
        mayor,
        town_hall_notice(
            mayor,
            1,
            title="Tap water safe again",
            kind="information",
            updated=datetime(2026, 11, 27, tzinfo=UTC),
        ),
        3,
    )
    await deliver(node, clock, group, announced(group, update, 3))
    await worker_round(node)
    [notice] = await held_notices(node)
    assert (notice.title, notice.kind) == ("Tap water safe again", "information")

    delete = wrapped("Delete", mayor, f"{mayor.base}/notices/1", 4)
    await deliver(node, clock, group, announced(group, delete, 4))
    await worker_round(node)
    assert await held_notices(node) == []
    assert await notice_notifications(node, people["bea"]) == []

    # The Create again, late, under another Announce (a retry after the Delete went through):
    # the notice stays deleted and nobody is told again.
    await deliver(node, clock, group, announced(group, create, 5))
    await worker_round(node)
    assert await held_notices(node) == []
    assert await notice_notifications(node, people["bea"]) == []
    assert "the notice was deleted by its author" in (await last_reasons(node))[1]


async def test_notices_from_nodes_that_are_not_partners_are_ignored(node, clock, people, remote):
    mayor, group = remote.add("mayor"), remote.add("neighbourhood")
    create = wrapped("Create", mayor, town_hall_notice(mayor, 1), 1)
    await deliver(node, clock, group, announced(group, create, 1))
    await worker_round(node)
    assert await held_notices(node) == []
    state, reasons = await last_reasons(node)
    assert state == "ignored"
    assert "notices are taken from partner nodes only" in reasons
    assert await notice_notifications(node, people["bea"]) == []


async def test_a_group_cannot_relay_or_rewrite_another_nodes_notices(
    node, clock, people, remote, aiohttp_server
):
    mayor, group = remote.add("mayor"), remote.add("neighbourhood")
    other = await start_remote(aiohttp_server)
    stranger = other.add("eve")
    await make_partner(node, remote)
    # The partner's group announcing a notice by someone of another server.
    foreign = wrapped("Create", stranger, town_hall_notice(stranger, 1), 1)
    await deliver(node, clock, group, announced(group, foreign, 1))
    await worker_round(node)
    assert (
        "a group announces notices of its own node's members only" in (await last_reasons(node))[1]
    )
    # A notice whose id is on another server than its author's.
    forged = town_hall_notice(mayor, 2, object_id=f"{other.base}/notices/2")
    await deliver(node, clock, group, announced(group, wrapped("Create", mayor, forged, 2), 2))
    await worker_round(node)
    assert (
        "a notice is sent by its author, with an id on their server"
        in (await last_reasons(node))[1]
    )
    # A real one, then an Update and a Delete of it by another member of the same node.
    await deliver(
        node,
        clock,
        group,
        announced(group, wrapped("Create", mayor, town_hall_notice(mayor, 3), 3), 3),
    )
    clerk = remote.add("clerk")
    hijack = town_hall_notice(
        mayor, 3, title="Free beer", updated=datetime(2026, 11, 28, tzinfo=UTC)
    )
    hijack["attributedTo"] = clerk.id
    await deliver(node, clock, group, announced(group, wrapped("Update", clerk, hijack, 4), 4))
    await deliver(
        node,
        clock,
        group,
        announced(group, wrapped("Delete", clerk, f"{mayor.base}/notices/3", 5), 5),
    )
    await worker_round(node)
    [notice] = await held_notices(node)
    assert (notice.ap_id, notice.title) == (f"{mayor.base}/notices/3", "Boil the tap water")


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda n: n | {"name": "", "source": {"content": "", "mediaType": "text/plain"}}, "title"),
        (lambda n: n | {"startTime": "2026-12-05T00:00:00Z"}, "end before it starts"),
        (lambda n: {k: v for k, v in n.items() if k != "id"}, "needs an id"),
    ],
)
async def test_unreadable_notices_leave_nothing_and_say_why(
    node, clock, people, remote, mangle, reason
):
    mayor, group = remote.add("mayor"), remote.add("neighbourhood")
    await make_partner(node, remote)
    obj = mangle(town_hall_notice(mayor, 1))
    obj["content"] = ""
    await deliver(node, clock, group, announced(group, wrapped("Create", mayor, obj, 1), 1))
    await worker_round(node)
    assert await held_notices(node) == []
    state, reasons = await last_reasons(node)
    assert state == "ignored"
    assert any(reason in r for r in reasons), reasons


async def test_a_patch_changes_only_the_fields_it_names(node, people):
    notice = await publish(node, people["ada"], LIFT)
    path = f"{NOTICES}/{notice['id']}"
    resp = await node.patch(path, json={"title": "Lift repaired"}, headers=bearer(people["ada"]))
    assert resp.status == 200, await resp.text()
    edited = await resp.json()
    assert edited["title"] == "Lift repaired"
    assert (edited["kind"], edited["text"], edited["place"]["name"]) == (
        "outage",
        LIFT["text"],
        "Building B",
    )
    assert (edited["starts_at"], edited["ends_at"]) == (LIFT["starts_at"], LIFT["ends_at"])
    # null clears an optional field; the result is checked as a whole
    resp = await node.patch(path, json={"ends_at": None}, headers=bearer(people["ada"]))
    assert (await resp.json())["ends_at"] is None
    resp = await node.patch(
        path, json={"ends_at": "2026-11-01T00:00:00Z"}, headers=bearer(people["ada"])
    )
    await error_of(resp, 422, "validation_failed")
    resp = await node.patch(path, json={"audience": "districts"}, headers=bearer(people["ada"]))
    await error_of(resp, 422, "validation_failed")


@pytest.mark.parametrize("edge", ["9999-12-31T23:00:00-10:00", "0001-01-01T01:00:00+10:00"])
async def test_a_date_utc_cannot_name_is_refused(node, people, edge):
    resp = await node.post(
        NOTICES, json={**LIFT, "starts_at": None, "ends_at": edge}, headers=bearer(people["ada"])
    )
    await error_of(resp, 422, "validation_failed")


async def test_a_received_notice_dated_in_the_future_is_not_pinned_first_for_ever(
    node, clock, people, remote
):
    mayor, group = remote.add("mayor"), remote.add("neighbourhood")
    await make_partner(node, remote)
    obj = town_hall_notice(mayor, 1, kind="information")
    obj |= {"published": "2100-01-01T00:00:00Z", "updated": "2100-01-01T00:00:00Z"}
    await deliver(node, clock, group, announced(group, wrapped("Create", mayor, obj, 1), 1))
    await worker_round(node)
    [held] = await held_notices(node)
    assert held.published_at <= clock()
    assert held.updated_at <= clock()
    ours = await publish(node, people["ada"], {**LIFT, "ends_at": None, "starts_at": None})
    first, *_ = await listed(node, people["bea"])
    assert first["id"] == ours["id"]


async def test_an_author_who_may_no_longer_publish_cannot_rewrite_but_can_withdraw(node, people):
    admin = bearer(people["ada"])
    await node.patch("/api/quartier/v1/admin/members/bea", json={"role": "manager"}, headers=admin)
    notice = await publish(node, people["bea"], LIFT)
    await node.patch("/api/quartier/v1/admin/members/bea", json={"role": "resident"}, headers=admin)
    path = f"{NOTICES}/{notice['id']}"
    resp = await node.patch(path, json={"title": "Free beer"}, headers=bearer(people["bea"]))
    await error_of(resp, 403, "forbidden")
    assert (await node.delete(path, headers=bearer(people["bea"]))).status == 204


async def test_a_notice_that_has_already_ended_is_not_published(node, people):
    late = {**LIFT, "starts_at": None, "ends_at": "2026-11-26T11:59:00Z"}  # the clock: 12:00
    error = await error_of(
        await node.post(NOTICES, json=late, headers=bearer(people["ada"])),
        422,
        "validation_failed",
    )
    assert error["details"] == [{"field": "ends_at", "message": "must be in the future"}]
    assert await notice_notifications(node, people["bea"]) == []
    # Changing one that runs, to end it now, is another thing: allowed.
    notice = await publish(node, people["ada"], LIFT)
    resp = await node.patch(
        f"{NOTICES}/{notice['id']}",
        json={"ends_at": "2026-11-26T12:00:00Z"},
        headers=bearer(people["ada"]),
    )
    assert resp.status == 200, await resp.text()
    assert not (await resp.json())["pinned"]
