"""Vouching over HTTP: verified neighbours vouch for a member until enough of them verify
them; a vouch withdrawn or discredited stops counting (and a voucher found false sends the
members their vouch verified to the managers' review list); verified members invite
neighbours with a vouch that counts at registration."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from node.verification.service import DISCREDITED
from tests.api import admin_token, bearer, error_of, login, member_token, register
from tests.node.verification_support import (
    DOCUMENTS,
    MY_INVITES,
    REVIEW,
    make_manager,
    marker,
    notices,
    pdf,
    set_verified,
    standing,
    uploaded_document,
)


@pytest.fixture
async def hood(node, people) -> dict[str, str]:
    """ada (admin), bea and cyd (residents, verified by ada), dan and eve (residents)."""
    tokens = dict(people)
    for name in ("dan", "eve"):
        tokens[name] = await member_token(node, people["ada"], name)
    for name in ("bea", "cyd"):
        await set_verified(node, people["ada"], name)
    return tokens


async def vouch(node: TestClient, token: str, username: str) -> Any:
    return await node.post(f"/api/quartier/v1/members/{username}/vouch", headers=bearer(token))


async def vouched(node: TestClient, token: str, username: str) -> dict[str, Any]:
    """Vouch; asserts 200 and returns the member's verification as the response shows it."""
    resp = await vouch(node, token, username)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["verification"]


async def unvouch(node: TestClient, token: str, username: str) -> Any:
    return await node.delete(f"/api/quartier/v1/members/{username}/vouch", headers=bearer(token))


async def where(node: TestClient, token: str) -> tuple[str, str | None, list[str]]:
    """The member's (level, method, vouched_by) as they see it."""
    mine = await standing(node, token)
    return mine["level"], mine["method"], mine["vouched_by"]


async def review(node: TestClient, token: str) -> list[tuple[str, str]]:
    resp = await node.get(REVIEW, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return [(m["username"], m["review"]["reason"]) for m in await resp.json()]


# Vouching


async def test_two_verified_neighbours_vouching_verify_a_third(node, hood):
    assert await where(node, hood["dan"]) == ("unverified", None, [])
    assert (await standing(node, hood["dan"]))["vouches_needed"] == 2

    assert (await vouched(node, hood["bea"], "dan"))["level"] == "vouched"
    assert await where(node, hood["dan"]) == ("vouched", None, ["bea"])
    assert await notices(node, hood["dan"]) == [("verification.vouched", "")]
    assert (await standing(node, hood["bea"]))["vouching_for"] == ["dan"]

    # Twice is once: still one vouch, no second notification.
    assert (await vouched(node, hood["bea"], "dan"))["level"] == "vouched"
    assert await where(node, hood["dan"]) == ("vouched", None, ["bea"])
    assert len(await notices(node, hood["dan"])) == 1

    shown = await vouched(node, hood["cyd"], "dan")
    assert shown == {"level": "verified", "method": "vouching", "verified_at": shown["verified_at"]}
    assert shown["verified_at"] == "2026-11-26T12:00:00Z"
    assert await where(node, hood["dan"]) == ("verified", "vouching", ["bea", "cyd"])
    assert (await notices(node, hood["dan"]))[1:] == [("verification.verified", "2 vouches")]
    resp = await node.get("/api/quartier/v1/members/dan", headers=bearer(hood["eve"]))
    assert (await resp.json())["verification"]["level"] == "verified"  # neighbours see it


async def test_a_withdrawn_vouch_stops_counting(node, hood, clock):
    await vouched(node, hood["bea"], "dan")
    await vouched(node, hood["cyd"], "dan")
    clock.advance(days=1)
    resp = await unvouch(node, hood["bea"], "dan")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["verification"]["level"] == "vouched"
    assert await where(node, hood["dan"]) == ("vouched", None, ["cyd"])
    assert (await standing(node, hood["bea"]))["vouching_for"] == []
    kind, detail = (await notices(node, hood["dan"]))[-1]
    assert kind == "verification.lost"
    assert "1 of the 2" in detail

    # A vouch that is not standing cannot be withdrawn.
    await error_of(await unvouch(node, hood["bea"], "dan"), 404, "not_found")
    await error_of(await unvouch(node, hood["eve"], "dan"), 404, "not_found")
    await error_of(await unvouch(node, hood["bea"], "eve"), 404, "not_found")
    await error_of(await unvouch(node, hood["bea"], "nobody"), 404, "not_found")
    assert await where(node, hood["dan"]) == ("vouched", None, ["cyd"])

    # Vouching again counts again; the last vouch withdrawn leaves the member unverified.
    assert (await vouched(node, hood["bea"], "dan"))["level"] == "verified"
    for voucher in ("bea", "cyd"):
        assert (await unvouch(node, hood[voucher], "dan")).status == 200
    assert await where(node, hood["dan"]) == ("unverified", None, [])


async def test_only_a_verified_member_vouches_and_never_for_themself(node, hood):
    error = await error_of(await vouch(node, hood["bea"], "bea"), 403, "forbidden")
    assert "yourself" in error["message"]
    error = await error_of(await vouch(node, hood["eve"], "dan"), 403, "forbidden")
    assert "verified" in error["message"]
    await vouched(node, hood["bea"], "dan")
    # vouched is not verified: dan cannot vouch in turn
    await error_of(await vouch(node, hood["dan"], "eve"), 403, "forbidden")
    await error_of(await vouch(node, hood["bea"], "nobody"), 404, "not_found")
    node.session.cookie_jar.clear()  # the test client keeps the last login's cookie
    resp = await node.post("/api/quartier/v1/members/eve/vouch")
    await error_of(resp, 401, "unauthorized")
    assert await where(node, hood["eve"]) == ("unverified", None, [])
    assert await where(node, hood["dan"]) == ("vouched", None, ["bea"])
    assert await where(node, hood["bea"]) == ("verified", "manager", [])


async def test_vouches_needed_comes_from_the_settings(make_node, make_settings):
    node = await make_node(make_settings(verification={"vouches_needed": "1"}))
    ada = await admin_token(node)
    bea = await member_token(node, ada, "bea")
    dan = await member_token(node, ada, "dan")
    await set_verified(node, ada, "bea")
    assert (await standing(node, dan))["vouches_needed"] == 1
    assert (await vouched(node, bea, "dan"))["level"] == "verified"
    assert await where(node, dan) == ("verified", "vouching", ["bea"])
    assert [kind for kind, _ in await notices(node, dan)] == ["verification.verified"]
    assert (await unvouch(node, bea, "dan")).status == 200
    assert await where(node, dan) == ("unverified", None, [])
    assert (await notices(node, dan))[-1][0] == "verification.lost"


# A voucher found false


async def test_a_voucher_found_false_sends_those_their_vouch_verified_to_review(node, hood):
    await make_manager(node, hood["ada"], "eve")  # staff: ada and eve
    fay = await member_token(node, hood["ada"], "fay")
    await vouched(node, hood["bea"], "dan")
    await vouched(node, hood["cyd"], "dan")
    # fay is verified by her proof of residence; bea vouched for her too
    document = await uploaded_document(node, fay, pdf(marker()))
    resp = await node.post(
        f"{DOCUMENTS}/{document['id']}/decision",
        json={"approve": True},
        headers=bearer(hood["ada"]),
    )
    assert resp.status == 200, await resp.text()
    await vouched(node, hood["bea"], "fay")
    assert await where(node, fay) == ("verified", "document", ["bea"])

    # found false needs a reason
    resp = await node.post(
        "/api/quartier/v1/admin/members/bea/verification",
        json={"verified": False, "found_false": True},
        headers=bearer(hood["ada"]),
    )
    await error_of(resp, 422, "validation_failed")
    assert await where(node, hood["dan"]) == ("verified", "vouching", ["bea", "cyd"])

    why = "does not live here: moved out in 2024"
    shown = await set_verified(node, hood["ada"], "bea", False, found_false=True, reason=why)
    assert shown["verification"]["level"] == "unverified"
    assert await where(node, hood["dan"]) == ("vouched", None, ["cyd"])
    # dan is told neutrally: why bea was found false is not his to read
    assert (await notices(node, hood["dan"]))[-1] == ("verification.lost", DISCREDITED)
    assert why not in str(await notices(node, hood["dan"]))
    assert await where(node, fay) == ("verified", "document", [])  # a document stays
    assert ("verification.lost", why) not in await notices(node, fay)

    for staff in ("ada", "eve"):
        assert await review(node, hood[staff]) == [("dan", DISCREDITED)]
        assert ("verification.review", "dan") in await notices(node, hood[staff])
    # staff find whose vouch it was, and why, in the audit trail
    resp = await node.get("/api/quartier/v1/admin/verification/events", headers=bearer(hood["eve"]))
    trail = [(e["action"], e["member"], e["detail"]) for e in await resp.json()]
    assert ("review.discredited_voucher", "dan", "vouched for by bea") in trail
    assert ("vouches.discredited", "bea", why) in trail
    resp = await node.get(REVIEW, headers=bearer(hood["cyd"]))
    await error_of(resp, 403, "forbidden")  # residents do not see the review list

    # bea verified again later: her discredited vouch still does not count, nor can it be
    # given again.
    await set_verified(node, hood["ada"], "bea")
    assert await where(node, hood["dan"]) == ("vouched", None, ["cyd"])
    error = await error_of(await vouch(node, hood["bea"], "dan"), 403, "forbidden")
    assert "discredited" in error["message"]
    assert await where(node, hood["dan"]) == ("vouched", None, ["cyd"])

    # A manager who checked takes dan off the review list by verifying him.
    await set_verified(node, hood["eve"], "dan")
    assert await where(node, hood["dan"]) == ("verified", "manager", ["cyd"])
    assert await review(node, hood["ada"]) == []


async def test_a_vouch_given_after_the_verification_is_not_what_verified_them(node, hood, clock):
    """Discrediting a voucher drops only the members their vouch helped verify: a vouch given
    after the member was verified changed nothing, and sends nobody to review."""
    await vouched(node, hood["bea"], "dan")
    await vouched(node, hood["cyd"], "dan")
    clock.advance(hours=1)
    await set_verified(node, hood["ada"], "eve")
    await vouched(node, hood["eve"], "dan")  # a third vouch, after dan was verified
    clock.advance(hours=1)
    await set_verified(node, hood["ada"], "eve", False, found_false=True, reason="fake lease")
    assert await where(node, hood["dan"]) == ("verified", "vouching", ["bea", "cyd"])
    assert await review(node, hood["ada"]) == []


async def test_a_later_vouch_that_came_to_hold_a_verification_up_drops_it_when_discredited(
    node, hood, clock
):
    """dan is verified by bea and cyd; eve vouches later; cyd withdraws, so bea and eve are
    what keeps dan verified. eve found false: one vouch of the two needed remains, so dan
    must drop back to vouched and go on the review list."""
    await vouched(node, hood["bea"], "dan")
    await vouched(node, hood["cyd"], "dan")
    clock.advance(hours=1)
    await set_verified(node, hood["ada"], "eve")
    await vouched(node, hood["eve"], "dan")
    clock.advance(hours=1)
    assert (await unvouch(node, hood["cyd"], "dan")).status == 200
    assert await where(node, hood["dan"]) == ("verified", "vouching", ["bea", "eve"])
    clock.advance(hours=1)
    await set_verified(node, hood["ada"], "eve", False, found_false=True, reason="fake lease")
    assert await where(node, hood["dan"]) == ("vouched", None, ["bea"])
    assert [username for username, _ in await review(node, hood["ada"])] == ["dan"]
    assert (await notices(node, hood["dan"]))[-1] == ("verification.lost", DISCREDITED)


# Invites that vouch


async def invite(node: TestClient, token: str, **body: Any) -> Any:
    return await node.post(MY_INVITES, json=body, headers=bearer(token))


async def invited(node: TestClient, token: str, **body: Any) -> dict[str, Any]:
    resp = await invite(node, token, **body)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_an_invite_from_a_verified_member_vouches_for_the_neighbour(node, hood):
    code = await invited(node, hood["bea"], note="for flat 12")
    assert code["vouch"] is True  # the default
    member = await register(node, code["code"], "gus", real_name="Gus")
    assert member["verification"]["level"] == "vouched"
    gus = await login(node, "gus")
    assert await where(node, gus) == ("vouched", None, ["bea"])
    assert await notices(node, gus) == [("verification.vouched", "")]
    assert (await standing(node, hood["bea"]))["vouching_for"] == ["gus"]
    # with a second vouch, gus is verified like anyone else
    assert (await vouched(node, hood["cyd"], "gus"))["level"] == "verified"

    quiet = await invited(node, hood["bea"], vouch=False)
    assert quiet["vouch"] is False
    member = await register(node, quiet["code"], "hal", real_name="Hal")
    assert member["verification"]["level"] == "unverified"
    assert await where(node, await login(node, "hal")) == ("unverified", None, [])

    # The vouch is the sender's at registration: one who lost their verification gives none.
    late = await invited(node, hood["cyd"], vouch=True)
    await set_verified(node, hood["ada"], "cyd", False)
    member = await register(node, late["code"], "ida", real_name="Ida")
    assert member["verification"]["level"] == "unverified"
    assert await where(node, await login(node, "ida")) == ("unverified", None, [])


async def test_only_verified_members_invite_and_at_most_five_at_a_time(node, hood):
    error = await error_of(await invite(node, hood["dan"], vouch=True), 403, "forbidden")
    assert "verified" in error["message"]
    await error_of(await invite(node, hood["dan"], vouch=False), 403, "forbidden")
    ids = [(await invited(node, hood["bea"], note=f"n{n}"))["id"] for n in range(5)]
    error = await error_of(await invite(node, hood["bea"]), 409, "conflict")
    assert "5" in error["message"]
    resp = await node.get(MY_INVITES, headers=bearer(hood["bea"]))
    assert sorted(i["id"] for i in await resp.json()) == sorted(ids)
    # another member's invite is not found; one's own is revoked and frees a place
    await error_of(
        await node.delete(f"{MY_INVITES}/{ids[0]}", headers=bearer(hood["cyd"])), 404, "not_found"
    )
    await error_of(
        await node.delete(f"{MY_INVITES}/999999", headers=bearer(hood["bea"])), 404, "not_found"
    )
    resp = await node.delete(f"{MY_INVITES}/{ids[0]}", headers=bearer(hood["bea"]))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["revoked_at"] == "2026-11-26T12:00:00Z"
    resp = await node.get(MY_INVITES, headers=bearer(hood["bea"]))
    assert sorted(i["id"] for i in await resp.json()) == sorted(ids[1:])
    assert (await node.get(MY_INVITES, headers=bearer(hood["cyd"]))).status == 200
    assert await (await node.get(MY_INVITES, headers=bearer(hood["cyd"]))).json() == []
    await invited(node, hood["bea"])  # the freed place
    await error_of(await invite(node, hood["bea"]), 409, "conflict")


async def test_a_revoked_invite_registers_nobody(node, hood):
    code = await invited(node, hood["bea"])
    resp = await node.delete(f"{MY_INVITES}/{code['id']}", headers=bearer(hood["bea"]))
    assert resp.status == 200, await resp.text()
    body = {"invite": code["code"], "username": "gus", "password": "x" * 12, "real_name": "Gus"}
    resp = await node.post("/api/quartier/v1/accounts", json=body)
    await error_of(resp, 410, "invite_unusable")
    assert (await standing(node, hood["bea"]))["vouching_for"] == []


async def test_vouching_back_and_forth_is_rate_limited(node, hood, clock):
    """Each vouch and withdrawal may issue or revoke a credential and tell every partner: a
    member gets 30 an hour, then 429 with when to try again, then more after the hour."""
    for n in range(30):
        call = vouch if n % 2 == 0 else unvouch
        assert (await call(node, hood["bea"], "dan")).status == 200
    resp = await vouch(node, hood["bea"], "dan")
    await error_of(resp, 429, "too_many_requests")
    assert int(resp.headers["Retry-After"]) > 0
    assert (await vouch(node, hood["cyd"], "dan")).status == 200  # others are not held up
    clock.advance(hours=1)
    assert (await vouch(node, hood["bea"], "dan")).status == 200
