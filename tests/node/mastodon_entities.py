"""Mastodon's client API entities as strict validators, written from Mastodon's documentation.

These models judge the JSON our Mastodon client API returns (issue 13) independently of our own
code: each one was written from the entity page in the ``mastodon/documentation`` repository
(``content/en/entities/<Name>.md``, commit 2903485d of July 2026), never from Quartier's
serializers. Where the documentation says more than one thing, the attribute list wins over the
example JSON (the examples lag behind: see ``tests/data/mastodon/entities/README.md``).

Sources, one page per model family:

- ``Account.md``: Account, Field, AccountRole, CredentialAccount (``source``, ``role``),
  MutedAccount, PartialAccountWithAvatar
- ``Role.md``: Role; ``CustomEmoji.md``: CustomEmoji
- ``Status.md``: Status, Status::Mention, Status::Tag, ``application``
- ``StatusSource.md``, ``Context.md``, ``MediaAttachment.md``, ``Poll.md``,
  ``PreviewCard.md``, ``PreviewCardAuthor.md``
- ``Notification.md``: Notification (v1); ``methods/grouped_notifications.md``:
  GroupedNotificationsResults and NotificationGroup (``/api/v2/notifications``)
- ``Relationship.md``, ``Conversation.md``, ``Marker.md``, ``List.md``, ``Rule.md``
- ``Filter.md``, ``FilterKeyword.md``, ``FilterStatus.md``, ``FilterResult.md`` (filters v2)
- ``Announcement.md`` (with Announcement::Account, Announcement::Status), ``Reaction.md``
- ``Tag.md``, ``Search.md``, ``Preferences.md``
- ``Application.md``: Application and CredentialApplication; ``Token.md``, ``Error.md``
- ``Instance.md`` (``/api/v2/instance``, with InstanceIcon) and ``V1_Instance.md``
  (``/api/v1/instance``)
- ``api/datetime-format.md``: the Datetime and Date string formats

The version we claim is Mastodon 4.3.0 (``api_versions.mastodon`` 2). How the documentation's
markers map onto the models:

- an attribute without marker is REQUIRED: the key must be present. If the page marks it
  ``{{<nullable>}}`` its value may be null, but the key is still required (``X | None`` with no
  default);
- ``{{%optional%}}`` means the key may be absent (``optional()``); when present it has the
  documented type, null only if the page also says nullable;
- an attribute the page dates after 4.3.0 (4.3.1 and later) is optional: a 4.3 server does not
  send it, and a client that knows it must cope without it. Attributes added up to 4.3.0 are
  required when the page does not mark them optional. Deprecated attributes a 4.3 server still
  sends and older clients read (``redirect_uri``, ``author_name``, ``author_url``) stay
  required; ``vapid_key`` (deprecated "pending removal", and absent from the page's own
  example) is optional;
- enumerations are the 4.3 values: later values (notification types ``quote``,
  ``quoted_update``, collections; filter action ``blur``) are refused, since a server claiming
  api version 2 must not send them;
- conditional attributes the documentation spells out (a Notification's ``status`` for the
  status-bearing types) are checked by model validators;
- attributes Mastodon serializes only in some responses are optional although the page marks
  them nullable only: ``Status.text`` (attached by delete and redraft) and
  ``CustomEmoji.category`` (only where the category is loaded, as in ``/api/v1/custom_emojis``;
  the emojis inside the page's own Account example lack it). ``Status.application`` is marked
  optional by the page.

Every model allows extra keys (servers add their own) and is strict: no coercion, so an integer id
or a string count fails. Ids are non-empty strings ("cast from an integer, but not guaranteed to
be a number"), Datetimes follow RFC 3339 as the documentation pins it (uppercase ``T``, one to
three fractional digits, ``Z`` or ``±hh:mm``), URLs are absolute http(s) URLs.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

MASTODON_VERSION = "4.3.0"
API_VERSION = 2

# --- scalar types ------------------------------------------------------------------------------

# api/datetime-format.md: [YYYY]-[MM]-[DD]T[hh]:[mm]:[ss].[s][TZD], the fraction "at least one
# digit and at most three digits", T and Z uppercase.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,3}(Z|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _datetime(value: str) -> str:
    if not _DATETIME.fullmatch(value):
        raise ValueError(
            f"not a Mastodon Datetime (YYYY-MM-DDThh:mm:ss.sssZ or ±hh:mm offset): {value!r}"
        )
    try:
        # The regex checks the shape, the parser the calendar (month 13, hour 25).
        datetime.fromisoformat(value.removesuffix("Z") + ("+00:00" if value.endswith("Z") else ""))
    except ValueError as error:
        raise ValueError(f"not a valid datetime: {value!r} ({error})") from None
    return value


def _date(value: str) -> str:
    if not _DATE.fullmatch(value):
        raise ValueError(f"not a Mastodon Date (YYYY-MM-DD): {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"not a valid date: {value!r} ({error})") from None
    return value


def _url_with(schemes: frozenset[str]) -> Any:
    def check(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(f"not an absolute {'/'.join(sorted(schemes))} URL: {value!r}")
        return value

    return check


def _url_or_empty(value: str) -> str:
    return value if value == "" else _url_with(_HTTP)(value)


def _id(value: str) -> str:
    if not value:
        raise ValueError("an id must be a non-empty string")
    return value


def _numeric_string(value: str) -> str:
    if not value.isdigit():
        raise ValueError(f"not an integer cast to a string: {value!r}")
    return value


def _icon_size(value: str) -> str:
    if not re.fullmatch(r"\d+x\d+", value):
        raise ValueError(f"not a WIDTHxHEIGHT size: {value!r}")
    return value


_HTTP = frozenset({"http", "https"})

Datetime = Annotated[str, AfterValidator(_datetime)]
Date = Annotated[str, AfterValidator(_date)]
Url = Annotated[str, AfterValidator(_url_with(_HTTP))]
# The streaming API's base URL is a WebSocket URL on Mastodon (wss://streaming.mastodon.social).
StreamingUrl = Annotated[str, AfterValidator(_url_with(_HTTP | {"ws", "wss"}))]
# PreviewCard's author_url, provider_url and embed_url are "" when unknown (PreviewCard.md
# examples), which clients treat as absent.
UrlOrEmpty = Annotated[str, AfterValidator(_url_or_empty)]
Id = Annotated[str, AfterValidator(_id)]
NumericString = Annotated[str, AfterValidator(_numeric_string)]

Visibility = Literal["public", "unlisted", "private", "direct"]
MediaType = Literal["unknown", "image", "gifv", "video", "audio"]
# Notification.md, the list as of 4.3.0.
NotificationType = Literal[
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
    "severed_relationships",
    "moderation_warning",
]
# Notification.md: "Attached when type of the notification is favourite, reblog, status,
# mention, poll, or update" (4.3; quote and quoted_update came in 4.5).
STATUS_NOTIFICATION_TYPES = frozenset(
    {"favourite", "reblog", "status", "mention", "poll", "update"}
)
FilterContext = Literal["home", "notifications", "public", "thread", "account"]
FilterAction = Literal["warn", "hide"]  # "blur" is 4.4 (api version 5)
PreviewCardType = Literal["link", "photo", "video", "rich"]
RepliesPolicy = Literal["followed", "list", "none"]
ExpandMedia = Literal["default", "show_all", "hide_all"]


def optional(alias: str | None = None) -> Any:
    """An attribute Mastodon marks optional: the key may be absent.

    Pydantic does not validate defaults, so an absent key passes while a present key still has
    to match the annotation (null only where the annotation allows None).
    """
    return Field(default=None, alias=alias)


class Entity(BaseModel):
    """Base of every entity: strict types, extra keys allowed (servers add their own)."""

    model_config = ConfigDict(extra="allow", strict=True)


# --- accounts ----------------------------------------------------------------------------------


class CustomEmoji(Entity):
    """CustomEmoji.md."""

    shortcode: str
    url: Url
    static_url: Url
    visible_in_picker: bool
    # Documented as nullable (3.0.0), but Mastodon only serializes it where the category is
    # loaded (GET /api/v1/custom_emojis); the emojis inside accounts and statuses lack it, the
    # documentation's own Account example included.
    category: str | None = optional()


class AccountField(Entity):
    """Account.md, Field entity attributes."""

    name: str
    value: str
    verified_at: Datetime | None


class AccountRole(Entity):
    """Account.md, AccountRole entity attributes (4.1.0)."""

    id: Id
    name: str
    color: str


class Account(Entity):
    """Account.md."""

    id: Id
    username: str
    acct: str
    url: Url | None
    uri: Url
    display_name: str
    note: str
    avatar: Url
    avatar_static: Url
    header: Url
    header_static: Url
    locked: bool
    fields: list[AccountField]
    emojis: list[CustomEmoji]
    bot: bool
    group: bool
    discoverable: bool | None
    indexable: bool
    noindex: bool | None = optional()
    moved: Account | None = optional()
    memorial: bool = optional()
    suspended: bool = optional()
    limited: bool = optional()
    created_at: Datetime
    last_status_at: Date | None
    statuses_count: int
    followers_count: int
    following_count: int
    hide_collections: bool | None
    roles: list[AccountRole] | None
    # 4.6.0 additions: optional for a 4.3 server.
    avatar_description: str = optional()
    header_description: str = optional()
    show_media: bool = optional()
    show_media_replies: bool = optional()
    show_featured: bool = optional()


class Role(Entity):
    """Role.md."""

    id: Id
    name: str
    color: str
    permissions: NumericString
    highlighted: bool
    collection_limit: int = optional()  # 4.6.0


class AccountSource(Entity):
    """Account.md, CredentialAccount ``source``."""

    note: str
    fields: list[AccountField]
    privacy: Visibility
    sensitive: bool
    language: str  # ISO 639-1 code, or the empty string
    follow_requests_count: int
    hide_collections: bool | None
    discoverable: bool | None
    indexable: bool
    attribution_domains: list[str] = optional()  # undated, after 4.3
    quote_policy: Literal["public", "followers", "nobody"] = optional()  # 4.5.0


class CredentialAccount(Account):
    """Account.md, CredentialAccount entity attributes (verify_credentials, update_credentials)."""

    source: AccountSource
    role: Role


class MutedAccount(Account):
    """Account.md, MutedAccount entity attributes (``/api/v1/mutes``)."""

    mute_expires_at: Datetime | None


class PartialAccountWithAvatar(Entity):
    """Account.md, PartialAccountWithAvatar (grouped notifications, ``expand_accounts``)."""

    id: Id
    acct: str
    url: Url
    avatar: Url
    avatar_static: Url
    locked: bool
    bot: bool


# --- statuses ----------------------------------------------------------------------------------


class MediaFocus(Entity):
    """MediaAttachment.md, ``meta[focus]``."""

    x: float | None
    y: float | None


class MediaMeta(Entity):
    """MediaAttachment.md, ``meta``: free-form besides ``focus``."""

    focus: MediaFocus | None = optional()


class MediaAttachment(Entity):
    """MediaAttachment.md."""

    id: Id
    type: MediaType
    url: Url | None
    preview_url: Url | None
    remote_url: Url | None
    meta: MediaMeta | None
    description: str | None
    blurhash: str | None


class StatusMention(Entity):
    """Status.md, Status::Mention."""

    id: Id
    username: str
    url: Url
    acct: str


class StatusTag(Entity):
    """Status.md, Status::Tag."""

    name: str
    url: Url


class StatusApplication(Entity):
    """Status.md, ``application``."""

    name: str
    website: Url | None


class PollOption(Entity):
    """Poll.md, Poll::Option."""

    title: str
    votes_count: int | None


class Poll(Entity):
    """Poll.md."""

    id: Id
    expires_at: Datetime | None
    expired: bool
    multiple: bool
    votes_count: int
    voters_count: int | None
    options: list[PollOption]
    emojis: list[CustomEmoji]
    voted: bool = optional()
    own_votes: list[int] = optional()


class PreviewCardAuthor(Entity):
    """PreviewCardAuthor.md (4.3.0)."""

    name: str
    url: UrlOrEmpty
    account: Account | None


class PreviewCard(Entity):
    """PreviewCard.md."""

    url: Url
    title: str
    description: str
    type: PreviewCardType
    authors: list[PreviewCardAuthor]
    author_name: str
    author_url: UrlOrEmpty
    provider_name: str
    provider_url: UrlOrEmpty
    html: str
    width: int
    height: int
    image: Url | None
    embed_url: UrlOrEmpty
    blurhash: str | None
    missing_attribution: bool | None = optional()  # 4.6.0


class FilterKeyword(Entity):
    """FilterKeyword.md."""

    id: Id
    keyword: str
    whole_word: bool


class FilterStatus(Entity):
    """FilterStatus.md."""

    id: Id
    status_id: Id


class Filter(Entity):
    """Filter.md (filters v2, ``/api/v2/filters``)."""

    id: Id
    title: str
    context: list[FilterContext]
    expires_at: Datetime | None
    filter_action: FilterAction
    keywords: list[FilterKeyword] = optional()
    statuses: list[FilterStatus] = optional()


class FilterResult(Entity):
    """FilterResult.md."""

    filter: Filter
    keyword_matches: list[str] | None
    status_matches: list[str] | None


class Status(Entity):
    """Status.md."""

    id: Id
    uri: str
    created_at: Datetime
    account: Account
    content: str
    visibility: Visibility
    sensitive: bool
    spoiler_text: str
    media_attachments: list[MediaAttachment]
    application: StatusApplication = optional()
    mentions: list[StatusMention]
    tags: list[StatusTag]
    emojis: list[CustomEmoji]
    reblogs_count: int
    favourites_count: int
    replies_count: int
    url: Url | None
    in_reply_to_id: Id | None
    in_reply_to_account_id: Id | None
    reblog: Status | None
    poll: Poll | None
    card: PreviewCard | None
    language: str | None
    text: str | None = optional()
    edited_at: Datetime | None
    favourited: bool = optional()
    reblogged: bool = optional()
    muted: bool = optional()
    bookmarked: bool = optional()
    pinned: bool = optional()
    filtered: list[FilterResult] = optional()
    # 4.4.0 and later.
    quotes_count: int = optional()
    quote: dict[str, Any] | None = optional()
    quote_approval: dict[str, Any] = optional()


class StatusSource(Entity):
    """StatusSource.md."""

    id: Id
    text: str
    spoiler_text: str


class Context(Entity):
    """Context.md."""

    ancestors: list[Status]
    descendants: list[Status]


# --- notifications -----------------------------------------------------------------------------


class Notification(Entity):
    """Notification.md (``/api/v1/notifications``)."""

    id: Id
    type: NotificationType
    group_key: str
    created_at: Datetime
    account: Account
    status: Status = optional()
    report: dict[str, Any] = optional()
    event: dict[str, Any] = optional()
    moderation_warning: dict[str, Any] = optional()

    @model_validator(mode="after")
    def _status_when_documented(self) -> Notification:
        if self.type in STATUS_NOTIFICATION_TYPES and self.status is None:
            raise ValueError(f"a {self.type!r} notification must carry its status")
        return self


class NotificationGroup(Entity):
    """methods/grouped_notifications.md, NotificationGroup (4.3.0, api version 2)."""

    group_key: str
    notifications_count: int
    type: NotificationType
    most_recent_notification_id: Id
    page_min_id: Id = optional()
    page_max_id: Id = optional()
    latest_page_notification_at: Datetime = optional()
    sample_account_ids: list[Id]
    status_id: Id = optional()
    report: dict[str, Any] = optional()
    event: dict[str, Any] = optional()
    moderation_warning: dict[str, Any] = optional()

    @model_validator(mode="after")
    def _status_when_documented(self) -> NotificationGroup:
        if self.type in STATUS_NOTIFICATION_TYPES and self.status_id is None:
            raise ValueError(f"a {self.type!r} notification group must carry its status_id")
        return self


class GroupedNotificationsResults(Entity):
    """methods/grouped_notifications.md, GroupedNotificationsResults (``/api/v2/notifications``)."""

    accounts: list[Account]
    partial_accounts: list[PartialAccountWithAvatar] = optional()
    statuses: list[Status]
    notification_groups: list[NotificationGroup]


# --- relationships, conversations, lists, markers -----------------------------------------------


class Relationship(Entity):
    """Relationship.md."""

    id: Id
    following: bool
    showing_reblogs: bool
    notifying: bool
    languages: list[str] | None
    followed_by: bool
    blocking: bool
    blocked_by: bool
    muting: bool
    muting_notifications: bool
    requested: bool
    requested_by: bool
    domain_blocking: bool
    endorsed: bool
    note: str
    muting_expires_at: Datetime | None = optional()  # 4.6.0


class Conversation(Entity):
    """Conversation.md."""

    id: Id
    unread: bool
    accounts: list[Account]
    last_status: Status | None


class Marker(Entity):
    """Marker.md: one timeline's marker."""

    last_read_id: Id
    version: int
    updated_at: Datetime


class Markers(Entity):
    """methods/markers.md: ``GET /api/v1/markers`` answers a hash of timeline to Marker."""

    home: Marker = optional()
    notifications: Marker = optional()


class MastodonList(Entity):
    """List.md."""

    id: Id
    title: str
    replies_policy: RepliesPolicy
    exclusive: bool


# --- announcements, tags, search ---------------------------------------------------------------


class Reaction(Entity):
    """Reaction.md."""

    name: str
    count: int
    me: bool = optional()
    url: Url = optional()
    static_url: Url = optional()


class AnnouncementAccount(Entity):
    """Announcement.md, Announcement::Account."""

    id: Id
    username: str
    url: Url
    acct: str


class AnnouncementStatus(Entity):
    """Announcement.md, Announcement::Status."""

    id: Id
    url: Url


class Announcement(Entity):
    """Announcement.md."""

    id: Id
    content: str
    starts_at: Datetime | None
    ends_at: Datetime | None
    all_day: bool
    published_at: Datetime
    updated_at: Datetime
    read: bool = optional()
    mentions: list[AnnouncementAccount]
    statuses: list[AnnouncementStatus]
    tags: list[StatusTag]
    emojis: list[CustomEmoji]
    reactions: list[Reaction]


class TagHistory(Entity):
    """Tag.md, ``history[]``: every value is a string (a UNIX day, integers cast)."""

    day: NumericString
    uses: NumericString
    accounts: NumericString


class Tag(Entity):
    """Tag.md."""

    id: Id = optional()  # 4.3.1 in public APIs
    name: str
    url: Url
    history: list[TagHistory]
    following: bool = optional()
    featuring: bool = optional()  # 4.4.0


class Search(Entity):
    """Search.md (``/api/v2/search``)."""

    accounts: list[Account]
    statuses: list[Status]
    hashtags: list[Tag]


class Preferences(Entity):
    """Preferences.md: keys with colons, hence the aliases."""

    posting_default_visibility: Visibility = Field(alias="posting:default:visibility")
    posting_default_sensitive: bool = Field(alias="posting:default:sensitive")
    posting_default_language: str | None = Field(alias="posting:default:language")
    reading_expand_media: ExpandMedia = Field(alias="reading:expand:media")
    reading_expand_spoilers: bool = Field(alias="reading:expand:spoilers")


# --- apps, tokens, errors ----------------------------------------------------------------------


def _redirect_uri(value: str) -> str:
    # Application.md: "URLs or urn:ietf:wg:oauth:2.0:oob"; native apps register custom schemes.
    if value != "urn:ietf:wg:oauth:2.0:oob" and not urlsplit(value).scheme:
        raise ValueError(f"not a redirect URI: {value!r}")
    return value


class Application(Entity):
    """Application.md."""

    id: Id
    name: str
    website: Url | None = optional()
    scopes: list[str]
    redirect_uris: list[Annotated[str, AfterValidator(_redirect_uri)]]
    redirect_uri: str  # deprecated in 4.3.0, still sent and still read by older clients
    vapid_key: str = optional()  # deprecated pending removal


class CredentialApplication(Application):
    """Application.md, CredentialApplication (``POST /api/v1/apps``)."""

    client_id: str
    client_secret: str
    client_secret_expires_at: int = optional()  # 4.4.0


class Token(Entity):
    """Token.md."""

    access_token: str
    token_type: str
    scope: str
    created_at: int


class Error(Entity):
    """Error.md."""

    error: str
    error_description: str = optional()


# --- instance ----------------------------------------------------------------------------------


class Rule(Entity):
    """Rule.md."""

    id: Id
    text: str
    hint: str
    translations: dict[str, Any] = optional()  # 4.4.0


class InstanceIcon(Entity):
    """Instance.md, InstanceIcon."""

    src: Url
    size: Annotated[str, AfterValidator(_icon_size)]


class InstanceUsers(Entity):
    """Instance.md, ``usage[users]``."""

    active_month: int


class InstanceUsage(Entity):
    """Instance.md, ``usage``."""

    users: InstanceUsers


class ThumbnailVersions(Entity):
    """Instance.md, ``thumbnail[versions]``."""

    x1: Url = optional(alias="@1x")
    x2: Url = optional(alias="@2x")


class InstanceThumbnail(Entity):
    """Instance.md, ``thumbnail``."""

    url: Url
    blurhash: str = optional()
    versions: ThumbnailVersions = optional()
    description: str = optional()  # 4.6.0


class InstanceUrls(Entity):
    """Instance.md, ``configuration[urls]``."""

    streaming: StreamingUrl
    status: Url | None
    about: Url = optional()  # 4.4.0
    privacy_policy: Url | None = optional()  # 4.4.0
    terms_of_service: Url | None = optional()  # 4.4.0


class InstanceVapid(Entity):
    """Instance.md, ``configuration[vapid]`` (4.3.0)."""

    public_key: str


class InstanceAccounts(Entity):
    """Instance.md, ``configuration[accounts]``."""

    max_featured_tags: int
    max_pinned_statuses: int


class InstanceStatuses(Entity):
    """Instance.md and V1_Instance.md, ``configuration[statuses]``."""

    max_characters: int
    max_media_attachments: int
    characters_reserved_per_url: int


class InstanceMediaAttachments(Entity):
    """Instance.md and V1_Instance.md, ``configuration[media_attachments]``."""

    supported_mime_types: list[str]
    image_size_limit: int
    image_matrix_limit: int
    video_size_limit: int
    video_frame_rate_limit: int
    video_matrix_limit: int
    description_limit: int = optional()  # 4.4.0


class InstancePolls(Entity):
    """Instance.md and V1_Instance.md, ``configuration[polls]``."""

    max_options: int
    max_characters_per_option: int
    min_expiration: int
    max_expiration: int


class InstanceTranslation(Entity):
    """Instance.md, ``configuration[translation]``."""

    enabled: bool


class InstanceConfiguration(Entity):
    """Instance.md, ``configuration``."""

    urls: InstanceUrls
    vapid: InstanceVapid
    accounts: InstanceAccounts
    statuses: InstanceStatuses
    media_attachments: InstanceMediaAttachments
    polls: InstancePolls
    translation: InstanceTranslation
    timelines_access: dict[str, Any] = optional()  # 4.5.0
    limited_federation: bool = optional()  # 4.4.0


class InstanceRegistrations(Entity):
    """Instance.md, ``registrations``."""

    enabled: bool
    approval_required: bool
    message: str | None
    url: Url | None
    min_age: int | None = optional()  # 4.4.0
    reason_required: bool | None = optional()  # 4.4.0


class ApiVersions(Entity):
    """Instance.md, ``api_versions`` (4.3.0)."""

    mastodon: int


class InstanceContact(Entity):
    """Instance.md, ``contact``."""

    email: str
    account: Account | None


class Instance(Entity):
    """Instance.md (``/api/v2/instance``)."""

    domain: str
    title: str
    version: str
    source_url: Url
    description: str
    usage: InstanceUsage
    thumbnail: InstanceThumbnail
    icon: list[InstanceIcon]
    languages: list[str]
    configuration: InstanceConfiguration
    registrations: InstanceRegistrations
    api_versions: ApiVersions
    contact: InstanceContact
    rules: list[Rule]
    wrapstodon: str | None = optional()  # 4.6.0


class V1InstanceUrls(Entity):
    """V1_Instance.md, ``urls``."""

    streaming_api: StreamingUrl


class V1InstanceStats(Entity):
    """V1_Instance.md, ``stats``."""

    user_count: int
    status_count: int
    domain_count: int


class V1InstanceAccounts(Entity):
    """V1_Instance.md, ``configuration[accounts]`` (4.0.0)."""

    max_featured_tags: int


class V1InstanceConfiguration(Entity):
    """V1_Instance.md, ``configuration``."""

    accounts: V1InstanceAccounts
    statuses: InstanceStatuses
    media_attachments: InstanceMediaAttachments
    polls: InstancePolls


class V1Instance(Entity):
    """V1_Instance.md (``/api/v1/instance``)."""

    uri: str
    title: str
    short_description: str
    description: str
    email: str
    version: str
    urls: V1InstanceUrls
    stats: V1InstanceStats
    thumbnail: Url | None
    languages: list[str]
    registrations: bool
    approval_required: bool
    invites_enabled: bool
    configuration: V1InstanceConfiguration
    contact_account: Account | None
    rules: list[Rule]


# --- lookup and helpers ------------------------------------------------------------------------

ENTITIES: dict[str, type[Entity]] = {
    model.__name__: model
    for model in (
        Account,
        AccountField,
        AccountRole,
        Announcement,
        AnnouncementAccount,
        AnnouncementStatus,
        Application,
        Context,
        Conversation,
        CredentialAccount,
        CredentialApplication,
        CustomEmoji,
        Error,
        Filter,
        FilterKeyword,
        FilterResult,
        FilterStatus,
        GroupedNotificationsResults,
        Instance,
        InstanceIcon,
        Marker,
        Markers,
        MastodonList,
        MediaAttachment,
        MutedAccount,
        Notification,
        NotificationGroup,
        PartialAccountWithAvatar,
        Poll,
        Preferences,
        PreviewCard,
        PreviewCardAuthor,
        Reaction,
        Relationship,
        Role,
        Rule,
        Search,
        Status,
        StatusMention,
        StatusSource,
        StatusTag,
        Tag,
        Token,
        V1Instance,
    )
}
# Names as Mastodon's documentation spells them, where ours differ.
ENTITIES |= {"List": MastodonList, "Field": AccountField, "V1_Instance": V1Instance}


class EntityMismatch(AssertionError):
    """JSON that does not match a Mastodon entity; the message lists every failing path."""


def _model(entity: str | type[Entity]) -> type[Entity]:
    if isinstance(entity, str):
        if entity not in ENTITIES:
            raise KeyError(f"no Mastodon entity {entity!r}; known: {', '.join(sorted(ENTITIES))}")
        return ENTITIES[entity]
    return entity


def _path(location: tuple[int | str, ...]) -> str:
    text = "$"
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _explain(name: str, error: ValidationError) -> EntityMismatch:
    lines = [f"not a Mastodon {name} ({error.error_count()} problem(s)):"]
    for problem in error.errors():
        lines.append(f"  {_path(problem['loc'])}: {problem['msg']} (got {problem['input']!r:.80})")
    return EntityMismatch("\n".join(lines))


def validate(entity: str | type[Entity], data: Any) -> Entity:
    """Validate one JSON value against a Mastodon entity, by model or documented name.

    Raises EntityMismatch (an AssertionError, so pytest shows it as a failed check) listing
    every failing path, like ``$.account.created_at: ...``.
    """
    model = _model(entity)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _explain(model.__name__, error) from None


def validate_list(entity: str | type[Entity], data: Any) -> list[Entity]:
    """Validate a JSON array of one Mastodon entity (a timeline, a page of notifications)."""
    model = _model(entity)
    try:
        return TypeAdapter(list[model]).validate_python(data, strict=True)  # type: ignore[valid-type]
    except ValidationError as error:
        raise _explain(f"list of {model.__name__}", error) from None
