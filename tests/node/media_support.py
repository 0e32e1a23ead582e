"""Images made with Pillow for the photo tests (no binary fixtures), and the steps they repeat."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from PIL import Image

from node.db import activated
from node.http.keys import DATABASE
from node.listings.models import Audience, Kind, Listing
from tests.api import bearer

NODE = "http://127.0.0.1:8080"  # the test node's base_url (make_settings)
ORIENTATION, GPS_IFD, MAKE = 0x0112, 0x8825, 0x010F


def two_colour(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: which way up it is can be read from the pixels."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


def jpeg(
    size: tuple[int, int] = (640, 480),
    *,
    orientation: int | None = None,
    gps: bool = False,
    comment: bytes | None = None,
    quality: int = 90,
) -> bytes:
    """A JPEG, optionally with EXIF orientation, a GPS position and a comment."""
    image = two_colour(size)
    exif = image.getexif()
    exif[MAKE] = "PhoneMaker"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if gps:
        place = exif.get_ifd(GPS_IFD)
        place[1], place[2] = "N", (48.0, 51.0, 24.0)  # GPSLatitudeRef, GPSLatitude
        place[3], place[4] = "E", (2.0, 21.0, 3.0)
    out = io.BytesIO()
    extra: dict[str, Any] = {"comment": comment} if comment else {}
    image.save(out, "JPEG", exif=exif, quality=quality, **extra)
    return out.getvalue()


def png(size: tuple[int, int] = (300, 200), *, transparent: bool = False) -> bytes:
    """A PNG, with a transparent half when asked."""
    image = two_colour(size).convert("RGBA")
    if transparent:
        image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def webp(size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    two_colour(size).save(out, "WEBP")
    return out.getvalue()


def gif(size: tuple[int, int] = (50, 50)) -> bytes:
    out = io.BytesIO()
    two_colour(size).save(out, "GIF")
    return out.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(data)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def form(data: bytes | None, description: str | None = None, name: str = "photo.jpg") -> Any:
    """A multipart upload body."""
    body = aiohttp.FormData(default_to_multipart=True)
    if data is not None:
        body.add_field("file", io.BytesIO(data), filename=name, content_type="image/jpeg")
    if description is not None:
        body.add_field("description", description)
    return body


async def upload(
    client: TestClient, token: str, data: bytes, description: str | None = None
) -> aiohttp.ClientResponse:
    return await client.post(
        "/api/quartier/v1/media", data=form(data, description), headers=bearer(token)
    )


async def uploaded(
    client: TestClient, token: str, data: bytes | None = None, description: str | None = None
) -> dict[str, Any]:
    """Upload (a small JPEG by default); asserts 201 and returns the photo's JSON."""
    resp = await upload(client, token, data or jpeg((64, 48)), description)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def make_listing(
    client: TestClient,
    audience: Audience,
    *,
    author: str = f"{NODE}/users/ada",
    local: bool = True,
    n: int = 1,
) -> int:
    """A listing row, as the listing service will make them; its id."""
    now = datetime(2026, 11, 26, tzinfo=UTC)
    origin = NODE if local else author.split("/users/")[0]
    with activated(client.app[DATABASE]):
        row = await Listing.create(
            ap_id=f"{origin}/listings/{n}",
            local=local,
            author=author,
            origin_host=origin.removeprefix("http://"),
            kind=Kind.LEND,
            audience=audience,
            category="tools",
            title=f"Drill {n}",
            published_at=now,
            updated_at=now,
        )
    return int(row.id)


def path_of(url: str) -> str:
    return url.removeprefix(NODE)


class PhotoServer:
    """A fake remote server serving photos (or whatever a test makes it answer)."""

    def __init__(self) -> None:
        self.base = ""
        # path -> (status, content type, body)
        self.answers: dict[str, tuple[int, str, bytes]] = {}
        self.requests: list[dict[str, str]] = []

    def photo(self, path: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Serve ``data`` at ``path``; its URL."""
        self.answers[path] = (200, content_type, data)
        return f"{self.base}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        answer = self.answers.get(request.path)
        if answer is None:
            raise web.HTTPNotFound()
        status, content_type, body = answer
        return web.Response(status=status, body=body, content_type=content_type)


async def photo_server(aiohttp_server: Any) -> PhotoServer:
    """A :class:`PhotoServer` on 127.0.0.1."""
    server = PhotoServer()
    app = web.Application()
    app.router.add_get("/{tail:.*}", server.handle)
    running = await aiohttp_server(app)
    server.base = f"http://127.0.0.1:{running.port}"
    return server
