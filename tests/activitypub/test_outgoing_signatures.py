"""The outgoing signers' direct construction against the general path.

``sign_request_rfc9421`` and ``sign_request`` write their headers directly for the usual
request (a plain URL and keyid) and hand anything else to the general path. Both schemes'
signatures are deterministic (Ed25519; RSASSA-PKCS1-v1_5), so every header, and every error,
must be the same as the general path's: built here from the public general signers
(``sign_rfc9421``, ``sign_cavage``) as the outgoing signers were before. What they sign must
also verify, with our verifier and, for RFC 9421, with ``http_message_signatures``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

from activitypub.signatures import (
    OUTGOING_COMPONENTS,
    content_digest_header,
    digest_header,
    http_date,
    parse_signature,
    sign_cavage,
    sign_request,
    sign_request_rfc9421,
    sign_rfc9421,
    verify_signature,
)
from activitypub.signatures.common import _parse_target, _sending_target

ED_KEY = ed25519.Ed25519PrivateKey.generate()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED_KEY_ID = "https://a.example/users/ada#ed25519-key"
RSA_KEY_ID = "https://a.example/users/ada#main-key"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BODY = b'{"type": "Create", "actor": "https://a.example/users/ada"}'
BODIES = [None, b"", BODY, b'{"a": "' + b"x" * 5000 + b'"}']

# Inbox URLs as the worker meets them, which take the direct construction, and the odd ones,
# which take the general path (and must still give the same headers, or the same error).
PLAIN_URLS = [
    "https://b.example/users/bob/inbox",
    "http://127.0.0.1:1000/inbox",
    "http://127.0.0.1:80/inbox",  # the default port, left out of the authority
    "https://b.example:443/inbox",
    "https://b.example:80/inbox",  # another scheme's default port, kept
    "http://b.example:443/inbox",
    "https://b.example:8443/inbox?page=2&sort=new",
    "https://b.example:65535/x",
    "https://b.example/inbox?",  # an empty query
    "https://b.example?only=query",  # no path
    "https://b.example",  # nothing after the host
    "https://b.example/a%20b/%C3%A9t%C3%A9?q=%26%3D&r=a+b",
    "https://b.example/a/b/../c/./d//e;p=1,2@x:y~!$'()*",
    "https://b.example/inbox?a?b=c/d",
    "https://xn--bcher-kva.example/inbox",
    "https://b.example/inbox?x=[1]&y={2}|\\^`",
    "https://h.example./inbox",
]
ODD_URLS = [
    "https://B.Example/Inbox",  # the host is lower-cased in the authority
    "HTTPS://b.example/inbox",
    "https://[::1]:8443/inbox",
    "https://[2001:DB8::1]/inbox",
    "http://[::ffff:127.0.0.1]:80/inbox",
    "https://user:pw@b.example/inbox",
    "https://b.example:0443/inbox",
    "https://b.example:/inbox",
    "https://b.example/inbox#fragment",
    "https://b.example/ünïcode?é=1",
    "https://b.example/sp ace",
    "ftp://b.example/inbox",
]
BAD_URLS = [  # refused by the general path, and so by the signers
    "https://b.example:65536/inbox",
    "https://b.example:99999/inbox",
    "https://[::1/inbox",
    "/relative/inbox",
    "",
    "mailto:bob@b.example",
]
KEY_IDS = [
    ED_KEY_ID,
    "plain, with spaces; and = signs ~ [] {}",
    'a "quoted" keyid',
    "a back\\slash",
    "",
    "é",
    "a\tb",
    "line\nbreak",
    "\x7f",
]
NOWS = [
    NOW,
    datetime(2026, 3, 29, 2, 30, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 11, 26, 11, 59, 59, 1, tzinfo=timezone(timedelta(hours=-11))),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # before the epoch
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


def general_rfc9421(
    method: str, url: str, body: bytes | None, key_id: str, key: Any, now: datetime
) -> dict[str, str]:
    """What sign_request_rfc9421 returned before it had a direct construction."""
    headers: dict[str, str] = {}
    components = list(OUTGOING_COMPONENTS)
    if body is not None:
        headers["Content-Digest"] = content_digest_header(body)
        components.append("content-digest")
    headers.update(sign_rfc9421(method, url, headers, components, key_id, key, now))
    return headers


def general_cavage(
    method: str, url: str, body: bytes | None, key_id: str, key: Any, now: datetime
) -> dict[str, str]:
    """What sign_request returned before it had a direct construction."""
    target = _parse_target(url)
    if now.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    date = format_datetime(now.astimezone(UTC).replace(microsecond=0), usegmt=True)
    headers = {"Host": target.authority, "Date": date}
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = digest_header(body)
        covered.append("digest")
    headers["Signature"] = sign_cavage(method, url, headers, covered, key_id, key)
    return headers


Signer = Callable[[str, str, bytes | None, str, Any, datetime], dict[str, str]]


def outcome(signer: Signer, *args: Any) -> tuple[Any, ...]:
    """The headers, in order, or the error (type and message) a signer gives."""
    try:
        return ("headers", list(signer(*args).items()))
    except Exception as exc:  # the general path's errors are ValueError, OverflowError ...
        return ("error", type(exc), str(exc))


def assert_rfc9421_same(
    method: str, url: str, body: bytes | None, key_id: str, key: Any, now: datetime
) -> tuple[Any, ...]:
    args = (method, url, body, key_id, key, now)
    fast = outcome(sign_request_rfc9421, *args)
    assert fast == outcome(general_rfc9421, *args), args
    return fast


def assert_cavage_same(
    method: str, url: str, body: bytes | None, key_id: str, key: Any, now: datetime
) -> tuple[Any, ...]:
    args = (method, url, body, key_id, key, now)
    fast = outcome(sign_request, *args)
    assert fast == outcome(general_cavage, *args), args
    return fast


def verify_ours(
    method: str, url: str, body: bytes | None, headers: dict[str, str], key: Any, now: datetime
) -> None:
    to_verify = parse_signature(method, url, headers, body, now)
    verify_signature(to_verify, key.public_key())


class _Keys(HTTPSignatureKeyResolver):
    def resolve_public_key(self, key_id: str) -> ed25519.Ed25519PublicKey:
        return ED_KEY.public_key()


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str]


def verify_with_library(
    method: str, url: str, body: bytes | None, headers: dict[str, str], key_id: str
) -> None:
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=_Keys())
    covered = [*OUTGOING_COMPONENTS] + ([] if body is None else ["content-digest"])
    [result] = verifier.verify(
        _Message(method, url, headers),
        body=body,
        require_components=covered,
        max_age=None,  # the library reads `created` against the real clock
    )
    assert result.parameters["keyid"] == key_id


# ---------------------------------------------------------------------------------------------
# RFC 9421


def test_plain_urls_take_the_direct_construction_and_odd_ones_do_not() -> None:
    # The comparisons below only test the direct construction if it is taken.
    assert all(_sending_target(url) == _parse_target(url) for url in PLAIN_URLS)
    assert all(_sending_target(url) is None for url in ODD_URLS + BAD_URLS)


@pytest.mark.parametrize("url", PLAIN_URLS + ODD_URLS + BAD_URLS)
def test_rfc9421_headers_are_the_general_paths_for_every_url_and_body(url: str) -> None:
    for body in BODIES:
        result = assert_rfc9421_same("POST", url, body, ED_KEY_ID, ED_KEY, NOW)
        assert result[0] == ("error" if url in BAD_URLS else "headers")
        if result[0] == "headers":
            verify_ours("POST", url, body, dict(result[1]), ED_KEY, NOW)


@pytest.mark.parametrize("key_id", KEY_IDS)
def test_rfc9421_headers_are_the_general_paths_for_every_keyid(key_id: str) -> None:
    result = assert_rfc9421_same("POST", PLAIN_URLS[0], BODY, key_id, ED_KEY, NOW)
    if not key_id:  # signed as the general path signs it, but names no key for a verifier
        assert result[0] == "headers"
    elif key_id.isascii() and key_id.isprintable():
        headers = dict(result[1])
        verify_ours("POST", PLAIN_URLS[0], BODY, headers, ED_KEY, NOW)
        assert parse_signature("POST", PLAIN_URLS[0], headers, BODY, NOW).key_id == key_id
    else:  # outside the sf-string character set: refused as http_sf refuses it
        assert result == ("error", ValueError, "String contains disallowed characters")


def test_a_keyid_needing_escapes_is_escaped() -> None:
    headers = sign_request_rfc9421("POST", PLAIN_URLS[0], BODY, 'a "q" \\ b', ED_KEY, NOW)
    assert headers["Signature-Input"].endswith(';keyid="a \\"q\\" \\\\ b"')


@pytest.mark.parametrize("now", NOWS, ids=str)
def test_rfc9421_headers_are_the_general_paths_at_any_time(now: datetime) -> None:
    for body in (None, BODY):
        assert_rfc9421_same("POST", PLAIN_URLS[1], body, ED_KEY_ID, ED_KEY, now)
    naive = now.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone"):
        sign_request_rfc9421("POST", PLAIN_URLS[1], BODY, ED_KEY_ID, ED_KEY, naive)


@pytest.mark.parametrize("method", ["POST", "GET", "get", "M-SEARCH", "NOT A TOKEN", ""])
def test_rfc9421_headers_are_the_general_paths_for_every_method(method: str) -> None:
    result = assert_rfc9421_same(method, PLAIN_URLS[0], None, ED_KEY_ID, ED_KEY, NOW)
    assert result[0] == ("headers" if method and " " not in method else "error")


def test_other_keys_take_the_general_path() -> None:
    # RSA: the general path signs rsa-v1_5-sha256 (deterministic, so comparable).
    result = assert_rfc9421_same("POST", PLAIN_URLS[0], BODY, ED_KEY_ID, RSA_KEY, NOW)
    verify_ours("POST", PLAIN_URLS[0], BODY, dict(result[1]), RSA_KEY, NOW)


# http_message_signatures reads only RFC 3986 URLs (not "{}|^`" unescaped), and rebuilds
# @target-uri with "/" for an empty path and without userinfo or fragment, where we sign the URL
# as given (as we did before): so RFC 3986 URLs with a path and no userinfo or fragment.
LIBRARY_URLS = [
    *(url for url in PLAIN_URLS if url.count("/") > 2 and "{" not in url),
    "https://B.Example/Inbox",
    "HTTPS://b.example/inbox",
    "https://[::1]:8443/inbox",
    "https://[2001:DB8::1]/inbox",
    "http://[::ffff:127.0.0.1]:80/inbox",
    "https://b.example:0443/inbox",
    "https://b.example:/inbox",
]


@pytest.mark.parametrize("url", LIBRARY_URLS)
def test_rfc9421_signatures_verify_with_an_independent_implementation(url: str) -> None:
    for body in BODIES:
        for now in (NOW, NOWS[1], NOWS[3]):
            headers = sign_request_rfc9421("POST", url, body, ED_KEY_ID, ED_KEY, now)
            verify_with_library("POST", url, body, headers, ED_KEY_ID)


def test_rfc9421_escaped_keyid_verifies_with_an_independent_implementation() -> None:
    key_id = 'a "q" \\ b'
    headers = sign_request_rfc9421("POST", PLAIN_URLS[0], BODY, key_id, ED_KEY, NOW)
    verify_with_library("POST", PLAIN_URLS[0], BODY, headers, key_id)


# ---------------------------------------------------------------------------------------------
# draft-cavage


@pytest.mark.parametrize("url", PLAIN_URLS + ODD_URLS + BAD_URLS)
def test_cavage_headers_are_the_general_paths_for_every_url_and_body(url: str) -> None:
    for body in BODIES:
        result = assert_cavage_same("POST", url, body, RSA_KEY_ID, RSA_KEY, NOW)
        assert result[0] == ("error" if url in BAD_URLS else "headers")
        if result[0] == "headers":
            verify_ours("POST", url, body, dict(result[1]), RSA_KEY, NOW)


@pytest.mark.parametrize("key_id", KEY_IDS)
def test_cavage_headers_are_the_general_paths_for_every_keyid(key_id: str) -> None:
    result = assert_cavage_same("POST", PLAIN_URLS[0], BODY, key_id, RSA_KEY, NOW)
    if key_id and not any(c in key_id for c in '"\\\n'):
        verify_ours("POST", PLAIN_URLS[0], BODY, dict(result[1]), RSA_KEY, NOW)
    else:
        assert result[0] == "error"
        assert result[1] is ValueError
        assert "keyId" in result[2]


@pytest.mark.parametrize("now", NOWS, ids=str)
def test_cavage_headers_are_the_general_paths_at_any_time(now: datetime) -> None:
    for body in (None, BODY):
        assert_cavage_same("POST", PLAIN_URLS[1], body, RSA_KEY_ID, RSA_KEY, now)
    naive = now.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone"):
        sign_request("POST", PLAIN_URLS[1], BODY, RSA_KEY_ID, RSA_KEY, naive)


@pytest.mark.parametrize("method", ["POST", "GET", "get", "M-SEARCH", "NOT A TOKEN", ""])
def test_cavage_headers_are_the_general_paths_for_every_method(method: str) -> None:
    result = assert_cavage_same(method, PLAIN_URLS[0], None, RSA_KEY_ID, RSA_KEY, NOW)
    assert result[0] == ("headers" if method and " " not in method else "error")


def test_cavage_with_an_ed25519_key_is_refused_as_before() -> None:
    result = assert_cavage_same("POST", PLAIN_URLS[0], BODY, RSA_KEY_ID, ED_KEY, NOW)
    assert result[:2] == ("error", ValueError)
    assert "cannot sign rsa-sha256" in result[2]


# ---------------------------------------------------------------------------------------------
# Random URLs, Date values


_SCHEMES = ["http", "https", "http", "https", "HTTP", "Https", "ftp"]
_HOSTS = ["b.example", "B.example", "127.0.0.1", "[::1]", "[2001:DB8::1]", "a-b.c", "h.example."]
_PORTS = [None, "", "0", "1", "80", "443", "080", "8080", "65535", "65536", "99999", "1x"]
_PLAIN_PATH_CHARS = "abcXYZ019/-._~%!$&'()*+,;=:@?"
_PATH_CHARS = _PLAIN_PATH_CHARS + '#[] é\t\n\\"{}|^`<>'


def _random_url(rng: random.Random) -> str:
    url = rng.choice(_SCHEMES) + "://"
    if rng.random() < 0.05:
        url += "user:pw@"
    url += rng.choice(_HOSTS)
    port = rng.choice(_PORTS)
    if port is not None:
        url += ":" + port
    if rng.random() < 0.9:
        # Half the paths from characters a plain URL may hold, half from any.
        chars = _PATH_CHARS if rng.random() < 0.5 else _PLAIN_PATH_CHARS
        url += "/" + "".join(rng.choice(chars) for _ in range(rng.randrange(30)))
    return url


def test_random_urls_are_read_as_urlsplit_reads_them_and_sign_alike() -> None:
    rng = random.Random(9421)
    plain = 0
    for _ in range(3000):
        url = _random_url(rng)
        target = _sending_target(url)
        if target is not None:
            plain += 1
            assert target == _parse_target(url), url
        body = rng.choice(BODIES)
        assert_rfc9421_same("POST", url, body, ED_KEY_ID, ED_KEY, NOW)
    assert plain > 300  # the direct construction was exercised, not only the fallback


def test_random_urls_sign_alike_with_draft_cavage() -> None:
    rng = random.Random(12)
    for _ in range(150):
        assert_cavage_same("POST", _random_url(rng), BODY, RSA_KEY_ID, RSA_KEY, NOW)


def test_http_date_writes_what_email_utils_writes() -> None:
    rng = random.Random(7231)
    moments = [*NOWS[:4], datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)]
    for _ in range(3000):
        offset = timedelta(minutes=rng.randrange(-23 * 60, 23 * 60))
        seconds = rng.uniform(-2e9, 5e9)
        moments.append(datetime.fromtimestamp(seconds, timezone(offset)))
    for moment in moments:
        expected = format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)
        assert http_date(moment) == expected, moment
