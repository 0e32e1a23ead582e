"""Open311 GeoReport v2 on a node: the specification's resources and error shapes, checked
by hand and through an existing client library (georeport, from PyPI)."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET

import pytest
from georeport import GeoReport

from tests.api import admin_token, bearer, error_of, member_token
from tests.node.cli_support import Run, failed, ok
from tests.node.media_support import uploaded

BASE = "/open311/v2"
KEYS = "/api/quartier/v1/admin/open311/keys"
SPEC_REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def parse_xml(raw: bytes) -> ET.Element:
    """Our own node's answer, in a test: no entity tricks to fear."""
    return ET.fromstring(raw)  # noqa: S314


@pytest.fixture
async def city(make_settings, make_node):
    """A municipality handling every category but lifts (which it has none of)."""
    settings = make_settings(
        community={"kind": "municipality", "name": "Ville <&> Cité"},
        problems={"categories": "lighting,roads,waste,lift", "routes": "lift=partner.example"},
    )
    return await make_node(settings)


async def new_key(client, admin: str, name: str = "back-office") -> dict:
    resp = await client.post(KEYS, json={"name": name}, headers=bearer(admin))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def create(client, **form) -> tuple[int, object]:
    resp = await client.post(f"{BASE}/requests.json", data=form)
    return resp.status, await resp.json()


async def test_services_are_the_categories_this_node_handles_in_json_and_xml(city):
    resp = await city.get(f"{BASE}/services.json")
    assert resp.status == 200
    services = await resp.json()
    assert [s["service_code"] for s in services] == ["lighting", "roads", "waste"]
    assert set(services[0]) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert (services[0]["metadata"], services[0]["type"]) == (False, "realtime")

    resp = await city.get(f"{BASE}/services.xml")
    assert resp.content_type == "text/xml"
    body = await resp.read()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = parse_xml(body)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == [
        "lighting",
        "roads",
        "waste",
    ]
    assert root.find("service/metadata").text == "false"

    resp = await city.get(f"{BASE}/services/roads.json")
    assert await resp.json() == {"service_code": "roads", "attributes": []}
    resp = await city.get(f"{BASE}/services/lift.json")
    assert resp.status == 404
    assert (await resp.json())[0]["code"] == 404


async def test_creating_requests_needs_a_live_key_and_a_known_service(city):
    ada = await admin_token(city)
    key = await new_key(city, ada)
    place = {"lat": "48.85", "long": "2.35", "description": "Pothole"}
    status, body = await create(city, service_code="roads", **place)
    assert status == 403
    assert body[0]["code"] == 403
    assert set(body[0]) == {"code", "description"}
    status, body = await create(city, api_key="wrong", service_code="roads", **place)
    assert (status, body[0]["code"]) == (403, 403)
    status, body = await create(city, api_key=key["key"], service_code="dragons", **place)
    assert (status, body[0]["code"]) == (400, 400)
    assert "dragons" in body[0]["description"]
    status, body = await create(city, api_key=key["key"], service_code="lift", **place)
    assert status == 400  # routed elsewhere: not a service of this node
    status, body = await create(city, api_key=key["key"], service_code="roads")
    assert status == 400  # no location
    assert "location" in body[0]["description"]
    status, body = await create(
        city, api_key=key["key"], service_code="roads", lat="91", long="2", description="x"
    )
    assert status == 400
    status, body = await create(
        city, api_key=key["key"], service_code="roads", **{**place, "description": "x" * 5001}
    )
    assert status == 400
    # XML errors, as the specification shows them
    resp = await city.post(f"{BASE}/requests.xml", data={"service_code": "roads"})
    root = parse_xml(await resp.read())
    assert (resp.status, root.tag, root.findtext("error/code")) == (403, "errors", "403")

    status, body = await create(city, api_key=key["key"], service_code="roads", **place)
    assert status == 200
    [made] = body
    assert set(made) == {"service_request_id", "service_notice", "account_id"}

    # A revoked key stops working at once.
    resp = await city.delete(f"{KEYS}/{key['id']}", headers=bearer(ada))
    assert resp.status == 200
    status, _ = await create(city, api_key=key["key"], service_code="roads", **place)
    assert status == 403
    resp = await city.get(KEYS, headers=bearer(ada))
    [listed] = await resp.json()
    assert listed["revoked_at"] is not None
    assert "key" not in listed


async def test_requests_list_filters_and_xml_escapes_what_people_wrote(city):
    ada = await admin_token(city)
    key = (await new_key(city, ada))["key"]
    text = "Bin <script>alert(1)</script> & co\x01"
    ids = []
    for code in ("roads", "waste"):
        _, body = await create(
            city, api_key=key, service_code=code, lat="48.85", long="2.35", description=text
        )
        ids.append(body[0]["service_request_id"])
    resp = await city.get(f"{BASE}/requests.json")
    found = await resp.json()
    assert [r["service_request_id"] for r in found] == ids[::-1]
    assert set(found[0]) == SPEC_REQUEST_FIELDS
    assert (found[0]["status"], found[0]["agency_responsible"]) == ("open", "Ville <&> Cité")
    resp = await city.get(f"{BASE}/requests.json", params={"service_code": "waste"})
    assert [r["service_request_id"] for r in await resp.json()] == [ids[1]]
    resp = await city.get(f"{BASE}/requests.json", params={"status": "closed"})
    assert await resp.json() == []
    resp = await city.get(f"{BASE}/requests.json", params={"status": "shut"})
    assert resp.status == 400
    resp = await city.get(f"{BASE}/requests.json", params={"start_date": "yesterday"})
    assert resp.status == 400
    resp = await city.get(f"{BASE}/requests.json", params={"end_date": "2010-01-01T00:00:00Z"})
    assert await resp.json() == []

    resp = await city.get(f"{BASE}/requests/{ids[0]}.xml")
    raw = await resp.read()
    assert b"<script>" not in raw
    root = parse_xml(raw)
    assert root.tag == "service_requests"
    assert root.findtext("request/description") == text.removesuffix("\x01")
    assert root.findtext("request/agency_responsible") == "Ville <&> Cité"
    resp = await city.get(f"{BASE}/requests/99999.json")
    assert (resp.status, (await resp.json())[0]["code"]) == (404, 404)


async def test_a_status_change_through_open311_is_the_handlers_change(city):
    ada = await admin_token(city)
    bea = await member_token(city, ada, "bea")
    resp = await city.post(
        "/api/quartier/v1/problems",
        json={"category": "lighting", "text": "Out"},
        headers=bearer(bea),
    )
    problem = await resp.json()
    key = (await new_key(city, ada))["key"]
    path = f"{BASE}/requests/{problem['id']}.json"
    resp = await city.post(path, data={"status": "closed", "status_notes": "Bulb replaced"})
    assert resp.status == 403
    resp = await city.post(path, data={"api_key": key, "status": "gone"})
    assert resp.status == 400
    resp = await city.post(
        path, data={"api_key": key, "status": "closed", "status_notes": "Bulb replaced"}
    )
    assert resp.status == 200, await resp.text()
    [changed] = await resp.json()
    assert changed["status"] == "closed"
    assert "Bulb replaced" in changed["status_notes"]
    resp = await city.get(f"/api/quartier/v1/problems/{problem['id']}", headers=bearer(bea))
    seen = await resp.json()
    assert seen["status"] == "resolved"
    assert [c["text"] for c in seen["comments"]] == ["Bulb replaced"]
    resp = await city.get("/api/quartier/v1/notifications", headers=bearer(bea))
    assert {"problem.status", "problem.comment"} <= {n["type"] for n in await resp.json()}


async def test_residents_cannot_manage_keys(city):
    ada = await admin_token(city)
    bea = await member_token(city, ada, "bea")
    resp = await city.post(KEYS, json={"name": "x"}, headers=bearer(bea))
    await error_of(resp, 403, "forbidden")
    resp = await city.post(KEYS, json={"name": ""}, headers=bearer(ada))
    await error_of(resp, 422, "validation_failed")


async def test_the_georeport_client_library_reads_the_endpoint(city):
    """georeport (PyPI) is a synchronous client: it runs in a thread against the live server."""
    ada = await admin_token(city)
    key = (await new_key(city, ada))["key"]
    _, body = await create(
        city, api_key=key, service_code="roads", lat="48.85", long="2.35", description="Hole"
    )
    request_id = body[0]["service_request_id"]
    root = str(city.make_url(BASE))
    for output in ("json", "xml"):
        client = GeoReport(root, output_format=output)
        services = await asyncio.to_thread(client.get_service_list)
        assert [s["service_code"] for s in services] == ["lighting", "roads", "waste"]
        definition = await asyncio.to_thread(client.get_service_definition, "roads")
        assert definition["service_code"] == "roads"
        found = await asyncio.to_thread(client.get_service_requests, status="open")
        # xmltodict gives one element as a dict, several as a list
        found = found if isinstance(found, list) else [found]
        assert [r["service_request_id"] for r in found] == [request_id]
        one = await asyncio.to_thread(client.get_service_request, request_id)
        assert (one["service_code"], one["description"], one["status"]) == (
            "roads",
            "Hole",
            "open",
        )


@pytest.mark.usefixtures("migrated")
def test_keys_from_the_command_line(quartier: Run) -> None:
    """``quartier open311 keys``: the key printed once, listed without it, revoked."""
    assert ok(quartier("open311", "keys", "list")).strip() == "no Open311 keys"
    out = ok(quartier("open311", "keys", "add", "City back-office"))
    first, key = out.splitlines()
    assert first.startswith("added Open311 key 1 (City back-office)")
    assert len(key) >= 43
    listed = ok(quartier("open311", "keys", "list"))
    assert key not in listed
    assert listed.splitlines()[1].split()[3:] == ["live", "City", "back-office"]
    assert "revoked Open311 key 1" in ok(quartier("open311", "keys", "revoke", "1"))
    [row] = json.loads(ok(quartier("open311", "keys", "list", "--json")))
    assert row["revoked_at"] is not None
    assert "no Open311 key" in failed(quartier("open311", "keys", "revoke", "9"))
    assert "1 to 100" in failed(quartier("open311", "keys", "add", " "))


async def test_odd_query_parameters_are_400s_or_ignored_never_500s(city):
    ada = await admin_token(city)
    key = (await new_key(city, ada))["key"]
    await create(city, api_key=key, service_code="roads", lat="48.85", long="2.35")
    # Digits str.isdigit() takes but int() does not (superscripts): not an id, ignored.
    resp = await city.get(f"{BASE}/requests.json", params={"service_request_id": "²,1"})
    assert resp.status == 200
    assert [r["service_request_id"] for r in await resp.json()] == ["1"]
    # NUL in any parameter: PostgreSQL refuses it in a query (a 500 there), so a 400 here
    for name in ("service_code", "status", "service_request_id", "jurisdiction_id"):
        resp = await city.get(f"{BASE}/requests.xml", params={name: "roads\x00"})
        assert resp.status == 400, name
        assert parse_xml(await resp.read()).findtext("error/code") == "400"
    # A date-time at the edge of the calendar: a moment UTC cannot name is a 400.
    for edge in ("9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+10:00"):
        for name in ("start_date", "end_date"):
            resp = await city.get(f"{BASE}/requests.json", params={name: edge})
            assert resp.status == 400, (name, edge, await resp.text())
            assert (await resp.json())[0]["code"] == 400


async def test_xml_opens_with_the_declaration_the_specification_asks_for(city):
    for path in ("services.xml", "requests/99999.xml"):
        resp = await city.get(f"{BASE}/{path}")
        raw = await resp.read()
        assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), raw[:60]
        assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
        parse_xml(raw)


async def test_keys_added_and_revoked_by_api_are_in_the_audit_log_as_by_the_cli(city):
    ada = await admin_token(city)
    key = await new_key(city, ada, "city back-office")
    resp = await city.delete(f"{KEYS}/{key['id']}", headers=bearer(ada))
    assert resp.status == 200
    resp = await city.get("/api/quartier/v1/moderation/audit", headers=bearer(ada))
    entries = [(e["action"], e["target"], e["reason"]) for e in await resp.json()]
    target = f"open311-key:{key['id']}"
    assert ("open311.key_added", target, "city back-office") in entries
    assert ("open311.key_revoked", target, "city back-office") in entries
    assert all(e["actor"] == "ada" for e in await resp.json() if e["target"] == target)


async def test_service_discovery_points_at_the_endpoint_in_json_and_xml(city):
    resp = await city.get("/open311/discovery.json")
    assert resp.status == 200, await resp.text()
    found = await resp.json()
    assert set(found) == {"changeset", "contact", "key_service", "endpoints"}
    [endpoint] = found["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert (endpoint["type"], endpoint["formats"]) == (
        "production",
        ["text/xml", "application/json"],
    )
    assert found["changeset"].endswith("Z")
    resp = await city.get("/open311/discovery.xml")
    root = parse_xml(await resp.read())
    assert root.tag == "discovery"
    assert "Ville <&> Cité" in root.findtext("contact")
    assert root.findtext("endpoints/endpoint/specification") == endpoint["specification"]
    assert [f.text for f in root.iterfind("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


async def test_the_list_gives_each_request_its_own_notes_and_photo(city):
    ada = await admin_token(city)
    bea = await member_token(city, ada, "bea")
    made = []
    for text in ("Lamp out on rue Haute", "Pothole on rue Basse", "Bins not collected"):
        photo = await uploaded(city, bea)
        body = {"category": "lighting", "text": text, "photos": [photo["id"]]}
        resp = await city.post("/api/quartier/v1/problems", json=body, headers=bearer(bea))
        assert resp.status == 201, await resp.text()
        made.append((await resp.json(), photo))
    key = (await new_key(city, ada))["key"]
    for problem, _ in made[:2]:
        note = f"Seen to: {problem['text']}"
        resp = await city.post(
            f"{BASE}/requests/{problem['id']}.json",
            data={"api_key": key, "status": "closed", "status_notes": note},
        )
        assert resp.status == 200, await resp.text()
    resp = await city.get(f"{BASE}/requests.json?status=open,closed")
    listed = {r["service_request_id"]: r for r in await resp.json()}
    for problem, photo in made:
        shown = listed[str(problem["id"])]
        assert shown["description"] == problem["text"]
        assert shown["media_url"].endswith(photo["url"].rsplit("/", 1)[1])
    for problem, _ in made[:2]:
        notes = listed[str(problem["id"])]["status_notes"]
        assert f"Seen to: {problem['text']}" in notes
        assert notes.count("Seen to") == 1
    assert "Seen to" not in (listed[str(made[2][0]["id"])].get("status_notes") or "")
