"""Settings: ``quartier.toml`` plus ``QUARTIER_<SECTION>_<KEY>`` environment overrides.

Loaded once into a frozen :class:`Settings` and validated; every error names the field (and the
environment variable when it came from one) and says what was expected. Other packages never read
the environment: they receive the values they need as arguments.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from activitypub.uris import UriScheme
from moderation.errors import PolicyError
from moderation.governance import GovernancePolicy, Reach, Retention, SharedKind
from moderation.policy import FederationMode
from node.errors import ConfigError

ENV_PREFIX = "QUARTIER_"
CONFIG_ENV = "QUARTIER_CONFIG"
DEFAULT_CONFIG_PATH = Path("quartier.toml")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
# A DNS name or an IP address, with an optional port (a node's host, as in its actor ids).
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}(?::[0-9]{1,5})?")
# QUARTIER_* variables that are not settings: the config path, ./run's virtualenv, the tests'
# PostgreSQL. Any other QUARTIER_* variable must name a setting, so typos are caught.
NON_SETTING_VARIABLES = frozenset({"QUARTIER_CONFIG", "QUARTIER_VENV", "QUARTIER_TEST_POSTGRES"})


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class CommunityKind(StrEnum):
    """What sort of community a node serves. A ``municipality`` federates its districts: its
    notices reach every partner district's members, and its directory lists them."""

    NEIGHBOURHOOD = "neighbourhood"
    RESIDENCE = "residence"
    VILLAGE = "village"
    DISTRICT = "district"
    MUNICIPALITY = "municipality"


def _choice(value: Any, kind: type[Reach] | type[FederationMode] | type[CommunityKind]) -> Any:
    """A string as the enum ``kind``, or a ValueError listing the choices (strict mode would
    refuse the string without saying what it wanted)."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value) if isinstance(value, str) else kind("")
    except ValueError:
        raise ValueError(f"must be one of {', '.join(k.value for k in kind)}") from None


class ServerSettings(_Section):
    """How the node is reached and served.

    ``base_url`` left unset is derived from ``host`` and ``port`` (``http://127.0.0.1:9000`` for
    port 9000), so changing the port alone changes every URL the node announces with it. A host
    that listens on every address (``0.0.0.0``, ``::``) says nothing about how others reach the
    node: then ``base_url`` must be set.
    """

    # Empty: derived from host and port (see base_url_derived).
    base_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Reverse proxies whose X-Forwarded-For we believe (addresses or networks). Without this,
    # behind a proxy every client has the proxy's address and shares its rate limits.
    trusted_proxies: tuple[str, ...] = ()
    _base_url_derived: bool = PrivateAttr(default=False)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @cached_property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` parsed."""
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://quartier.example")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError("must be an origin only (scheme, host, optional port), no path")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _derive_base_url(self) -> ServerSettings:
        if self.base_url:
            return self
        if _listens_everywhere(self.host):
            raise PydanticCustomError(
                BASE_URL_REQUIRED,
                "not set, and host {host} listens on every address, so the node cannot tell "
                "the URL others reach it at: set server.base_url (or QUARTIER_SERVER_BASE_URL, "
                "or serve --base-url) to the public origin, e.g. https://quartier.example",
                {"host": repr(self.host)},
            )
        # Frozen model: the one write, during validation, before anyone can read the value.
        object.__setattr__(self, "base_url", _origin("http", self.host, self.port))
        self._base_url_derived = True
        return self

    @property
    def base_url_derived(self) -> bool:
        """Whether ``base_url`` was derived from host and port rather than configured."""
        return self._base_url_derived

    def port_mismatch(self) -> str | None:
        """A warning when a configured ``base_url`` points at this machine on another port than
        the one the node listens on (a configuration copied before the port changed), else
        ``None``. Not an error: a local proxy may forward that port."""
        parts = urlsplit(self.base_url)
        public_port = parts.port or (443 if parts.scheme == "https" else 80)
        if self.base_url_derived or public_port == self.port:
            return None
        if not (_is_loopback(parts.hostname or "") or parts.hostname == self.host):
            return None
        return (
            f"server.base_url is {self.base_url} but the node listens on port {self.port}: "
            "the URLs it announces lead elsewhere unless a proxy forwards that port; remove "
            "server.base_url to derive it from host and port, or correct it"
        )


BASE_URL_REQUIRED = "base_url_required"


def _listens_everywhere(host: str) -> bool:
    try:
        return not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(scheme: str, host: str, port: int) -> str:
    """``scheme://host[:port]``, brackets around an IPv6 address, no port when the default."""
    name = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{name}" if port == default else f"{scheme}://{name}:{port}"


class StorageSettings(_Section):
    """Where the node keeps its data."""

    data_dir: str = "data"
    # Empty: a SQLite file in data_dir. Otherwise sqlite://PATH or postgres://USER:PASS@HOST/DB.
    database_url: str = ""

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        return value


class CommunitySettings(_Section):
    """Who the node is for; published in NodeInfo."""

    name: str = Field(default="My neighbourhood", min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    area: str = Field(default="", max_length=200)
    languages: tuple[str, ...] = ("en",)
    federation_mode: FederationMode = FederationMode.OPEN
    kind: CommunityKind = CommunityKind.NEIGHBOURHOOD
    # The middle of the area: where a listing is placed when its author gives no point.
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> CommunitySettings:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together: set both or neither")
        return self

    @field_validator("languages", mode="before")
    @classmethod
    def _languages_list(cls, value: Any) -> Any:
        # TOML gives a list; the strict tuple type would refuse it.
        return tuple(value) if isinstance(value, list) else value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must list at least one language")
        for tag in value:
            if not _LANGUAGE.fullmatch(tag):
                raise ValueError(f"{tag!r} is not a BCP 47 language tag such as 'fr' or 'pt-BR'")
        return value

    @field_validator("federation_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return _choice(value, FederationMode)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return _choice(value, CommunityKind)


class AccountSettings(_Section):
    """Registration, sessions and login protection."""

    invite_ttl_hours: int = Field(default=168, ge=1, le=24 * 365)
    session_ttl_days: int = Field(default=30, ge=1, le=365)
    login_max_attempts: int = Field(default=5, ge=1, le=1000)
    login_window_seconds: int = Field(default=900, ge=1, le=86_400)


class FederationSettings(_Section):
    """Talking to other servers."""

    # Allow plain http and loopback/private addresses for outbound requests. Only for nodes
    # federating with each other on one machine or LAN during development and tests.
    local_testing: bool = False
    request_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    max_response_bytes: int = Field(default=1_048_576, ge=1024, le=50 * 1_048_576)


class ListingSettings(_Section):
    """The marketplace: how long listings last, how many a member may have, how places blur."""

    default_expiry_days: int = Field(default=30, ge=1, le=365)
    max_expiry_days: int = Field(default=365, ge=1, le=3650)
    # A reminder goes to the author this long before their listing expires.
    reminder_hours: int = Field(default=48, ge=1, le=24 * 30)
    max_open_per_member: int = Field(default=50, ge=1, le=10_000)
    creations_per_hour: int = Field(default=20, ge=1, le=10_000)
    # A listing's point is snapped to a grid of this size and shown with this radius.
    place_radius_m: int = Field(default=500, ge=100, le=50_000)


class ContentSettings(_Section):
    """What members may post: links and mentions per post, and how much per hour.

    Listings per hour are ``listings.creations_per_hour`` (counted in the database, so they
    hold across restarts); the rest are counted per process by a sliding window.
    """

    # Links and @-mentions one post (listing, message, response to a listing) may carry.
    max_links: int = Field(default=10, ge=0, le=1000)
    max_mentions: int = Field(default=10, ge=0, le=1000)
    # What one member may create per hour, each kind on its own count.
    messages_per_hour: int = Field(default=120, ge=1, le=100_000)
    responses_per_hour: int = Field(default=30, ge=1, le=100_000)
    follows_per_hour: int = Field(default=60, ge=1, le=100_000)
    reports_per_hour: int = Field(default=10, ge=1, le=100_000)
    problems_per_hour: int = Field(default=10, ge=1, le=100_000)


class MediaSettings(_Section):
    """Listing photos: what an upload may be, what is kept, for how long.

    ``max_pixels`` stays under Pillow's own decompression-bomb guard (89 million pixels, where
    it starts warning), so ours is always the limit that answers, with our message.
    """

    max_upload_bytes: int = Field(default=10 * 1_048_576, ge=1024, le=100 * 1_048_576)
    max_pixels: int = Field(default=50_000_000, ge=10_000, le=89_000_000)
    max_side: int = Field(default=1600, ge=64, le=8192)
    thumbnail_side: int = Field(default=400, ge=32, le=2048)
    photos_per_listing: int = Field(default=4, ge=1, le=20)
    # Uploads a member may make per hour (photos are costly to decode and store).
    uploads_per_hour: int = Field(default=60, ge=1, le=10_000)
    # Copies of partner listings' photos; beyond this the oldest are evicted (0: cache none).
    remote_cache_bytes: int = Field(default=1024 * 1_048_576, ge=0, le=1024 * 1024 * 1_048_576)
    # An upload no listing took within this time is deleted.
    orphan_hours: int = Field(default=24, ge=1, le=24 * 30)

    @field_validator("thumbnail_side")
    @classmethod
    def _thumbnail_not_larger(cls, value: int, info: ValidationInfo) -> int:
        max_side = info.data.get("max_side")  # absent when max_side itself was invalid
        if max_side is not None and value > max_side:
            raise ValueError(f"must not exceed media.max_side ({max_side})")
        return value


class VerificationSettings(_Section):
    """Verified neighbours: proofs of residence, vouching, residency credentials, trust."""

    # Distinct verified members whose vouches verify a neighbour.
    vouches_needed: int = Field(default=2, ge=1, le=20)
    # A proof of residence is deleted at the decision, and after this many days without one.
    document_max_days: int = Field(default=30, ge=1, le=365)
    document_max_bytes: int = Field(default=10 * 1_048_576, ge=1024, le=50 * 1_048_576)
    # A residency credential is valid this long, and renewed this long before it ends.
    credential_days: int = Field(default=365, ge=7, le=3650)
    renew_days_before: int = Field(default=30, ge=1, le=365)
    # Nodes whose residency credentials we accept besides our active partners', and nodes
    # (a municipality) whose endorsement of a node makes that node's credentials accepted:
    # each a host ("tilleuls.example", meaning https) or an origin ("http://127.0.0.1:8001").
    trusted_issuers: tuple[str, ...] = ()
    trust_anchors: tuple[str, ...] = ()
    # How often other nodes' revocation lists are fetched again.
    status_refresh_minutes: int = Field(default=60, ge=1, le=24 * 60)

    @field_validator("trusted_issuers", "trust_anchors", mode="before")
    @classmethod
    def _hosts_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @field_validator("trusted_issuers", "trust_anchors")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        origins = []
        for entry in value:
            text = entry.strip().lower().rstrip("/")
            scheme, sep, host = text.partition("://")
            if not sep:
                scheme, host = "https", text
            if scheme not in ("http", "https") or not _HOST.fullmatch(host):
                raise ValueError(
                    f"{entry!r} is not a host such as 'tilleuls.example' or an origin such as "
                    "'https://tilleuls.example' (no path)"
                )
            origins.append(f"{scheme}://{host}")
        return tuple(origins)

    @model_validator(mode="after")
    def _renewal_inside_validity(self) -> VerificationSettings:
        if self.renew_days_before >= self.credential_days:
            raise ValueError("renew_days_before must be shorter than credential_days")
        return self


# Who may publish notices: member roles, as node.members.models.Role names them.
NOTICE_ROLES = ("admin", "moderator", "manager", "resident")


class GovernanceSettings(_Section):
    """What the community lets leave the node, to whom, and how long things stay.

    Each kind of content goes to ``public`` (any server the federation mode allows),
    ``partners`` (active partner nodes only) or ``nobody``. Retention periods are in days;
    0 keeps for ever where that is allowed.
    """

    messages: Reach = Reach.PUBLIC
    listings: Reach = Reach.PUBLIC
    profiles: Reach = Reach.PUBLIC
    real_names: Reach = Reach.NOBODY
    credentials: Reach = Reach.PUBLIC
    partners_may_relay: bool = True
    notices_by: tuple[str, ...] = ("admin", "manager")
    keep_expired_listings_days: int = Field(default=90, ge=0, le=36_500)
    keep_messages_days: int = Field(default=0, ge=0, le=36_500)
    # The dedupe record of what other servers sent: shorter would let their retries in twice.
    keep_inbound_days: int = Field(default=14, ge=7, le=3650)
    keep_deliveries_days: int = Field(default=7, ge=1, le=3650)
    keep_audit_days: int = Field(default=730, ge=0, le=36_500)

    @field_validator("messages", "listings", "profiles", "real_names", "credentials", mode="before")
    @classmethod
    def _reach(cls, value: Any) -> Any:
        return _choice(value, Reach)

    @field_validator("notices_by", mode="before")
    @classmethod
    def _roles_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @field_validator("notices_by")
    @classmethod
    def _roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one role (admin, to keep notices to admins)")
        for role in value:
            if role not in NOTICE_ROLES:
                raise ValueError(f"{role!r} is not a role: give some of {', '.join(NOTICE_ROLES)}")
        return tuple(dict.fromkeys(value))

    def policy(self, mode: FederationMode) -> GovernancePolicy:
        """The policy these settings describe, with the node's federation ``mode``."""
        return GovernancePolicy(
            federation_mode=mode,
            sharing={kind: getattr(self, kind.value) for kind in SharedKind},
            partners_may_relay=self.partners_may_relay,
            notices_by=self.notices_by,
            retention=Retention(
                expired_listings=self.keep_expired_listings_days or None,
                messages=self.keep_messages_days or None,
                inbound_log=self.keep_inbound_days,
                delivery_log=self.keep_deliveries_days,
                audit=self.keep_audit_days or None,
            ),
        )


class PolicySettings(GovernanceSettings):
    """The whole governance policy as the admin API reads and changes it: the
    ``[governance]`` settings and the federation mode (``[community]`` in the file)."""

    federation_mode: FederationMode = FederationMode.OPEN

    @field_validator("federation_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return _choice(value, FederationMode)

    def policy(self, mode: FederationMode | None = None) -> GovernancePolicy:
        """The policy, with its own federation mode."""
        return super().policy(mode or self.federation_mode)


def parse_policy(values: Mapping[str, Any]) -> GovernancePolicy:
    """Validate governance ``values`` (``[governance]`` settings and ``federation_mode``) into
    a policy, or raise ``PolicyError`` naming each setting at fault and what it expected."""
    try:
        return PolicySettings.model_validate(dict(values)).policy()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
            if error["type"] == "extra_forbidden":
                known = ", ".join(PolicySettings.model_fields)
                problems.append((name, f"unknown setting; known: {known}"))
                continue
            message = error["msg"].removeprefix("Value error, ")
            problems.append((name, f"{message}; got {error.get('input')!r}"))
        text = "; ".join(f"{name}: {message}" for name, message in problems)
        raise PolicyError(text, problems) from None


def policy_values(settings: Settings) -> dict[str, Any]:
    """The governance settings of the file (and environment), as :func:`parse_policy` reads
    them: ``[governance]`` and ``[community] federation_mode``."""
    values: dict[str, Any] = settings.governance.model_dump(mode="json")
    values["federation_mode"] = settings.community.federation_mode.value
    return values


DEFAULT_PROBLEM_CATEGORIES = (
    "lighting",
    "roads",
    "cleanliness",
    "lift",
    "heating",
    "noise",
    "waste",
    "water",
    "other",
)
_CATEGORY = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_HANDLER_HOST = re.compile(r"[a-z0-9.-]{1,253}(:[0-9]{1,5})?")
# A category handled by this node's managers (and admins), not sent to another node.
MANAGERS = "managers"


class ProblemSettings(_Section):
    """Problem reports: the categories members choose from and who handles each.

    A handler is ``managers`` (this node's managers and admins) or the host of a partner
    node (a municipality). Only the syntax is checked here: whether a host is an active
    partner is asked when a member reports, since partnerships change while the node runs.
    """

    categories: tuple[str, ...] = DEFAULT_PROBLEM_CATEGORIES
    # category -> handler; categories not named go to ``default``
    routes: dict[str, str] = Field(default_factory=dict)
    default: str = MANAGERS
    # Whether a remote handler learns who reported (the member's actor) or only that a
    # resident of this node did (the default: the node's own actor sends it, as Flags are).
    share_reporter: bool = False
    # A problem's place must lie within this distance of the community's centre (when the
    # community has coordinates); "me too" suggestions look this far around a new report.
    max_distance_km: float = Field(default=10.0, gt=0, le=1000)
    similar_radius_m: int = Field(default=200, ge=10, le=10_000)

    @field_validator("categories", mode="before")
    @classmethod
    def _categories_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # QUARTIER_PROBLEMS_CATEGORIES=a,b
            value = [v.strip() for v in value.split(",") if v.strip()]
        return tuple(value) if isinstance(value, list) else value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must list at least one category")
        for name in value:
            if not _CATEGORY.fullmatch(name):
                raise ValueError(f"{name!r} is not a category name (a-z, 0-9, - and _)")
        return value

    @field_validator("routes", mode="before")
    @classmethod
    def _routes_text(cls, value: Any) -> Any:
        # QUARTIER_PROBLEMS_ROUTES=lighting=mairie.example,lift=managers
        if isinstance(value, str):
            pairs = [item.partition("=") for item in value.split(",") if item.strip()]
            return {k.strip(): v.strip() for k, _, v in pairs}
        return value

    @field_validator("default")
    @classmethod
    def _default(cls, value: str) -> str:
        return _handler(value)

    @model_validator(mode="after")
    def _routes(self) -> ProblemSettings:
        for category, handler in self.routes.items():
            if category not in self.categories:
                raise ValueError(f"routes names {category!r}, which is not in categories")
            _handler(handler)
        return self

    def handler_of(self, category: str) -> str:
        """Who handles ``category``: ``managers`` or a partner node's host."""
        return self.routes.get(category, self.default).lower()


def _handler(value: str) -> str:
    if value != MANAGERS and not _HANDLER_HOST.fullmatch(value.lower()):
        raise ValueError(f"{value!r} is neither 'managers' nor a host such as mairie.example")
    return value


class Settings(_Section):
    """All settings of one node. Frozen: load once, pass around."""

    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    community: CommunitySettings = CommunitySettings()
    accounts: AccountSettings = AccountSettings()
    federation: FederationSettings = FederationSettings()
    listings: ListingSettings = ListingSettings()
    content: ContentSettings = ContentSettings()
    media: MediaSettings = MediaSettings()
    verification: VerificationSettings = VerificationSettings()
    governance: GovernanceSettings = GovernanceSettings()
    problems: ProblemSettings = ProblemSettings()
    # Directory relative paths are resolved against (the config file's directory).
    root: str = Field(default=".", exclude=True)

    @cached_property
    def uris(self) -> UriScheme:
        """The node's URL minting scheme."""
        return UriScheme(self.server.base_url)

    @property
    def data_path(self) -> Path:
        """Absolute data directory."""
        return (Path(self.root) / self.storage.data_dir).resolve()

    @property
    def database_url(self) -> str:
        """Database URL actually used: the configured one, or SQLite in the data directory."""
        if self.storage.database_url:
            return self.storage.database_url
        return f"sqlite://{self.data_path / 'quartier.sqlite3'}"

    @property
    def media_path(self) -> Path:
        """Where photos and thumbnails are stored: ``media`` in the data directory."""
        return self.data_path / "media"

    @property
    def documents_path(self) -> Path:
        """Where proofs of residence wait, encrypted, for a decision."""
        return self.data_path / "documents"

    @property
    def document_key_path(self) -> Path:
        """The key that encrypts proofs of residence: its own file, never in the database."""
        return self.data_path / "document.key"


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Load settings from a TOML file (optional) and the environment, and validate them.

    ``path`` defaults to ``$QUARTIER_CONFIG`` or ``./quartier.toml``; a missing default file is
    fine (built-in defaults apply), a missing explicitly named file is an error. ``overrides``
    (``{"server.port": 9000}``, from command-line options) win over both.
    """
    env = os.environ if environ is None else environ
    explicit = path is not None or CONFIG_ENV in env
    config_path = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    elif explicit:
        raise ConfigError(f"{config_path}: no such file (run 'quartier init' to create one)")
    if "root" in data:
        raise ConfigError(f"{config_path}: root: unknown setting")
    origin = {key: f"{config_path}" for key in _flatten(data)}
    layers = [
        (section, field, value, f"environment variable {key}")
        for key, (section, field, value) in _env_overrides(env).items()
    ]
    for dotted, value in (overrides or {}).items():
        section, _, field = dotted.partition(".")
        layers.append((section, field, value, "the command line"))
    for section, field, value, source in layers:
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            raise ConfigError(f"{config_path}: [{section}] must be a table")
        data[section][field] = value
        origin[f"{section}.{field}"] = source
    data["root"] = str(config_path.parent.resolve())
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin, config_path)) from None


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    if password is None:
        return url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _flatten(data: Mapping[str, Any]) -> list[str]:
    keys: list[str] = []
    for section, value in data.items():
        if isinstance(value, dict):
            keys.extend(f"{section}.{field}" for field in value)
        else:
            keys.append(section)
    return keys


def _env_overrides(env: Mapping[str, str]) -> dict[str, tuple[str, str, Any]]:
    """``QUARTIER_SECTION_FIELD`` variables, converted to the field's type."""
    overrides: dict[str, tuple[str, str, Any]] = {}
    sections = {
        name: info.annotation
        for name, info in Settings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, _Section)
    }
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX) or key in NON_SETTING_VARIABLES:
            continue
        rest = key[len(ENV_PREFIX) :].lower()
        for section, model in sections.items():
            if not rest.startswith(section + "_"):
                continue
            field = rest[len(section) + 1 :]
            info = model.model_fields.get(field)  # type: ignore[union-attr]
            if info is None:
                raise ConfigError(f"environment variable {key}: unknown setting {section}.{field}")
            overrides[key] = (section, field, _convert_env(key, raw, info.annotation))
            break
        else:
            raise ConfigError(f"environment variable {key}: unknown setting section")
    return overrides


def _convert_env(key: str, raw: str, annotation: Any) -> Any:
    optional = [arg for arg in get_args(annotation) if arg is not type(None)]
    if len(optional) == 1 and len(get_args(annotation)) == 2:
        # ``float | None``: an empty variable means none, anything else the inner type.
        return None if not raw.strip() else _convert_env(key, raw, optional[0])
    if annotation is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"environment variable {key}: expected true or false, got {raw!r}")
    if annotation is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(
                f"environment variable {key}: expected a number, got {raw!r}"
            ) from None
    if annotation is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(
                f"environment variable {key}: expected an integer, got {raw!r}"
            ) from None
    if get_origin(annotation) is tuple and get_args(annotation)[0] is str:
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _describe(exc: ValidationError, origin: Mapping[str, str], path: Path) -> str:
    problems = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
        where = origin.get(loc, str(path))
        if error["type"] == "extra_forbidden":
            known = _known_fields(error["loc"][:-1])
            problems.append(f"{loc} (in {where}): unknown setting; known: {known}")
            continue
        if error["type"] == BASE_URL_REQUIRED:
            # Raised for the section; the missing value is base_url, the cause is the host.
            where = origin.get("server.host", str(path))
            problems.append(f"server.base_url (host in {where}): {error['msg']}")
            continue
        message = error["msg"].removeprefix("Value error, ")
        got = error.get("input")
        if loc.endswith("database_url") and isinstance(got, str):
            got = redact_url(got)
        problems.append(f"{loc} (in {where}): {message}; got {got!r}")
    if len(problems) == 1:
        return f"invalid configuration: {problems[0]}"
    return "\n  ".join(["invalid configuration:", *problems])


def _known_fields(section_loc: tuple[Any, ...]) -> str:
    model: Any = Settings
    for part in section_loc:
        model = model.model_fields[part].annotation
    return ", ".join(name for name in model.model_fields if name != "root")
