"""Reading actor documents other servers publish (the parser side of :mod:`activitypub.actors`).

Plain JSON, in the compacted shapes Mastodon, GoToSocial, Pleroma/Akkoma and Misskey send: no
JSON-LD processing (bovine's parser fetches contexts over the network and, offline, silently
drops ``publicKey``). What federation needs is kept: identity, inboxes, and the keys the
actor vouches for, each bound to the actor as its owner or controller; and the profile apps show
of a remote account (display name, bio, avatar, header, profile page, when it was created,
whether it approves followers), each read in every legal form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urldefrag, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from activitypub.errors import ActorDocumentError, KeyFormatError
from activitypub.keys import multibase_to_ed25519
from activitypub.properties import link_href, natural_language, timestamp, values

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
MAX_KEYS = 20
MAX_URI_LENGTH = 2048
MAX_USERNAME_LENGTH = 255
MAX_NAME_LENGTH = 200
MAX_SUMMARY_LENGTH = 10_000  # the bio as published (HTML, sanitised when shown)

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


@dataclass(frozen=True)
class Profile:
    """What apps show of a remote account: its display name, its bio (HTML as published, to
    be sanitised by whoever shows it), avatar and header image URLs, the page of its profile,
    when it was created, whether it approves followers, and its followers collection."""

    name: str | None = None
    summary: str | None = None
    icon: str | None = None
    image: str | None = None
    url: str | None = None
    published: datetime | None = None
    manually_approves_followers: bool = False
    followers: str | None = None


def read_profile(doc: dict[str, Any], actor_id: str) -> Profile:
    """The profile of an actor document, every property in any legal form (``name`` or
    ``nameMap``; ``icon``/``image`` a URI, an ``Image`` whose ``url`` is a string, a Link or a
    list, or a list of them; ``url`` a string, a Link or a list, an HTML one preferred)."""
    name = natural_language(doc, "name").strip()
    summary = natural_language(doc, "summary").strip()
    return Profile(
        name=name[:MAX_NAME_LENGTH] or None,
        summary=summary[:MAX_SUMMARY_LENGTH] or None,
        icon=image_url(doc.get("icon")),
        image=image_url(doc.get("image")),
        url=_page(doc.get("url")),
        published=timestamp(doc.get("published")),
        manually_approves_followers=doc.get("manuallyApprovesFollowers") is True,
        followers=_own_link(doc.get("followers"), actor_id),
    )


def image_url(value: Any) -> str | None:
    """The URL of an image property: a URI, an ``Image`` (or Link) whose ``url`` or ``href``
    is one, in turn a string, a Link or a list; of a list, the first usable."""
    for item in values(value, limit=10):
        if isinstance(item, dict) and "url" in item:
            for candidate in values(item["url"], limit=10):
                if (found := link_href(candidate)) is not None:
                    return found
            continue
        if (found := link_href(item)) is not None:
            return found
    return None


def _page(value: Any) -> str | None:
    candidates = values(value, limit=10)
    html_first = sorted(
        candidates, key=lambda v: not (isinstance(v, dict) and v.get("mediaType") == "text/html")
    )
    for candidate in html_first:
        if (found := link_href(candidate)) is not None:
            return found
    return None


@dataclass(frozen=True)
class ActorDocument:
    """The parts of a remote actor we rely on."""

    actor_id: str
    actor_type: str
    inbox: str
    shared_inbox: str | None
    preferred_username: str | None
    # key id -> public key, only keys whose owner/controller is this actor
    keys: dict[str, PublicKey] = field(default_factory=dict)
    # our terms: the URL of a member's residency credential (on the actor's own host), and
    # of the endorsements a node gave (see docs/verification.md)
    residency_credential: str | None = None
    endorsements: str | None = None
    # the profile, as apps show it (see :class:`Profile`)
    profile: Profile = field(default_factory=lambda: Profile())

    @property
    def host(self) -> str:
        """Host (with port) of the actor id."""
        return urlsplit(self.actor_id).netloc.lower()


def parse_actor_document(doc: Any, fetched_from: str) -> ActorDocument:
    """Parse an actor document fetched from ``fetched_from``.

    The document's ``id`` must be ``fetched_from`` (fragment ignored) or at least on its host:
    a server must not be able to speak for actors of another host.
    """
    if not isinstance(doc, dict):
        raise ActorDocumentError("the actor document is not a JSON object")
    actor_id = _string(doc, "id")
    actor_type = doc.get("type")
    if isinstance(actor_type, list):
        actor_type = next((t for t in actor_type if isinstance(t, str) and t in ACTOR_TYPES), None)
    if not isinstance(actor_type, str) or actor_type not in ACTOR_TYPES:
        raise ActorDocumentError(f"not an actor type: {actor_type!r}")
    if not same_host(actor_id, urldefrag(fetched_from)[0]):
        raise ActorDocumentError(f"{fetched_from} served an actor of another host: {actor_id}")
    inbox = _string(doc, "inbox")
    if not same_host(inbox, actor_id):
        raise ActorDocumentError("the inbox is on another host than the actor")
    endpoints = doc.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    shared_inbox = shared if isinstance(shared, str) and same_host(shared, actor_id) else None
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or len(username) > MAX_USERNAME_LENGTH:
        username = None
    return ActorDocument(
        actor_id=actor_id,
        actor_type=str(actor_type),
        inbox=inbox,
        shared_inbox=shared_inbox,
        preferred_username=username,
        keys=_keys(doc, actor_id),
        residency_credential=_own_link(doc.get("residencyCredential"), actor_id),
        endorsements=_own_link(doc.get("endorsements"), actor_id),
        profile=read_profile(doc, actor_id),
    )


def _own_link(value: Any, actor_id: str) -> str | None:
    """A link the actor publishes about itself, kept only when on its own host (a server
    speaks for its own documents only)."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and len(value) <= 2048 and same_host(value, actor_id):
        return value
    return None


def key_owner(doc: Any, key_id: str) -> str | None:
    """Who a key document says owns ``key_id``: a key object (``owner``), or an actor or actor
    stub whose ``publicKey`` is that key (GoToSocial serves such a stub at its key URLs)."""
    if not isinstance(doc, dict):
        return None
    for entry in [doc, *_as_list(doc.get("publicKey"))]:
        if isinstance(entry, dict) and entry.get("id") == key_id:
            owner = entry.get("owner") or entry.get("controller")
            if isinstance(owner, str):
                return owner
    return None


def same_host(a: str, b: str) -> bool:
    """Whether two http(s) URLs share scheme, host and port (and neither carries credentials,
    which would make the host they name ambiguous to whoever compares them as text)."""
    try:
        pa, pb = urlsplit(a), urlsplit(b)
        return (
            pa.scheme in ("http", "https")
            and (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)
            and pa.hostname is not None
            and "@" not in pa.netloc
            and "@" not in pb.netloc
        )
    except ValueError:
        return False


def _keys(doc: dict[str, Any], actor_id: str) -> dict[str, PublicKey]:
    keys: dict[str, PublicKey] = {}
    for entry in _as_list(doc.get("publicKey"))[:MAX_KEYS]:
        if not isinstance(entry, dict):
            continue
        key_id, owner, pem = entry.get("id"), entry.get("owner"), entry.get("publicKeyPem")
        if not (isinstance(key_id, str) and isinstance(pem, str)) or owner != actor_id:
            continue
        try:
            key = serialization.load_pem_public_key(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError, TypeError):
            continue
        if isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
            keys[key_id] = key
    for entry in _as_list(doc.get("assertionMethod"))[:MAX_KEYS]:
        if not isinstance(entry, dict) or entry.get("type") != "Multikey":
            continue
        key_id, controller = entry.get("id"), entry.get("controller")
        multibase = entry.get("publicKeyMultibase")
        if not (isinstance(key_id, str) and isinstance(multibase, str)) or controller != actor_id:
            continue
        try:
            keys.setdefault(key_id, multibase_to_ed25519(multibase))
        except KeyFormatError:
            continue
    return keys


def _string(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URI_LENGTH:
        raise ActorDocumentError(f"the actor document has no valid {name!r}")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ActorDocumentError(f"{name!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ActorDocumentError(f"{name!r} is not an http(s) URL")
    if "@" in parts.netloc:  # user:pass@host: hides the real host from text comparisons
        raise ActorDocumentError(f"{name!r} carries credentials")
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
