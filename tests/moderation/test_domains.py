"""Normalising the domains admins type, and matching servers to blocks."""

from __future__ import annotations

import pytest

from moderation.domains import authority_of, blocked_by, covers, normalise_domain
from moderation.errors import InvalidBlock


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("example.com", "example.com"),
        ("  Example.COM  ", "example.com"),
        ("example.com.", "example.com"),  # fully qualified: the same host
        ("München.de", "xn--mnchen-3ya.de"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("ÉCOLE.fr", "xn--cole-9oa.fr"),
        ("sub.example.com:8443", "sub.example.com:8443"),
        ("127.0.0.1:08081", "127.0.0.1:8081"),
        ("203.0.113.7", "203.0.113.7"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("2001:db8:0::1", "[2001:db8::1]"),
        ("[2001:db8::1]:8443", "[2001:db8::1]:8443"),
        ("localhost", "localhost"),
    ],
)
def test_domains_are_normalised(typed: str, stored: str) -> None:
    assert normalise_domain(typed) == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "give a domain"),
        ("   ", "give a domain"),
        ("https://example.com", "not a URL"),
        ("example.com/users/bob", "not a URL"),
        ("bob@example.com", "not a URL"),
        ("example.com?x=1", "not a URL"),
        ("*.example.com", "covers subdomains already"),
        ("exa mple.com", "no spaces"),
        ("example.com\x00", "control characters"),
        ("a..example.com", "not a valid domain"),
        ("-a.example.com", "not a valid domain"),
        ("a" * 64 + ".com", "not a valid domain"),
        ("exa$mple.com", "not a valid domain"),
        ("300.1.2.3", "not a valid IP address or domain name"),
        ("example.com:0", "port"),
        ("example.com:70000", "port"),
        ("example.com:http", "port"),
        ("[2001:db8::1", "needs its ']'"),
        ("[not-v6]", "not an IPv6 address"),
        ("[2001:db8::1]x", "unexpected text"),
        (":8080", "no host"),
        ("a:b:c", "not a host name or an IP address"),
        ("zz::1", "not a host name or an IP address"),
        ("x" * 300, "at most 255"),
    ],
)
def test_what_is_not_a_bare_host_is_refused_with_the_reason(typed: str, says: str) -> None:
    with pytest.raises(InvalidBlock) as raised:
        normalise_domain(typed)
    assert says in str(raised.value)
    assert raised.value.field == "domain"


@pytest.mark.parametrize(
    ("block", "authority", "covered"),
    [
        ("example.com", "example.com", True),
        ("example.com", "a.example.com", True),
        ("example.com", "a.b.example.com:8443", True),
        ("example.com", "notexample.com", False),
        ("example.com", "example.com.evil.net", False),
        ("a.example.com", "example.com", False),
        ("a.example.com", "b.example.com", False),
        ("127.0.0.1:8081", "127.0.0.1:8081", True),
        ("127.0.0.1:8081", "127.0.0.1:8082", False),
        ("127.0.0.1:8081", "127.0.0.1", False),
        ("127.0.0.1", "127.0.0.1:8081", True),
        ("0.0.1", "127.0.0.1", False),  # addresses are not domains: no suffix match
        ("[2001:db8::1]", "[2001:db8::1]:443", True),
        ("[2001:db8::1]", "[2001:0DB8:0::1]", True),  # another spelling of the same address
        ("[2001:db8::1]", "2001:0db8::0001", True),
        ("example.com", "EXAMPLE.com.", True),
        ("xn--mnchen-3ya.de", "sub.münchen.de", True),
    ],
)
def test_a_block_covers_its_host_and_subdomains(block: str, authority: str, covered: bool) -> None:
    assert covers(block, authority) is covered


def test_blocked_by_names_the_covering_block() -> None:
    blocks = {"example.com", "127.0.0.1:9000"}
    assert blocked_by(blocks, "deep.a.example.com") == "example.com"
    assert blocked_by(blocks, "127.0.0.1:9000") == "127.0.0.1:9000"
    assert blocked_by(blocks, "127.0.0.1:9001") is None
    assert blocked_by(blocks, "") is None


@pytest.mark.parametrize(
    ("url", "authority"),
    [
        ("https://a.example.com/users/bob", "a.example.com"),
        ("https://A.Example.COM:8443/users/bob", "a.example.com:8443"),
        ("http://127.0.0.1:8081/actor", "127.0.0.1:8081"),
        ("https://[2001:db8::1]:8443/actor", "[2001:db8::1]:8443"),
        ("https://[2001:0db8:0::1]/actor", "[2001:db8::1]"),
        ("https://münchen.de/actor", "xn--mnchen-3ya.de"),
        ("https://bob:secret@example.com/actor", "example.com"),
        ("https://example.com:99999/actor", ""),  # malformed port: matches nothing
    ],
)
def test_authority_of_a_url(url: str, authority: str) -> None:
    assert authority_of(url) == authority
