"""The installed 'quartier' distribution is this repository, and it ships every package.

PyPI has unrelated distributions called node, activitypub and federation: the imports must
resolve to our code, and pyproject's explicit package list must not forget a subpackage (a
wheel built from it would then lack modules the editable install happens to find).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOP_LEVEL_PACKAGES = ("activitypub", "federation", "moderation", "node")


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def packages_in_tree() -> set[str]:
    """Dotted names of every directory with an ``__init__.py`` under our top-level packages."""
    found = set()
    for top in TOP_LEVEL_PACKAGES:
        for init in (REPO / top).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO)
            if "__pycache__" in relative.parts:
                continue
            found.add(".".join(relative.parts))
    return found


@pytest.mark.parametrize("name", TOP_LEVEL_PACKAGES)
def test_imported_package_is_ours(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    path = Path(module.__file__).resolve()
    assert path == REPO / name / "__init__.py"
    assert "site-packages" not in path.parts


def test_distribution_exposes_the_quartier_console_script() -> None:
    dist = importlib.metadata.distribution("quartier")
    scripts = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    assert [(ep.name, ep.value) for ep in scripts] == [("quartier", "node.cli:main")]
    from node.cli import main

    assert scripts[0].load() is main


def test_distribution_lists_our_top_level_packages() -> None:
    dist = importlib.metadata.distribution("quartier")
    top_level = (dist.read_text("top_level.txt") or "").split()
    assert set(top_level) == set(TOP_LEVEL_PACKAGES)
    assert set(importlib.metadata.packages_distributions()["node"]) == {"quartier"}


def test_pyproject_lists_the_top_level_packages() -> None:
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    assert set(TOP_LEVEL_PACKAGES) <= listed


def test_every_package_directory_is_listed_in_pyproject() -> None:
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    in_tree = packages_in_tree()
    assert {"node", "node.migrations"} <= in_tree  # the walk finds packages at all
    missing = sorted(in_tree - listed)
    assert missing == [], f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_pyproject_lists_no_package_that_does_not_exist() -> None:
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    assert sorted(listed - packages_in_tree()) == []


def test_default_config_template_is_package_data() -> None:
    package_data = pyproject()["tool"]["setuptools"]["package-data"]
    assert "default_config.toml" in package_data["node"]
    assert (REPO / "node" / "default_config.toml").is_file()


def test_package_data_covers_every_web_file() -> None:
    """Every template, catalogue and static file of the web pages is declared package data:
    a wheel built from pyproject would otherwise serve 500s where the clone works (listings
    and staff templates and the scripts were once left out)."""
    globs = pyproject()["tool"]["setuptools"]["package-data"]["node.web"]
    root = REPO / "node" / "web"
    shipped = {
        path
        for folder in ("templates", "static", "locale")
        for path in (root / folder).rglob("*")
        if path.is_file() and path.suffix != ".mo"
    }
    # pathlib's glob reads "*" and "**" as setuptools does: "*" within one folder.
    declared = {path for pattern in globs for path in root.glob(pattern) if path.is_file()}
    assert shipped
    assert sorted(map(str, shipped - declared)) == []
