"""The [federation] settings and the transport the node builds from them."""

from __future__ import annotations

import pytest

from federation.errors import ForbiddenAddress, ForbiddenScheme
from node.config import load_settings
from node.db import activated
from node.errors import ConfigError
from node.http.keys import DATABASE, TRANSPORT


def test_local_testing_is_off_by_default_and_set_from_toml_or_environment(tmp_path):
    path = tmp_path / "quartier.toml"
    path.write_text("")
    assert load_settings(path, environ={}).federation.local_testing is False
    path.write_text("[federation]\nlocal_testing = true\nrequest_timeout_seconds = 5.5\n")
    settings = load_settings(path, environ={})
    assert settings.federation.local_testing is True
    assert settings.federation.request_timeout_seconds == 5.5
    env = {
        "QUARTIER_FEDERATION_LOCAL_TESTING": "no",
        "QUARTIER_FEDERATION_REQUEST_TIMEOUT_SECONDS": "3",
    }
    settings = load_settings(path, environ=env)
    assert settings.federation.local_testing is False
    assert settings.federation.request_timeout_seconds == 3.0


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"QUARTIER_FEDERATION_LOCAL_TESTING": "maybe"}, "QUARTIER_FEDERATION_LOCAL_TESTING"),
        ({"QUARTIER_FEDERATION_REQUEST_TIMEOUT_SECONDS": "soon"}, "REQUEST_TIMEOUT_SECONDS"),
        ({"QUARTIER_FEDERATION_REQUEST_TIMEOUT_SECONDS": "0"}, "request_timeout_seconds"),
    ],
)
def test_invalid_federation_settings_name_the_field(tmp_path, env, named):
    path = tmp_path / "quartier.toml"
    path.write_text("")
    with pytest.raises(ConfigError, match=named):
        load_settings(path, environ=env)


async def test_a_default_node_refuses_outbound_requests_to_private_addresses(node):
    transport = node.app[TRANSPORT]
    # The node signs its fetches with its own key, loaded from its database.
    with activated(node.app[DATABASE]):
        with pytest.raises(ForbiddenScheme):
            await transport.get_json(f"http://127.0.0.1:{node.server.port}/actor")
        with pytest.raises(ForbiddenAddress):
            await transport.get_json("https://127.0.0.1/actor")


async def test_a_local_testing_node_reaches_loopback_over_http(make_settings, make_node):
    node = await make_node(make_settings(federation={"local_testing": "true"}))
    with activated(node.app[DATABASE]):
        doc = await node.app[TRANSPORT].get_json(f"http://127.0.0.1:{node.server.port}/actor")
    assert doc["type"] == "Application"
