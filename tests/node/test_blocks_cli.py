"""``quartier blocks``, run for real as a subprocess against the test database."""

from __future__ import annotations

import json

import pytest

from tests.node.cli_support import Run, failed, ok


@pytest.mark.parametrize(
    "command",
    [["blocks"], ["blocks", "list"], ["blocks", "add"], ["blocks", "remove"]],
    ids=" ".join,
)
def test_help(quartier: Run, command: list[str]) -> None:
    out = ok(quartier(*command, "--help"))
    assert out.startswith(f"usage: quartier {' '.join(command)}")
    assert "blocks" in ok(quartier("--help"))


@pytest.mark.usefixtures("migrated")
def test_add_list_and_remove(quartier: Run) -> None:
    assert ok(quartier("blocks", "list")).strip() == "no blocked domains"
    out = ok(quartier("blocks", "add", "Spam.Example", "--reason", "floods us"))
    assert out.startswith("suspended spam.example and its subdomains")
    assert "within 30 s" in out
    out = ok(quartier("blocks", "add", "München.de", "--severity", "silence"))
    assert out.startswith("silenced xn--mnchen-3ya.de and its subdomains")
    listed = ok(quartier("blocks", "list"))
    lines = listed.splitlines()
    assert lines[0].split() == ["DOMAIN", "SEVERITY", "SINCE", "(UTC)", "REASON"]
    assert lines[1].split()[:2] == ["spam.example", "suspend"]
    assert lines[1].endswith("floods us")
    assert lines[2].split()[:2] == ["xn--mnchen-3ya.de", "silence"]
    assert lines[1].index("floods") == lines[0].index("REASON")
    blocks = json.loads(ok(quartier("blocks", "list", "--json")))
    assert [(b["domain"], b["severity"], b["reason"]) for b in blocks] == [
        ("spam.example", "suspend", "floods us"),
        ("xn--mnchen-3ya.de", "silence", ""),
    ]
    assert ok(quartier("blocks", "remove", "SPAM.example")).startswith("unblocked spam.example")
    assert [b["domain"] for b in json.loads(ok(quartier("blocks", "list", "--json")))] == [
        "xn--mnchen-3ya.de"
    ]


@pytest.mark.usefixtures("migrated")
def test_bad_input_fails_cleanly_and_says_why(quartier: Run) -> None:
    ok(quartier("blocks", "add", "dup.example"))
    for args, says in [
        (["add", "https://spam.example/"], "give a bare host such as example.com, not a URL"),
        (["add", "*.spam.example"], "a block covers subdomains already"),
        (["add", "127.0.0.1"], "127.0.0.1 covers this node's own host (127.0.0.1:8080)"),
        (["add", "127.0.0.1:8080"], "127.0.0.1:8080 is this node's own host"),
        (["add", "bad..domain"], "not a valid domain name"),
        (["add", "DUP.example"], "dup.example is already blocked"),
        (["remove", "other.example"], "other.example is not blocked"),
    ]:
        err = failed(quartier("blocks", *args))
        assert err.startswith("quartier: "), err
        assert says in err, err
    listed = json.loads(ok(quartier("blocks", "list", "--json")))
    assert [b["domain"] for b in listed] == ["dup.example"]


def test_a_missing_domain_is_a_usage_error(quartier: Run) -> None:
    assert "DOMAIN" in failed(quartier("blocks", "add"), status=2).upper()
    unknown = failed(quartier("blocks", "add", "x.example", "--severity", "ban"), status=2)
    assert "invalid choice: 'ban'" in unknown
    failed(quartier("blocks", "remove"), status=2)
