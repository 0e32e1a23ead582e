"""Content negotiation: which ``Accept`` headers get the ActivityStreams document.

Remote servers ask for actors with a handful of Accept headers (Mastodon sends activity+json,
others ld+json with the ActivityStreams profile, some nothing at all); every one of them must get
the document, and a client that explicitly refuses JSON must not.
"""

from __future__ import annotations

import pytest

from activitypub.media_types import (
    ACTIVITY_JSON,
    LD_JSON_PROFILE,
    asks_json_profile,
    wants_activity_json,
)


@pytest.mark.parametrize(
    "accept",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("*/*", id="anything"),
        pytest.param("application/*", id="any-application"),
        pytest.param("application/json", id="json"),
        pytest.param(ACTIVITY_JSON, id="activity-json"),
        pytest.param("Application/Activity+JSON", id="activity-json-upper-case"),
        pytest.param(LD_JSON_PROFILE, id="ld-json-as-profile"),
        pytest.param(
            "application/ld+json;profile=https://www.w3.org/ns/activitystreams",
            id="ld-json-unquoted-profile",
        ),
        pytest.param("application/ld+json", id="ld-json-without-profile"),
        pytest.param(
            'application/ld+json; profile="https://example.org/other '
            'https://www.w3.org/ns/activitystreams"',
            id="ld-json-several-profiles-including-as",
        ),
        pytest.param(
            'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/'
            'activitystreams", text/html;q=0.1',
            id="mastodon-like",
        ),
        pytest.param("text/html, application/activity+json", id="html-then-activity-json"),
        pytest.param("text/html;q=0.9, */*;q=0.1", id="html-with-wildcard"),
        pytest.param("application/activity+json; q=0.5", id="non-zero-q"),
        pytest.param("application/activity+json; q=bogus", id="unparseable-q"),
    ],
)
def test_accept_headers_that_admit_the_activity_document(accept):
    assert wants_activity_json(accept) is True


@pytest.mark.parametrize(
    "accept",
    [
        pytest.param("text/html", id="html"),
        pytest.param("text/html, application/xhtml+xml", id="html-and-xhtml"),
        pytest.param("image/png", id="image"),
        pytest.param(
            'application/ld+json; profile="https://example.org/other"', id="ld-json-other-profile"
        ),
        pytest.param(
            'application/ld+json; profile="https://example.org/a https://example.org/b"',
            id="ld-json-several-other-profiles",
        ),
        pytest.param(
            'application/ld+json; profile="https://www.w3.org/ns/activitystreams/extra"',
            id="ld-json-profile-that-only-starts-like-as",
        ),
        pytest.param("application/activity+json;q=0", id="activity-json-q0"),
        pytest.param("application/activity+json; q=0.0", id="activity-json-q0.0"),
        pytest.param("*/*;q=0, text/html", id="wildcard-q0"),
        pytest.param(
            "application/json;q=0, application/activity+json;q=0, text/html", id="every-json-q0"
        ),
    ],
)
def test_accept_headers_that_refuse_the_activity_document(accept):
    assert wants_activity_json(accept) is False


NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1#"


@pytest.mark.parametrize(
    ("accept", "asked"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),  # what GoToSocial sends
        ("application/json; charset=utf-8", False),
        ('application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"', False),
        (f'application/json; profile="{NODEINFO_21}"', True),
        (f"application/json;profile={NODEINFO_21}", True),
        (f'APPLICATION/JSON; PROFILE="{NODEINFO_21}"', True),
        (f'text/html, application/json; profile="{NODEINFO_21}"; q=0.9', True),
        (f'application/json; profile="{NODEINFO_21}"; q=0', False),
        (f'application/ld+json; profile="{NODEINFO_21}"', False),
    ],
)
def test_asks_json_profile_only_when_the_profile_is_named(accept, asked):
    assert asks_json_profile(accept, NODEINFO_21) is asked
