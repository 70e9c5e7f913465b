"""Key rotation next to running processes and destroyed keys."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import send
from tests.messaging.test_attachments import make_attachment
from zegel.crypto.keyring import Keyring, KeyringError, get_keyring
from zegel.keystore.models import DataKey
from zegel.keystore.rotation import rotate_keys
from zegel.messaging import actions, content
from zegel.messaging.models import Attachment, Message
from zegel.orgs.models import User


def test_a_process_that_loaded_the_old_file_still_reads_after_rotation(sender: User,
                                                                       settings: Any) -> None:
    send(sender, body="Voor de rotatie")
    stale = get_keyring()
    # Another process rotates: the file on disk changes under this one.
    other = Keyring.load(stale.path)
    other.rotate()
    for key in DataKey.objects.all():
        dek = other.unwrap(key.kek_id, bytes(key.wrapped), context=bytes(key.context))
        key.kek_id, key.wrapped = other.wrap(dek, context=bytes(key.context))
        key.save()
    assert content.open_message(Message.objects.get()).body == "Voor de rotatie"
    # And new keys are wrapped under the new KEK at once.
    send(sender, body="Na de rotatie")
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {other.current_id}


def test_rotation_never_brings_back_a_destroyed_key(sender: User,
                                                    monkeypatch: Any) -> None:
    message = send(sender)
    keyring = get_keyring()
    real_wrap = keyring.wrap

    def wrap_while_someone_revokes(dek: bytes, *, context: bytes) -> tuple[str, bytes]:
        actions.revoke_conversation(sender=sender, conversation=message.conversation)
        return real_wrap(dek, context=context)

    monkeypatch.setattr(type(keyring), "wrap",
                        lambda self, dek, *, context: wrap_while_someone_revokes(
                            dek, context=context))
    rotate_keys()
    key = DataKey.objects.get(pk=message.key_id)
    assert key.shredded_at is not None and bytes(key.wrapped) == b""


def test_rotation_does_not_undo_a_claim_made_meanwhile(sender: User, monkeypatch: Any) -> None:
    """A draft's key is re-wrapped for its message when a send claims it; a rotation that read
    the key before must not write the draft's wrap back over it."""
    draft = make_attachment(sender, b"tijdens de rotatie " * 50, name="rotatie.pdf")
    keyring = get_keyring()
    # The sending process has not noticed the rotation yet: it still wraps under the old KEK.
    stale = Keyring.load(keyring.path)
    real_wrap = type(keyring).wrap
    sent: list[Message] = []
    started: list[bool] = []

    def wrap_while_someone_sends(self: Keyring, dek: bytes, *,
                                 context: bytes) -> tuple[str, bytes]:
        if not started:
            started.append(True)
            with monkeypatch.context() as elsewhere:
                elsewhere.setattr("zegel.keystore.keys.get_keyring", lambda: stale)
                sent.append(send(sender, attachments=[draft]))
        return real_wrap(self, dek, context=context)

    monkeypatch.setattr(type(keyring), "wrap", wrap_while_someone_sends)
    rotate_keys()
    monkeypatch.undo()
    attachment = Attachment.objects.get(pk=draft.pk)
    assert attachment.message_id == sent[0].pk
    assert b"".join(content.iter_attachment(attachment)) == b"tijdens de rotatie " * 50
    # And the rotation read the new wrap again: the file's key is not left under the old KEK.
    # (The message's own key was made by the stale process after the rotation began.)
    assert DataKey.objects.get(pk=attachment.key_id).kek_id == get_keyring().current_id


def test_rotation_reports_a_key_it_cannot_rewrap_and_does_the_rest(sender: User) -> None:
    tampered, kept = send(sender, body="Een"), send(sender, body="Twee")
    DataKey.objects.filter(pk=tampered.key_id).update(context=b"\x00" * 16)
    with pytest.raises(KeyringError, match="1 data keys"):
        rotate_keys()
    current = get_keyring().current_id
    assert DataKey.objects.get(pk=kept.key_id).kek_id == current
    assert DataKey.objects.get(pk=tampered.key_id).kek_id != current
    # The stored context is only for rotation: reading rebuilds it from the message.
    assert content.open_message(Message.objects.get(pk=tampered.pk)).body == "Een"


def test_the_command_says_so_in_one_line(sender: User,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from zegel.cli import main

    message = send(sender)
    DataKey.objects.filter(pk=message.key_id).update(context=b"\x00" * 16)
    assert main(["keys", "rotate"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("zegel: error: 1 data keys could not be re-wrapped")


def test_rotation_leaves_every_blob_as_it_was(sender: User, settings: Any) -> None:
    from pathlib import Path

    from tests.messaging.test_attachments import make_attachment

    attachment = make_attachment(sender, b"dossier bytes " * 5000)
    message = send(sender, attachments=[attachment])
    blobs = {p: p.read_bytes() for p in Path(settings.BLOB_DIR).rglob("*") if p.is_file()}
    assert blobs
    columns = (bytes(message.subject_ct), bytes(message.body_ct))
    before = dict(DataKey.objects.values_list("pk", "wrapped"))
    new_id, count = rotate_keys()
    assert count == len(before)
    assert {p: p.read_bytes() for p in Path(settings.BLOB_DIR).rglob("*")
            if p.is_file()} == blobs
    message.refresh_from_db()
    assert (bytes(message.subject_ct), bytes(message.body_ct)) == columns
    after = dict(DataKey.objects.values_list("pk", "wrapped"))
    assert all(bytes(after[pk]) != bytes(before[pk]) for pk in before)  # only the wrapping
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {new_id}
    fresh = type(attachment).objects.select_related("key").get(pk=attachment.pk)
    assert b"".join(content.iter_attachment(fresh)) == b"dossier bytes " * 5000
