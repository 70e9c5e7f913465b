"""Files larger than one piece: an upload of several handler pieces and a download of several
reads decrypt to exactly what was sent, and an upload cut off mid-body leaves nothing."""

from __future__ import annotations

import hashlib
import io
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import ClientHandler

from tests.messaging.test_attachments import make_attachment
from zegel.crypto.stream import CHUNK_SIZE
from zegel.files.uploads import EncryptingUploadHandler
from zegel.messaging import content
from zegel.messaging.models import Attachment
from zegel.orgs.models import ApiToken, User

MIB = 1024 * 1024


def _data(size: int) -> bytes:
    """Bytes that differ from piece to piece, so a piece out of place shows."""
    counter = b"".join(i.to_bytes(4, "big") for i in range(-(-size // 4)))
    return counter[:size]


def _stored_files(settings: Any) -> list[Path]:
    root = Path(settings.BLOB_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def token(sender: User) -> str:
    _token, secret = ApiToken.issue(sender)
    return secret


def test_an_upload_of_several_pieces_is_stored_whole(token: str, settings: Any) -> None:
    size = 2 * EncryptingUploadHandler.chunk_size + CHUNK_SIZE + 7
    data = _data(size)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post("/api/v1/attachments",
                        {"file": SimpleUploadedFile("scan.bin", data)})
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert body["size"] == size
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    attachment = Attachment.objects.get(pk=body["id"])
    assert b"".join(content.iter_attachment(attachment)) == data
    (blob,) = _stored_files(settings)
    assert data[:64] not in blob.read_bytes()


@pytest.mark.parametrize("size", [
    1, CHUNK_SIZE, 8 * CHUNK_SIZE - 21, 8 * CHUNK_SIZE, 8 * CHUNK_SIZE + 1,
    16 * CHUNK_SIZE + 1, 33 * CHUNK_SIZE - 5, 48 * CHUNK_SIZE,
])
def test_a_download_of_several_reads_decrypts_to_the_file(sender: User, size: int) -> None:
    data = _data(size)
    pieces = list(content.iter_attachment(make_attachment(sender, data)))
    assert b"".join(pieces) == data
    if size > 8 * CHUNK_SIZE:
        # Whole groups of chunks per piece, not one 64 KiB chunk at a time.
        assert max(len(piece) for piece in pieces) > CHUNK_SIZE
        assert len(pieces) < size // CHUNK_SIZE


@pytest.mark.parametrize("delivered", [0, CHUNK_SIZE + 3, 2 * MIB + 5])
def test_an_upload_cut_off_mid_body_leaves_no_file(token: str, settings: Any,
                                                   delivered: int) -> None:
    """The connection ends after `delivered` bytes of the file, before its closing boundary
    and before the announced Content-Length: nothing is stored, not even a part file."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"cut.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    data = _data(3 * MIB)
    announced = len(head) + len(data) + len(tail)
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/attachments", "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(announced),
        "wsgi.input": io.BytesIO(head + data[:delivered]),
    }
    response = ClientHandler()(environ)
    assert 400 <= response.status_code < 500
    assert not Attachment.objects.exists()
    assert _stored_files(settings) == []


def test_an_upload_is_durable_before_the_answer(token: str, settings: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """One fsync of the file's content, after its last write, and one of its folder after the
    rename, all before the 201; none per piece."""
    import os
    import stat

    from zegel.files import blobs

    synced: list[tuple[str, bool]] = []  # (kind, final name present at that moment)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        # os is one module: count only what belongs to the blob store.
        if Path(os.readlink(f"/proc/self/fd/{fd}")).is_relative_to(Path(settings.BLOB_DIR)):
            mode = os.fstat(fd).st_mode
            final_present = any(not p.name.startswith(".") for p in _stored_files(settings))
            synced.append(("folder" if stat.S_ISDIR(mode) else "file", final_present))
        real_fsync(fd)

    monkeypatch.setattr(blobs.os, "fsync", fsync)
    data = _data(3 * EncryptingUploadHandler.chunk_size + 11)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post("/api/v1/attachments", {"file": SimpleUploadedFile("a.bin", data)})
    assert response.status_code == 201
    assert synced == [("file", False), ("folder", True)]
