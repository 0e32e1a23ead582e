"""Moderators at work: the queue, dismissing, hiding, warning, suspending members, remote
actors and servers, appeals, and the audit log, over real HTTP."""

from __future__ import annotations

import pytest

from federation.models import Delivery, DeliveryState, InboundMessage, InboundState
from moderation.models import AuditEntry
from node.db import activated
from node.follows.models import Follow, FollowState
from node.http.keys import DATABASE, DELIVERY_WORKER, INBOUND_WORKER, NOTIFICATIONS
from node.listings.models import Audience
from node.members.models import Member
from node.notifications.models import NotificationType
from node.verification.models import VerificationEvent
from tests.api import PASSWORD, bearer, error_of
from tests.node.media_support import make_listing
from tests.node.test_inbox import NODE, deliver, follow

pytestmark = pytest.mark.local_testing

QUEUE = "/api/quartier/v1/moderation/reports"
DECISIONS = "/api/quartier/v1/moderation/decisions"
HOSTILE = '<img src=x onerror="alert(1)"> & <script>steal()</script>'


async def reported_listing(node, mods) -> tuple[int, int]:
    """cyd's listing, reported by bea: (listing id, report id)."""
    listing = await make_listing(node, Audience.NODE, author=f"{NODE}/users/cyd")
    resp = await node.post(
        "/api/quartier/v1/reports",
        json={"listing": listing, "category": "fraud", "comment": HOSTILE},
        headers=bearer(mods["bea"]),
    )
    assert resp.status == 201, await resp.text()
    return listing, (await resp.json())["id"]


async def decide(node, token: str, **body):
    return await node.post(DECISIONS, json=body, headers=bearer(token))


async def test_moderators_see_the_queue_and_dismiss_a_report(node, mods):
    _, report_id = await reported_listing(node, mods)
    [seen] = await (await node.get(QUEUE, headers=bearer(mods["dan"]))).json()
    assert seen["id"] == report_id
    assert seen["reporter"] == {"member": "bea"}
    assert seen["comment"] == HOSTILE  # plain text, returned as given
    resp = await node.post(
        f"{QUEUE}/{report_id}/dismiss", json={"reason": HOSTILE}, headers=bearer(mods["dan"])
    )
    assert resp.status == 201, await resp.text()
    decision = await resp.json()
    assert (decision["action"], decision["reason"], decision["moderator"]) == (
        "dismiss",
        HOSTILE,
        "dan",
    )
    assert await (await node.get(QUEUE, headers=bearer(mods["dan"]))).json() == []
    dismissed = await (
        await node.get(f"{QUEUE}?state=dismissed", headers=bearer(mods["ada"]))
    ).json()
    assert [(r["state"], r["resolved_by"]) for r in dismissed] == [("dismissed", "dan")]
    # Closed once: a second dismissal is a conflict.
    resp = await node.post(f"{QUEUE}/{report_id}/dismiss", json={}, headers=bearer(mods["ada"]))
    await error_of(resp, 409, "conflict")
    log = await (
        await node.get("/api/quartier/v1/moderation/audit", headers=bearer(mods["ada"]))
    ).json()
    assert [(e["actor"], e["action"]) for e in log] == [
        ("dan", "report.dismissed"),
        ("bea", "report.created"),
    ]
    assert log[0]["reason"] == HOSTILE


async def test_residents_and_strangers_cannot_moderate(node, mods):
    _, report_id = await reported_listing(node, mods)
    attempts = [
        ("GET", QUEUE, None),
        ("GET", f"{QUEUE}/{report_id}", None),
        ("POST", f"{QUEUE}/{report_id}/dismiss", {}),
        ("POST", DECISIONS, {"action": "warn", "account": "cyd"}),
        ("GET", DECISIONS, None),
        ("GET", "/api/quartier/v1/moderation/appeals", None),
        ("POST", "/api/quartier/v1/moderation/appeals/1/uphold", {}),
        ("GET", "/api/quartier/v1/moderation/audit", None),
    ]
    node.session.cookie_jar.clear()
    for method, path, body in attempts:
        resp = await node.request(method, path, json=body, headers=bearer(mods["bea"]))
        await error_of(resp, 403, "forbidden")
        resp = await node.request(method, path, json=body)
        await error_of(resp, 401, "unauthorized")
    with activated(node.app[DATABASE]):
        assert await AuditEntry.all().values_list("action", flat=True) == ["report.created"]


async def test_bad_decisions_are_refused_with_the_reason(node, mods):
    listing, report_id = await reported_listing(node, mods)
    dan = mods["dan"]
    cases = [
        ({"action": "ban", "account": "cyd"}, 422, "action"),
        ({"action": "warn"}, 422, "(body)"),
        ({"action": "warn", "account": "cyd", "listing": listing}, 422, "(body)"),
        ({"action": "hide", "account": "cyd"}, 422, "account"),
        ({"action": "warn", "listing": listing}, 422, "listing"),
        ({"action": "silence", "account": "cyd"}, 422, "account"),
        ({"action": "warn", "account": "https://elsewhere.example/users/x"}, 422, "account"),
        ({"action": "suspend", "domain": "https://spam.example/x"}, 422, "domain"),
        ({"action": "suspend", "domain": "127.0.0.1:8080"}, 422, "domain"),
        ({"action": "warn", "account": "dan"}, 422, "account"),
        ({"action": "warn", "account": "cyd", "reason": "x" * 1001}, 422, "reason"),
        ({"action": "dismiss", "account": "cyd"}, 422, "report"),
        ({"action": "hide", "listing": 999}, 404, None),
        ({"action": "hide", "message": 999}, 404, None),
        ({"action": "warn", "account": "nobody"}, 404, None),
        ({"action": "unsuspend", "account": "cyd"}, 409, None),
        ({"action": "unsilence", "domain": "quiet.example"}, 404, None),
        ({"action": "warn", "account": "cyd", "report": 999}, 404, None),
    ]
    for body, status, field in cases:
        resp = await decide(node, dan, **body)
        code = {422: "validation_failed", 404: "not_found", 409: "conflict"}[status]
        error = await error_of(resp, status, code)
        if field is not None:
            assert error["details"][0]["field"] == field, (body, error)
    resp = await node.post(
        DECISIONS, data="[1", headers={**bearer(dan), "Content-Type": "application/json"}
    )
    await error_of(resp, 400, "invalid_json")
    resp = await node.get(f"{QUEUE}?state=lost", headers=bearer(dan))
    await error_of(resp, 422, "validation_failed")
    assert [r["id"] for r in await (await node.get(QUEUE, headers=bearer(dan))).json()] == [
        report_id
    ]


async def test_hiding_a_listing_resolves_its_report_and_the_author_appeals_once(node, mods):
    listing, report_id = await reported_listing(node, mods)
    resp = await decide(
        node, mods["dan"], action="hide", listing=listing, reason="Fraud", report=report_id
    )
    assert resp.status == 201, await resp.text()
    decision = await resp.json()
    assert decision["report_id"] == report_id
    assert decision["target"] == {"kind": "listing", "uri": f"{NODE}/listings/1"}
    # Gone for everyone; the queue is empty; cyd is told why.
    for who in ("bea", "ada"):
        resp = await node.get(f"/api/quartier/v1/listings/{listing}", headers=bearer(mods[who]))
        await error_of(resp, 404, "not_found")
    assert await (await node.get(QUEUE, headers=bearer(mods["dan"]))).json() == []
    notes = await (
        await node.get("/api/quartier/v1/notifications", headers=bearer(mods["cyd"]))
    ).json()
    assert [(n["type"], n["detail"]) for n in notes] == [
        ("moderation.decision", "Your listing “Drill 1” was hidden by the moderators: Fraud")
    ]

    # cyd sees the decision and appeals it, once.
    [mine] = await (
        await node.get("/api/quartier/v1/decisions", headers=bearer(mods["cyd"]))
    ).json()
    assert (mine["id"], mine["appeal"]) == (decision["id"], None)
    appeal_path = f"/api/quartier/v1/decisions/{decision['id']}/appeal"
    resp = await node.post(appeal_path, json={"text": HOSTILE}, headers=bearer(mods["cyd"]))
    assert resp.status == 201, await resp.text()
    appeal = await resp.json()
    assert (appeal["text"], appeal["state"]) == (HOSTILE, "pending")
    resp = await node.post(appeal_path, json={"text": "again"}, headers=bearer(mods["cyd"]))
    error = await error_of(resp, 409, "conflict")
    assert "appealed once" in error["message"]
    # Not bea's decision to appeal, and no appeal without text.
    resp = await node.post(appeal_path, json={"text": "me too"}, headers=bearer(mods["bea"]))
    await error_of(resp, 404, "not_found")
    resp = await node.post(appeal_path, json={"text": ""}, headers=bearer(mods["cyd"]))
    await error_of(resp, 422, "validation_failed")

    # dan overturns it: the listing is back.
    [pending] = await (
        await node.get("/api/quartier/v1/moderation/appeals", headers=bearer(mods["dan"]))
    ).json()
    resp = await node.post(
        f"/api/quartier/v1/moderation/appeals/{pending['id']}/overturn",
        json={"reason": "A misunderstanding"},
        headers=bearer(mods["dan"]),
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "overturned"
    resp = await node.get(f"/api/quartier/v1/listings/{listing}", headers=bearer(mods["bea"]))
    assert (await resp.json())["status"] == "open"
    # The answer is final: no appeal of the appeal, no second answer.
    resp = await node.post(appeal_path, json={"text": "more"}, headers=bearer(mods["cyd"]))
    await error_of(resp, 409, "conflict")
    resp = await node.post(
        f"/api/quartier/v1/moderation/appeals/{pending['id']}/uphold",
        json={},
        headers=bearer(mods["ada"]),
    )
    await error_of(resp, 409, "conflict")
    with activated(node.app[DATABASE]):
        actions = await AuditEntry.all().order_by("id").values_list("action", flat=True)
    assert actions == [
        "report.created",
        "listing.hide",
        "decision.appealed",
        "appeal.overturned",
    ]


async def test_a_suspended_member_cannot_log_in_and_appeals_with_their_password(node, mods):
    # bea vouched for cyd: her suspension discredits that vouch.
    resp = await node.post("/api/quartier/v1/members/cyd/vouch", headers=bearer(mods["bea"]))
    resp = await decide(node, mods["dan"], action="suspend", account="bea", reason="Harassment")
    assert resp.status == 201, await resp.text()
    decision = await resp.json()
    await error_of(
        await node.get("/api/quartier/v1/reports", headers=bearer(mods["bea"])), 401, "unauthorized"
    )
    login = {"username": "bea", "password": PASSWORD}
    resp = await node.post("/api/quartier/v1/sessions", json=login)
    error = await error_of(resp, 403, "account_suspended")
    assert "/api/quartier/v1/suspension/appeal" in error["message"]
    resp = await node.post(
        "/api/quartier/v1/sessions", json={**login, "password": "wrong password!"}
    )
    await error_of(resp, 401, "invalid_credentials")  # the suspension is not told to guessers
    with activated(node.app[DATABASE]):
        assert await VerificationEvent.filter(action="vouches.discredited").exists()
    # Appealing needs the password; once.
    path = "/api/quartier/v1/suspension/appeal"
    resp = await node.post(path, json={**login, "password": "wrong password!", "text": "x"})
    await error_of(resp, 401, "invalid_credentials")
    resp = await node.post(path, json={**login, "text": "It was not me"})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["decision_id"] == decision["id"]
    resp = await node.post(path, json={**login, "text": "Again"})
    await error_of(resp, 409, "conflict")
    resp = await node.post(path, json={"username": "cyd", "password": PASSWORD, "text": "x"})
    await error_of(resp, 404, "not_found")
    # Lifting the suspension restores login.
    resp = await decide(node, mods["dan"], action="unsuspend", account="bea")
    assert resp.status == 201, await resp.text()
    assert (await node.post("/api/quartier/v1/sessions", json=login)).status == 201


async def test_warning_a_member_tells_them_why(node, mods):
    resp = await decide(node, mods["ada"], action="warn", account="@cyd", reason=HOSTILE)
    assert resp.status == 201, await resp.text()
    notes = await (
        await node.get("/api/quartier/v1/notifications", headers=bearer(mods["cyd"]))
    ).json()
    assert [(n["type"], n["detail"]) for n in notes] == [("moderation.warning", HOSTILE)]


async def test_suspending_a_remote_actor_ends_follows_and_refuses_what_it_sends(
    node, clock, mods, remote
):
    alice = remote.add("alice")
    assert (await deliver(node, clock, alice, follow(alice, 1, f"{NODE}/users/cyd"))).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
        assert await Follow.filter(follower=alice.id).count() == 1
    # A message to alice, queued before the suspension and not yet sent.
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [alice.id], "text": "Hi"},
        headers=bearer(mods["bea"]),
    )
    assert resp.status == 201, await resp.text()
    resp = await decide(node, mods["dan"], action="suspend", account=alice.id, reason="Spam")
    assert resp.status == 201, await resp.text()
    with activated(node.app[DATABASE]):
        assert await Follow.filter(follower=alice.id).count() == 0
    notes = await (
        await node.get("/api/quartier/v1/notifications", headers=bearer(mods["cyd"]))
    ).json()
    # cyd was told when alice asked to follow, then that it ended.
    assert [n["type"] for n in notes] == ["moderation.ended", "follow.request"]
    assert alice.id in notes[0]["detail"]
    # The delivery layer refuses what is for alice's inbox, whatever queued it.
    with activated(node.app[DATABASE]):
        while await node.app[DELIVERY_WORKER].run_once():
            pass
        [message] = await Delivery.filter(activity_type="Create")
    assert (message.state, message.last_error) == (
        DeliveryState.DEAD,
        "suspended by this node's moderators",
    )
    assert [body for _, body in remote.delivered if body["type"] == "Create"] == []
    # What the actor sends now is set aside; members cannot reach it.
    assert (await deliver(node, clock, alice, follow(alice, 2, f"{NODE}/users/bea"))).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
        row = await InboundMessage.get(activity_id=f"{remote.base}/activities/2")
    assert (row.state, row.last_error) == (
        InboundState.IGNORED,
        "suspended by this node's moderators",
    )
    resp = await node.post(
        "/api/quartier/v1/follows", json={"target": alice.id}, headers=bearer(mods["bea"])
    )
    await error_of(resp, 403, "forbidden")
    resp = await decide(node, mods["dan"], action="suspend", account=alice.id)
    await error_of(resp, 409, "conflict")
    resp = await decide(node, mods["dan"], action="unsuspend", account=alice.id)
    assert resp.status == 201, await resp.text()


async def test_servers_are_silenced_or_suspended_as_domain_blocks(node, mods, remote):
    domain = remote.base.removeprefix("http://")
    resp = await decide(node, mods["dan"], action="silence", domain=domain, reason="Loud")
    assert resp.status == 201, await resp.text()
    blocks = await (
        await node.get("/api/quartier/v1/admin/domain_blocks", headers=bearer(mods["ada"]))
    ).json()
    assert [(b["domain"], b["severity"]) for b in blocks] == [(domain, "silence")]
    resp = await decide(node, mods["dan"], action="suspend", domain=domain)
    await error_of(resp, 409, "conflict")  # silenced: lift that first
    assert (await decide(node, mods["dan"], action="unsilence", domain=domain)).status == 201
    resp = await decide(node, mods["dan"], action="suspend", domain=domain, reason="Spam")
    assert resp.status == 201, await resp.text()
    with activated(node.app[DATABASE]):
        assert await node.app[INBOUND_WORKER].run_once() == 0
    log = await (
        await node.get("/api/quartier/v1/moderation/audit", headers=bearer(mods["ada"]))
    ).json()
    assert [(e["actor"], e["action"], e["target"]) for e in log] == [
        ("dan", "domain.suspend", domain),
        ("dan", "domain.unsilence", domain),
        ("dan", "domain.silence", domain),
    ]


async def test_silenced_actors_and_servers_are_kept_out_of_browse_and_search(node, mods, remote):
    alice = remote.add("alice")
    await make_listing(node, Audience.PUBLIC, author=alice.id, local=False, n=1)
    await make_listing(node, Audience.NODE, author=f"{NODE}/users/cyd", n=2)

    async def titles() -> list[str]:
        found = await (
            await node.get("/api/quartier/v1/listings", headers=bearer(mods["bea"]))
        ).json()
        return sorted(listing["title"] for listing in found["listings"])

    assert await titles() == ["Drill 1", "Drill 2"]
    assert (await decide(node, mods["dan"], action="silence", account=alice.id)).status == 201
    assert await titles() == ["Drill 2"]
    assert (await decide(node, mods["dan"], action="unsilence", account=alice.id)).status == 201
    assert await titles() == ["Drill 1", "Drill 2"]
    domain = remote.base.removeprefix("http://")
    assert (await decide(node, mods["dan"], action="silence", domain=domain)).status == 201
    assert await titles() == ["Drill 2"]


async def test_silenced_actors_and_servers_notify_only_members_who_follow_them(
    node, clock, mods, remote
):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    with activated(node.app[DATABASE]):
        bea = await Member.get(username="bea")
        for someone in (alice, mallory):  # as when their saved-search matches reach bea
            await node.app[NOTIFICATIONS].notify(bea.id, NotificationType.MATCH, actor=someone.id)

    async def from_whom() -> list[str]:
        headers = bearer(mods["bea"])
        notes = await (await node.get("/api/quartier/v1/notifications", headers=headers)).json()
        unread = await (
            await node.get("/api/quartier/v1/notifications/unread_count", headers=headers)
        ).json()
        assert unread["count"] == len(notes)
        return sorted(n["actor"] for n in notes)

    assert await from_whom() == sorted([alice.id, mallory.id])
    assert (await decide(node, mods["dan"], action="silence", account=alice.id)).status == 201
    assert await from_whom() == [mallory.id]
    # bea follows alice: what alice causes reaches her again (she asked for it).
    with activated(node.app[DATABASE]):
        await Follow.create(
            follower=f"{NODE}/users/bea",
            followee=alice.id,
            state=FollowState.ACCEPTED,
            activity_id=f"{NODE}/follows/99",
            activity={},
            created_at=clock.now,
        )
    assert await from_whom() == sorted([alice.id, mallory.id])
    # Their whole server silenced: mallory, whom bea does not follow, is kept out too.
    domain = remote.base.removeprefix("http://")
    assert (await decide(node, mods["dan"], action="silence", domain=domain)).status == 201
    assert await from_whom() == [alice.id]
    # Nothing was deleted: lifting the silences shows everything again.
    assert (await decide(node, mods["dan"], action="unsilence", domain=domain)).status == 201
    assert (await decide(node, mods["dan"], action="unsilence", account=alice.id)).status == 201
    with activated(node.app[DATABASE]):
        await Follow.filter(followee=alice.id).delete()
    assert await from_whom() == sorted([alice.id, mallory.id])
