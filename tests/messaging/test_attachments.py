"""Encrypted attachments: names, sizes, storage, and nothing readable at rest."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from zegel.crypto.keyring import new_dek
from zegel.crypto.stream import encrypt_bytes
from zegel.files.blobs import blob_store, new_blob_id
from zegel.files.names import clean_filename, guess_content_type
from zegel.files.uploads import EncryptedUpload, file_context
from zegel.messaging import actions, content
from zegel.messaging.models import Attachment
from zegel.orgs.models import User


def make_attachment(user: User, data: bytes, name: str = "uitslag.pdf") -> Attachment:
    """An attachment as the upload handler would leave it: ciphertext in the blob store."""
    blob_id = new_blob_id()
    attachment_id = uuid.uuid4()
    dek = new_dek()
    writer = blob_store().writer(blob_id)
    writer.write(encrypt_bytes(dek, bytes.fromhex(blob_id), data,
                               context=file_context(user.organisation_id, attachment_id)))
    writer.commit()
    clean = clean_filename(name)
    upload = EncryptedUpload(clean, guess_content_type(clean), len(data),
                             hashlib.sha256(data).hexdigest(), blob_id, dek,
                             organisation_id=user.organisation_id, attachment_id=attachment_id)
    return actions.store_upload(upload, organisation=user.organisation, user=user)


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("/absolute/path/report.pdf", "report.pdf"),
    ("C:\\Users\\x\\brief.docx", "brief.docx"),
    ("evil\x00.pdf", "evil.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ("...hidden", "hidden"),
    ("", "attachment"),
    ("\u200b", "attachment"),
])
def test_it_cleans_file_names(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


def test_it_shortens_a_300_character_name_and_keeps_the_extension() -> None:
    name = clean_filename("a" * 300 + ".pdf")
    assert len(name) <= 200
    assert name.endswith(".pdf")


def test_upload_through_compose_is_encrypted_while_streaming(sender_client: Client,
                                                             settings: Any) -> None:
    payload = b"PATIENT-DOSSIER-" * 10000
    upload = SimpleUploadedFile("../dossier Piet.pdf", payload, "text/html")
    response = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "piet@example.nl", "r-0-phone": "0612345678",
        "subject": "Dossier", "body": "Zie bijlage", "attachments": [upload],
    })
    assert response.status_code == 302, response.content[:500]
    attachment = Attachment.objects.get()
    assert attachment.size == len(payload)
    meta = content.attachment_meta(attachment)
    assert meta.sha256 == hashlib.sha256(payload).hexdigest()
    assert meta.name == "dossier Piet.pdf"
    # The browser's claimed type is not trusted.
    assert meta.content_type == "application/pdf"
    stored = blob_store().path(attachment.blob_id).read_bytes()
    assert b"PATIENT-DOSSIER" not in stored
    assert b"".join(content.iter_attachment(attachment)) == payload


def test_upload_above_the_limit_is_refused_and_leaves_nothing(sender_client: Client,
                                                              settings: Any) -> None:
    settings.MAX_UPLOAD_SIZE = 1000
    upload = SimpleUploadedFile("big.bin", b"x" * 5000)
    response = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "piet@example.nl", "r-0-phone": "0612345678",
        "subject": "Groot", "body": "", "attachments": [upload],
    })
    assert response.status_code == 413
    assert not Attachment.objects.exists()
    blobs = Path(settings.BLOB_DIR)
    assert not blobs.exists() or not [p for p in blobs.rglob("*") if p.is_file()]


def test_a_refused_form_keeps_the_uploaded_file(sender_client: Client) -> None:
    upload = SimpleUploadedFile("brief.pdf", b"%PDF-1.4 brief")
    response = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "not-an-address", "subject": "Brief", "body": "",
        "attachments": [upload],
    })
    assert response.status_code == 400
    attachment = Attachment.objects.get()
    assert str(attachment.pk).encode() in response.content
    response = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "piet@example.nl", "r-0-phone": "0612345678",
        "subject": "Brief", "body": "", "attachment_ids": [str(attachment.pk)],
    })
    assert response.status_code == 302
    attachment.refresh_from_db()
    assert attachment.message_id is not None


def test_a_database_dump_and_the_blobs_hold_no_content(sender: User, settings: Any,
                                                       tmp_path: Path) -> None:
    secret_subject = "Diagnose-ZX81-onderwerp"
    secret_body = "Vertrouwelijke-inhoud-QW42"
    secret_name = "geheime-bestandsnaam-PL19.pdf"
    secret_file = b"bestandsinhoud-KJ77 " * 100
    attachment = make_attachment(sender, secret_file, name=secret_name)
    send(sender, subject=secret_subject, body=secret_body, attachments=[attachment])
    token = deliver_and_get_link()
    client = Client()
    client.post(f"/m/{token}/code")
    client.post(f"/m/{token}/verify", {"code": latest_sms_code()})
    reply_file = b"antwoordbestand-RS21 " * 100
    client.post(f"/m/{token}/reply", {
        "body": "Antwoord-MN55",
        "attachments": [SimpleUploadedFile("reactie.docx", reply_file, "text/plain")],
    })
    assert Attachment.objects.count() == 2
    # Every value of every table, raw: what a database dump or backup would hold.
    data = b""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        data += bytes(value)
                    else:
                        data += str(value).encode()
    for path in Path(settings.BLOB_DIR).rglob("*"):
        if path.is_file():
            data += path.read_bytes()
    for needle in (secret_subject, secret_body, secret_name, "bestandsinhoud-KJ77",
                   "Antwoord-MN55", "reactie.docx", "antwoordbestand-RS21"):
        assert needle.encode() not in data, f"{needle} readable at rest"
    # No fingerprint either: with a plaintext hash or the file type in a clear column, anyone
    # with a dump can confirm that a known document was sent, and to whom.
    for plain in (secret_file, reply_file):
        digest = hashlib.sha256(plain)
        for form in (digest.hexdigest(), digest.hexdigest().upper()):
            assert form.encode() not in data, "a file's SHA-256 is readable at rest"
        assert digest.digest() not in data, "a file's SHA-256 is readable at rest"
    for content_type in ("application/pdf", "vnd.openxmlformats-officedocument"):
        assert content_type.encode() not in data, f"{content_type} readable at rest"




def test_each_message_attachment_and_outbox_item_has_its_own_data_key(sender: User) -> None:
    """docs/crypto.md, "What is stored where"."""
    from zegel.messaging.models import Message
    from zegel.notify.models import OutboxItem

    first, second = make_attachment(sender, b"een"), make_attachment(sender, b"twee")
    send(sender, attachments=[first, second])
    message = Message.objects.get()
    outbox = list(OutboxItem.objects.all())
    keys = [message.key_id, first.key_id, second.key_id, *(item.key_id for item in outbox)]
    assert outbox and len(set(keys)) == len(keys)
    # Subject, body and file names sit in their rows, in the object format of docs/crypto.md.
    first.refresh_from_db()
    for sealed in (message.subject_ct, message.body_ct, first.meta_ct, outbox[0].payload_ct):
        assert bytes(sealed)[:4] == b"ZGLS"
