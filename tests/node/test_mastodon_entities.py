"""The Mastodon entity validators, judged against Mastodon's own documentation examples.

The validators in tests/node/mastodon_entities.py decide whether our client API speaks Mastodon;
these tests make sure they accept what Mastodon documents (the example JSON of each entity page,
in tests/data/mastodon/entities) and refuse the mistakes a server makes in practice: integer ids,
missing keys, naive or Python-style datetimes, values outside an enumeration, wrong nesting.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.node.mastodon_entities import (
    ENTITIES,
    Account,
    EntityMismatch,
    Status,
    validate,
    validate_list,
)

EXAMPLES = Path(__file__).parent.parent / "data" / "mastodon" / "entities"

# Example file -> the entity its documentation page says it is.
EXAMPLE_ENTITIES = {
    "account": "Account",
    "announcement": "Announcement",
    "application": "Application",
    "context": "Context",
    "conversation": "Conversation",
    "credential_account": "CredentialAccount",
    "credential_application": "CredentialApplication",
    "custom_emoji": "CustomEmoji",
    "error": "Error",
    "filter": "Filter",
    "filter_keyword": "FilterKeyword",
    "filter_result": "FilterResult",
    "filter_status": "FilterStatus",
    "grouped_notifications": "GroupedNotificationsResults",
    "instance": "Instance",
    "list": "List",
    "marker": "Marker",
    "media_attachment_audio": "MediaAttachment",
    "media_attachment_gifv": "MediaAttachment",
    "media_attachment_image": "MediaAttachment",
    "media_attachment_video": "MediaAttachment",
    "notification_favourite": "Notification",
    "notification_mention": "Notification",
    "partial_account_with_avatar": "PartialAccountWithAvatar",
    "poll": "Poll",
    "preferences": "Preferences",
    "preview_card_link": "PreviewCard",
    "preview_card_photo": "PreviewCard",
    "preview_card_trends_link": "PreviewCard",
    "preview_card_video": "PreviewCard",
    "relationship": "Relationship",
    "role": "Role",
    "rule": "Rule",
    "search": "Search",
    "status": "Status",
    "status_source": "StatusSource",
    "tag": "Tag",
    "tag_following": "Tag",
    "token": "Token",
    "v1_instance": "V1_Instance",
}
# Examples that are arrays of an entity (GET /api/v1/announcements/:id/reactions and the like).
EXAMPLE_LISTS = {"reactions": "Reaction"}


@cache
def _load(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def example(name: str) -> Any:
    """A fresh copy of one documentation example, free to mutate."""
    return copy.deepcopy(_load(name))


def refused(entity: str, data: Any) -> str:
    """The validator's message for data it must refuse."""
    with pytest.raises(EntityMismatch) as failure:
        validate(entity, data)
    return str(failure.value)


# --- Mastodon's own examples pass --------------------------------------------------------------


def test_every_example_file_is_checked() -> None:
    on_disk = {path.stem for path in EXAMPLES.glob("*.json")}
    assert on_disk == set(EXAMPLE_ENTITIES) | set(EXAMPLE_LISTS)


@pytest.mark.parametrize(("name", "entity"), sorted(EXAMPLE_ENTITIES.items()))
def test_documentation_example_validates(name: str, entity: str) -> None:
    validate(entity, example(name))


@pytest.mark.parametrize(("name", "entity"), sorted(EXAMPLE_LISTS.items()))
def test_documentation_list_example_validates(name: str, entity: str) -> None:
    assert len(validate_list(entity, example(name))) == len(example(name))


def test_extra_keys_are_welcome() -> None:
    # Servers add their own attributes (Akkoma's "pleroma", Quartier's own); clients ignore them.
    account = example("account") | {"pleroma": {"is_admin": False}, "quartier": {"circle": 3}}
    validate("Account", account)


def test_entities_are_found_by_their_documented_names() -> None:
    assert ENTITIES["List"].__name__ == "MastodonList"
    assert ENTITIES["V1_Instance"].__name__ == "V1Instance"
    assert validate(Account, example("account")).model_extra is not None
    with pytest.raises(KeyError, match="no Mastodon entity 'Toot'"):
        validate("Toot", {})


# --- ids ---------------------------------------------------------------------------------------


def test_an_integer_id_is_refused() -> None:
    status = example("status")
    status["id"] = int(status["id"])
    assert "$.id: Input should be a valid string" in refused("Status", status)


def test_an_integer_id_deep_inside_is_refused_with_its_path() -> None:
    context = example("context")
    context["descendants"][0]["account"]["id"] = 14715
    assert "$.descendants[0].account.id" in refused("Context", context)


def test_an_empty_id_is_refused() -> None:
    assert "$.id" in refused("Status", example("status") | {"id": ""})


def test_ids_need_not_be_numbers() -> None:
    # Status.md: "cast from an integer, but not guaranteed to be a number".
    validate("Status", example("status") | {"id": "01HXYZ-not-a-number"})


# --- required, nullable, optional --------------------------------------------------------------


def test_a_missing_required_key_is_refused() -> None:
    account = example("account")
    del account["acct"]
    assert "$.acct: Field required" in refused("Account", account)


def test_a_nullable_key_must_still_be_present() -> None:
    status = example("status")
    assert status["in_reply_to_id"] is None
    validate("Status", status)
    del status["in_reply_to_id"]
    assert "$.in_reply_to_id: Field required" in refused("Status", status)


def test_an_optional_key_may_be_absent_but_not_null() -> None:
    status = example("status")
    del status["favourited"]
    validate("Status", status)
    status["favourited"] = None
    assert "$.favourited: Input should be a valid boolean" in refused("Status", status)


def test_an_optional_nullable_key_may_be_absent_or_null() -> None:
    account = example("account")
    account.pop("moved", None)
    validate("Account", account)
    validate("Account", account | {"moved": None})


def test_every_failing_path_is_listed() -> None:
    account = example("account")
    del account["username"]
    account["followers_count"] = "11"
    message = refused("Account", account)
    assert "(2 problem(s))" in message
    assert "$.username: Field required" in message
    assert "$.followers_count: Input should be a valid integer" in message


def test_a_credential_account_needs_source_and_role() -> None:
    message = refused("CredentialAccount", example("account"))
    assert "$.source: Field required" in message
    assert "$.role: Field required" in message


def test_a_4_3_attribute_is_required() -> None:
    instance = example("instance")
    del instance["api_versions"]
    assert "$.api_versions: Field required" in refused("Instance", instance)
    notification = example("notification_mention")
    del notification["group_key"]
    assert "$.group_key: Field required" in refused("Notification", notification)


def test_an_attribute_added_after_4_3_is_optional() -> None:
    status = example("status")
    del status["quote_approval"], status["quotes_count"]
    validate("Status", status)


# --- datetimes and dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2019-12-08T03:48:33.901Z",
        "2019-12-08T03:48:33.9Z",
        "2019-12-08T04:48:33.901+01:00",
        "2019-12-07T22:48:33.901-05:00",
    ],
)
def test_rfc_3339_datetimes_pass(value: str) -> None:
    validate("Status", example("status") | {"created_at": value})


@pytest.mark.parametrize(
    ("value", "mistake"),
    [
        ("2019-12-08T03:48:33.901", "no timezone"),
        ("2019-12-08 03:48:33.901Z", "a space for the T"),
        ("2019-12-08t03:48:33.901z", "lowercase t and z"),
        ("2019-12-08T03:48:33Z", "no fraction of a second"),
        ("2019-12-08T03:48:33.901234+00:00", "six fractional digits, Python's isoformat()"),
        ("2019-12-08", "a date for a datetime"),
        ("2019-13-08T03:48:33.901Z", "month 13"),
        ("1575776913", "a UNIX timestamp"),
        ("Sun, 08 Dec 2019 03:48:33 GMT", "an HTTP date"),
    ],
)
def test_malformed_datetimes_are_refused(value: str, mistake: str) -> None:
    assert "$.created_at" in refused("Status", example("status") | {"created_at": value}), mistake


def test_a_datetime_where_mastodon_sends_a_date_is_refused() -> None:
    # Account.md: last_status_at "now returns date only, no time" since 3.1.0.
    account = example("account") | {"last_status_at": "2019-11-24T15:49:05.000Z"}
    assert "$.last_status_at" in refused("Account", account)
    validate("Account", account | {"last_status_at": "2019-11-24"})


def test_a_datetime_number_is_refused() -> None:
    marker = example("marker") | {"updated_at": 1574624379}
    assert "$.updated_at: Input should be a valid string" in refused("Marker", marker)


# --- enumerations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "name", "key", "value"),
    [
        ("Status", "status", "visibility", "followers"),
        ("MediaAttachment", "media_attachment_image", "type", "picture"),
        ("Notification", "notification_mention", "type", "like"),
        # 4.5 types: a server claiming Mastodon 4.3 (api version 2) must not send them.
        ("Notification", "notification_mention", "type", "quote"),
        ("Filter", "filter", "filter_action", "blur"),
        ("PreviewCard", "preview_card_link", "type", "article"),
        ("List", "list", "replies_policy", "everyone"),
        ("Preferences", "preferences", "reading:expand:media", "always"),
        ("Preferences", "preferences", "posting:default:visibility", "followers_only"),
    ],
)
def test_a_value_outside_an_enumeration_is_refused(
    entity: str, name: str, key: str, value: str
) -> None:
    assert f"$.{key}: Input should be" in refused(entity, example(name) | {key: value})


@pytest.mark.parametrize(
    "kind",
    [
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
    ],
)
def test_every_4_3_notification_type_passes(kind: str) -> None:
    validate("Notification", example("notification_mention") | {"type": kind})


def test_a_filter_context_outside_the_list_is_refused() -> None:
    filter_ = example("filter") | {"context": ["home", "profile"]}
    assert "$.context[1]: Input should be" in refused("Filter", filter_)


def test_a_status_notification_without_its_status_is_refused() -> None:
    notification = example("notification_favourite")
    del notification["status"]
    assert "must carry its status" in refused("Notification", notification)
    # A follow is about an account only: no status is expected.
    validate("Notification", notification | {"type": "follow"})


def test_a_status_notification_group_without_its_status_id_is_refused() -> None:
    results = example("grouped_notifications")
    del results["notification_groups"][0]["status_id"]
    message = refused("GroupedNotificationsResults", results)
    assert "$.notification_groups[0]: Value error, a 'favourite' notification group" in message


# --- nesting and strict types ------------------------------------------------------------------


def test_a_wrong_nested_type_is_refused() -> None:
    status = example("status") | {"account": "https://mastodon.social/users/Gargron"}
    assert "$.account: Input should be a valid dictionary or instance of Account" in refused(
        "Status", status
    )


def test_a_nested_entity_is_itself_validated() -> None:
    status = example("status")
    status["media_attachments"] = [example("media_attachment_image") | {"type": "photo"}]
    assert "$.media_attachments[0].type" in refused("Status", status)
    status = example("status") | {"reblog": example("status") | {"visibility": "everyone"}}
    assert "$.reblog.visibility" in refused("Status", status)


def test_a_list_where_an_object_belongs_is_refused() -> None:
    status = example("status") | {"poll": [example("poll")]}
    assert "$.poll" in refused("Status", status)


@pytest.mark.parametrize(
    ("entity", "name", "key", "value"),
    [
        ("Account", "account", "followers_count", "11"),
        ("Account", "account", "locked", "false"),
        ("Account", "account", "bot", 0),
        ("Poll", "poll", "votes_count", 10.0),
        ("Token", "token", "created_at", "1573979017"),
        ("Relationship", "relationship", "following", 1),
    ],
)
def test_values_are_not_coerced(entity: str, name: str, key: str, value: object) -> None:
    assert f"$.{key}" in refused(entity, example(name) | {key: value})


def test_tag_history_counts_are_strings() -> None:
    # Tag.md: history[][uses] and [accounts] are "String (cast from an integer)".
    tag = example("tag")
    tag["history"][0]["uses"] = 4
    assert "$.history[0].uses: Input should be a valid string" in refused("Tag", tag)


def test_markers_are_keyed_by_timeline() -> None:
    validate("Markers", {"home": example("marker"), "notifications": example("marker")})
    assert "$.home.version" in refused("Markers", {"home": example("marker") | {"version": "1"}})


# --- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["/@Gargron", "mastodon.social/@Gargron", "ftp://mastodon.social/@Gargron", ""]
)
def test_a_url_must_be_absolute_http(value: str) -> None:
    assert "$.avatar" in refused("Account", example("account") | {"avatar": value})


def test_preview_cards_may_leave_provider_urls_empty() -> None:
    card = example("preview_card_link")
    assert card["provider_url"] == ""
    validate("PreviewCard", card)
    assert "$.url" in refused("PreviewCard", card | {"url": ""})


def test_the_streaming_url_may_be_a_websocket_url() -> None:
    instance = example("instance")
    assert instance["configuration"]["urls"]["streaming"].startswith("wss://")
    instance["configuration"]["urls"]["streaming"] = "streaming.example"
    assert "$.configuration.urls.streaming" in refused("Instance", instance)


def test_an_instance_icon_size_is_width_x_height() -> None:
    instance = example("instance")
    instance["icon"][0]["size"] = "36"
    assert "$.icon[0].size" in refused("Instance", instance)


# --- lists -------------------------------------------------------------------------------------


def test_validate_list_names_the_failing_item() -> None:
    timeline = [example("status"), example("status") | {"id": 103270115826048975}]
    with pytest.raises(EntityMismatch, match=r"\$\[1\]\.id"):
        validate_list(Status, timeline)
    assert len(validate_list(Status, timeline[:1])) == 1


def test_validate_list_refuses_an_object() -> None:
    with pytest.raises(EntityMismatch, match="valid list"):
        validate_list("Status", example("status"))
