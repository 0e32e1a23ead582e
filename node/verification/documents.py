"""What a proof of residence may be: a PDF, JPEG or PNG by its content, under a size cap.

Pure and blocking (Pillow reads image headers): callers run :func:`check_document` off the
event loop. The file is kept as uploaded (a manager must read it as the member sent it); it is
never served inline or to anyone but staff, and it is deleted at the decision.
"""

from __future__ import annotations

import io
import re
import struct
import unicodedata

from PIL import Image, UnidentifiedImageError

from node.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
ACCEPTED_TYPES = (PDF, JPEG, PNG)
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
MAX_FILENAME = 100
# A PDF ends with %%EOF, possibly followed by a line end and some padding from the writer.
_PDF_TRAILER_WINDOW = 2048
# What Pillow may call what it opened (a camera's multi-picture JPEG opens as MPO), and the
# plugins it may try: only JPEG and PNG (Pillow has no MPO opener of its own to name).
_IMAGE_FORMATS = {"JPEG": JPEG, "MPO": JPEG, "PNG": PNG}
_OPENERS = ("JPEG", "PNG")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)
_UNSAFE = re.compile(r"[^\w .()+,-]+")


def document_error(message: str) -> ValidationFailed:
    """A 422 about the uploaded document (the ``file`` field)."""
    return ValidationFailed(message, details=[{"field": "file", "message": message}])


def check_document(data: bytes, max_bytes: int) -> str:
    """The media type of ``data`` judged by its bytes; raises 413, 415 or 422 otherwise.

    A script or an executable renamed ``.pdf`` is refused: only what starts as a PDF and ends
    with its trailer, or what Pillow reads as a JPEG or PNG image, is accepted.
    """
    if not data:
        raise document_error("the file is empty")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the document is larger than {_size(max_bytes)}")
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-_PDF_TRAILER_WINDOW:]:
            raise document_error("the PDF is truncated or damaged: it has no end-of-file marker")
        return PDF
    try:
        with Image.open(io.BytesIO(data), formats=_OPENERS) as image:
            media_type = _IMAGE_FORMATS.get(image.format or "")
            image.verify()  # checks the structure (and PNG checksums) without decoding pixels
    except UnidentifiedImageError:
        raise UnsupportedMediaType("a proof of residence is a PDF, JPEG or PNG file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise document_error("the image has too many pixels") from None
    except _DECODE_ERRORS:
        raise document_error("the image is damaged") from None
    if media_type is None:
        raise UnsupportedMediaType("a proof of residence is a PDF, JPEG or PNG file")
    return media_type


def clean_filename(name: str | None, media_type: str) -> str:
    """The member's file name, shown to the manager: its last path segment only, printable,
    at most 100 characters, with the extension of what the file really is."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[\\/]", text)[-1]  # "../../etc/passwd" or "C:\\x\\y.pdf": the last part
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    stem = _UNSAFE.sub("_", text.rsplit(".", 1)[0] if "." in text else text).strip(" ._")
    return f"{stem[: MAX_FILENAME - 5] or 'document'}.{EXTENSIONS[media_type]}"


def _size(size: int) -> str:
    return f"{size / 1_048_576:g} MB" if size >= 1_048_576 else f"{size} bytes"
