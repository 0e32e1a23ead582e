"""Client-side steps the tests repeat: bootstrap an invite, register, log in."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from node.db import activated
from node.http.keys import DATABASE, MEMBERS
from node.members.models import Role

PASSWORD = "correct horse battery staple"


async def bootstrap_invite(client: TestClient, role: Role = Role.ADMIN) -> str:
    """An invite made the way 'quartier serve' and 'quartier invite create' make them."""
    with activated(client.app[DATABASE]):
        _, secret = await client.app[MEMBERS].create_invite(role)
    return secret.secret


async def register(
    client: TestClient,
    invite: str,
    username: str,
    *,
    password: str = PASSWORD,
    real_name: str = "Ada Lovelace",
    **extra: Any,
) -> dict[str, Any]:
    """Register over HTTP; asserts success and returns the member JSON."""
    body = {"invite": invite, "username": username, "password": password, "real_name": real_name}
    resp = await client.post("/api/quartier/v1/accounts", json={**body, **extra})
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in over HTTP; returns the bearer token."""
    resp = await client.post(
        "/api/quartier/v1/sessions", json={"username": username, "password": password}
    )
    assert resp.status == 201, await resp.text()
    return (await resp.json())["token"]


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


async def admin_token(client: TestClient, username: str = "ada") -> str:
    """Register an admin through a bootstrap invite and return their token."""
    await register(client, await bootstrap_invite(client), username)
    return await login(client, username)


async def member_token(client: TestClient, admin: str, username: str) -> str:
    """An admin invites a resident over the API; the resident registers and logs in."""
    resp = await client.post("/api/quartier/v1/admin/invites", json={}, headers=bearer(admin))
    assert resp.status == 201, await resp.text()
    await register(client, (await resp.json())["code"], username, real_name=username.title())
    return await login(client, username)


async def error_of(resp: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    """Assert the node's JSON error shape (status, code, no internals); return the error object."""
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == "application/json", text
    assert "Traceback" not in text
    assert 'File "' not in text
    body = json.loads(text)
    assert set(body) == {"error"}, text
    assert body["error"]["code"] == code, text
    return body["error"]
