"""Downloads of files that fail to decrypt: before the first byte a clear page; in the middle a
response that breaks off short of its Content-Length, never a cut file that looks whole."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import free_port, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.crypto.stream import CHUNK_SIZE, HEADER_SIZE
from zegel.files.blobs import blob_store
from zegel.keystore.keys import ContentIntegrityError
from zegel.messaging.models import Attachment, RecipientEvent
from zegel.orgs.models import User

SEALED_CHUNK = CHUNK_SIZE + 16
FILE = bytes(range(256)) * (3 * CHUNK_SIZE // 256 - 100)  # three chunks, the last one short
# Downloads read 8 stored chunks at a time: this one needs three reads, the last chunk short.
BIG_FILE = bytes(range(256)) * (20 * CHUNK_SIZE // 256 - 100)
# A chunk in a later read.
LATE_CHUNK = 18


def _sent_file(sender: User, data: bytes = FILE) -> Attachment:
    attachment = make_attachment(sender, data, name="scan.pdf")
    send(sender, attachments=[attachment])
    attachment.refresh_from_db()
    return attachment


def _blob(attachment: Attachment) -> Path:
    path: Path = blob_store().path(attachment.blob_id)
    return path


def _flip(attachment: Attachment, offset: int) -> None:
    data = bytearray(_blob(attachment).read_bytes())
    data[offset] ^= 0x01
    _blob(attachment).write_bytes(bytes(data))


def _download(client: Client, attachment: Attachment) -> Any:
    assert attachment.message is not None
    return client.get(f"/c/{attachment.message.conversation_id}/a/{attachment.pk}")


def _read_until_failure(response: Any) -> bytes:
    received = b""
    with pytest.raises(ContentIntegrityError):
        for piece in response.streaming_content:
            received += piece
    return received


def _check_cut(received: bytes, data: bytes, altered_chunk: int) -> None:
    """What arrived is whole chunks of the file, none from the altered one on, and not all."""
    assert received == data[:len(received)]
    assert len(received) % CHUNK_SIZE == 0
    assert 0 < len(received) <= altered_chunk * CHUNK_SIZE < len(data)


@pytest.mark.parametrize("chunk", [0, 1])
def test_a_file_altered_in_its_first_read_gets_the_error_page(sender: User,
                                                              sender_client: Client,
                                                              chunk: int) -> None:
    """The first read of the stored file (8 chunks) is decrypted before the response
    starts."""
    attachment = _sent_file(sender)
    _flip(attachment, HEADER_SIZE + chunk * SEALED_CHUNK + 100)
    response = _download(sender_client, attachment)
    assert response.status_code == 409
    assert not response.streaming
    assert FILE[:200] not in response.content
    assert AuditEvent.objects.filter(action="content.integrity_failed").count() == 1
    # Nothing was downloaded, so the sender's status must not say so.
    assert not AuditEvent.objects.filter(action="attachment.downloaded").exists()
    assert not RecipientEvent.objects.filter(kind=RecipientEvent.Kind.DOWNLOADED).exists()


def test_a_file_altered_in_the_middle_breaks_off_short_and_is_audited(
        sender: User, sender_client: Client) -> None:
    attachment = _sent_file(sender, BIG_FILE)
    _flip(attachment, HEADER_SIZE + LATE_CHUNK * SEALED_CHUNK + 100)
    response = _download(sender_client, attachment)
    assert response.status_code == 200
    assert int(response["Content-Length"]) == len(BIG_FILE)
    received = _read_until_failure(response)
    _check_cut(received, BIG_FILE, LATE_CHUNK)
    assert AuditEvent.objects.filter(action="content.integrity_failed").count() == 1


def test_a_cut_file_with_a_shrunk_size_column_still_looks_incomplete(
        sender: User, sender_client: Client) -> None:
    """The clear size column is not what Content-Length says: shrinking it to the length of
    what decrypts would make a cut file look whole."""
    attachment = _sent_file(sender, BIG_FILE)
    blob = _blob(attachment)
    blob.write_bytes(blob.read_bytes()[:HEADER_SIZE + LATE_CHUNK * SEALED_CHUNK])
    Attachment.objects.filter(pk=attachment.pk).update(size=(LATE_CHUNK - 1) * CHUNK_SIZE)
    response = _download(sender_client, attachment)
    assert int(response["Content-Length"]) == len(BIG_FILE)
    received = _read_until_failure(response)
    assert len(received) < int(response["Content-Length"])


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextmanager
def _zegel_serve(settings: Any, tmp_path: Path) -> Iterator[int]:
    """The production web server (gunicorn, as `zegel serve` runs it) on this test database."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": _database_url(), "ZEGEL_DATA_DIR": str(tmp_path),
           "ZEGEL_BLOB_DIR": str(settings.BLOB_DIR),
           "ZEGEL_KEYRING_FILE": str(settings.KEYRING_DEFAULT),
           "ZEGEL_SECRET_KEY": settings.SECRET_KEY, "ZEGEL_LOG_LEVEL": "CRITICAL"}
    server = subprocess.Popen(
        [sys.executable, "-m", "zegel.cli", "serve", f"127.0.0.1:{port}", "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("zegel serve did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_real_http_client_sees_an_incomplete_download(sender: User, settings: Any,
                                                        tmp_path: Path) -> None:
    attachment = _sent_file(sender, BIG_FILE)
    _flip(attachment, HEADER_SIZE + LATE_CHUNK * SEALED_CHUNK + 100)
    client = Client()
    client.force_login(sender)
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    assert attachment.message is not None
    path = f"/c/{attachment.message.conversation_id}/a/{attachment.pk}"
    with _zegel_serve(settings, tmp_path / "server") as port:
        connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            connection_.request("GET", path, headers={"Cookie": cookie})
            response = connection_.getresponse()
            assert response.status == 200
            assert int(response.headers["Content-Length"]) == len(BIG_FILE)
            with pytest.raises(http.client.IncompleteRead) as cut:
                response.read()
        finally:
            connection_.close()
    _check_cut(cut.value.partial, BIG_FILE, LATE_CHUNK)
    assert AuditEvent.objects.filter(action="content.integrity_failed").count() == 1
