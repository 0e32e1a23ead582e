"""The governance policy over real HTTP: who reads it, who changes it, what it lets out.

Real node, real database; the partner and the stranger are fake remote servers on 127.0.0.1
with actors whose keys the test holds.
"""

from __future__ import annotations

import io
import json

import pytest
from aiohttp.test_utils import TestClient

from federation.models import Delivery, PartnershipState
from moderation.models import PolicyOverride
from node.app import create_app
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER
from tests.api import bearer, error_of
from tests.conftest import write_config
from tests.node.cli_support import failed, runner
from tests.node.test_federation_policy_inbox import partnership
from tests.node.test_inbox import NODE, Remote, deliver, follow, start_remote
from tests.node.test_media_access import forget_cookies, signed_get
from tests.node.test_verification_documents import started

pytestmark = pytest.mark.local_testing

ADMIN_PATH = "/api/quartier/v1/admin/governance"
AP = {"Accept": "application/activity+json"}


@pytest.fixture
async def partner(aiohttp_server, node, clock) -> Remote:
    remote = await start_remote(aiohttp_server)
    await partnership(node, remote, PartnershipState.ACTIVE, clock)
    return remote


@pytest.fixture
async def stranger(aiohttp_server) -> Remote:
    return await start_remote(aiohttp_server)


async def change(node: TestClient, token: str, **settings) -> dict:
    resp = await node.patch(ADMIN_PATH, json=settings, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def deliver_all(node: TestClient) -> None:
    with activated(node.app[DATABASE]):
        while await node.app[DELIVERY_WORKER].run_once():
            pass


# Reading the policy


async def test_everyone_reads_the_policy_in_nodeinfo_the_api_and_the_about_page(node):
    summary = await (await node.get("/api/quartier/v1/governance")).json()
    assert summary["sharing"]["real_names"] == "nobody"
    assert summary["sharing"]["messages"] == "public"
    assert summary["retentionDays"]["expiredListings"] == 90
    nodeinfo = await (await node.get("/nodeinfo/2.1")).json()
    assert nodeinfo["metadata"]["governance"] == summary
    page = await (await node.get("/about")).text()
    assert "Members' real names never leave this node." in page
    assert "Members' listings may go to any server this node federates with." in page
    assert "Listings, after they expire or are withdrawn: 90 days." in page
    assert "Messages: kept until deleted." in page


async def test_the_about_page_escapes_what_admins_wrote(make_settings, make_node):
    settings = make_settings(
        community={"name": "<script>alert(1)</script>", "description": "<img src=x onerror=y>"}
    )
    node = await make_node(settings)
    page = await (await node.get("/about")).text()
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# Changing it, without a restart


async def test_an_admin_changes_the_policy_and_it_applies_at_once(node, people, clock, stranger):
    ada = people["ada"]
    before = await (await node.get(ADMIN_PATH, headers=bearer(ada))).json()
    assert before["changed"] == []
    assert before["changed_by"] is None
    after = await change(node, ada, messages="partners", federation_mode="local")
    assert after["settings"]["messages"] == "partners"
    assert after["changed"] == ["federation_mode", "messages"]
    assert after["changed_by"] == "ada"
    assert after["changed_at"] == "2026-11-26T12:00:00Z"
    summary = await (await node.get("/api/quartier/v1/governance")).json()
    assert summary["sharing"]["messages"] == "partners"
    nodeinfo = await (await node.get("/nodeinfo/2.1")).json()
    assert nodeinfo["metadata"]["federation"]["mode"] == "local"
    # The inbox obeys the new mode in this very process.
    zoe = stranger.add("zoe")
    resp = await deliver(node, clock, zoe, follow(zoe, target=f"{NODE}/users/bea"))
    await error_of(resp, 403, "forbidden")

    resp = await node.delete(f"{ADMIN_PATH}/changes", headers=bearer(ada))
    assert resp.status == 200
    assert (await resp.json())["changed"] == []
    summary = await (await node.get("/api/quartier/v1/governance")).json()
    assert summary["sharing"]["messages"] == "public"
    resp = await deliver(node, clock, zoe, follow(zoe, 2, target=f"{NODE}/users/bea"))
    assert resp.status == 202

    # Both are in the audit log: who, what moved from which value to which.
    audit = await (await node.get("/api/quartier/v1/moderation/audit", headers=bearer(ada))).json()
    [reset, changed] = [e for e in audit if e["target"] == "governance"]
    assert (changed["actor"], changed["action"]) == ("ada", "governance.changed")
    assert "messages: 'public' -> 'partners'" in changed["reason"]
    assert "federation_mode: 'open' -> 'local'" in changed["reason"]
    assert (reset["actor"], reset["action"]) == ("ada", "governance.reset")
    assert "messages: 'partners' -> 'public'" in reset["reason"]


async def test_another_process_sees_a_change_within_30_seconds(
    node, people, settings, make_node, clock
):
    other = await make_node(settings, migrate=False)  # a second serve on the same database
    assert (await (await other.get("/api/quartier/v1/governance")).json())["sharing"][
        "listings"
    ] == "public"
    await change(node, people["ada"], listings="nobody")
    clock.advance(seconds=29)
    assert (await (await other.get("/api/quartier/v1/governance")).json())["sharing"][
        "listings"
    ] == "public"
    clock.advance(seconds=2)
    assert (await (await other.get("/api/quartier/v1/governance")).json())["sharing"][
        "listings"
    ] == "nobody"


async def test_setting_a_value_back_to_the_files_drops_the_change(node, people):
    await change(node, people["ada"], profiles="partners")
    after = await change(node, people["ada"], profiles="public")
    assert after["changed"] == []


async def test_a_bad_change_is_refused_naming_the_setting_and_changes_nothing(node, people):
    ada = people["ada"]
    cases = [
        ({"messages": "everyone"}, "messages", "must be one of public, partners, nobody"),
        ({"federation_mode": "closed"}, "federation_mode", "must be one of open"),
        ({"notices_by": []}, "notices_by", "at least one role"),
        ({"notices_by": ["mayor"]}, "notices_by", "'mayor' is not a role"),
        ({"keep_inbound_days": 3}, "keep_inbound_days", "greater than or equal to 7"),
        ({"keep_audit_days": "forever"}, "keep_audit_days", "integer"),
        ({"partners_may_relay": "yes"}, "partners_may_relay", "boolean"),
        ({"mesages": "nobody"}, "mesages", "unknown setting"),
        ({"listings": "nobody", "real_names": 3}, "real_names", "must be one of"),
    ]
    for body, field, says in cases:
        resp = await node.patch(ADMIN_PATH, json=body, headers=bearer(ada))
        error = await error_of(resp, 422, "validation_failed")
        assert [d["field"] for d in error["details"]] == [field], error
        assert says in error["details"][0]["message"], error
    resp = await node.patch(ADMIN_PATH, json={}, headers=bearer(ada))
    await error_of(resp, 422, "validation_failed")
    resp = await node.patch(
        ADMIN_PATH, data=b"{nope", headers={**bearer(ada), "Content-Type": "application/json"}
    )
    await error_of(resp, 400, "invalid_json")
    resp = await node.patch(
        ADMIN_PATH, data=b"[1]", headers={**bearer(ada), "Content-Type": "application/json"}
    )
    await error_of(resp, 400, "invalid_json")
    resp = await node.patch(ADMIN_PATH, data=b"messages=nobody", headers=bearer(ada))
    await error_of(resp, 415, "unsupported_media_type")
    huge = json.dumps({"messages": "x" * 2_000_000}).encode()
    resp = await node.patch(
        ADMIN_PATH,
        data=io.BytesIO(huge),
        headers={**bearer(ada), "Content-Type": "application/json"},
    )
    assert resp.status == 413
    audit = await (await node.get("/api/quartier/v1/moderation/audit", headers=bearer(ada))).json()
    assert [e for e in audit if e["target"] == "governance"] == []  # nothing changed
    current = await (await node.get(ADMIN_PATH, headers=bearer(ada))).json()
    assert current["changed"] == []  # nothing of the above changed anything
    assert current["settings"]["listings"] == "public"


async def test_only_admins_read_or_change_the_settings(node, people):
    for token in (people["bea"], people["cyd"]):
        for method in ("GET", "PATCH", "DELETE"):
            path = f"{ADMIN_PATH}/changes" if method == "DELETE" else ADMIN_PATH
            resp = await node.request(
                method, path, json={"messages": "nobody"}, headers=bearer(token)
            )
            await error_of(resp, 403, "forbidden")
    forget_cookies(node)
    resp = await node.patch(ADMIN_PATH, json={"messages": "nobody"})
    await error_of(resp, 401, "unauthorized")
    summary = await (await node.get("/api/quartier/v1/governance")).json()
    assert summary["sharing"]["messages"] == "public"


async def test_stored_changes_that_no_longer_validate_stop_the_node(settings, node, clock):
    with activated(node.app[DATABASE]):
        await PolicyOverride.create(id=1, values={"messages": "everyone"}, changed_at=clock.now)
    message = await started(create_app(settings, clock=clock, run_worker=False))
    assert "messages: must be one of public, partners, nobody" in message
    assert "changed through the API" in message


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("QUARTIER_GOVERNANCE_MESSAGES", "everyone", "governance.messages"),
        ("QUARTIER_GOVERNANCE_NOTICES_BY", "mayor", "governance.notices_by"),
        ("QUARTIER_GOVERNANCE_KEEP_INBOUND_DAYS", "2", "governance.keep_inbound_days"),
    ],
)
@pytest.mark.usefixtures("migrated")
def test_a_malformed_policy_stops_the_node_naming_the_setting(
    quartier, tmp_path, env, variable, value, says
):
    bad = runner(tmp_path, {**env, variable: value})
    err = failed(bad("serve"))
    assert says in err
    assert f"environment variable {variable}" in err


@pytest.mark.usefixtures("migrated")
def test_a_misspelt_policy_setting_in_the_file_stops_the_node(quartier, tmp_path):
    write_config(tmp_path, '[governance]\nmesages = "nobody"\n')
    err = failed(quartier("serve"))
    assert "governance.mesages" in err
    assert "unknown setting" in err


# What documents show, per the policy


async def test_real_names_are_shown_only_as_far_as_the_policy_says(
    node, people, clock, partner, stranger
):
    bea_path = "/users/bea"
    doc = await (await node.get(bea_path, headers=AP)).json()
    assert "attachment" not in doc  # real names stay on the node by default
    await change(node, people["ada"], real_names="public")
    doc = await (await node.get(bea_path, headers=AP)).json()
    assert {"type": "PropertyValue", "name": "Real name", "value": "Bea"} in doc["attachment"]

    await change(node, people["ada"], real_names="partners")
    resp = await node.get(bea_path, headers=AP)
    assert "attachment" not in await resp.json()
    assert resp.headers["Cache-Control"] == "private, no-store"
    resp = await signed_get(node, clock, partner.add("node"), f"{NODE}{bea_path}")
    assert resp.status == 200
    names = [field["name"] for field in (await resp.json()).get("attachment", [])]
    assert names == ["Real name"]
    resp = await signed_get(node, clock, stranger.add("node"), f"{NODE}{bea_path}")
    assert "attachment" not in await resp.json()


async def test_profiles_kept_on_the_node_leave_only_what_federation_needs(
    node, people, clock, partner
):
    resp = await node.patch(
        "/api/quartier/v1/me",
        json={"display_name": "Bea M.", "bio": "Flat 3B"},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 200, await resp.text()
    await change(node, people["ada"], profiles="partners", real_names="public")
    doc = await (await node.get("/users/bea", headers=AP)).json()
    assert (doc["name"], doc["summary"]) == ("bea", "")
    assert "attachment" not in doc  # a real name never shows where the profile does not
    assert doc["publicKey"]["publicKeyPem"]
    assert doc["inbox"]
    resp = await signed_get(node, clock, partner.add("node"), f"{NODE}/users/bea")
    doc = await resp.json()
    assert doc["name"] == "Bea M."
    assert "Flat 3B" in doc["summary"]
    await change(node, people["ada"], profiles="nobody")
    resp = await signed_get(node, clock, partner.add("other"), f"{NODE}/users/bea")
    assert (await resp.json())["name"] == "bea"


async def test_listings_are_served_only_as_far_as_the_policy_says(
    node, people, clock, partner, stranger
):
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={"kind": "give", "title": "Sofa", "category": "furniture", "audience": "public"},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 201, await resp.text()
    url = (await resp.json())["url"]
    forget_cookies(node)
    assert (await node.get(url.removeprefix(NODE), headers=AP)).status == 200
    await change(node, people["ada"], listings="partners")
    forget_cookies(node)
    await error_of(await node.get(url.removeprefix(NODE), headers=AP), 404, "not_found")
    assert (await signed_get(node, clock, partner.add("node"), url)).status == 200
    await error_of(await signed_get(node, clock, stranger.add("node"), url), 404, "not_found")
    await change(node, people["ada"], listings="nobody")
    await error_of(await signed_get(node, clock, partner.add("n2"), url), 404, "not_found")


# Messages, and the sharing ledger


async def test_a_member_reads_where_their_messages_went(node, people, stranger):
    zoe = stranger.add("zoe")
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [zoe.id], "text": "Is the drill free?"},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 201, await resp.text()
    await deliver_all(node)
    assert len(stranger.delivered) == 1
    ledger = await (
        await node.get("/api/quartier/v1/me/sharing", headers=bearer(people["bea"]))
    ).json()
    [entry] = ledger
    sent = stranger.delivered[0][1]
    assert entry["kind"] == "messages"
    assert entry["object"] == sent["object"]["id"]
    assert entry["activity"] == "Create"
    assert entry["server"] == stranger.base.removeprefix("http://")
    assert entry["shared_at"] == "2026-11-26T12:00:00Z"
    # Each member reads their own ledger only.
    assert (
        await (await node.get("/api/quartier/v1/me/sharing", headers=bearer(people["cyd"]))).json()
        == []
    )
    for bad in ("0", "201", "x"):
        resp = await node.get(
            f"/api/quartier/v1/me/sharing?limit={bad}", headers=bearer(people["bea"])
        )
        await error_of(resp, 422, "validation_failed")
    forget_cookies(node)
    await error_of(await node.get("/api/quartier/v1/me/sharing"), 401, "unauthorized")


async def test_messages_kept_on_the_node_are_refused_at_once_and_never_queued(
    node, people, stranger, partner
):
    await change(node, people["ada"], messages="partners")
    zoe = stranger.add("zoe")
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [zoe.id], "text": "Hi"},
        headers=bearer(people["bea"]),
    )
    error = await error_of(resp, 403, "forbidden")
    assert "shares messages with partner nodes only" in error["message"]
    with activated(node.app[DATABASE]):
        assert await Delivery.all().count() == 0
    # A partner's member is reached as before.
    pat = partner.add("pat")
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [pat.id], "text": "Hi"},
        headers=bearer(people["bea"]),
    )
    assert resp.status == 201, await resp.text()
    await deliver_all(node)
    assert len(partner.delivered) == 1
