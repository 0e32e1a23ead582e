"""Proofs of residence on disk: encrypted with AES-256-GCM under the node's document key.

The key lives in its own file (``<data_dir>/document.key``, mode 0600), created by
``quartier migrate`` and never stored in the database, so a copy of the database alone reveals
nothing. Each file holds two sealed parts, the member's name for the file and the document:
``len(name part) (2 bytes) || nonce || sealed name || nonce || sealed document``. The name
lives only here (names like "edf_dupont.pdf" talk), so deleting the file deletes it too; the
database never held it, not even in pages SQLite frees. The associated data binds each part to
the file's own name and to its member, so files swapped on disk fail to decrypt instead of
showing one member another's document.

Blocking file operations (callers run them with ``asyncio.to_thread``).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12
STORAGE_NAME = re.compile(r"[0-9a-f]{32}\.bin")
_TEMPORARY = ".tmp-"


class DocumentKeyError(Exception):
    """The document key is missing, unreadable, or not a key."""


class DocumentUnreadable(Exception):
    """A stored document is missing or does not decrypt (tampered, swapped, another key)."""


def create_key(path: Path) -> bool:
    """Create the document key at ``path`` (mode 0600) unless it exists; whether it was made.

    ``O_EXCL``: an existing key is never overwritten, whatever happens, since every stored
    document would become unreadable.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as file:
        file.write(AESGCM.generate_key(bit_length=KEY_BYTES * 8))
        file.flush()
        os.fsync(file.fileno())
    return True


def load_key(path: Path) -> bytes:
    """The document key; refuses a key others than the node's user may read."""
    try:
        info = path.stat()
        key = path.read_bytes()
    except FileNotFoundError:
        raise DocumentKeyError(
            f"the document key {path} is missing: run 'quartier migrate' to create it, or "
            "restore it from the backup it was saved in"
        ) from None
    except OSError as exc:
        raise DocumentKeyError(f"the document key {path} cannot be read: {exc}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DocumentKeyError(
            f"the document key {path} may be read by other users: run 'chmod 600 {path}'"
        )
    if len(key) != KEY_BYTES:
        raise DocumentKeyError(f"the document key {path} is not a {KEY_BYTES}-byte key")
    return key


class DocumentVault:
    """The folder of encrypted documents (``<data_dir>/documents``)."""

    def __init__(self, directory: Path, key_path: Path) -> None:
        self.directory = directory
        self.key_path = key_path
        self._cipher: AESGCM | None = None

    def seal(self, data: bytes, member_id: int, label: str = "") -> str:
        """Encrypt and store ``data`` with the member's ``label`` for it (their file name);
        returns the new file's name."""
        name = f"{secrets.token_hex(16)}.bin"
        head = self._seal_part(label.encode(), name, member_id, "name")
        sealed = (
            len(head).to_bytes(2, "big") + head + self._seal_part(data, name, member_id, "document")
        )
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.directory / f"{_TEMPORARY}{name}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(sealed)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self._path(name))
        return name

    def open(self, name: str, member_id: int) -> tuple[str, bytes]:
        """The label and plaintext of a stored document; raises ``DocumentUnreadable``."""
        sealed = self._read(name)
        head, body = self._split(sealed, name)
        label = self._open_part(head, name, member_id, "name")
        return label.decode("utf-8", "replace"), self._open_part(body, name, member_id, "document")

    def label(self, name: str, member_id: int) -> str:
        """The member's name for a stored document ("" when it cannot be read)."""
        try:
            head, _ = self._split(self._read(name), name)
            return self._open_part(head, name, member_id, "name").decode("utf-8", "replace")
        except DocumentUnreadable:
            return ""

    def _seal_part(self, data: bytes, name: str, member_id: int, part: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead().encrypt(nonce, data, _associated(name, member_id, part))

    def _open_part(self, sealed: bytes, name: str, member_id: int, part: str) -> bytes:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            return self._aead().decrypt(nonce, ciphertext, _associated(name, member_id, part))
        except InvalidTag:
            raise DocumentUnreadable(f"document file {name} does not decrypt") from None

    def _read(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            raise DocumentUnreadable(f"document file {name} is missing") from None

    @staticmethod
    def _split(sealed: bytes, name: str) -> tuple[bytes, bytes]:
        length = int.from_bytes(sealed[:2], "big")
        if len(sealed) < 2 + length + _NONCE_BYTES:
            raise DocumentUnreadable(f"document file {name} is truncated")
        return sealed[2 : 2 + length], sealed[2 + length :]

    def destroy(self, name: str) -> None:
        """Overwrite the file with zeros, then remove it; a file already gone is fine.

        The overwrite is for file systems that write in place; on others (copy-on-write,
        flash) the old blocks may survive, which is why the file was only ever ciphertext.
        """
        path = self._path(name)
        try:
            size = path.stat().st_size
            with path.open("r+b") as file:
                file.write(b"\0" * size)
                file.flush()
                os.fsync(file.fileno())
            path.unlink()
        except FileNotFoundError:
            return

    def stale_temporaries(self, older_than: float) -> list[str]:
        """Half-written files a crash left, last written before ``older_than`` (epoch s)."""
        try:
            return [
                entry.name
                for entry in self.directory.iterdir()
                if entry.name.startswith(_TEMPORARY) and entry.stat().st_mtime < older_than
            ]
        except FileNotFoundError:
            return []

    def remove_temporary(self, name: str) -> None:
        """Remove a half-written file (its content never reached a row)."""
        if not name.startswith(_TEMPORARY) or "/" in name:
            raise ValueError(f"not a temporary document file: {name!r}")
        (self.directory / name).unlink(missing_ok=True)

    def modified(self, name: str) -> float:
        """When the file ``name`` was last written (epoch seconds); 0 when gone."""
        try:
            return self._path(name).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def stored_names(self) -> list[str]:
        """The documents on disk (a crash may leave files the database no longer names)."""
        try:
            return sorted(
                entry.name
                for entry in self.directory.iterdir()
                if STORAGE_NAME.fullmatch(entry.name)
            )
        except FileNotFoundError:
            return []

    def _aead(self) -> AESGCM:
        if self._cipher is None:
            self._cipher = AESGCM(load_key(self.key_path))
        return self._cipher

    def _path(self, name: str) -> Path:
        if not STORAGE_NAME.fullmatch(name):
            raise ValueError(f"not a document file name: {name!r}")
        return self.directory / name


def _associated(name: str, member_id: int, part: str) -> bytes:
    return f"quartier-residence-document:{name}:{member_id}:{part}".encode()
