"""Registering apps, issuing and redeeming authorization codes, issuing and revoking tokens.

Hand-rolled rather than built on authlib or oauthlib: their server sides call the storage
hooks synchronously, and our storage (tortoise) can only be awaited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from node.members.models import LoginSession, Member
from node.members.service import secret_hash
from node.oauth import scopes as scope_set
from node.oauth.models import OAuthApp, OAuthAppToken, OAuthCode

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_TTL = timedelta(minutes=10)  # Doorkeeper's default
# Mastodon's tokens do not expire; a session row needs an end, so a distant one.
TOKEN_TTL = timedelta(days=3650)
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript"})
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 200


class OAuthError(Exception):
    """An OAuth error: its RFC 6749 code, a description and the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class InvalidApp(Exception):
    """An app registration Mastodon would refuse with 422 (the message is its ``error``)."""


INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)


def pkce_challenge(verifier: str) -> str:
    """RFC 7636's S256 transform: BASE64URL-NOPAD(SHA256(ASCII(verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(verifier: str, challenge: str) -> bool:
    """Whether ``verifier`` answers ``challenge`` (S256), compared in constant time."""
    if not _VERIFIER.fullmatch(verifier):
        return False
    return hmac.compare_digest(pkce_challenge(verifier), challenge)


def valid_redirect_uri(uri: str) -> bool:
    """An absolute URI of any scheme (apps register custom ones) but script-running ones."""
    if not uri or len(uri) > MAX_URI_LENGTH or any(c.isspace() for c in uri):
        return False
    if uri == OOB:
        return True
    parts = urlsplit(uri)
    if not parts.scheme or parts.scheme.lower() in _FORBIDDEN_SCHEMES or parts.fragment:
        return False
    return bool(parts.netloc or parts.path)


def redirect_uris_of(app: OAuthApp) -> list[str]:
    """The app's registered redirect URIs."""
    return app.redirect_uris.split("\n")


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the secret (shown once) and what it is for."""

    token: str
    scopes: str
    created_at: datetime


class OAuthService:
    """Apps, codes and tokens."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        # Told the ids of member tokens (login sessions) revoked here.
        self.sessions_ended: list[Callable[[list[int]], None]] = []

    async def register(
        self, name: str, redirect_uris: list[str], scopes: str, website: str | None
    ) -> tuple[OAuthApp, str]:
        """Register an app; returns it and its client secret (shown once)."""
        name = name.strip()
        if not name:
            raise InvalidApp("Validation failed: Application name can't be blank")
        if len(name) > MAX_NAME_LENGTH:
            raise InvalidApp("Validation failed: Application name is too long")
        uris = [uri.strip() for uri in redirect_uris if uri.strip()]
        if not uris:
            raise InvalidApp("Validation failed: Redirect URI can't be blank")
        if len(uris) > MAX_REDIRECT_URIS or not all(valid_redirect_uri(u) for u in uris):
            raise InvalidApp("Validation failed: Redirect URI must be an absolute URI.")
        asked = scope_set.parse(scopes) or ["read"]
        if scope_set.unknown(asked):
            raise InvalidApp("Validation failed: Scopes must be valid scopes")
        # Shown as a link on the consent page: web addresses only.
        if website is not None and (
            len(website) > MAX_URI_LENGTH
            or urlsplit(website.strip()).scheme not in ("http", "https")
            or any(c.isspace() for c in website.strip())
        ):
            website = None
        secret = secrets.token_urlsafe(32)
        app = await OAuthApp.create(
            client_id=secrets.token_urlsafe(32),
            client_secret_hash=secret_hash(secret),
            name=name,
            website=website,
            redirect_uris="\n".join(uris),
            scopes=" ".join(asked),
        )
        return app, secret

    async def app_by_client_id(self, client_id: str) -> OAuthApp | None:
        """The app of ``client_id``, or ``None``."""
        if not client_id or len(client_id) > 64:
            return None
        return await OAuthApp.get_or_none(client_id=client_id)

    async def authenticate_client(self, client_id: str, client_secret: str) -> OAuthApp:
        """The app whose id and secret these are, or ``invalid_client`` (401)."""
        app = await self.app_by_client_id(client_id)
        if app is None or not hmac.compare_digest(
            app.client_secret_hash, secret_hash(client_secret)
        ):
            raise OAuthError(
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication "
                "included, or unsupported authentication method.",
                401,
            )
        return app

    async def issue_code(
        self,
        app: OAuthApp,
        member: Member,
        redirect_uri: str,
        scopes: str,
        code_challenge: str | None,
    ) -> str:
        """A fresh authorization code for what the member approved."""
        code = secrets.token_urlsafe(32)
        await OAuthCode.create(
            code_hash=secret_hash(code),
            app=app,
            member=member,
            redirect_uri=redirect_uri,
            scopes=scopes,
            code_challenge=code_challenge,
            code_challenge_method="S256" if code_challenge else None,
            expires_at=self._clock() + CODE_TTL,
        )
        return code

    async def redeem_code(
        self, app: OAuthApp, code: str, redirect_uri: str, verifier: str | None
    ) -> IssuedToken:
        """Exchange a code for a member's token (``invalid_grant`` on any mismatch).

        A code presented twice is a stolen code or a replay: the tokens it gave are revoked
        (RFC 6749 §4.1.2).
        """
        now = self._clock()
        grant = await OAuthCode.get_or_none(code_hash=secret_hash(code), app=app)
        if grant is None:
            raise OAuthError("invalid_grant", INVALID_GRANT)
        # One conditional update claims the code: of two concurrent exchanges one wins, the
        # other sees a replay (no row lock: PostgreSQL refuses FOR UPDATE with the member's
        # join, and none is needed).
        claimed = await OAuthCode.filter(id=grant.id, used_at__isnull=True).update(used_at=now)
        if not claimed:
            # Which token the first use gave is not recorded: end all of this member's tokens
            # for the app (a superset, and the safe side).
            await LoginSession.filter(
                app=app,
                member_id=grant.member_id,  # type: ignore[attr-defined]
                revoked_at__isnull=True,
            ).update(revoked_at=now)
            raise OAuthError("invalid_grant", INVALID_GRANT)
        if grant.expires_at <= now or grant.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", INVALID_GRANT)
        if grant.code_challenge:
            if not verifier:
                raise OAuthError("invalid_grant", "The code verifier is missing.")
            if not pkce_matches(verifier, grant.code_challenge):
                raise OAuthError("invalid_grant", INVALID_GRANT)
        member = await Member.get(id=grant.member_id)  # type: ignore[attr-defined]
        if member.suspended_at is not None:
            raise OAuthError("invalid_grant", INVALID_GRANT)
        token = secrets.token_urlsafe(32)
        session = await LoginSession.create(
            member=member,
            token_hash=secret_hash(token),
            label=app.name[:200],
            expires_at=now + TOKEN_TTL,
            app=app,
            scopes=grant.scopes,
        )
        return IssuedToken(token, grant.scopes, session.created_at)

    async def issue_app_token(self, app: OAuthApp, scopes: str) -> IssuedToken:
        """A ``client_credentials`` token: the app acting for no member."""
        asked = scope_set.parse(scopes) or ["read"]
        if not scope_set.is_subset(asked, scope_set.parse(app.scopes)):
            raise OAuthError(
                "invalid_scope", "The requested scope is invalid, unknown, or malformed."
            )
        token = secrets.token_urlsafe(32)
        row = await OAuthAppToken.create(
            token_hash=secret_hash(token), app=app, scopes=" ".join(asked), created_at=self._clock()
        )
        return IssuedToken(token, row.scopes, row.created_at)

    async def app_for_token(self, token: str) -> OAuthApp | None:
        """The app a live token (the app's own or a member's) was issued to."""
        hashed = secret_hash(token)
        app_token = (
            await OAuthAppToken.filter(token_hash=hashed, revoked_at__isnull=True)
            .select_related("app")
            .first()
        )
        if app_token is not None:
            return app_token.app
        session = (
            await LoginSession.filter(
                token_hash=hashed, revoked_at__isnull=True, expires_at__gt=self._clock()
            )
            .select_related("app")
            .first()
        )
        return session.app if session is not None else None

    async def revoke(self, app: OAuthApp, token: str) -> bool:
        """Revoke ``token`` if live; ``False`` when it belongs to another client (RFC 7009:
        unknown or already revoked tokens are not an error)."""
        hashed = secret_hash(token)
        now = self._clock()
        app_token = await OAuthAppToken.get_or_none(token_hash=hashed)
        if app_token is not None:
            if app_token.app_id != app.id:  # type: ignore[attr-defined]
                return False
            await OAuthAppToken.filter(id=app_token.id, revoked_at__isnull=True).update(
                revoked_at=now
            )
            return True
        session = await LoginSession.get_or_none(token_hash=hashed)
        if session is not None:
            if session.app_id != app.id:  # type: ignore[attr-defined]
                return False
            await LoginSession.filter(id=session.id, revoked_at__isnull=True).update(revoked_at=now)
            for listener in self.sessions_ended:
                listener([session.id])
        return True
