"""The blob store: encrypted objects as files under one root, named by random ids.

Only ciphertext is ever written here. A blob is written to a temporary name in its final
folder and renamed when complete, so a reader never sees half an object and an aborted upload
leaves nothing behind.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

_BLOB_ID = re.compile(r"^[0-9a-f]{32}$")


class BlobError(Exception):
    pass


def new_blob_id() -> str:
    return secrets.token_hex(16)


class BlobWriter:
    def __init__(self, final: Path) -> None:
        self.final = final
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.temp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
        # Owner-only whatever the process umask: ciphertext is no one else's business either.
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self.bytes_written = 0

    def write(self, data: bytes | memoryview) -> None:
        if self._file is None:
            raise BlobError("writer is closed")
        self._file.write(data)
        self.bytes_written += len(data)

    def commit(self) -> None:
        """Make the blob durable under its final name; the caller answers "stored" only after.

        One fsync of the file's content (not one per write), the rename, then one fsync of the
        folder, without which a crash could lose the rename and so the whole file."""
        if self._file is None:
            raise BlobError("writer is closed")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self.temp, self.final)
        folder = os.open(self.final.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.temp.unlink(missing_ok=True)


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, blob_id: str) -> Path:
        # Ids are generated here, but check anyway: a path never comes from outside unchecked.
        if not _BLOB_ID.match(blob_id):
            raise BlobError("invalid blob id")
        return self.root / blob_id[:2] / blob_id

    def writer(self, blob_id: str) -> BlobWriter:
        return BlobWriter(self.path(blob_id))

    def open(self, blob_id: str) -> io.BufferedReader:
        return open(self.path(blob_id), "rb")

    def delete(self, blob_id: str) -> None:
        self.path(blob_id).unlink(missing_ok=True)

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).exists()

    def remove_stale_parts(self, older_than_seconds: float = 86400) -> int:
        """Delete temporary files of writes that a crashed process never finished."""
        import time

        if not self.root.exists():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for part in self.root.glob("*/.*.part"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def blob_store() -> FileBlobStore:
    return FileBlobStore(Path(settings.BLOB_DIR))
