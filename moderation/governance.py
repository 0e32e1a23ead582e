"""The community's governance policy: what may leave the node, to whom, and for how long it stays.

Pure values and decisions (no database, no network). The node validates the policy (from
``[governance]`` in ``quartier.toml``, or as an admin set it through the API) into a
:class:`GovernancePolicy`; the federation layer asks it about every delivery:

- :func:`content_kind` reads what an activity carries (a message, a listing, a profile) from
  the activity itself, never from what the service that queued it says, so a service cannot
  send what the policy forbids by describing it as something else;
- :meth:`GovernancePolicy.refusal` says whether that kind may go to a server that is (or is
  not) an active partner.

Withdrawals (``Delete``, ``Undo``) always go: they take back what was shared under an earlier,
more open policy, which is exactly what a community that narrows its policy wants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from moderation.policy import FederationMode


class Reach(StrEnum):
    """How far one kind of content may travel."""

    PUBLIC = "public"  # any server the federation mode lets us talk to
    PARTNERS = "partners"  # active partner nodes only
    NOBODY = "nobody"  # it never leaves the node

    def admits(self, partner: bool) -> bool:
        """Whether content with this reach may go to a server that is (or is not) a partner."""
        return self is Reach.PUBLIC or (self is Reach.PARTNERS and partner)


class SharedKind(StrEnum):
    """The kinds of member content the policy governs."""

    MESSAGES = "messages"  # direct messages, replies, responses to listings
    LISTINGS = "listings"  # offers and requests
    PROFILES = "profiles"  # members' profiles (display name, bio, avatar)
    REAL_NAMES = "real_names"  # members' real names
    CREDENTIALS = "credentials"  # residency credentials

    @property
    def label(self) -> str:
        """How the about page and NodeInfo name it."""
        return self.value.replace("_", " ")


# Object types that are listings (FEP-0837; ours are Notes carrying its terms, see
# _is_listing), and that are profiles.
_LISTING_TYPES = frozenset({"Proposal"})
_PROFILE_TYPES = frozenset({"Person"})
# Activities that take something back: never held back by the sharing policy.
_WITHDRAWALS = frozenset({"Delete", "Undo"})
# Activities that carry no member content of their own: following, partnerships, reports,
# blocks. (An Accept or Reject of a response to a listing is a message: see content_kind.)
_PLUMBING = frozenset({"Follow", "Block", "Flag", "Add", "Remove"})


def content_kind(activity: dict[str, Any]) -> SharedKind | None:
    """The kind of member content ``activity`` carries, or ``None`` for node plumbing (follows,
    partnership handshakes, reports, blocks) and for withdrawals (``Delete``, ``Undo``).

    Content it cannot recognise is counted as a message: the most private kind of content
    members create, so an unknown shape is held to the strictest common rule rather than let
    through.
    """
    kind = _type_of(activity)
    if kind in _WITHDRAWALS or kind in _PLUMBING:
        return None
    inner = activity.get("object")
    inner_type = _type_of(inner) if isinstance(inner, dict) else ""
    if kind in ("Accept", "Reject"):
        return SharedKind.MESSAGES if _is_answer_to_offer(activity) else None
    if kind == "Announce":
        # A group relays a listing (FEP-1b12: the activity, unaltered) or an object by id.
        return content_kind(inner) if isinstance(inner, dict) else SharedKind.LISTINGS
    if inner_type in _LISTING_TYPES or _is_listing(inner):
        return SharedKind.LISTINGS
    if inner_type in _PROFILE_TYPES:
        return SharedKind.PROFILES
    if kind in _LISTING_TYPES:
        return SharedKind.LISTINGS
    return SharedKind.MESSAGES


@dataclass(frozen=True)
class SharedContent:
    """What member content an activity shares, whose, and which object (for the ledger)."""

    kind: SharedKind
    owner: str  # the member whose content it is (their actor id), "" when it cannot be told
    subject: str  # the object's id, "" when it has none


def shared_content(activity: dict[str, Any]) -> SharedContent | None:
    """The member content ``activity`` shares (see :func:`content_kind`), or ``None``."""
    kind = content_kind(activity)
    if kind is None:
        return None
    if _type_of(activity) in ("Accept", "Reject"):
        subject = _id_of(activity.get("result")) or _id_of(activity.get("object"))
        return SharedContent(kind, _id_of(activity.get("actor")), subject)
    content: Any = activity
    # Down to the object itself: an Announce of a Create of a Proposal shares the Proposal.
    while isinstance(content, dict) and isinstance(content.get("object"), dict):
        content = content["object"]
    if not isinstance(content, dict):
        return SharedContent(kind, "", "")
    obj = content if content is not activity else {}
    inner = content.get("object") if content is not activity else activity.get("object")
    subject = _id_of(obj) or _id_of(inner)
    if _type_of(obj) in _PROFILE_TYPES:
        owner = subject
    else:
        owner = _id_of(obj.get("attributedTo")) or _id_of(_actor_of(activity, obj))
    return SharedContent(kind, owner, subject)


def _is_listing(obj: Any) -> bool:
    """A listing published as a ``Note`` (so Mastodon shows it) carries the FEP-0837
    ``Proposal`` terms on the Note itself: ``purpose`` and ``publishes``."""
    return isinstance(obj, dict) and "publishes" in obj and "purpose" in obj


def _is_answer_to_offer(activity: dict[str, Any]) -> bool:
    """Whether an Accept or Reject answers a response to a listing (FEP-0837: ``result`` the
    Agreement, or an Offer as its object, or a reason in ``content``), a message between two
    members, rather than a Follow or a partnership, which is plumbing."""
    inner = activity.get("object")
    return (
        _type_of(activity.get("result")) == "Agreement"
        or _type_of(inner) in ("Offer", "Agreement")
        or bool(activity.get("content"))
    )


def _actor_of(activity: dict[str, Any], content: dict[str, Any]) -> Any:
    """The actor of the innermost activity around ``content``."""
    actor: Any = activity.get("actor")
    value: Any = activity
    while isinstance(value, dict) and value is not content:
        if "actor" in value:
            actor = value["actor"]
        value = value.get("object")
    return actor


def _id_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return next((_id_of(item) for item in value if _id_of(item)), "")
    if isinstance(value, dict):
        ident = value.get("id")
        return ident if isinstance(ident, str) else ""
    return ""


def _type_of(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    kind = value.get("type")
    if isinstance(kind, list):  # a type may be a list; the first one we know decides
        kind = next((k for k in kind if isinstance(k, str)), "")
    return kind if isinstance(kind, str) else ""


@dataclass(frozen=True)
class Retention:
    """How long things stay, in days; ``None`` keeps them for ever."""

    expired_listings: int | None = 90  # after a listing expired or was withdrawn
    messages: int | None = None  # after a message was sent or received
    inbound_log: int = 14  # processed inbound activities (the dedupe record)
    delivery_log: int = 7  # delivered deliveries (dead ones are kept 30 days for retries)
    audit: int | None = 730  # moderation and governance audit entries


@dataclass(frozen=True)
class GovernancePolicy:
    """What the community decided. Validated by the node before it gets here."""

    federation_mode: FederationMode = FederationMode.OPEN

    sharing: dict[SharedKind, Reach] = field(
        default_factory=lambda: {
            SharedKind.MESSAGES: Reach.PUBLIC,
            SharedKind.LISTINGS: Reach.PUBLIC,
            SharedKind.PROFILES: Reach.PUBLIC,
            SharedKind.REAL_NAMES: Reach.NOBODY,
            SharedKind.CREDENTIALS: Reach.PUBLIC,
        }
    )
    # Whether partner nodes may pass our public listings on (their groups announce them).
    partners_may_relay: bool = True
    # Roles whose members may publish notices to the whole node.
    notices_by: tuple[str, ...] = ("admin", "manager")
    retention: Retention = field(default_factory=Retention)

    def reach(self, kind: SharedKind) -> Reach:
        """How far ``kind`` may travel."""
        return self.sharing.get(kind, Reach.NOBODY)

    def refusal(self, activity_kind: SharedKind | None, partner: bool) -> str | None:
        """Why content of ``activity_kind`` may not go to a server that is (or is not) an
        active partner, or ``None`` when it may."""
        if activity_kind is None:
            return None
        reach = self.reach(activity_kind)
        if reach.admits(partner):
            return None
        if reach is Reach.NOBODY:
            return f"this node's community keeps {activity_kind.label} on the node"
        return f"this node's community shares {activity_kind.label} with partner nodes only"

    def summary(self) -> dict[str, Any]:
        """The policy as NodeInfo ``metadata.governance`` and the about page publish it."""
        keep = self.retention
        return {
            "federationMode": self.federation_mode.value,
            "sharing": {kind.value: self.reach(kind).value for kind in SharedKind},
            "partnersMayRelay": self.partners_may_relay,
            "noticesBy": list(self.notices_by),
            "retentionDays": {
                "expiredListings": keep.expired_listings,
                "messages": keep.messages,
                "inboundLog": keep.inbound_log,
                "deliveryLog": keep.delivery_log,
                "audit": keep.audit,
            },
        }
