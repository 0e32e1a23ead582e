"""The governance policy through the staff page: the API's change, validated as a whole."""

from __future__ import annotations

import re

import pytest

from node.members.models import Role
from tests.api import bearer
from tests.web.staff_support import ESCAPED, FRENCH, SCRIPT, browse_as, post_form, staff_member

API = "/api/quartier/v1/admin/governance"
VALUE = re.compile(r'name="([a-z_]+)" type="(?:text|number)" value="([^"]*)"')
CHECKED = re.compile(r'name="([a-z_]+)" value="true"( checked)?')
_OPTIONS = r"(?:<option[^>]*>[^<]*</option>)*?"
SELECTED = re.compile(
    r'<select id="([a-z_]+)"[^>]*>[^<]*' + _OPTIONS + r'<option value="([^"]*)" selected>'
)


@pytest.fixture
async def ada(node) -> str:
    token = await staff_member(node, "ada", Role.ADMIN)
    await browse_as(node, "ada")
    return token


async def form_as_shown(node) -> dict[str, str]:
    """The governance form's fields as the page fills them in."""
    return fields_of(await (await node.get("/staff/governance")).text())


def fields_of(page: str) -> dict[str, str]:
    """The fields of a governance form as filled in."""
    fields = dict(VALUE.findall(page))
    fields.update(SELECTED.findall(page))
    fields.update({name: "true" for name, checked in CHECKED.findall(page) if checked})
    return fields


async def test_a_setting_is_changed(node, ada):
    fields = await form_as_shown(node)
    assert fields["messages"] == "public"
    assert fields["notices_by"] == "admin, manager"
    assert fields["partners_may_relay"] == "true"
    resp = await post_form(
        node, "/staff/governance", "/staff/governance", {**fields, "messages": "nobody"}
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/staff/governance"
    settings = await (await node.get(API, headers=bearer(ada))).json()
    assert settings["settings"]["messages"] == "nobody"
    assert settings["changed"] == ["messages"]
    assert settings["changed_by"] == "ada"
    page = await (await node.get("/staff/governance", headers=FRENCH)).text()
    assert "Dernière modification par ada" in page


async def test_an_invalid_setting_is_named_and_nothing_changes(node, ada):
    fields = await form_as_shown(node)
    data = {**fields, "messages": SCRIPT, "listings": "nobody"}
    resp = await post_form(node, "/staff/governance", "/staff/governance", data)
    assert resp.status == 422
    page = await resp.text()
    assert 'id="messages-error"' in page
    assert ESCAPED in page
    assert SCRIPT not in page
    assert fields_of(page)["listings"] == "nobody"  # what was chosen is kept
    settings = await (await node.get(API, headers=bearer(ada))).json()
    assert settings["changed"] == []


async def test_nothing_to_change(node, ada):
    fields = await form_as_shown(node)
    resp = await post_form(node, "/staff/governance", "/staff/governance", fields, FRENCH)
    assert resp.status == 422
    assert "Rien n\u2019a été modifié." in await resp.text()
