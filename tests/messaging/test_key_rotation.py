"""Key rotation next to running processes and destroyed keys."""

from __future__ import annotations

from typing import Any

from tests.conftest import send
from zegel.crypto.keyring import Keyring, get_keyring
from zegel.keystore.models import DataKey
from zegel.keystore.rotation import rotate_keys
from zegel.messaging import actions, content
from zegel.messaging.models import Message
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
