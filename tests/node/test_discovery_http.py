"""Discovery over HTTP: WebFinger, host-meta and NodeInfo as remote servers and crawlers use them.

A node is reached as ``http://127.0.0.1:8080`` (its configured base URL), whatever port the test
server really listens on: handles and URLs below use the configured origin.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

import pytest

from activitypub.media_types import ACTIVITY_JSON
from federation.signing import verifies_rfc9421
from node.members.models import Role
from tests.api import admin_token, bootstrap_invite, error_of, register

BASE = "http://127.0.0.1:8080"
DOMAIN = "127.0.0.1:8080"
WEBFINGER = "/.well-known/webfinger"
SERVICE_REL = "https://www.w3.org/ns/activitystreams#Service"
NODEINFO_REL = "http://nodeinfo.diaspora.software/ns/schema/2.1"
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"
XRD_NS = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"


async def _with_bob(node):
    """A resident, bob, registered on the node."""
    await register(node, await bootstrap_invite(node, Role.RESIDENT), "bob")


async def _webfinger(node, resource, *rels):
    params = [("resource", resource), *(("rel", rel) for rel in rels)]
    return await node.get(WEBFINGER, params=params)


async def _jrd(node, resource, *rels):
    resp = await _webfinger(node, resource, *rels)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/jrd+json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    return await resp.json()


def _path(url):
    """The path and query of an absolute URL the node published, to request it from the test
    server (which listens on another port than the configured base URL)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE
    return parts.path + (f"?{parts.query}" if parts.query else "")


# WebFinger: members


@pytest.mark.parametrize(
    "resource",
    [
        "acct:bob@127.0.0.1:8080",
        "acct:@bob@127.0.0.1:8080",
        "ACCT:BOB@127.0.0.1:8080",
        "acct:bob%40127.0.0.1:8080",
    ],
)
async def test_webfinger_finds_a_member_by_handle(node, resource):
    await _with_bob(node)
    doc = await _jrd(node, resource)
    actor = f"{BASE}/users/bob"
    assert doc == {
        "subject": "acct:bob@127.0.0.1:8080",
        "aliases": [actor],
        "links": [{"rel": "self", "type": ACTIVITY_JSON, "href": actor}],
    }


async def test_webfinger_finds_a_member_by_actor_url_and_answers_with_the_handle(node):
    await _with_bob(node)
    doc = await _jrd(node, f"{BASE}/users/bob")
    assert doc["subject"] == f"acct:bob@{DOMAIN}"
    assert doc["links"] == [{"rel": "self", "type": ACTIVITY_JSON, "href": f"{BASE}/users/bob"}]


async def test_webfinger_self_link_leads_to_the_member_actor(node):
    await _with_bob(node)
    doc = await _jrd(node, f"acct:bob@{DOMAIN}")
    (self_link,) = [link for link in doc["links"] if link["rel"] == "self"]
    resp = await node.get(_path(self_link["href"]), headers={"Accept": self_link["type"]})
    assert resp.status == 200
    actor = await resp.json()
    assert actor["id"] == self_link["href"]
    assert actor["preferredUsername"] == "bob"


# WebFinger: the node itself


async def test_webfinger_finds_the_instance_actor_by_host_handle(node):
    doc = await _jrd(node, f"acct:127.0.0.1@{DOMAIN}")
    assert doc["subject"] == f"acct:127.0.0.1@{DOMAIN}"
    assert doc["links"] == [{"rel": "self", "type": ACTIVITY_JSON, "href": f"{BASE}/actor"}]


async def test_webfinger_finds_the_instance_actor_by_its_url(node):
    doc = await _jrd(node, f"{BASE}/actor")
    assert doc["links"] == [{"rel": "self", "type": ACTIVITY_JSON, "href": f"{BASE}/actor"}]


@pytest.mark.parametrize("origin", [f"{BASE}/", BASE])
async def test_webfinger_for_the_origin_names_the_service_actor(node, origin):
    """FEP-d556: the origin resolves to the server actor, with a ``self`` link for Mastodon."""
    doc = await _jrd(node, origin)
    assert doc["subject"] == origin
    assert doc["aliases"] == [f"{BASE}/actor"]
    assert doc["links"] == [
        {"rel": SERVICE_REL, "type": ACTIVITY_JSON, "href": f"{BASE}/actor"},
        {"rel": "self", "type": ACTIVITY_JSON, "href": f"{BASE}/actor"},
    ]


async def test_service_link_of_the_origin_leads_to_the_application_actor(node):
    doc = await _jrd(node, f"{BASE}/", SERVICE_REL)
    (link,) = doc["links"]
    resp = await node.get(_path(link["href"]), headers={"Accept": ACTIVITY_JSON})
    assert resp.status == 200
    assert (await resp.json())["type"] == "Application"


# WebFinger: rel filter (RFC 7033 section 4.3)


async def test_webfinger_rel_filter_keeps_one_relation(node):
    doc = await _jrd(node, f"{BASE}/", "self")
    assert [link["rel"] for link in doc["links"]] == ["self"]
    assert doc["subject"] == f"{BASE}/"
    assert doc["aliases"] == [f"{BASE}/actor"]


async def test_webfinger_rel_filter_with_several_rels(node):
    doc = await _jrd(node, f"{BASE}/", "self", SERVICE_REL)
    assert [link["rel"] for link in doc["links"]] == [SERVICE_REL, "self"]


async def test_webfinger_rel_filter_matching_nothing_keeps_the_subject(node):
    await _with_bob(node)
    doc = await _jrd(node, f"acct:bob@{DOMAIN}", "http://webfinger.net/rel/avatar")
    assert doc["subject"] == f"acct:bob@{DOMAIN}"
    assert doc["links"] == []


# WebFinger: errors


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(f"acct:nobody@{DOMAIN}", id="unknown-user"),
        pytest.param("acct:bob@elsewhere.example", id="other-domain"),
        pytest.param("acct:bob@127.0.0.1:9999", id="other-port"),
        pytest.param("https://elsewhere.example/users/bob", id="other-origin-url"),
        pytest.param(f"{BASE}/users/nobody", id="unknown-actor-url"),
        pytest.param(f"{BASE}/nothing/here", id="unknown-url"),
        pytest.param(f"{BASE}/users/bob/outbox", id="collection-url"),
        pytest.param(f"{BASE}/users/", id="users-prefix"),
        # RFC 7033 section 4.5: a well-formed URI the server has no information about.
        pytest.param("mailto:bob@127.0.0.1:8080", id="mailto"),
        pytest.param("urn:ietf:rfc:7033", id="urn"),
    ],
)
async def test_webfinger_answers_404_for_what_the_node_does_not_host(node, resource):
    await _with_bob(node)
    await error_of(await _webfinger(node, resource), 404, "not_found")


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({}, id="missing"),
        pytest.param({"resource": ""}, id="empty"),
        pytest.param({"resource": "bob@127.0.0.1:8080"}, id="no-scheme"),
        pytest.param({"resource": "1mailto:bob@127.0.0.1:8080"}, id="invalid-scheme"),
        pytest.param({"resource": "acct:bob"}, id="acct-without-domain"),
        pytest.param({"resource": "acct:@127.0.0.1:8080"}, id="acct-empty-user"),
        pytest.param({"resource": "acct:bob @127.0.0.1:8080"}, id="whitespace"),
        pytest.param({"resource": "acct:" + "b" * 600 + "@127.0.0.1:8080"}, id="too-long"),
        pytest.param({"resource": "http://bob:pw@127.0.0.1:8080/users/bob"}, id="credentials"),
        pytest.param(
            {"resource": "http://127.0.0.1:8080@evil.example/users/bob"}, id="userinfo-lookalike"
        ),
    ],
)
async def test_webfinger_answers_400_for_a_malformed_resource(node, query):
    body = await error_of(await node.get(WEBFINGER, params=query), 400, "bad_request")
    assert "resource" in body["message"]


@pytest.mark.parametrize(
    ("resource", "status"),
    [(f"acct:nobody@{DOMAIN}", 404), ("mailto:bob@127.0.0.1:8080", 404), ("acct:bob", 400)],
)
async def test_webfinger_errors_are_readable_cross_origin(node, resource, status):
    """RFC 7033 section 5: servers MUST send Access-Control-Allow-Origin in responses, so a
    browser client can tell "no such account" from a network failure."""
    resp = await _webfinger(node, resource)
    assert resp.status == status
    assert resp.headers.get("Access-Control-Allow-Origin") == "*"


# host-meta (RFC 6415)


async def test_host_meta_is_well_formed_xrd_pointing_at_webfinger(node):
    resp = await node.get("/.well-known/host-meta")
    assert resp.status == 200
    assert resp.content_type == "application/xrd+xml"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    root = ET.fromstring(await resp.read())  # noqa: S314 (our own document)
    assert root.tag == f"{XRD_NS}XRD"
    (link,) = root.findall(f"{XRD_NS}Link")
    assert link.get("rel") == "lrdd"
    assert link.get("type") == "application/jrd+json"
    assert link.get("template") == f"{BASE}/.well-known/webfinger?resource={{uri}}"


async def test_host_meta_json_has_the_same_template(node):
    resp = await node.get("/.well-known/host-meta.json")
    assert resp.status == 200
    assert resp.content_type == "application/jrd+json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert await resp.json() == {
        "links": [
            {
                "rel": "lrdd",
                "type": "application/jrd+json",
                "template": f"{BASE}/.well-known/webfinger?resource={{uri}}",
            }
        ]
    }


async def test_host_meta_template_resolves_a_member(node):
    """What an old client does: fill the LRDD template with the handle and follow it."""
    await _with_bob(node)
    template = (await (await node.get("/.well-known/host-meta.json")).json())["links"][0][
        "template"
    ]
    url = template.replace("{uri}", quote(f"acct:bob@{DOMAIN}", safe=""))
    resp = await node.get(_path(url))
    assert resp.status == 200
    assert (await resp.json())["subject"] == f"acct:bob@{DOMAIN}"


# NodeInfo


async def test_nodeinfo_index_links_nodeinfo_2_1_and_the_application_actor(node):
    resp = await node.get("/.well-known/nodeinfo")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    links = {link["rel"]: link["href"] for link in (await resp.json())["links"]}
    assert links == {NODEINFO_REL: f"{BASE}/nodeinfo/2.1", APPLICATION_REL: f"{BASE}/actor"}


async def test_nodeinfo_index_links_lead_to_the_documents(node):
    links = (await (await node.get("/.well-known/nodeinfo")).json())["links"]
    hrefs = {link["rel"]: link["href"] for link in links}
    nodeinfo = await node.get(_path(hrefs[NODEINFO_REL]))
    assert nodeinfo.status == 200
    assert (await nodeinfo.json())["version"] == "2.1"
    actor = await node.get(_path(hrefs[APPLICATION_REL]), headers={"Accept": ACTIVITY_JSON})
    assert actor.status == 200
    assert (await actor.json())["type"] == "Application"


COMMUNITY = {
    "name": "Résidence Les Tilleuls",
    "description": "Lending and helping between the flats of Les Tilleuls.",
    "area": "12 rue des Tilleuls, Lyon",
    "languages": ["fr", "en"],
    "federation_mode": "allowlist",
    "kind": "residence",
}


async def test_nodeinfo_describes_the_community_from_settings(make_node, make_settings):
    node = await make_node(make_settings(community=COMMUNITY))
    resp = await node.get("/nodeinfo/2.1")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    doc = await resp.json()
    assert doc["version"] == "2.1"
    assert doc["software"]["name"] == "quartier"
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert doc["openRegistrations"] is False
    metadata = doc["metadata"]
    assert metadata["nodeName"] == "Résidence Les Tilleuls"
    assert metadata["nodeDescription"] == COMMUNITY["description"]
    assert metadata["community"] == {
        "area": "12 rue des Tilleuls, Lyon",
        "kind": "residence",
        "languages": ["fr", "en"],
        "registration": "invite",
    }
    assert metadata["federation"]["mode"] == "allowlist"
    assert "partner" in metadata["federation"]["summary"]
    # What other Quartier nodes read to sign to us with RFC 9421 (federation/signing.py).
    assert verifies_rfc9421(doc)
    assert metadata["httpSignatures"] == {"verifies": ["rfc9421", "draft-cavage-12"]}


NODEINFO_PROFILE = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'


def gotosocial_takes_nodeinfo(content_type: str) -> bool:
    """GoToSocial's check of a NodeInfo response (NodeInfo2ContentType in
    internal/api/util/mime.go, October 2025): lower-cased parts split on ';', a utf-8 charset
    dropped, then plain application/json or the 2.0 profile, nothing else."""
    parts = [part.strip().lower() for part in content_type.split(";")]
    charsets = [part for part in parts if part.startswith("charset=")]
    if charsets[:1] not in ([], ["charset=utf-8"]):
        return False
    if charsets:
        parts.remove(charsets[0])
    profile_20 = "http://nodeinfo.diaspora.software/ns/schema/2.0#"
    return parts == ["application/json"] or (
        len(parts) == 2
        and parts[0] == "application/json"
        and parts[1] in (f'profile="{profile_20}"', f"profile={profile_20}")
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Accept": "application/json"}, id="gotosocial"),
        pytest.param({}, id="no-accept"),
        pytest.param({"Accept": "*/*"}, id="anything"),
    ],
)
async def test_nodeinfo_is_plain_json_unless_the_profile_is_asked_for(node, headers):
    """GoToSocial asks with ``Accept: application/json`` and refuses the 2.1 profile in the
    answer: it then never learns which software we run."""
    resp = await node.get("/nodeinfo/2.1", headers=headers)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert gotosocial_takes_nodeinfo(resp.headers["Content-Type"])
    assert "Accept" in resp.headers["Vary"]
    assert (await resp.json())["software"]["name"] == "quartier"


async def test_nodeinfo_carries_the_quoted_2_1_profile_when_asked_for(node):
    """NodeInfo 2.1 names ``profile="...schema/2.1#"``; the profile is a URI, which RFC 9110
    allows only as a quoted string (":" and "/" are not token characters)."""
    resp = await node.get("/nodeinfo/2.1", headers={"Accept": NODEINFO_PROFILE})
    assert resp.headers["Content-Type"] == NODEINFO_PROFILE
    assert (await resp.json())["version"] == "2.1"


async def test_the_nodeinfo_index_is_json_gotosocial_takes(node):
    resp = await node.get("/.well-known/nodeinfo", headers={"Accept": "application/json"})
    assert resp.status == 200
    # GoToSocial's JSONContentType: application/json, with at most a utf-8 charset.
    parts = [part.strip().lower() for part in resp.headers["Content-Type"].split(";")]
    assert [p for p in parts if p != "charset=utf-8"] == ["application/json"]


@pytest.mark.parametrize("mode", ["open", "allowlist", "local"])
async def test_nodeinfo_publishes_the_federation_mode(make_node, make_settings, mode):
    node = await make_node(make_settings(community={"federation_mode": mode}))
    doc = await (await node.get("/nodeinfo/2.1")).json()
    assert doc["metadata"]["federation"]["mode"] == mode
    assert doc["metadata"]["federation"]["summary"]


async def test_nodeinfo_of_an_empty_node_counts_nobody(node):
    doc = await (await node.get("/nodeinfo/2.1")).json()
    assert doc["usage"] == {
        "users": {"total": 0, "activeMonth": 0, "activeHalfyear": 0},
        "localPosts": 0,
    }


async def _register_without_login(node, username):
    await register(node, await bootstrap_invite(node, Role.RESIDENT), username)


async def test_nodeinfo_counts_members_and_those_who_logged_in(node, clock):
    await admin_token(node)  # ada registers and logs in
    await _register_without_login(node, "carol")  # never logs in
    users = (await (await node.get("/nodeinfo/2.1")).json())["usage"]["users"]
    assert users == {"total": 2, "activeMonth": 1, "activeHalfyear": 1}


async def test_nodeinfo_active_counts_age_out(node, clock):
    await admin_token(node)
    clock.advance(days=31)
    users = (await (await node.get("/nodeinfo/2.1")).json())["usage"]["users"]
    assert users == {"total": 1, "activeMonth": 0, "activeHalfyear": 1}
    clock.advance(days=150)
    users = (await (await node.get("/nodeinfo/2.1")).json())["usage"]["users"]
    assert users == {"total": 1, "activeMonth": 0, "activeHalfyear": 0}


# Error shape


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", f"{WEBFINGER}?resource=mailto:x", 404, "not_found"),
        ("GET", f"{WEBFINGER}?resource=acct:x", 400, "bad_request"),
        ("GET", f"{WEBFINGER}?resource=acct:nobody@{DOMAIN}", 404, "not_found"),
        ("GET", "/.well-known/unknown", 404, "not_found"),
        ("POST", WEBFINGER, 405, "method_not_allowed"),
        ("POST", "/.well-known/host-meta", 405, "method_not_allowed"),
        ("POST", "/nodeinfo/2.1", 405, "method_not_allowed"),
        ("GET", "/nodeinfo/2.0", 404, "not_found"),
    ],
)
async def test_discovery_errors_have_the_json_error_shape(node, method, path, status, code):
    resp = await node.request(method, path)
    await error_of(resp, status, code)
