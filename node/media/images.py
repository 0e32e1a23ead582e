"""Turning untrusted image bytes into a photo and a thumbnail safe to store and serve.

Pure and blocking (CPU-bound): callers run :func:`process_image` off the event loop
(``asyncio.to_thread``). What it guarantees about its output:

- the input was a JPEG, PNG or WebP **by its content** (never by a name or a declared type);
  anything else, a GIF included, is refused;
- the input's size and pixel count were within the limits, the pixel count checked from the
  header before anything is decoded, so a small file declaring a huge image (a decompression
  bomb) costs nothing;
- the EXIF orientation was applied, then everything else the file carried was dropped: the
  image is re-encoded from its pixels alone (no EXIF, so no GPS position or camera serial, no
  XMP, no comments, no ICC profile: colours are converted to sRGB first);
- the photo's longest side is at most ``max_side``, the thumbnail's ``thumbnail_side``;
- the output is a JPEG when the image is opaque, a PNG when it has transparency: the two
  formats every browser and every fediverse client shows (WebP would be smaller, but some
  clients and the e-mail and feed readers our posts reach still do not show it).

Refusals are :class:`~node.errors.NodeError` subclasses with a message saying what is wrong:
413 (file too large), 415 (not a JPEG, PNG or WebP image), 422 (empty, damaged, too many pixels).
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from node.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

# A decompression-bomb warning is a refusal, in every thread (``warnings.catch_warnings`` is
# not thread-safe, and this module runs in worker threads). Our own pixel limit is always
# stricter than Pillow's (see MediaSettings.max_pixels), so this is a second line only.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

JPEG = "image/jpeg"
PNG = "image/png"
# Pillow's names of the formats we accept; MPO is a JPEG with extra frames (some cameras).
_ACCEPTED = ("JPEG", "PNG", "WEBP")
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
_JPEG_QUALITY = 85
# What a damaged file makes Pillow's decoders raise (struct.error: a short header field).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class ImageLimits:
    """What an upload may be and what is made of it."""

    max_bytes: int = 10 * 1_048_576
    max_pixels: int = 50_000_000
    max_side: int = 1600
    thumbnail_side: int = 400


@dataclass(frozen=True)
class ProcessedImage:
    """A re-encoded photo and its thumbnail, of one ``content_type``; sizes in pixels."""

    data: bytes
    thumbnail: bytes
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        """The file name extension of ``content_type``."""
        return "png" if self.content_type == PNG else "jpg"


def file_field_error(message: str) -> ValidationFailed:
    """A 422 about the uploaded file (the ``file`` field of the upload)."""
    return ValidationFailed(message, details=[{"field": "file", "message": message}])


def process_image(data: bytes, limits: ImageLimits) -> ProcessedImage:
    """Check ``data`` by its content and re-encode it as a stored photo and a thumbnail.

    Raises ``PayloadTooLarge`` (413) when over ``limits.max_bytes``, ``UnsupportedMediaType``
    (415) when not a JPEG, PNG or WebP image, ``ValidationFailed`` (422) when empty, damaged,
    truncated or over ``limits.max_pixels``.
    """
    if not data:
        raise file_field_error("the file is empty")
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"the image is larger than {_megabytes(limits.max_bytes)}")
    image = _open(data, limits)
    try:
        pixels = _decode(image, limits)
    finally:
        image.close()
    photo = pixels
    photo.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS, reducing_gap=3)
    thumb = photo.copy()
    thumb.thumbnail((limits.thumbnail_side, limits.thumbnail_side), Image.Resampling.LANCZOS)
    content_type = PNG if pixels.mode in ("RGBA", "LA") else JPEG
    return ProcessedImage(
        data=_encode(photo, content_type),
        thumbnail=_encode(thumb, content_type),
        content_type=content_type,
        width=photo.width,
        height=photo.height,
    )


def _open(data: bytes, limits: ImageLimits) -> Image.Image:
    """The image's header read (nothing decoded yet), its format and pixel count checked."""
    too_many = f"the image is larger than {_megapixels(limits.max_pixels)} megapixels"
    try:
        # Only these plugins are tried: a file is what its bytes say, among these three.
        image = Image.open(io.BytesIO(data), formats=_ACCEPTED)
    except UnidentifiedImageError:
        raise UnsupportedMediaType("not a JPEG, PNG or WebP image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise file_field_error(too_many) from None
    except _DECODE_ERRORS:
        raise file_field_error("the image is damaged: its header cannot be read") from None
    if image.format not in _JPEG_FORMATS and image.format not in _ACCEPTED:
        image.close()
        raise UnsupportedMediaType("not a JPEG, PNG or WebP image")
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise file_field_error("the image has no pixels")
    if width * height > limits.max_pixels:
        image.close()
        raise file_field_error(too_many)
    return image


def _decode(image: Image.Image, limits: ImageLimits) -> Image.Image:
    """The image's first frame decoded, upright, in sRGB, as ``L``, ``RGB``, ``LA`` or
    ``RGBA``, with nothing of the file's metadata left on it."""
    if image.format in _JPEG_FORMATS:
        # The JPEG decoder can scale by 1/2, 1/4 or 1/8 while decoding: a 48-megapixel photo
        # then never exists in memory at full size. Asked for the size the photo will have,
        # it keeps both sides at least that large.
        scale = limits.max_side / max(image.size)
        if scale < 1:
            image.draft(None, (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    try:
        image.load()
        upright = _upright(image)
        profile = image.info.get("icc_profile")
        converted = _normalised(upright, profile if isinstance(profile, bytes) else None)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise file_field_error(
            f"the image is larger than {_megapixels(limits.max_pixels)} megapixels"
        ) from None
    except _DECODE_ERRORS:
        raise file_field_error("the image is damaged or truncated") from None
    # Resizing copies ``info`` along (comments, XMP, EXIF) and some encoders write it back out:
    # the pixels alone go on.
    converted.info = {}
    return converted


def _upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF orientation says; as it is when that tag is unreadable."""
    try:
        return ImageOps.exif_transpose(image)
    except (*_DECODE_ERRORS, KeyError, TypeError, ZeroDivisionError):
        # A malformed EXIF block: the pixels are fine, the rotation unknown. A copy, as the
        # caller closes the original.
        return image.copy()


def _normalised(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """``image`` as ``L``/``RGB`` (opaque) or ``LA``/``RGBA`` (with visible transparency),
    converted from its ICC profile to sRGB when it has one we can read."""
    if image.mode.startswith("I"):  # 16-bit greyscale PNG: scale to 8 bits, do not clip
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    transparent = _has_transparency(image)
    if image.mode in ("RGB", "RGBA", "CMYK") and icc_profile:
        image = _to_srgb(image, icc_profile, "RGBA" if transparent else "RGB")
    grey = image.mode in ("1", "L", "LA")
    target = {(True, True): "LA", (True, False): "RGBA", (False, True): "L"}.get(
        (transparent, grey), "RGB"
    )
    return image if image.mode == target else image.convert(target)


def _has_transparency(image: Image.Image) -> bool:
    """Whether some pixel is not fully opaque (an alpha channel left all opaque is not)."""
    if image.mode in ("RGBA", "LA", "PA"):
        alpha = image.getchannel("A")
    elif "transparency" in image.info:  # a palette or a colour key marks transparent pixels
        alpha = image.convert("RGBA").getchannel("A")
    else:
        return False
    low, _ = alpha.getextrema()  # one band: (lowest, highest)
    return bool(low < 255)  # type: ignore[operator]


def _to_srgb(image: Image.Image, icc_profile: bytes, mode: str) -> Image.Image:
    """``image`` converted to sRGB; unchanged when the profile cannot be read or applied."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        space = source.profile.xcolor_space.strip()
        if space != ("CMYK" if image.mode == "CMYK" else "RGB"):
            return image
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        return image  # a broken profile: the colours may be a little off, nothing worse
    return converted if converted is not None else image


def _encode(image: Image.Image, content_type: str) -> bytes:
    out = io.BytesIO()
    if content_type == PNG:
        image.save(out, "PNG", optimize=False, compress_level=6)
    else:
        image.save(out, "JPEG", quality=_JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:g} MB" if size >= 1_048_576 else f"{size} bytes"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g}"
