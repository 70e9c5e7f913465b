"""Format v2: bind every data key and sealed value to its owner, and seal file metadata.

Subjects, bodies, file names and pending outbox payloads are small and sit in the database:
they are decrypted as v1 and sealed again as v2, and every data key is re-wrapped with its
owner's context. Stored files are not re-encrypted (that would read and write every blob);
their sealed metadata records that they are stream version 1, and their key's new wrap binds
them to their place. The clear sha256 and content_type go into that sealed metadata and the
next migration drops the columns. docs/crypto.md, "Format v2 and the upgrade from v1".

This needs the key file that wrapped the existing keys, as the application does; with an
empty database it never opens it.
"""

import json
from typing import Any

from django.db import migrations

from zegel.crypto.keyring import get_keyring
from zegel.crypto.stream import LEGACY_VERSION, decrypt_bytes, encrypt_bytes
from zegel.keystore.binding import Owner, Role, binding, wrap_context


class UpgradeFailed(Exception):
    pass


def _live(key: Any) -> bool:
    return key.shredded_at is None and bool(key.wrapped)


def _unwrap_v1(keyring: Any, key: Any) -> bytes:
    try:
        dek: bytes = keyring.unwrap(key.kek_id, bytes(key.wrapped), context=key.id.bytes)
    except Exception as exc:
        raise UpgradeFailed(
            f"data key {key.id} does not unwrap ({exc}); run the migration with the key file "
            "that wrapped the existing data (ZEGEL_KEYRING_FILE)") from None
    return dek


def _rewrap(keyring: Any, key: Any, dek: bytes, owner: Owner) -> None:
    context = wrap_context(key.id, owner)
    key.kek_id, key.wrapped = keyring.wrap(dek, context=context)
    key.context = context
    key.save(update_fields=["kek_id", "wrapped", "context"])


def _reseal(dek: bytes, oid: Any, sealed: Any, role: str, owner: Owner,
            change: Any = None) -> bytes:
    plain = decrypt_bytes(dek, oid.bytes, bytes(sealed), version=LEGACY_VERSION)
    if change is not None:
        plain = change(plain)
    return encrypt_bytes(dek, oid.bytes, plain, context=binding(role, owner))


def upgrade(apps: Any, schema_editor: Any) -> None:
    Message = apps.get_model("messaging", "Message")
    Attachment = apps.get_model("messaging", "Attachment")
    OutboxItem = apps.get_model("notify", "OutboxItem")
    if not (Message.objects.exists() or Attachment.objects.exists()
            or OutboxItem.objects.exists()):
        return
    keyring = get_keyring()
    for message in Message.objects.select_related("key", "conversation").iterator():
        if not _live(message.key):
            continue
        owner = Owner(kind="message", organisation=message.conversation.organisation_id,
                      conversation=message.conversation_id, message=message.pk)
        dek = _unwrap_v1(keyring, message.key)
        message.subject_ct = _reseal(dek, message.subject_oid, message.subject_ct,
                                     Role.SUBJECT, owner)
        message.body_ct = _reseal(dek, message.body_oid, message.body_ct, Role.BODY, owner)
        message.save(update_fields=["subject_ct", "body_ct"])
        _rewrap(keyring, message.key, dek, owner)
    for attachment in (Attachment.objects.select_related("key", "message__conversation")
                       .iterator()):
        if not _live(attachment.key):
            continue
        upload_owner = Owner(kind="attachment", organisation=attachment.organisation_id,
                             attachment=attachment.pk)
        if attachment.message_id is None:
            owner = upload_owner
        else:
            conversation = attachment.message.conversation
            owner = Owner(kind="attachment", organisation=conversation.organisation_id,
                          conversation=conversation.pk, message=attachment.message_id,
                          attachment=attachment.pk)
        dek = _unwrap_v1(keyring, attachment.key)

        def metadata(name: bytes, row: Any = attachment) -> bytes:
            return json.dumps({"name": name.decode("utf-8"), "content_type": row.content_type,
                               "sha256": row.sha256, "size": row.size,
                               "stream": LEGACY_VERSION},
                              sort_keys=True, separators=(",", ":")).encode("utf-8")

        attachment.meta_ct = _reseal(dek, attachment.meta_oid, attachment.meta_ct,
                                     Role.FILE_METADATA, upload_owner, metadata)
        attachment.save(update_fields=["meta_ct"])
        _rewrap(keyring, attachment.key, dek, owner)
    # Delivered items keep a live key with an emptied payload: re-wrap those keys too, or
    # rotation would meet a key it cannot re-wrap.
    for item in OutboxItem.objects.select_related("key").iterator():
        if not _live(item.key):
            continue
        owner = Owner(kind="outbox", organisation=item.organisation_id,
                      message=item.message_id, recipient=item.recipient_id)
        dek = _unwrap_v1(keyring, item.key)
        if bytes(item.payload_ct):
            item.payload_ct = _reseal(dek, item.key.id, item.payload_ct, Role.OUTBOX_PAYLOAD,
                                      owner)
            item.save(update_fields=["payload_ct"])
        _rewrap(keyring, item.key, dek, owner)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_datakey_in_keystore"),
        ("keystore", "0002_datakey_context"),
        ("notify", "0003_datakey_in_keystore"),
    ]
    operations = [
        migrations.RenameField(model_name="attachment", old_name="name_oid", new_name="meta_oid"),
        migrations.RenameField(model_name="attachment", old_name="name_ct", new_name="meta_ct"),
        migrations.RunPython(upgrade, migrations.RunPython.noop, elidable=False),
    ]
