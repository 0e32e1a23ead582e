"""Every URL the node mints, in one place.

Handlers, renderers and tests build URLs only through :class:`UriScheme`, so the routes and the
documents can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

INSTANCE_ACTOR_PATH = "/actor"


@dataclass(frozen=True)
class UriScheme:
    """Mints the node's URLs from its public base URL (scheme and host, no path)."""

    base_url: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def domain(self) -> str:
        """Host (and port, when not the default) of the node, as used in ``acct:`` handles."""
        return urlsplit(self.base_url).netloc

    @property
    def hostname(self) -> str:
        """Host name of the node, without port."""
        return urlsplit(self.base_url).hostname or ""

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this node."""
        return f"{self.base_url}{path}"

    # Actors
    @property
    def instance_actor(self) -> str:
        """The node's Application actor (FEP-2677, FEP-d556)."""
        return self.url(INSTANCE_ACTOR_PATH)

    def actor(self, username: str) -> str:
        """Actor id of a local member (``Person``)."""
        return self.url(f"/users/{username}")

    def group(self, slug: str) -> str:
        """Actor id of one of the node's ``Group`` actors (the neighbourhood, later circles)."""
        return self.url(f"/groups/{slug}")

    def group_slug_from_actor(self, actor_id: str) -> str | None:
        """The slug of a local group's actor id, or ``None`` if it is not one of ours."""
        return self._segment_after("/groups/", actor_id)

    @staticmethod
    def collection(actor_id: str, name: str) -> str:
        """One of an actor's endpoints: ``inbox``, ``outbox``, ``followers``, ``following``."""
        return f"{actor_id}/{name}"

    @staticmethod
    def featured(actor_id: str) -> str:
        """An actor's ``featured`` collection (pinned objects, Mastodon's ``toot:featured``)."""
        return f"{actor_id}/featured"

    @property
    def shared_inbox(self) -> str:
        """The node's shared inbox."""
        return self.url("/inbox")

    @staticmethod
    def rsa_key_id(actor_id: str) -> str:
        """``keyId`` of an actor's RSA key (draft-cavage HTTP signatures)."""
        return f"{actor_id}#main-key"

    @staticmethod
    def ed25519_key_id(actor_id: str) -> str:
        """Id of an actor's Ed25519 Multikey (FEP-521a, integrity proofs)."""
        return f"{actor_id}#ed25519-key"

    # Discovery
    @property
    def nodeinfo(self) -> str:
        """NodeInfo 2.1 document."""
        return self.url("/nodeinfo/2.1")

    @property
    def webfinger_template(self) -> str:
        """LRDD template advertised in host-meta."""
        return self.url("/.well-known/webfinger?resource={uri}")

    def username_from_actor(self, actor_id: str) -> str | None:
        """Local username for a local actor id, or ``None`` if the URL is not one of ours."""
        return self._segment_after("/users/", actor_id)

    def _segment_after(self, path: str, actor_id: str) -> str | None:
        """The one path segment of ``actor_id`` after our ``path`` (nothing more: no further
        segment, fragment or query), or ``None``."""
        prefix = self.url(path)
        if not actor_id.startswith(prefix):
            return None
        rest = actor_id[len(prefix) :]
        if not rest or "/" in rest or "#" in rest or "?" in rest:
            return None
        return rest

    # Media
    def media(self, file: str) -> str:
        """A stored photo or thumbnail, by its file name."""
        return self.url(f"/media/{file}")

    # Credentials
    def credential(self, token: str) -> str:
        """A verifiable credential this node issued (residency or endorsement)."""
        return self.url(f"/credentials/{token}")

    @property
    def status_list(self) -> str:
        """The node's revocation list (W3C Bitstring Status List)."""
        return self.url("/credentials/status/revocation")

    @property
    def endorsements(self) -> str:
        """The endorsements this node (a municipality) gave to other nodes."""
        return self.url("/credentials/endorsements")
