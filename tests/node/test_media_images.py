"""Image processing on its own: the less common shapes of JPEG, PNG and WebP files.

(The common ones, and every refusal, are covered through the upload API in test_media.py.)
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from node.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from node.media.images import ImageLimits, process_image
from tests.node.media_support import bomb_png, jpeg, opened

LIMITS = ImageLimits()


def saved(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def test_a_16_bit_greyscale_png_keeps_its_tones():
    image = Image.new("I;16", (40, 40), 40_000)  # 40000 of 65535: a light grey
    result = process_image(saved(image, "PNG"), LIMITS)
    stored = opened(result.data)
    assert result.content_type == "image/jpeg"
    assert stored.mode == "L"
    assert 150 <= stored.getpixel((20, 20)) <= 160  # 40000 / 256 = 156, not clipped to 255


def test_a_palette_png_with_a_transparent_colour_stays_transparent():
    image = Image.new("P", (30, 30), 0)
    image.putpalette([255, 255, 255, 200, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 15, 30))
    result = process_image(saved(image, "PNG", transparency=0), LIMITS)
    stored = opened(result.data)
    assert result.content_type == "image/png"
    assert stored.getpixel((25, 5))[3] == 0
    assert stored.getpixel((5, 5))[:3] == (200, 0, 0)


def test_an_alpha_channel_that_hides_nothing_is_an_opaque_photo():
    image = Image.new("RGBA", (30, 30), (10, 200, 10, 255))
    assert process_image(saved(image, "PNG"), LIMITS).content_type == "image/jpeg"
    assert process_image(saved(image, "WEBP"), LIMITS).content_type == "image/jpeg"


def test_a_transparent_webp_becomes_a_png():
    image = Image.new("RGBA", (30, 30), (10, 200, 10, 0))
    result = process_image(saved(image, "WEBP", lossless=True), LIMITS)
    assert result.content_type == "image/png"


def test_a_cmyk_jpeg_is_stored_as_rgb():
    image = Image.new("CMYK", (30, 30), (0, 255, 255, 0))  # red in ink
    stored = opened(process_image(saved(image, "JPEG"), LIMITS).data)
    assert stored.mode == "RGB"
    red, green, blue = stored.getpixel((15, 15))
    assert red > 200
    assert green < 60
    assert blue < 60


def test_a_colour_profile_is_applied_then_dropped():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = saved(Image.new("RGB", (30, 30), (0, 128, 255)), "JPEG", icc_profile=profile)
    assert opened(data).info.get("icc_profile")
    stored = opened(process_image(data, LIMITS).data)
    assert "icc_profile" not in stored.info
    red, green, blue = stored.getpixel((15, 15))
    assert red < 20
    assert 110 < green < 145
    assert blue > 235


def test_a_broken_colour_profile_or_exif_does_not_refuse_the_photo():
    data = saved(Image.new("RGB", (30, 20), (90, 90, 90)), "JPEG", icc_profile=b"not a profile")
    stored = opened(process_image(data, LIMITS).data)
    assert "icc_profile" not in stored.info
    broken_exif = saved(Image.new("RGB", (30, 20)), "JPEG", exif=b"Exif\x00\x00garbage")
    assert process_image(broken_exif, LIMITS).width == 30


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_ends_upright(orientation):
    result = process_image(jpeg((60, 40), orientation=orientation), LIMITS)
    turned = orientation in (5, 6, 7, 8)
    assert (result.width, result.height) == ((40, 60) if turned else (60, 40))
    assert b"Exif" not in result.data


def test_a_large_jpeg_is_decoded_reduced_and_still_fills_the_photo():
    result = process_image(jpeg((6000, 4000)), LIMITS)
    assert (result.width, result.height) == (1600, 1067)
    assert opened(result.thumbnail).size == (400, 267)


def test_the_limits_are_checked_in_order_of_cost():
    with pytest.raises(PayloadTooLarge):
        process_image(b"\x00" * 2000, ImageLimits(max_bytes=1024))
    with pytest.raises(UnsupportedMediaType):
        process_image(b"GIF89a" + b"\x00" * 100, LIMITS)
    with pytest.raises(ValidationFailed, match="larger than 1 megapixels"):
        process_image(bomb_png(1001, 1000), ImageLimits(max_pixels=1_000_000))
    assert process_image(jpeg((1000, 1000)), ImageLimits(max_pixels=1_000_000)).width == 1000
