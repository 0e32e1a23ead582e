"""Discovery documents: WebFinger (RFC 7033, FEP-d556), host-meta (RFC 6415), NodeInfo 2.1.

Parsing a WebFinger ``resource`` is separated from looking it up: :func:`parse_resource` says
*what* is asked for (a handle, an actor URL, the node's origin, a URI of another scheme) or
raises :class:`~activitypub.errors.MalformedResource`; the caller decides whether it exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import quoteattr

from activitypub.errors import MalformedResource
from activitypub.media_types import ACTIVITY_JSON

MAX_RESOURCE_LENGTH = 512
SERVICE_REL = "https://www.w3.org/ns/activitystreams#Service"
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"
NODEINFO_21_REL = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_21_PROFILE = "http://nodeinfo.diaspora.software/ns/schema/2.1#"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")  # RFC 3986 section 3.1


@dataclass(frozen=True)
class AcctResource:
    """``acct:user@domain``."""

    user: str
    domain: str


@dataclass(frozen=True)
class UrlResource:
    """An ``http(s)`` URL: an actor id, or the node's origin (FEP-d556)."""

    url: str
    origin: str
    path: str


@dataclass(frozen=True)
class OtherResource:
    """A well-formed URI of a scheme we hold nothing for (``mailto:``, ``ftp:``...).

    Not malformed: RFC 7033 section 4.5 answers such a resource 404, not 400.
    """

    uri: str
    scheme: str


def parse_resource(resource: str | None) -> AcctResource | UrlResource | OtherResource:
    """Parse a WebFinger ``resource`` parameter, raising ``MalformedResource`` with a reason."""
    if not resource:
        raise MalformedResource("the 'resource' query parameter is required")
    if len(resource) > MAX_RESOURCE_LENGTH:
        raise MalformedResource(f"resource is longer than {MAX_RESOURCE_LENGTH} characters")
    if not _clean(resource):
        raise MalformedResource("resource must not contain whitespace or control characters")
    scheme, sep, rest = resource.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise MalformedResource("resource must be a URI: an acct: URI or an http(s) URL")
    scheme = scheme.lower()
    if scheme == "acct":
        handle = unquote(rest).removeprefix("@")
        if not _clean(handle):  # %00 and friends, once decoded
            raise MalformedResource("resource must not contain whitespace or control characters")
        user, at, domain = handle.rpartition("@")
        if not at or not user or not domain or "@" in user or "/" in domain:
            raise MalformedResource("acct: resource must look like acct:user@domain")
        return AcctResource(user=user.lower(), domain=domain.lower())
    if scheme in ("http", "https"):
        try:
            parts = urlsplit(resource)
        except ValueError as exc:
            raise MalformedResource("resource is not a valid URL") from exc
        if not parts.netloc or parts.username or parts.password:
            raise MalformedResource("resource URL must have a host and no credentials")
        origin = f"{scheme}://{parts.netloc.lower()}"
        return UrlResource(url=resource, origin=origin, path=parts.path)
    return OtherResource(uri=resource, scheme=scheme)


def _clean(text: str) -> bool:
    return not any(ch.isspace() or not ch.isprintable() for ch in text)


def jrd(
    subject: str,
    links: Iterable[Mapping[str, str]],
    aliases: Iterable[str] = (),
    rels: Iterable[str] = (),
) -> dict[str, Any]:
    """A JSON Resource Descriptor; ``rels`` filters links as RFC 7033 section 4.3 says."""
    wanted = set(rels)
    doc: dict[str, Any] = {"subject": subject}
    alias_list = list(aliases)
    if alias_list:
        doc["aliases"] = alias_list
    doc["links"] = [dict(link) for link in links if not wanted or link["rel"] in wanted]
    return doc


def actor_links(actor_id: str) -> list[dict[str, str]]:
    """The ``self`` link pointing at an actor document."""
    return [{"rel": "self", "type": ACTIVITY_JSON, "href": actor_id}]


def server_actor_links(actor_id: str) -> list[dict[str, str]]:
    """Links for the node's origin (FEP-d556): the Service relation, plus ``self`` for Mastodon."""
    return [
        {"rel": SERVICE_REL, "type": ACTIVITY_JSON, "href": actor_id},
        {"rel": "self", "type": ACTIVITY_JSON, "href": actor_id},
    ]


def host_meta_xml(webfinger_template: str) -> str:
    """host-meta XRD document pointing at the WebFinger endpoint (LRDD template)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        '  <Link rel="lrdd" type="application/jrd+json" '
        f"template={quoteattr(webfinger_template)}/>\n"
        "</XRD>\n"
    )


def host_meta_json(webfinger_template: str) -> dict[str, Any]:
    """host-meta as JSON (RFC 6415 appendix A)."""
    return {
        "links": [{"rel": "lrdd", "type": "application/jrd+json", "template": webfinger_template}]
    }


def nodeinfo_index(nodeinfo_url: str, application_actor: str) -> dict[str, Any]:
    """``/.well-known/nodeinfo``: the 2.1 document and the Application actor (FEP-2677)."""
    return {
        "links": [
            {"rel": NODEINFO_21_REL, "href": nodeinfo_url},
            {"rel": APPLICATION_REL, "href": application_actor},
        ]
    }


@dataclass(frozen=True)
class NodeUsage:
    """User and post counts published in NodeInfo."""

    users_total: int
    active_month: int
    active_halfyear: int
    local_posts: int


def nodeinfo_document(
    *,
    software_version: str,
    usage: NodeUsage,
    open_registrations: bool,
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """NodeInfo 2.1 document."""
    return {
        "version": "2.1",
        "software": {"name": "quartier", "version": software_version},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": usage.users_total,
                "activeMonth": usage.active_month,
                "activeHalfyear": usage.active_halfyear,
            },
            "localPosts": usage.local_posts,
        },
        "metadata": dict(metadata),
    }
