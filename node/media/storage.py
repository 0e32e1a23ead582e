"""The media folder: photo and thumbnail files, written atomically, removed forgivingly.

Blocking file operations (callers run them with ``asyncio.to_thread``). File names are the
photo's random id with ``.jpg``/``.png`` (the photo) or ``.thumb.jpg``/``.thumb.png`` (its
thumbnail); a file being written is ``.tmp-<random>-<name>`` until it is renamed into place, so
a reader never sees half a file and a crash leaves only temporary files, swept later.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

MEDIA_ID = re.compile(r"[0-9a-f]{32}")
FILE_NAME = re.compile(r"(?P<id>[0-9a-f]{32})(?:\.thumb)?\.(?:jpg|png)")
_TEMPORARY = ".tmp-"


def new_media_id() -> str:
    """A fresh, unguessable photo id (128 random bits, hex)."""
    return secrets.token_hex(16)


def file_names(media_id: str, extension: str) -> tuple[str, str]:
    """The photo's and the thumbnail's file names."""
    return f"{media_id}.{extension}", f"{media_id}.thumb.{extension}"


def media_id_of(name: str) -> str | None:
    """The photo id a file name belongs to, or ``None`` when it is not one of ours."""
    match = FILE_NAME.fullmatch(name)
    return match.group("id") if match else None


@dataclass(frozen=True)
class FileAge:
    """A file of the folder and when it was last written (seconds since the epoch)."""

    name: str
    modified: float
    temporary: bool


class MediaFiles:
    """The folder (``<data_dir>/media``), created on first write."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        """Where the file ``name`` lives; ``name`` must be one of ours (no path tricks)."""
        if media_id_of(name) is None:
            raise ValueError(f"not a media file name: {name!r}")
        return self.directory / name

    def write(self, files: Mapping[str, bytes]) -> None:
        """Write each file atomically (temporary file, flushed to disk, then renamed).

        All or nothing: if one fails, those already written are removed again.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        try:
            for name, data in files.items():
                target = self.path(name)
                temporary = self.directory / f"{_TEMPORARY}{secrets.token_hex(8)}-{name}"
                try:
                    with open(temporary, "xb") as out:
                        out.write(data)
                        out.flush()
                        os.fsync(out.fileno())
                    os.replace(temporary, target)
                finally:
                    temporary.unlink(missing_ok=True)
                written.append(name)
        except BaseException:
            self.remove(written)
            raise

    def remove(self, names: Iterable[str]) -> int:
        """Delete these files; one already gone is fine. Returns how many were deleted."""
        removed = 0
        for name in names:
            if not name:
                continue
            try:
                self.path(name).unlink()
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def remove_temporary(self, name: str) -> None:
        """Delete a leftover temporary file (from a write a crash interrupted)."""
        if name.startswith(_TEMPORARY) and "/" not in name:
            (self.directory / name).unlink(missing_ok=True)

    def listing(self) -> Iterator[FileAge]:
        """Every file of the folder that is ours or a temporary one of ours, with its age."""
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return
        for entry in entries:
            temporary = entry.name.startswith(_TEMPORARY)
            if not temporary and media_id_of(entry.name) is None:
                continue  # not ours: leave it alone
            try:
                modified = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue
            yield FileAge(entry.name, modified, temporary)
