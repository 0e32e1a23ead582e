"""Discovery documents: WebFinger resource parsing and JRD (RFC 7033, FEP-d556), host-meta
(RFC 6415) and NodeInfo 2.1.

Remote servers find our members through these documents; a resource we misparse is a neighbour
nobody can follow, and a malformed document is a node nobody can discover.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from activitypub import discovery
from activitypub.discovery import (
    AcctResource,
    NodeUsage,
    OtherResource,
    UrlResource,
    parse_resource,
)
from activitypub.errors import MalformedResource, ProtocolError
from activitypub.media_types import ACTIVITY_JSON

XRD_NS = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"
ACTOR = "https://quartier.example/users/bob"


# parse_resource: acct: URIs


@pytest.mark.parametrize(
    ("resource", "user", "domain"),
    [
        ("acct:bob@quartier.example", "bob", "quartier.example"),
        ("acct:bob@127.0.0.1:8080", "bob", "127.0.0.1:8080"),
        ("ACCT:Bob@Quartier.Example", "bob", "quartier.example"),
        ("acct:@bob@quartier.example", "bob", "quartier.example"),
        ("acct:bob%40quartier.example", "bob", "quartier.example"),
        ("acct:127.0.0.1@127.0.0.1:8080", "127.0.0.1", "127.0.0.1:8080"),
    ],
)
def test_acct_resources_name_a_user_at_a_domain(resource, user, domain):
    assert parse_resource(resource) == AcctResource(user=user, domain=domain)


# parse_resource: URLs


def test_actor_url_keeps_the_url_and_splits_origin_and_path():
    parsed = parse_resource(ACTOR)
    assert parsed == UrlResource(url=ACTOR, origin="https://quartier.example", path="/users/bob")


def test_origin_url_with_port_has_the_port_in_its_origin():
    parsed = parse_resource("http://127.0.0.1:8080/")
    assert isinstance(parsed, UrlResource)
    assert parsed.origin == "http://127.0.0.1:8080"
    assert parsed.path == "/"


def test_origin_of_url_is_lower_cased_for_comparison():
    parsed = parse_resource("HTTPS://Quartier.Example")
    assert isinstance(parsed, UrlResource)
    assert parsed.origin == "https://quartier.example"
    assert parsed.path == ""


# parse_resource: malformed resources


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("acct:" + "a" * 600 + "@quartier.example", id="too-long"),
        pytest.param("acct:bob @quartier.example", id="space"),
        pytest.param("acct:bob@quartier.example\n", id="newline"),
        pytest.param("acct:bob\t@quartier.example", id="tab"),
        pytest.param("acct:bob\x00@quartier.example", id="control-character"),
        pytest.param("bob@quartier.example", id="no-scheme"),
        pytest.param("quartier.example", id="bare-host"),
        pytest.param("1mailto:bob@quartier.example", id="scheme-starting-with-a-digit"),
        pytest.param("bob@quartier.example:443", id="no-scheme-but-a-colon"),
        pytest.param(":bob@quartier.example", id="empty-scheme"),
        pytest.param("acct:bob", id="acct-without-at"),
        pytest.param("acct:@quartier.example", id="acct-empty-user"),
        pytest.param("acct:bob@", id="acct-empty-domain"),
        pytest.param("acct:@", id="acct-only-at"),
        pytest.param("acct:", id="acct-nothing"),
        pytest.param("acct:bob@quartier.example/users", id="acct-domain-with-path"),
        pytest.param("https://bob:secret@quartier.example/users/bob", id="url-with-password"),
        pytest.param("https://bob@quartier.example/users/bob", id="url-with-username"),
        pytest.param("https://quartier.example@evil.example/users/bob", id="url-userinfo"),
        pytest.param("https:///users/bob", id="url-without-host"),
        pytest.param("https://[::1/users/bob", id="url-unbalanced-bracket"),
    ],
)
def test_malformed_resources_are_refused(resource):
    with pytest.raises(MalformedResource):
        parse_resource(resource)


def test_longest_accepted_resource_is_512_characters():
    domain = "@quartier.example"
    resource = "acct:" + "a" * (discovery.MAX_RESOURCE_LENGTH - len("acct:") - len(domain)) + domain
    assert len(resource) == discovery.MAX_RESOURCE_LENGTH
    assert isinstance(parse_resource(resource), AcctResource)
    with pytest.raises(MalformedResource, match="longer than 512"):
        parse_resource("a" + resource)


def test_malformed_resource_is_a_protocol_error_with_a_reason():
    with pytest.raises(ProtocolError) as info:
        parse_resource("acct:bob")
    assert "acct:user@domain" in str(info.value)


@pytest.mark.parametrize(
    ("resource", "scheme"),
    [
        ("mailto:bob@quartier.example", "mailto"),
        ("MAILTO:bob@quartier.example", "mailto"),
        ("ftp://quartier.example/users/bob", "ftp"),
        ("urn:ietf:rfc:7033", "urn"),
        ("did:key:z6Mkj1v52d7BwkbzTHE6qsRwxZxzx6r5zyKKkyyemvddgFYZ", "did"),
    ],
)
def test_well_formed_uris_of_other_schemes_are_not_malformed(resource, scheme):
    """RFC 7033 section 4.5: a resource the server knows nothing about is a 404, so the parser
    must tell it apart from a malformed one (400)."""
    assert parse_resource(resource) == OtherResource(uri=resource, scheme=scheme)


# JRD and the rel filter (RFC 7033 section 4.3)


def _rels(doc):
    return [link["rel"] for link in doc["links"]]


def test_jrd_without_rel_returns_every_link():
    doc = discovery.jrd("https://quartier.example/", discovery.server_actor_links(ACTOR))
    assert doc["subject"] == "https://quartier.example/"
    assert _rels(doc) == [discovery.SERVICE_REL, "self"]


def test_jrd_rel_filter_keeps_only_the_asked_relations():
    links = discovery.server_actor_links(ACTOR)
    doc = discovery.jrd("https://quartier.example/", links, [ACTOR], rels=["self"])
    assert _rels(doc) == ["self"]


def test_jrd_rel_filter_with_several_rels_keeps_each_of_them():
    links = discovery.server_actor_links(ACTOR)
    doc = discovery.jrd("s", links, rels=["self", discovery.SERVICE_REL])
    assert _rels(doc) == [discovery.SERVICE_REL, "self"]


def test_jrd_rel_filter_keeps_subject_and_aliases_even_when_no_link_matches():
    doc = discovery.jrd("acct:bob@quartier.example", discovery.actor_links(ACTOR), [ACTOR], ["x"])
    assert doc == {"subject": "acct:bob@quartier.example", "aliases": [ACTOR], "links": []}


def test_jrd_without_aliases_omits_the_member():
    doc = discovery.jrd("acct:bob@quartier.example", discovery.actor_links(ACTOR))
    assert "aliases" not in doc


def test_actor_links_point_self_at_the_activity_json_document():
    assert discovery.actor_links(ACTOR) == [{"rel": "self", "type": ACTIVITY_JSON, "href": ACTOR}]


def test_server_actor_links_follow_fep_d556():
    links = discovery.server_actor_links(ACTOR)
    service = [link for link in links if link["rel"] == discovery.SERVICE_REL]
    assert service == [
        {
            "rel": "https://www.w3.org/ns/activitystreams#Service",
            "type": ACTIVITY_JSON,
            "href": ACTOR,
        }
    ]


# host-meta (RFC 6415)


def _lrdd_link(xml_text):
    root = ET.fromstring(xml_text.encode("utf-8"))  # noqa: S314 (our own document)
    assert root.tag == f"{XRD_NS}XRD"
    links = root.findall(f"{XRD_NS}Link")
    assert len(links) == 1
    return links[0]


def test_host_meta_xml_is_an_xrd_with_the_lrdd_template():
    template = "https://quartier.example/.well-known/webfinger?resource={uri}"
    link = _lrdd_link(discovery.host_meta_xml(template))
    assert link.get("rel") == "lrdd"
    assert link.get("type") == "application/jrd+json"
    assert link.get("template") == template


def test_host_meta_xml_escapes_the_template():
    template = "https://q.example/wf?a=1&b=\"<x>'&resource={uri}"
    xml_text = discovery.host_meta_xml(template)
    assert "<x>" not in xml_text
    assert _lrdd_link(xml_text).get("template") == template


def test_host_meta_xml_declares_utf8():
    assert discovery.host_meta_xml("t").startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_host_meta_json_carries_the_same_template():
    template = "https://quartier.example/.well-known/webfinger?resource={uri}"
    assert discovery.host_meta_json(template) == {
        "links": [{"rel": "lrdd", "type": "application/jrd+json", "template": template}]
    }


# NodeInfo 2.1


def test_nodeinfo_index_links_the_2_1_schema_and_the_application_actor():
    doc = discovery.nodeinfo_index("https://q.example/nodeinfo/2.1", "https://q.example/actor")
    assert doc["links"] == [
        {
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": "https://q.example/nodeinfo/2.1",
        },
        {
            "rel": "https://www.w3.org/ns/activitystreams#Application",
            "href": "https://q.example/actor",
        },
    ]


def _nodeinfo(**overrides):
    arguments = {
        "software_version": "1.2.3",
        "usage": NodeUsage(users_total=7, active_month=3, active_halfyear=5, local_posts=11),
        "open_registrations": False,
        "metadata": {"nodeName": "Rue des Lilas"},
    }
    return discovery.nodeinfo_document(**{**arguments, **overrides})


def test_nodeinfo_has_every_field_the_2_1_schema_requires():
    doc = _nodeinfo()
    required = {
        "version",
        "software",
        "protocols",
        "services",
        "openRegistrations",
        "usage",
        "metadata",
    }
    assert required <= doc.keys()
    assert doc["version"] == "2.1"
    assert {"name", "version"} <= doc["software"].keys()
    assert {"inbound", "outbound"} <= doc["services"].keys()
    assert isinstance(doc["openRegistrations"], bool)
    assert isinstance(doc["metadata"], dict)


def test_nodeinfo_software_name_matches_the_schema_pattern():
    name = _nodeinfo()["software"]["name"]
    assert name
    assert all(ch.islower() or ch.isdigit() or ch == "-" for ch in name)


def test_nodeinfo_protocols_is_a_non_empty_list_including_activitypub():
    assert "activitypub" in _nodeinfo()["protocols"]


def test_nodeinfo_reports_version_usage_and_registrations():
    doc = _nodeinfo(open_registrations=True)
    assert doc["software"]["version"] == "1.2.3"
    assert doc["openRegistrations"] is True
    assert doc["usage"] == {
        "users": {"total": 7, "activeMonth": 3, "activeHalfyear": 5},
        "localPosts": 11,
    }
