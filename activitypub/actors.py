"""Actor documents: members as ``Person``, the node as ``Application``.

Every actor publishes an RSA-2048 ``publicKey`` (PEM; draft-cavage HTTP signatures, understood by
Mastodon and most of the fediverse) and an Ed25519 key as a ``Multikey`` in ``assertionMethod``
(FEP-521a; used for integrity proofs).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from activitypub.namespace import NAMESPACE
from activitypub.uris import UriScheme

ACTOR_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    "https://w3id.org/security/multikey/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        # Pinned posts, in Mastodon's vocabulary (which GoToSocial reads too).
        "featured": {"@id": "toot:featured", "@type": "@id"},
        # Neither security/v1 nor multikey/v1 defines assertionMethod: without this term a
        # JSON-LD processor would drop the FEP-521a key.
        "assertionMethod": {
            "@id": "https://w3id.org/security#assertionMethod",
            "@type": "@id",
            "@container": "@set",
        },
    },
]

# Profile fields as Mastodon shows them (schema.org PropertyValue, Mastodon's own mapping).
_PROFILE_FIELD_TERMS = {
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
}
# Our terms on actors (docs/verification.md): a member's residency credential, and the
# endorsements a municipality node gave.
RESIDENCY_CREDENTIAL_TERM = "residencyCredential"
ENDORSEMENTS_TERM = "endorsements"
_OUR_ACTOR_TERMS = {
    RESIDENCY_CREDENTIAL_TERM: {"@id": f"{NAMESPACE}residencyCredential", "@type": "@id"},
    ENDORSEMENTS_TERM: {"@id": f"{NAMESPACE}endorsements", "@type": "@id"},
}


@dataclass(frozen=True)
class Residency:
    """A member's residency credential, as their actor document links and shows it."""

    credential: str  # its URL
    community: str  # the community's name
    issuer_host: str  # who attests it


def _extended_context(terms: dict[str, Any]) -> list[Any]:
    *base, local = ACTOR_CONTEXT
    return [*base, {**local, **terms}]


@dataclass(frozen=True)
class ActorDescription:
    """What a renderer needs to know about an actor; plain values only."""

    actor_id: str
    actor_type: str  # "Person", "Group" or "Application"
    preferred_username: str
    name: str
    summary: str  # plain text; escaped into HTML here
    inbox: str
    outbox: str
    followers: str
    following: str
    shared_inbox: str
    url: str
    published: datetime
    rsa_public_pem: str
    ed25519_multibase: str
    manually_approves_followers: bool = True
    residency: Residency | None = None
    endorsements: str | None = None  # the collection of endorsements given (a municipality)
    real_name: str | None = None  # shown as a "Real name" profile field when the node shares it


def actor_document(actor: ActorDescription) -> dict[str, Any]:
    """The ActivityStreams document of an actor."""
    doc: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": actor.actor_id,
        "type": actor.actor_type,
        "preferredUsername": actor.preferred_username,
        "name": actor.name,
        "summary": plain_text_to_html(actor.summary),
        "url": actor.url,
        "inbox": actor.inbox,
        "outbox": actor.outbox,
        "followers": actor.followers,
        "following": actor.following,
        # Every actor of ours serves it. GoToSocial fetches it with the actor and logs an error
        # when it is absent.
        "featured": UriScheme.featured(actor.actor_id),
        "endpoints": {"sharedInbox": actor.shared_inbox},
        "manuallyApprovesFollowers": actor.manually_approves_followers,
        "published": actor.published.isoformat().replace("+00:00", "Z"),
        "publicKey": {
            "id": UriScheme.rsa_key_id(actor.actor_id),
            "owner": actor.actor_id,
            "publicKeyPem": actor.rsa_public_pem,
        },
        "assertionMethod": [
            {
                "id": UriScheme.ed25519_key_id(actor.actor_id),
                "type": "Multikey",
                "controller": actor.actor_id,
                "publicKeyMultibase": actor.ed25519_multibase,
            }
        ],
    }
    terms: dict[str, Any] = {}
    if actor.residency is not None:
        terms |= {**_PROFILE_FIELD_TERMS, **_OUR_ACTOR_TERMS}
        doc[RESIDENCY_CREDENTIAL_TERM] = actor.residency.credential
        # What any fediverse client shows as a profile field; the credential is what counts.
        doc["attachment"] = [
            {
                "type": "PropertyValue",
                "name": "Verified resident",
                "value": html.escape(
                    f"{actor.residency.community} (attested by {actor.residency.issuer_host})"
                ),
            }
        ]
    if actor.real_name:
        terms |= _PROFILE_FIELD_TERMS
        doc.setdefault("attachment", []).append(
            {"type": "PropertyValue", "name": "Real name", "value": html.escape(actor.real_name)}
        )
    if actor.endorsements is not None:
        terms |= _OUR_ACTOR_TERMS
        doc[ENDORSEMENTS_TERM] = actor.endorsements
    if terms:
        doc["@context"] = _extended_context(terms)
    return doc


def plain_text_to_html(text: str) -> str:
    """Render user-written plain text as safe HTML: escaped, paragraphs and line breaks kept.

    Members write plain text; we never accept their HTML, so nothing needs sanitising here,
    only escaping.
    """
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.strip().split("\n")) + "</p>"
        for p in paragraphs
    )
