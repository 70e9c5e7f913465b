"""`zegel keys retire KEK`: an old key-encryption key leaves the key file once nothing needs it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from tests.conftest import send
from tests.orgs.race import at_once
from zegel.audit.models import AuditEvent
from zegel.cli import main
from zegel.crypto.keyring import Keyring, get_keyring, new_dek, reset_keyring_cache
from zegel.keystore.models import DataKey
from zegel.keystore.rotation import RetireRefused, retire_kek, rotate_keys
from zegel.messaging.actions import revoke_conversation
from zegel.messaging.content import open_message
from zegel.messaging.models import Message
from zegel.orgs.models import User


def keys_in_file() -> set[str]:
    return set(json.loads(Path(settings.KEYRING_DEFAULT).read_text())["keys"])


def rotate_without_rewrapping() -> str:
    """A new current KEK while existing data keys still use the old one (as after restoring a
    database backup taken before a rotation)."""
    new_id = get_keyring().rotate()
    reset_keyring_cache()
    return new_id


def test_after_rotating_the_old_key_can_go_and_content_stays_readable(sender: User) -> None:
    send(sender, body="Voor de rotatie")
    rotate_keys()
    retire_kek("k1")
    assert keys_in_file() == {"k2"}
    assert open_message(Message.objects.get()).body == "Voor de rotatie"
    event = AuditEvent.objects.get(action="kek.retired")
    assert event.object_type == "kek" and event.object_id == "k1"
    assert event.data == {"kek": "k1", "current": "k2"}


def test_it_refuses_while_data_keys_still_use_the_key(sender: User) -> None:
    send(sender)
    rotate_without_rewrapping()
    in_use = DataKey.objects.filter(kek_id="k1").count()
    with pytest.raises(RetireRefused, match=f"{in_use} data keys are still wrapped under k1"):
        retire_kek("k1")
    assert keys_in_file() == {"k1", "k2"}
    assert not AuditEvent.objects.filter(action="kek.retired").exists()
    assert open_message(Message.objects.get()).body


def test_it_refuses_a_key_put_back_into_use_by_a_direct_database_edit(sender: User) -> None:
    send(sender)
    rotate_keys()
    # Only the label changes: the row is not readable under k1, but retiring k1 must not
    # be the step that decides that.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE messaging_datakey SET kek_id = 'k1'")
    with pytest.raises(RetireRefused, match="still wrapped under k1"):
        retire_kek("k1")
    assert keys_in_file() == {"k1", "k2"}


def test_destroyed_data_keys_do_not_hold_a_key_back(sender: User) -> None:
    message = send(sender)
    revoke_conversation(sender=sender, conversation=message.conversation)
    rotate_keys()  # re-wraps the live keys (the notification's) and skips the destroyed ones
    assert DataKey.objects.filter(kek_id="k1", shredded_at__isnull=False).exists()
    retire_kek("k1")
    assert keys_in_file() == {"k2"}


def test_it_refuses_the_current_key_and_unknown_keys(db: None) -> None:
    with pytest.raises(RetireRefused, match="k1 is the current key"):
        retire_kek("k1")
    with pytest.raises(RetireRefused, match="no key 'k7'"):
        retire_kek("k7")
    assert keys_in_file() == {"k1"}
    assert not AuditEvent.objects.filter(action="kek.retired").exists()


def test_the_command_retires_and_refuses_in_one_line(sender: User,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    send(sender)
    rotate_without_rewrapping()
    capsys.readouterr()  # what the set-up logged
    assert main(["keys", "retire", "k1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("zegel: error: ") and "zegel keys rotate" in captured.err
    assert main(["keys", "rotate"]) == 0
    assert main(["keys", "retire", "k1"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "k1 removed" in captured.err
    assert keys_in_file() == {"k2", "k3"}
    assert main(["keys", "retire", "k3"]) == 1
    assert "current key" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_two_operators_retiring_at_once_write_one_event(sender: User) -> None:
    send(sender)
    rotate_keys()
    results = at_once(lambda: retire_kek("k1"))
    assert results.count(None) == 1, results
    assert all(isinstance(r, RetireRefused) for r in results if r is not None), results
    assert AuditEvent.objects.filter(action="kek.retired").count() == 1
    assert keys_in_file() == {"k2"}


@pytest.mark.django_db(transaction=True)
def test_a_data_key_being_written_under_the_old_key_holds_retirement_back(sender: User) -> None:
    # A process that read the key file just before the rotation wraps a new data key under the
    # old KEK and commits a moment later: retiring must wait for it and then refuse.
    stale = Keyring.load(get_keyring().path)
    rotate_keys()
    inserted, retiring = threading.Event(), threading.Event()

    def write_late() -> None:
        try:
            with transaction.atomic():
                key = DataKey(id=uuid.uuid4())
                key.kek_id, key.wrapped = stale.wrap(new_dek(), context=key.id.bytes)
                key.save()
                inserted.set()
                retiring.wait(timeout=10)
                time.sleep(1.0)
        finally:
            connection.close()

    writer = threading.Thread(target=write_late)
    writer.start()
    assert inserted.wait(timeout=10)
    retiring.set()
    try:
        with pytest.raises(RetireRefused, match="1 data keys are still wrapped under k1"):
            retire_kek("k1")
    finally:
        writer.join(timeout=30)
    assert keys_in_file() == {"k1", "k2"}
