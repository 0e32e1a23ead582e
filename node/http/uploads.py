"""Reading a file upload (``multipart/form-data``) as a stream, for photos and documents.

The file is refused (413) as soon as it passes the limit, never read whole into memory, and
refused from its headers alone when the declared length is already too large. (The node's
``server.max_body_bytes`` does not apply: files are larger than that.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from node.errors import (
    BadRequest,
    NodeError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from node.http.parsing import printable

# Room for the multipart framing around the file (boundaries, part headers, a text field).
_FRAMING = 64 * 1024
_MAX_PARTS = 4
_CHUNK = 64 * 1024

# What aiohttp's multipart reader raises on a malformed body: broken framing or boundary
# (ValueError, its assertions), bad part headers (HttpProcessingError, LineTooLong included),
# an unknown charset in a filename* (LookupError), an unknown transfer encoding (RuntimeError),
# and its content-disposition warnings where warnings are errors (the test suite).
_MALFORMED = (ValueError, LookupError, HttpProcessingError, AssertionError, RuntimeError,
              RuntimeWarning)  # fmt: skip


@dataclass(frozen=True)
class Upload:
    """The ``file`` field of an upload, the name the client gave it, and one text field."""

    data: bytes
    filename: str | None
    text: str


async def read_upload(
    request: web.Request,
    max_bytes: int,
    *,
    what: str,
    text_field: str | None = None,
    text_max: int = 0,
) -> Upload:
    """The ``file`` field (``what`` names it in errors: "the photo") and, when named, the
    optional ``text_field`` of a multipart upload. 415 when not multipart, 413 past
    ``max_bytes``, 400 for a malformed body, 422 for a missing file or an unknown field."""
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType(f"send {what} as multipart/form-data, in a field named 'file'")
    too_large = PayloadTooLarge(f"{what} is larger than {megabytes(max_bytes)}")
    declared = request.content_length
    if declared is not None and declared > max_bytes + _FRAMING:
        raise too_large  # refused from its headers: nothing of the body is read
    try:
        reader = await request.multipart()
        data: bytes | None = None
        filename: str | None = None
        text: str | None = None
        for _ in range(_MAX_PARTS + 1):
            part = await reader.next()
            if part is None:
                break
            if isinstance(part, MultipartReader):
                raise field_error("(body)", "nested multipart bodies are not accepted")
            if part.name == "file" and data is None:
                filename = part.filename
                data = await _read_part(part, max_bytes, too_large)
            elif text_field is not None and part.name == text_field and text is None:
                too_long = field_error(text_field, f"at most {text_max} characters")
                text = _text(await _read_part(part, text_max * 4, too_long), text_field)
                if len(text) > text_max:
                    raise too_long
            else:
                raise field_error(part.name or "(unnamed part)", "unknown or repeated field")
        else:
            raise field_error("(body)", f"at most {_MAX_PARTS} parts")
    except _MALFORMED as exc:
        raise BadRequest(f"the multipart body is malformed: {_brief(exc)}") from None
    if data is None:
        message = f"{what} is missing: send it in a field named 'file'"
        raise ValidationFailed(message, details=[{"field": "file", "message": message}])
    return Upload(data, filename, text or "")


@dataclass(frozen=True)
class FormFile:
    """A file field of a form: its field name, the name the client gave it, its bytes."""

    name: str
    filename: str | None
    data: bytes


@dataclass
class FormUpload:
    """A form with files (a web page's ``multipart/form-data``): its text fields in order,
    its non-empty files, and the error that stopped the reading, if one did. What was read
    before the error is kept, so the page can show the form again with what was typed."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[FormFile] = field(default_factory=list)
    error: NodeError | None = None
    # the file field the error is about (413: too large), else None
    error_field: str | None = None


async def read_form(
    request: web.Request,
    max_file_bytes: int,
    *,
    files: frozenset[str],
    max_files: int,
    text_max: int,
    max_fields: int = 100,
) -> FormUpload:
    """A ``multipart/form-data`` form, streamed: text fields (each at most ``text_max``
    characters) and up to ``max_files`` files in the fields named in ``files``, each refused
    past ``max_file_bytes`` as soon as it passes it (413, the same as :func:`read_upload`).

    Unlike :func:`read_upload`, an error does not raise: it ends the reading and is returned
    with the fields read so far (a browser sends fields in the order of the form: text fields
    put before the files are kept)."""
    result = FormUpload()
    if request.content_type != "multipart/form-data":
        result.error = UnsupportedMediaType("send the form as multipart/form-data")
        return result
    declared = request.content_length
    limit = max_files * (max_file_bytes + _FRAMING) + max_fields * (text_max * 4 + _FRAMING)
    if declared is not None and declared > limit:
        result.error = PayloadTooLarge(f"the form is larger than {megabytes(limit)}")
        return result
    try:
        reader = await request.multipart()
        for _ in range(max_fields + max_files + 1):
            part = await reader.next()
            if part is None:
                return result
            if isinstance(part, MultipartReader):
                raise field_error("(body)", "nested multipart bodies are not accepted")
            name = part.name or ""
            if name in files:
                if len(result.files) >= max_files:
                    raise field_error(name, f"at most {max_files} files")
                too_large = PayloadTooLarge(f"the file is larger than {megabytes(max_file_bytes)}")
                try:
                    data = await _read_part(part, max_file_bytes, too_large)
                except PayloadTooLarge as exc:
                    result.error, result.error_field = exc, name
                    return result
                if data or part.filename:  # a file input left empty sends no bytes
                    result.files.append(FormFile(name, part.filename, data))
                continue
            too_long = field_error(name, f"at most {text_max} characters")
            text = _text(await _read_part(part, text_max * 4, too_long), name)
            if len(text) > text_max:
                raise too_long
            result.fields.append((name, text))
        raise field_error("(body)", f"at most {max_fields + max_files} parts")
    except NodeError as exc:
        result.error = exc
    except _MALFORMED as exc:
        result.error = BadRequest(f"the multipart body is malformed: {_brief(exc)}")
    return result


def field_error(field: str, message: str) -> ValidationFailed:
    """A 422 naming one field of the upload."""
    details = [{"field": field, "message": message}]
    return ValidationFailed("the upload is not valid", details=details)


def megabytes(size: int) -> str:
    """A size limit as people read it."""
    return f"{size / 1_048_576:g} MB" if size >= 1_048_576 else f"{size} bytes"


async def _read_part(part: BodyPartReader, limit: int, too_large: Exception) -> bytes:
    received = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        received += chunk
        if len(received) > limit:
            raise too_large
    return bytes(received)


def _text(raw: bytes, field: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise field_error(field, "must be UTF-8 text") from None


def _brief(exc: BaseException) -> str:
    """The reader's complaint, printable and short (it may quote the body)."""
    text = " ".join(str(exc).split())
    return printable(text)[:200] or type(exc).__name__
