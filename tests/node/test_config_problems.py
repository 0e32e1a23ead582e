"""The ``[problems]`` settings: categories, routes to handlers, the identity policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import DEFAULT_PROBLEM_CATEGORIES, MANAGERS, load_settings
from tests.node.test_config import config_error


def test_defaults_route_everything_to_the_managers_and_share_no_identity() -> None:
    problems = load_settings(environ={}).problems
    assert problems.categories == DEFAULT_PROBLEM_CATEGORIES
    assert {problems.handler_of(c) for c in problems.categories} == {MANAGERS}
    assert problems.share_reporter is False


def test_routes_from_the_file_and_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "quartier.toml"
    path.write_text(
        '[problems]\nroutes = {lighting = "Mairie.Example", lift = "managers"}\n'
        'default = "managers"\nshare_reporter = true\n',
        encoding="utf-8",
    )
    problems = load_settings(path, environ={}).problems
    assert problems.handler_of("lighting") == "mairie.example"
    assert problems.handler_of("lift") == MANAGERS
    assert problems.handler_of("noise") == MANAGERS
    assert problems.share_reporter
    env = {"QUARTIER_PROBLEMS_ROUTES": "roads=ville.example:8443, waste=managers"}
    problems = load_settings(None, environ=env).problems
    assert problems.handler_of("roads") == "ville.example:8443"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[problems]\nroutes = {dragons = "managers"}\n', "not in categories"),
        ('[problems]\nroutes = {lighting = "https://x.example/"}\n', "neither 'managers'"),
        ('[problems]\ndefault = "nobody here"\n', "neither 'managers'"),
        ("[problems]\ncategories = []\n", "at least one category"),
        ('[problems]\ncategories = ["Big Holes"]\n', "not a category name"),
        ("[problems]\nmax_distance_km = 0\n", "max_distance_km"),
    ],
)
def test_bad_problem_settings_are_refused_naming_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = config_error(tmp_path / "quartier.toml", text)
    assert "problems" in message
    assert expected in message
