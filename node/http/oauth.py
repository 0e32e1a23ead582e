"""OAuth 2.0 as Mastodon clients expect it (docs/client-api.md, "OAuth").

POST /api/v1/apps                          register an app (public)
GET  /api/v1/apps/verify_credentials       the app of the bearer token
POST /oauth/token                          authorization_code (PKCE S256) or client_credentials
POST /oauth/revoke                         RFC 7009
GET  /.well-known/oauth-authorization-server   RFC 8414 metadata

The consent page (GET/POST /oauth/authorize) is a web page: node/web/oauth.py.
Errors here keep Mastodon's shapes (``{"error": ...}``, plus ``error_description`` on the OAuth
endpoints), not the node's own, since clients read them.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from node.http.keys import OAUTH, SETTINGS
from node.oauth import scopes as scope_set
from node.oauth.models import OAuthApp
from node.oauth.service import InvalidApp, OAuthError, redirect_uris_of

routes = web.RouteTableDef()
MAX_BODY = 64 * 1024
Params = dict[str, Any]


async def params(request: web.Request) -> Params:
    """Query string, then form or JSON body, merged as Rails does; ``key[]`` repeats become
    lists. Anything unreadable is simply absent (the handler then reports what is missing)."""
    merged: Params = {}

    def add(key: str, value: Any) -> None:
        if key.endswith("[]"):
            merged.setdefault(key[:-2], [])
            if isinstance(merged[key[:-2]], list):
                merged[key[:-2]].append(value)
        else:
            merged[key] = value

    for key, value in request.query.items():
        add(key, value)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.read() or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict):
            merged.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, field in (await request.post()).items():
            if isinstance(field, str):
                add(key, field)
    return merged


def _text(values: Params, key: str) -> str:
    value = values.get(key)
    return value if isinstance(value, str) else ""


def oauth_error(error: OAuthError) -> web.Response:
    """An OAuth error in RFC 6749's shape."""
    response = web.json_response(
        {"error": error.error, "error_description": error.description}, status=error.status
    )
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Quartier"'
    response.headers["Cache-Control"] = "no-store"
    return response


def app_to_api(app: OAuthApp) -> dict[str, Any]:
    """An Application entity (without its secret)."""
    uris = redirect_uris_of(app)
    return {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": scope_set.parse(app.scopes),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": "",  # no Web Push yet: an empty key, which older apps tolerate
    }


@routes.post("/api/v1/apps")
async def create_app(request: web.Request) -> web.Response:
    """Register an app; the answer is the only time its client secret is shown."""
    values = await params(request)
    raw = values.get("redirect_uris")
    if isinstance(raw, list):
        uris = [u for u in raw if isinstance(u, str)]
    elif isinstance(raw, str):
        uris = raw.split("\n")
    else:
        uris = []
    website = values.get("website")
    try:
        app, secret = await request.app[OAUTH].register(
            _text(values, "client_name"),
            uris,
            _text(values, "scopes"),
            website if isinstance(website, str) else None,
        )
    except InvalidApp as exc:
        return web.json_response({"error": str(exc)}, status=422)
    body = {
        **app_to_api(app),
        "client_id": app.client_id,
        "client_secret": secret,
        "client_secret_expires_at": 0,
    }
    return web.json_response(body)


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@routes.get("/api/v1/apps/verify_credentials")
async def verify_app(request: web.Request) -> web.Response:
    """The app the bearer token (the app's own or a member's) was issued to."""
    token = _bearer(request)
    app = await request.app[OAUTH].app_for_token(token) if token else None
    if app is None:
        return web.json_response({"error": "The access token is invalid"}, status=401)
    return web.json_response(app_to_api(app))


def _client_credentials(request: web.Request, values: Params) -> tuple[str, str]:
    """The client's id and secret: HTTP Basic (client_secret_basic) or the body."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", 401)
        # RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
        return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
    return _text(values, "client_id"), _text(values, "client_secret")


@routes.post("/oauth/token")
async def token(request: web.Request) -> web.Response:
    """Issue an access token (Mastodon's Token entity)."""
    values = await params(request)
    service = request.app[OAUTH]
    try:
        grant_type = _text(values, "grant_type")
        if grant_type not in ("authorization_code", "client_credentials"):
            if not grant_type:
                raise OAuthError("invalid_request", "The grant_type parameter is missing.")
            raise OAuthError(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        client_id, client_secret = _client_credentials(request, values)
        app = await service.authenticate_client(client_id, client_secret)
        if grant_type == "client_credentials":
            issued = await service.issue_app_token(app, _text(values, "scope"))
        else:
            code, redirect_uri = _text(values, "code"), _text(values, "redirect_uri")
            if not code or not redirect_uri:
                raise OAuthError("invalid_request", "The code and redirect_uri are required.")
            verifier = _text(values, "code_verifier") or None
            issued = await service.redeem_code(app, code, redirect_uri, verifier)
    except OAuthError as exc:
        return oauth_error(exc)
    body = {
        "access_token": issued.token,
        "token_type": "Bearer",
        "scope": issued.scopes,
        "created_at": int(issued.created_at.timestamp()),
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.post("/oauth/revoke")
async def revoke(request: web.Request) -> web.Response:
    """Revoke a token of the calling client (RFC 7009: unknown tokens are no error)."""
    values = await params(request)
    try:
        client_id, client_secret = _client_credentials(request, values)
        app = await request.app[OAUTH].authenticate_client(client_id, client_secret)
        secret = _text(values, "token")
        if not secret:
            raise OAuthError("invalid_request", "The token parameter is missing.")
        if not await request.app[OAUTH].revoke(app, secret):
            raise OAuthError(
                "unauthorized_client", "You are not authorized to revoke this token", 403
            )
    except OAuthError as exc:
        return oauth_error(exc)
    return web.json_response({})


@routes.get("/.well-known/oauth-authorization-server")
async def metadata(request: web.Request) -> web.Response:
    """RFC 8414 metadata, with the fields Mastodon 4.3 publishes."""
    base = request.app[SETTINGS].server.base_url.rstrip("/")
    return web.json_response(
        {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "scopes_supported": list(scope_set.SUPPORTED),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
    )
