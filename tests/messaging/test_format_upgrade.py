"""Rows written in format v1 are upgraded by the data migration and still open; what a backup
from before the upgrade holds cannot be put back to dodge the binding."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from zegel.crypto.keyring import Keyring, get_keyring, new_dek, reset_keyring_cache
from zegel.crypto.stream import LEGACY_VERSION, encrypt_bytes
from zegel.files.blobs import blob_store, new_blob_id
from zegel.keystore.keys import ContentIntegrityError, ShreddedError
from zegel.keystore.models import DataKey
from zegel.keystore.rotation import rotate_keys
from zegel.messaging import content
from zegel.messaging.models import Attachment, Message
from zegel.notify.models import CapturedMessage
from zegel.notify.outbox import deliver_due

BEFORE = [("messaging", "0005_datakey_in_keystore"), ("keystore", "0001_initial"),
          ("notify", "0003_datakey_in_keystore"),
          # The staff user as it was then (before roles replaced the admin flag).
          ("orgs", "0006_two_factor")]
FILE = b"oude scan van voor versie 2 " * 5000


def _migrate(targets: list[tuple[str, str]] | None = None) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    plan_targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(plan_targets)
    return executor.loader.project_state(plan_targets).apps


@pytest.fixture
def before_v2(transactional_db: None) -> Iterator[Any]:
    """The database as it was before format v2; migrated to the newest state afterwards."""
    apps = _migrate(BEFORE)
    try:
        yield apps
    finally:
        _migrate()


def _v1(dek: bytes, oid: uuid.UUID, text: str) -> bytes:
    return encrypt_bytes(dek, oid.bytes, text.encode(), version=LEGACY_VERSION)


def _v1_key(apps: Any, dek: bytes) -> Any:
    key = apps.get_model("keystore", "DataKey")(id=uuid.uuid4())
    key.kek_id, key.wrapped = get_keyring().wrap(dek, context=key.id.bytes)
    key.save()
    return key


def _v1_message(apps: Any, conversation: Any, user: Any, subject: str, body: str) -> Any:
    dek = new_dek()
    message = apps.get_model("messaging", "Message")(
        conversation=conversation, author_user=user, key=_v1_key(apps, dek))
    message.subject_ct = _v1(dek, message.subject_oid, subject)
    message.body_ct = _v1(dek, message.body_oid, body)
    message.save()
    return message


def _v1_world(apps: Any) -> dict[str, Any]:
    org = apps.get_model("orgs", "Organisation").objects.create(name="Oud", domain="oud.nl")
    user = apps.get_model("orgs", "User").objects.create(
        email="oud@oud.nl", organisation=org, password="!")
    conversation = apps.get_model("messaging", "Conversation").objects.create(
        organisation=org, created_by=user)
    first = _v1_message(apps, conversation, user, "Oud onderwerp", "Oude tekst")
    second = _v1_message(apps, conversation, user, "Tweede", "Tweede tekst")
    dek, blob_id = new_dek(), new_blob_id()
    writer = blob_store().writer(blob_id)
    writer.write(encrypt_bytes(dek, bytes.fromhex(blob_id), FILE, version=LEGACY_VERSION))
    writer.commit()
    attachment = apps.get_model("messaging", "Attachment")(
        organisation=org, message=first, uploaded_by_user=user, key=_v1_key(apps, dek),
        blob_id=blob_id, size=len(FILE), sha256=hashlib.sha256(FILE).hexdigest(),
        content_type="application/pdf")
    attachment.name_ct = _v1(dek, attachment.name_oid, "oude-scan.pdf")
    attachment.save()
    outbox_dek = new_dek()
    outbox_key = _v1_key(apps, outbox_dek)
    payload = {"to": "piet@example.nl", "subject": "Oude melding", "text": "Klik", "html": "",
               "from_name": "Oud via Zegel", "reply_to": ""}
    apps.get_model("notify", "OutboxItem").objects.create(
        organisation=org, channel="email", dedupe_key="oud-1", purpose="notification",
        message=first, key=outbox_key,
        payload_ct=_v1(outbox_dek, outbox_key.id, json.dumps(payload)))
    # Revoked before the upgrade: its key is destroyed, its ciphertext stays version 1.
    revoked = _v1_message(apps, conversation, user, "Ingetrokken", "Weg")
    apps.get_model("keystore", "DataKey").objects.filter(pk=revoked.key_id).update(
        wrapped=b"", shredded_at=timezone.now())
    # Delivered before the upgrade: the payload is emptied, its key is still live.
    spent_key = _v1_key(apps, new_dek())
    apps.get_model("notify", "OutboxItem").objects.create(
        organisation=org, channel="email", dedupe_key="oud-0", purpose="notification",
        message=first, key=spent_key, payload_ct=b"", state="sent")
    return {"first": first.pk, "second": second.pk, "revoked": revoked.pk,
            "attachment": attachment.pk,
            "old_subject_ct": bytes(first.subject_ct),
            "old_wrapped": bytes(second.key.wrapped)}


def test_v1_rows_are_upgraded_and_still_open(before_v2: Any) -> None:
    world = _v1_world(before_v2)
    _migrate()
    opened = content.open_message(Message.objects.get(pk=world["first"]))
    assert (opened.subject, opened.body) == ("Oud onderwerp", "Oude tekst")
    assert opened.attachments[0][1] == "oude-scan.pdf"
    attachment = Attachment.objects.get(pk=world["attachment"])
    meta = content.attachment_meta(attachment)
    assert (meta.sha256, meta.content_type, meta.size) == (
        hashlib.sha256(FILE).hexdigest(), "application/pdf", len(FILE))
    # The stored file was not re-encrypted: it is still version 1, and says so only in the
    # sealed metadata.
    assert meta.stream == LEGACY_VERSION
    assert blob_store().path(attachment.blob_id).read_bytes()[4] == LEGACY_VERSION
    assert b"".join(content.iter_attachment(attachment)) == FILE
    deliver_due()
    assert CapturedMessage.objects.get().subject == "Oude melding"
    live = DataKey.objects.filter(shredded_at__isnull=True)
    assert all(bytes(key.context) for key in live)
    rotate_keys()
    assert content.open_message(Message.objects.get(pk=world["second"])).body == "Tweede tekst"
    with pytest.raises(ShreddedError):
        content.open_message(Message.objects.get(pk=world["revoked"]))


def test_an_upgraded_file_moved_to_another_message_does_not_open(before_v2: Any) -> None:
    world = _v1_world(before_v2)
    _migrate()
    Attachment.objects.filter(pk=world["attachment"]).update(message_id=world["second"])
    with pytest.raises(ContentIntegrityError):
        content.iter_attachment(Attachment.objects.get(pk=world["attachment"]))


def test_a_backup_from_before_the_upgrade_cannot_be_put_back(before_v2: Any) -> None:
    """v1 values carry no binding; once upgraded, the code never accepts them again."""
    world = _v1_world(before_v2)
    _migrate()
    Message.objects.filter(pk=world["first"]).update(subject_ct=world["old_subject_ct"])
    with pytest.raises(ContentIntegrityError):
        content.open_message(Message.objects.get(pk=world["first"]))
    message = Message.objects.get(pk=world["second"])
    DataKey.objects.filter(pk=message.key_id).update(wrapped=world["old_wrapped"])
    with pytest.raises(ContentIntegrityError):
        content.open_message(Message.objects.get(pk=world["second"]))


def test_the_upgrade_with_the_wrong_key_file_stops_and_changes_nothing(
        before_v2: Any, settings: Any, tmp_path: Path) -> None:
    world = _v1_world(before_v2)
    right = settings.KEYRING_DEFAULT
    Keyring.generate(tmp_path / "other-keyring.json")
    settings.KEYRING_FILE = str(tmp_path / "other-keyring.json")
    reset_keyring_cache()
    with pytest.raises(Exception, match=r"does not unwrap.*ZEGEL_KEYRING_FILE"):
        _migrate()
    old_message = before_v2.get_model("messaging", "Message").objects.get(pk=world["first"])
    assert bytes(old_message.subject_ct) == world["old_subject_ct"]
    # With the right key file it goes through after all.
    settings.KEYRING_FILE = ""
    settings.KEYRING_DEFAULT = right
    reset_keyring_cache()
    _migrate()
    assert content.open_message(Message.objects.get(pk=world["first"])).subject == "Oud onderwerp"


def test_the_upgrade_of_an_empty_database_needs_no_key_file(before_v2: Any,
                                                             settings: Any) -> None:
    settings.KEYRING_FILE = "/nonexistent/keyring.json"
    reset_keyring_cache()
    _migrate()
    assert not Message.objects.exists()
