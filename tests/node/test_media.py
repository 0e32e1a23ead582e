"""Uploading photos: checked by content, stripped of metadata, re-encoded, resized, described.

A real node over real HTTP; images are made with Pillow in the tests.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from node.http.keys import SETTINGS
from tests.api import admin_token, bearer, error_of, member_token
from tests.node.media_support import (
    GPS_IFD,
    MAKE,
    ORIENTATION,
    bomb_png,
    form,
    gif,
    jpeg,
    opened,
    path_of,
    png,
    upload,
    uploaded,
    webp,
)

PATH = "/api/quartier/v1/media"


@pytest.fixture
async def ada(node) -> str:
    return await admin_token(node)


def stored_files(node) -> list[str]:
    folder: Path = node.app[SETTINGS].media_path
    return sorted(os.listdir(folder)) if folder.exists() else []


async def fetch(node, token: str, url: str) -> bytes:
    resp = await node.get(path_of(url), headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.read()


# What is made of an upload


async def test_a_jpeg_loses_its_exif_and_gps_and_is_turned_upright(node, ada):
    original = jpeg((800, 600), orientation=6, gps=True, comment=b"at home, 3 rue des Lilas")
    assert b"PhoneMaker" in original
    assert b"rue des Lilas" in original
    photo = await uploaded(node, ada, original, "A drill, barely used")
    # Orientation 6: the camera was turned; upright, the photo is portrait.
    assert (photo["width"], photo["height"], photo["content_type"]) == (600, 800, "image/jpeg")
    assert photo["description"] == "A drill, barely used"
    data = await fetch(node, ada, photo["url"])
    assert len(data) == photo["size"]
    for secret in (b"PhoneMaker", b"rue des Lilas", b"Exif"):
        assert secret not in data
    image = opened(data)
    exif = image.getexif()
    assert ORIENTATION not in exif
    assert MAKE not in exif
    assert not exif.get_ifd(GPS_IFD)
    assert "comment" not in image.info
    assert "xmp" not in image.info
    # Turned clockwise: the left (red) half of the sensor is now at the top.
    top, bottom = image.getpixel((300, 50)), image.getpixel((300, 750))
    assert top[0] > 200 > top[2]
    assert bottom[2] > 200 > bottom[0]


async def test_a_large_photo_is_resized_and_gets_a_thumbnail(node, ada):
    photo = await uploaded(node, ada, jpeg((4000, 3000)))
    assert (photo["width"], photo["height"]) == (1600, 1200)
    thumbnail = opened(await fetch(node, ada, photo["thumbnail_url"]))
    assert thumbnail.size == (400, 300)
    assert thumbnail.format == "JPEG"
    assert opened(await fetch(node, ada, photo["url"])).size == (1600, 1200)


async def test_a_small_photo_is_not_enlarged(node, ada):
    photo = await uploaded(node, ada, jpeg((120, 90)))
    assert (photo["width"], photo["height"]) == (120, 90)
    assert opened(await fetch(node, ada, photo["thumbnail_url"])).size == (120, 90)


async def test_a_transparent_png_stays_png_and_an_opaque_one_becomes_jpeg(node, ada):
    clear = await uploaded(node, ada, png(transparent=True))
    assert clear["content_type"] == "image/png"
    assert clear["url"].endswith(".png")
    image = opened(await fetch(node, ada, clear["url"]))
    assert image.mode == "RGBA"
    assert image.getpixel((10, 10))[3] == 0
    opaque = await uploaded(node, ada, png(transparent=False))
    assert opaque["content_type"] == "image/jpeg"
    assert opaque["url"].endswith(".jpg")
    assert opened(await fetch(node, ada, opaque["thumbnail_url"])).format == "JPEG"


async def test_a_webp_is_accepted_and_stored_as_jpeg(node, ada):
    photo = await uploaded(node, ada, webp((320, 240)))
    assert (photo["content_type"], photo["width"], photo["height"]) == ("image/jpeg", 320, 240)
    assert opened(await fetch(node, ada, photo["url"])).format == "JPEG"


async def test_the_photo_json_names_everything_a_client_needs(node, ada):
    photo = await uploaded(node, ada, jpeg((64, 48)))
    assert set(photo) == {
        "id", "url", "thumbnail_url", "description", "content_type", "width", "height", "size",
    }  # fmt: skip
    assert photo["url"] == f"http://127.0.0.1:8080/media/{photo['id']}.jpg"
    assert photo["thumbnail_url"] == f"http://127.0.0.1:8080/media/{photo['id']}.thumb.jpg"
    assert photo["description"] == ""
    resp = await node.get(f"{PATH}/{photo['id']}", headers=bearer(ada))
    assert resp.status == 200
    assert await resp.json() == photo


# Refused uploads: a clear error, nothing stored


async def test_a_30_megabyte_upload_is_refused_with_413(node, ada):
    big = os.urandom(30 * 1_048_576)
    resp = await upload(node, ada, big)
    error = await error_of(resp, 413, "payload_too_large")
    assert error["message"] == "the image is larger than 10 MB"
    assert stored_files(node) == []


async def test_an_upload_streamed_without_a_length_is_cut_off_at_the_limit(node, ada):
    async def chunks():
        head = (
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n"
        )
        yield head
        for _ in range(12):  # 12 MB, in a body of unknown length (chunked)
            yield b"\xff" * 1_048_576
        yield b"\r\n--XyZ--\r\n"

    resp = await node.post(
        PATH,
        data=chunks(),
        headers={**bearer(ada), "Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    await error_of(resp, 413, "payload_too_large")
    assert stored_files(node) == []


async def test_a_decompression_bomb_is_refused_before_it_is_decoded(node, ada):
    for width, height in ((100_000, 100_000), (10_000, 10_000), (8_000, 7_000)):
        bomb = bomb_png(width, height)
        assert len(bomb) < 100
        error = await error_of(await upload(node, ada, bomb), 422, "validation_failed")
        assert error["message"] == "the image is larger than 50 megapixels", (width, height)
    assert stored_files(node) == []


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"#!/bin/sh\necho not a photo\n", "a shell script"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "SVG"),
        (b"<html><script>alert(1)</script></html>", "HTML"),
        (gif(), "a GIF"),
    ],
)
async def test_what_is_not_a_jpeg_png_or_webp_is_refused_whatever_its_name(node, ada, data, why):
    resp = await node.post(PATH, data=form(data, name="holiday.jpg"), headers=bearer(ada))
    error = await error_of(resp, 415, "unsupported_media_type")
    assert error["message"] == "not a JPEG, PNG or WebP image", why
    assert stored_files(node) == []


async def test_a_truncated_jpeg_is_refused(node, ada):
    whole = jpeg((640, 480))
    error = await error_of(
        await upload(node, ada, whole[: len(whole) // 2]), 422, "validation_failed"
    )
    assert error["message"] == "the image is damaged or truncated"
    assert error["details"] == [{"field": "file", "message": "the image is damaged or truncated"}]
    assert stored_files(node) == []


async def test_an_empty_file_is_refused(node, ada):
    error = await error_of(await upload(node, ada, b""), 422, "validation_failed")
    assert error["details"] == [{"field": "file", "message": "the file is empty"}]


async def test_an_upload_without_the_file_field_is_refused(node, ada):
    resp = await node.post(PATH, data=form(None, "just words"), headers=bearer(ada))
    error = await error_of(resp, 422, "validation_failed")
    assert error["details"][0]["field"] == "file"


async def test_unknown_and_repeated_fields_are_refused(node, ada):
    body = form(jpeg((10, 10)))
    body.add_field("owner", "someone-else")
    error = await error_of(
        await node.post(PATH, data=body, headers=bearer(ada)), 422, "validation_failed"
    )
    assert error["details"] == [{"field": "owner", "message": "unknown or repeated field"}]
    body = form(jpeg((10, 10)))
    body.add_field("file", io.BytesIO(jpeg((10, 10))), filename="b.jpg")
    await error_of(await node.post(PATH, data=body, headers=bearer(ada)), 422, "validation_failed")
    assert stored_files(node) == []


async def test_a_body_that_is_not_multipart_is_refused_with_415(node, ada):
    resp = await node.post(PATH, json={"file": "aGVsbG8="}, headers=bearer(ada))
    error = await error_of(resp, 415, "unsupported_media_type")
    assert "multipart/form-data" in error["message"]
    resp = await node.post(
        PATH, data=jpeg((10, 10)), headers={**bearer(ada), "Content-Type": "image/jpeg"}
    )
    await error_of(resp, 415, "unsupported_media_type")


async def test_a_multipart_body_without_a_boundary_is_a_400(node, ada):
    resp = await node.post(
        PATH,
        data=b"no boundary here",
        headers={**bearer(ada), "Content-Type": "multipart/form-data"},
    )
    await error_of(resp, 400, "bad_request")


@pytest.mark.parametrize(
    "body",
    [
        b"garbage, no boundary line",
        b"--XyZ\r\nnot a header line\r\n\r\nabc\r\n--XyZ--\r\n",
        b'--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',  # cut short
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename*=bad''%%\r\n"
        b"\r\nabc\r\n--XyZ--\r\n",
        b"--XyZ\r\nX: " + b"y" * 200_000 + b"\r\n\r\nabc\r\n--XyZ--\r\n",
    ],
)
async def test_a_malformed_multipart_body_is_a_400_and_stores_nothing(node, ada, body):
    resp = await node.post(
        PATH,
        data=io.BytesIO(body),
        headers={**bearer(ada), "Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    error = await error_of(resp, 400, "bad_request")
    assert error["message"].startswith("the multipart body is malformed")
    assert stored_files(node) == []


async def test_a_description_too_long_is_refused_and_nothing_is_stored(node, ada):
    resp = await upload(node, ada, jpeg((10, 10)), "x" * 1501)
    error = await error_of(resp, 422, "validation_failed")
    assert error["details"] == [{"field": "description", "message": "at most 1500 characters"}]
    assert stored_files(node) == []
    photo = await uploaded(node, ada, jpeg((10, 10)), "é" * 1500)  # characters, not bytes
    assert photo["description"] == "é" * 1500


async def test_uploading_needs_a_login(node):
    await error_of(await node.post(PATH, data=form(jpeg((10, 10)))), 401, "unauthorized")


async def test_uploads_are_rate_limited_per_member(make_settings, make_node):
    node = await make_node(make_settings(media={"uploads_per_hour": 2}))
    ada = await admin_token(node)
    bob = await member_token(node, ada, "bob")
    await uploaded(node, ada)
    await uploaded(node, ada)
    resp = await upload(node, ada, jpeg((10, 10)))
    await error_of(resp, 429, "too_many_requests")
    assert int(resp.headers["Retry-After"]) > 0
    await uploaded(node, bob)  # another member is not affected


async def test_the_limits_follow_the_settings(make_settings, make_node):
    settings = make_settings(
        media={"max_upload_bytes": 20_000, "max_pixels": 100_000, "max_side": 200,
               "thumbnail_side": 50}
    )  # fmt: skip
    node = await make_node(settings)
    ada = await admin_token(node)
    photo = await uploaded(node, ada, jpeg((300, 300)))
    assert (photo["width"], photo["height"]) == (200, 200)
    assert opened(await fetch(node, ada, photo["thumbnail_url"])).size == (50, 50)
    error = await error_of(await upload(node, ada, jpeg((400, 300))), 422, "validation_failed")
    assert error["message"] == "the image is larger than 0.1 megapixels"
    noisy = os.urandom(30_000)
    error = await error_of(await upload(node, ada, noisy), 413, "payload_too_large")
    assert error["message"] == "the image is larger than 20000 bytes"


# Describing, and someone else's photo


async def test_the_owner_changes_the_description(node, ada):
    photo = await uploaded(node, ada, jpeg((10, 10)), "first")
    resp = await node.put(
        f"{PATH}/{photo['id']}", json={"description": "  a red drill "}, headers=bearer(ada)
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["description"] == "a red drill"
    resp = await node.get(f"{PATH}/{photo['id']}", headers=bearer(ada))
    assert (await resp.json())["description"] == "a red drill"


async def test_a_bad_description_change_is_refused(node, ada):
    photo = await uploaded(node, ada, jpeg((10, 10)), "kept")
    for body in ({"description": "x" * 1501}, {"description": None}, {}, {"alt": "x"}):
        resp = await node.put(f"{PATH}/{photo['id']}", json=body, headers=bearer(ada))
        await error_of(resp, 422, "validation_failed")
    resp = await node.put(f"{PATH}/{photo['id']}", data=b"text", headers=bearer(ada))
    await error_of(resp, 415, "unsupported_media_type")
    resp = await node.get(f"{PATH}/{photo['id']}", headers=bearer(ada))
    assert (await resp.json())["description"] == "kept"


async def test_someone_elses_photo_cannot_be_read_or_described(node, ada):
    bob = await member_token(node, ada, "bob")
    photo = await uploaded(node, ada, jpeg((10, 10)), "mine")
    resp = await node.get(f"{PATH}/{photo['id']}", headers=bearer(bob))
    await error_of(resp, 404, "not_found")
    resp = await node.put(f"{PATH}/{photo['id']}", json={"description": "his"}, headers=bearer(bob))
    await error_of(resp, 404, "not_found")
    resp = await node.get(f"{PATH}/{'0' * 32}", headers=bearer(ada))
    await error_of(resp, 404, "not_found")
    resp = await node.get(f"{PATH}/{photo['id']}", headers=bearer(ada))
    assert (await resp.json())["description"] == "mine"
