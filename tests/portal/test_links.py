"""Link tokens: only their SHA-256 is stored, and every link of a recipient keeps working."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from django.db import connection
from django.test import Client

from tests.conftest import latest_sms_code, send, smtp_link
from zegel.messaging import actions
from zegel.messaging.models import Recipient, RecipientLink
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User


def _database_dump() -> bytes:
    """Every value of every table, raw: what a database dump or backup would hold."""
    data = b""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    data += bytes(value) if isinstance(value, (bytes, memoryview)) else (
                        str(value).encode())
    return data


def test_only_the_sha256_of_a_link_is_stored(smtp_server: Any, sender: User) -> None:
    send(sender)
    deliver_due()
    token = smtp_link(smtp_server)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32  # 256 bits
    link = RecipientLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    dump = _database_dump()
    assert token.encode() not in dump
    assert base64.urlsafe_b64decode(token + "=") not in dump
    assert Client().get(f"/m/{token}").status_code == 200


def test_older_links_open_the_same_conversation_after_an_answer(
        smtp_server: Any, sender: User) -> None:
    message = send(sender)
    deliver_due()
    first = smtp_link(smtp_server)
    recipient = Recipient.objects.get()
    # The sender's answer notifies the recipient again, with a new link.
    actions.answer_conversation(sender=sender, conversation=message.conversation,
                                body="Nog een aanvulling.")
    deliver_due()
    second = smtp_link(smtp_server)
    assert first != second
    assert RecipientLink.objects.filter(recipient=recipient).count() == 2
    # Verified through the newest link, the session reads through the oldest one too.
    guest = Client()
    guest.post(f"/m/{second}/code")
    assert guest.post(f"/m/{second}/verify", {"code": latest_sms_code()}).status_code == 302
    assert b"hierbij de uitslag" in guest.get(f"/m/{first}").content
    # And the oldest link alone still leads a new browser to the same conversation.
    other = Client()
    other.post(f"/m/{first}/code")
    assert other.post(f"/m/{first}/verify", {"code": latest_sms_code()}).status_code == 302
    assert b"Nog een aanvulling" in other.get(f"/m/{second}").content
