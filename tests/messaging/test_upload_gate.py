"""Nobody can make the server store files without being allowed to send them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import deliver_and_get_link, send
from zegel.messaging.models import Attachment
from zegel.orgs.models import User


def _stored(settings: Any) -> list[Path]:
    root = Path(settings.BLOB_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _file() -> SimpleUploadedFile:
    return SimpleUploadedFile("big.bin", b"x" * 300_000)


@pytest.mark.parametrize("path", ["/m/" + "A" * 43 + "/reply", "/compose", "/login",
                                  "/api/v1/attachments"])
def test_uploads_without_permission_are_not_stored(db: None, settings: Any, path: str,
                                                   monkeypatch: Any) -> None:
    from zegel.files.blobs import FileBlobStore

    written: list[str] = []
    real = FileBlobStore.writer
    monkeypatch.setattr(FileBlobStore, "writer",
                        lambda self, blob_id: written.append(blob_id) or real(self, blob_id))
    Client(HTTP_AUTHORIZATION="Bearer zgl_wrong").post(path, {"file": _file(),
                                                              "attachments": _file()})
    assert written == []
    assert _stored(settings) == []


def test_an_unverified_guest_cannot_upload(sender: User, settings: Any) -> None:
    send(sender)
    token = deliver_and_get_link()
    response = Client().post(f"/m/{token}/reply", {"body": "x", "attachments": _file()})
    # Refused, with the typed text handed back (this browser never verified: nothing is held).
    assert response.status_code == 403
    assert _stored(settings) == [] and not Attachment.objects.exists()


def test_a_broken_upload_leaves_no_partial_file(sender_client: Client, settings: Any) -> None:
    boundary = "BoUnDaRy"
    body = (f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="attachments"; filename="a.bin"\r\n'
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
            "QUJD$$$not-base64\r\n"
            f"--{boundary}--\r\n").encode()
    sender_client.generic("POST", "/compose", body,
                          content_type=f"multipart/form-data; boundary={boundary}")
    assert _stored(settings) == []


def test_stale_partial_files_are_swept(settings: Any) -> None:
    import os
    import time

    from zegel.files.blobs import blob_store

    store = blob_store()
    writer = store.writer("ab" * 16)
    writer.write(b"half")
    old = time.time() - 2 * 86400
    os.utime(writer.temp, (old, old))
    fresh = store.writer("cd" * 16)
    assert store.remove_stale_parts() == 1
    assert not writer.temp.exists() and fresh.temp.exists()
    writer.abort()
    fresh.abort()
