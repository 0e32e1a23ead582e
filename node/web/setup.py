"""Wiring the web pages into the node: templates, catalogues, static files, headers."""

from __future__ import annotations

import gzip
import hashlib
import logging
import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime

from node.errors import NodeError, TooManyRequests
from node.http.auth import set_session_cookie
from node.http.keys import SETTINGS
from node.verification.vault import KEY_BYTES, create_key
from node.web.i18n import choose_language, load_catalogues
from node.web.security import WEB_KEY

log = logging.getLogger(__name__)

# What every HTML page is served with: no inline script or style, nothing from another host,
# never framed (clickjacking), no referrer leaving the node.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
# A static file's URL carries a hash of its content, so it may be cached for a year: a new
# version has a new URL.
STATIC_CACHE = "public, max-age=31536000, immutable"
WEB_ROUTE_PREFIX = "web."


@dataclass(frozen=True)
class StaticFile:
    """A file under ``static/``, read once at start-up."""

    body: bytes
    content_type: str
    version: str
    # Compressed once at start-up: Pico alone is 83 KB, 12 KB gzipped, on every first visit.
    gzipped: bytes | None


# The session a form's login box just opened (node.web.common.member_form): its cookie goes
# on whatever response the handler gives.
NEW_SESSION = web.RequestKey("quartier_web_new_session", str)
CATALOGUES = web.AppKey("web_catalogues", dict)
STATIC_FILES = web.AppKey("web_static_files", dict)


def setup_web(app: web.Application) -> None:
    """Add the web pages to ``app``: the Jinja2 environment (autoescaping every template),
    the compiled catalogues, the static files and the routes; the web key at start-up."""
    # Imported here: the pages import this module for render().
    from node.web import account, listings, oauth, pages, staff

    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("node.web", "templates"),
        # Every template, whatever its name: user content must never reach a page unescaped.
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )
    env.filters["datetime"] = _format_datetime
    env.filters["language_name"] = _language_name
    env.globals["static_url"] = _static_url
    app[CATALOGUES] = load_catalogues()
    app[STATIC_FILES] = _read_static(resources.files("node.web") / "static")
    app.cleanup_ctx.append(_web_key)
    for module in (pages, listings, account, staff, oauth):
        app.router.add_routes(module.routes)


async def _web_key(app: web.Application) -> AsyncIterator[None]:
    # Its own key in the data directory (0600, made once with O_EXCL so several processes
    # agree on it), not the document key: a leak of one must not weaken the other.
    path = app[SETTINGS].data_path / "web.key"
    create_key(path)
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise RuntimeError(f"{path} is not a {KEY_BYTES}-byte key: delete it to make a new one")
    app[WEB_KEY] = key
    yield


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message: str) -> str:
    return str(context["translations"].gettext(message))


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, singular: str, plural: str, count: int) -> str:
    return str(context["translations"].ngettext(singular, plural, count))


@jinja2.pass_context
def _format_datetime(context: jinja2.runtime.Context, value: datetime | None) -> str:
    """A date and time as the page's language writes it."""
    if value is None:
        return ""
    return format_datetime(value, format="medium", locale=context["lang"])


@jinja2.pass_context
def _language_name(context: jinja2.runtime.Context, tag: str) -> str:
    """A language's name in the page's language ("fr" on an English page: "French")."""
    try:
        name = Locale.parse(tag.replace("-", "_")).get_display_name(context["lang"])
    except (UnknownLocaleError, ValueError):
        return tag
    return name or tag


@jinja2.pass_context
def _static_url(context: jinja2.runtime.Context, name: str) -> str:
    # The version in the URL is what lets the file be cached for a year (STATIC_CACHE).
    files: dict[str, StaticFile] = context["static_files"]
    return f"/static/{name}?v={files[name].version}"


def _read_static(root: Traversable) -> dict[str, StaticFile]:
    files: dict[str, StaticFile] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
                continue
            body = entry.read_bytes()
            content_type = mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
            if entry.name.endswith(".md"):
                content_type = "text/plain"  # the vendored licences
            version = hashlib.sha256(body).hexdigest()[:12]
            packed = gzip.compress(body, compresslevel=9, mtime=0)
            gzipped = packed if len(packed) < len(body) else None
            files[prefix + entry.name] = StaticFile(body, content_type, version, gzipped)

    walk(root, "")
    return files


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """Render a page in the visitor's language. ``context`` gets the language, the catalogue,
    the community and the request; the caller adds the rest (member, CSRF token...)."""
    community = request.app[SETTINGS].community
    lang = choose_language(request, community)
    full = {
        "lang": lang,
        "translations": request.app[CATALOGUES][lang],
        "community": community,
        "static_files": request.app[STATIC_FILES],
        "member": None,
        **context,
    }
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    # A page may show a member's private data: never kept by a shared cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def retry_later(response: web.Response, exc: TooManyRequests) -> web.Response:
    """``response`` (a page refused past a limit) telling the browser when to try again."""
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def error_page(request: web.Request, status: int) -> web.Response:
    """An error as a page in the visitor's language: never a trace or internal detail."""
    return render(request, "error.html", {"status": status}, status=status)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every HTML response gets the security headers; the web pages' own errors become HTML
    error pages (the JSON API's stay JSON, from json_errors around this)."""
    route = request.match_info.route
    is_page = (route.name or "").startswith(WEB_ROUTE_PREFIX)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if not is_page or exc.status < 400:
            raise
        response = error_page(request, exc.status)
    except NodeError as exc:
        if not is_page:
            raise
        if exc.status >= 500:
            log.exception("web page failed")
        response = error_page(request, exc.status)
        if isinstance(exc, TooManyRequests):
            retry_later(response, exc)
    except Exception:
        if not is_page:
            raise
        log.exception("web page failed")
        response = error_page(request, 500)
    fresh = request.get(NEW_SESSION)
    if fresh:
        set_session_cookie(response, request, fresh)
    if response.content_type == "text/html":
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response
