"""Delivery keeps its promises: one claim per row fenced by its token, poison rows back off and
finally fail with the sender told, and mail for revoked or expired conversations is not sent."""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, free_port, send
from zegel.audit.models import AuditEvent
from zegel.config import SmsConfig
from zegel.keystore.models import DataKey
from zegel.messaging import actions
from zegel.messaging.models import Conversation, Recipient, RecipientEvent
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.notify.outbox import MAX_FAULTS, deliver_due, lease, send_deadline
from zegel.orgs.models import User

KLAAS = actions.RecipientSpec(email="klaas@example.nl", name="Klaas", method="sms",
                              phone="06 87654321")


def _sent_events(item: OutboxItem) -> int:
    return AuditEvent.objects.filter(action="email.sent", object_id=str(item.pk)).count()


def _in_own_thread(target: Any) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_send_that_outlives_its_lease_is_recorded_once(sender: User, smtp_server: Any,
                                                         caplog: Any) -> None:
    arrived = threading.Event()
    release = threading.Event()
    sessions: list[int] = []

    async def stall_the_first(server: Any, session: Any, envelope: Any) -> str:
        sessions.append(1)
        if len(sessions) == 1:
            # The relay holds the first worker's send (bounded) until the test lets it go.
            arrived.set()
            for _ in range(400):
                if release.is_set():
                    break
                await asyncio.sleep(0.02)
        smtp_server.envelopes.append(envelope)
        return "250 OK"

    smtp_server.handle_DATA = stall_the_first
    send(sender)
    item = OutboxItem.objects.get()
    stale = _in_own_thread(deliver_due)
    assert arrived.wait(10)
    # The first worker's lease runs out while it is still sending.
    OutboxItem.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert deliver_due() == 1
    release.set()
    stale.join(timeout=20)
    assert not stale.is_alive()
    # Both sends reached the relay (a send cannot be called back), but only one is recorded.
    assert len(smtp_server.envelopes) == 2
    assert _sent_events(item) == 1
    assert RecipientEvent.objects.filter(kind="notified").count() == 1
    item.refresh_from_db()
    assert item.state == "sent" and item.claim == ""
    assert "claim lost" in caplog.text


class _Garbage(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.rfile.readline()
        self.wfile.write(b"HELLO FROM NOT A WEB SERVER\r\n")


@pytest.fixture
def garbage_gateway() -> Iterator[str]:
    """A loopback "SMS gateway" that answers every request with a line that is not HTTP."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Garbage)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_a_gateway_answering_garbage_backs_off_and_the_next_row_goes_out(
        sender: User, settings: Any, garbage_gateway: str) -> None:
    send(sender)
    token = deliver_and_get_link()
    Client().post(f"/m/{token}/code")
    send(sender, recipients=[KLAAS])
    settings.SMS = SmsConfig(backend="webhook", url=garbage_gateway)
    assert deliver_due() == 2
    code = OutboxItem.objects.get(purpose="code")
    assert code.state == "pending" and code.faults == 1
    assert "BadStatusLine" in code.last_error and "HELLO" not in code.last_error
    assert code.next_attempt_at > timezone.now()
    assert CapturedMessage.objects.filter(channel="email", to="klaas@example.nl").exists()
    for _ in range(MAX_FAULTS - 1):
        _due_again(code)
        deliver_due()
    code.refresh_from_db()
    assert code.state == "failed" and code.faults == MAX_FAULTS
    assert AuditEvent.objects.filter(action="sms.failed", object_id=str(code.pk)).exists()


def _poison_then_good(sender: User) -> tuple[OutboxItem, Recipient]:
    send(sender)
    send(sender, recipients=[KLAAS])
    poison = OutboxItem.objects.get(recipient__email="piet@example.nl")
    return poison, Recipient.objects.get(email="piet@example.nl")


def _due_again(item: OutboxItem) -> None:
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now())


def test_an_undecryptable_row_backs_off_then_fails_and_the_sender_is_told(sender: User) -> None:
    poison, piet = _poison_then_good(sender)
    sealed = bytearray(poison.payload_ct)
    sealed[-1] ^= 1
    OutboxItem.objects.filter(pk=poison.pk).update(payload_ct=bytes(sealed))
    assert deliver_due() == 2
    poison.refresh_from_db()
    assert poison.state == "pending" and "DecryptionError" in poison.last_error
    assert CapturedMessage.objects.filter(to="klaas@example.nl").count() == 1
    for _ in range(MAX_FAULTS - 1):
        _due_again(poison)
        deliver_due()
    poison.refresh_from_db()
    assert poison.state == "failed" and poison.faults == MAX_FAULTS
    assert bytes(poison.payload_ct) == b""
    assert RecipientEvent.objects.filter(recipient=piet, kind="failed").count() == 1
    notice = CapturedMessage.objects.get(to="anna@zorggroep-noord.nl")
    assert "kon niet worden bezorgd" in notice.subject
    assert "De ontvanger heeft de link niet gekregen" in notice.text
    assert "piet@example.nl" in notice.text and "Uw uitslag" not in notice.text
    assert not CapturedMessage.objects.filter(to="piet@example.nl").exists()
    # One notice per failed notification, however often the worker runs.
    deliver_due()
    assert CapturedMessage.objects.filter(to="anna@zorggroep-noord.nl").count() == 1


def test_a_row_under_an_unknown_key_backs_off_without_blocking(sender: User) -> None:
    poison, _piet = _poison_then_good(sender)
    DataKey.objects.filter(pk=poison.key_id).update(kek_id="k99")
    assert deliver_due() == 2
    poison.refresh_from_db()
    assert poison.state == "pending" and "KeyringError" in poison.last_error
    assert poison.faults == 1 and poison.claim == ""
    assert CapturedMessage.objects.filter(to="klaas@example.nl").count() == 1
    for _ in range(MAX_FAULTS - 1):
        _due_again(poison)
        deliver_due()
    poison.refresh_from_db()
    assert poison.state == "failed"
    assert RecipientEvent.objects.filter(recipient__email="piet@example.nl",
                                         kind="failed").exists()
    assert CapturedMessage.objects.filter(to="anna@zorggroep-noord.nl").count() == 1


def test_mail_for_a_revoked_recipient_is_cancelled(sender: User) -> None:
    send(sender)
    actions.revoke_recipient(sender=sender, recipient=Recipient.objects.get())
    assert deliver_due() == 1
    item = OutboxItem.objects.get()
    assert item.state == "cancelled" and item.last_error == "recipient revoked"
    assert bytes(item.payload_ct) == b""
    assert not CapturedMessage.objects.exists()
    event = AuditEvent.objects.get(action="email.cancelled")
    assert event.object_id == str(item.pk) and event.data["reason"] == "recipient revoked"
    assert not AuditEvent.objects.filter(action="email.sent").exists()


def test_mail_of_an_expired_conversation_is_cancelled(sender: User) -> None:
    send(sender)
    Conversation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    deliver_due()
    item = OutboxItem.objects.get()
    assert item.state == "cancelled" and item.last_error == "conversation expired"
    assert not CapturedMessage.objects.exists()


def test_mail_of_a_revoked_conversation_is_cancelled(sender: User) -> None:
    send(sender, recipients=[KLAAS])
    actions.revoke_conversation(sender=sender, conversation=Conversation.objects.get())
    deliver_due()
    item = OutboxItem.objects.get()
    assert item.state == "cancelled" and item.last_error == "conversation revoked"
    assert not CapturedMessage.objects.exists()


def _dribbling_relay(port: int, stop: threading.Event) -> None:
    """Greets, then answers EHLO one byte every 0.2 s: each read is quick, the whole is not."""
    with socket.create_server(("127.0.0.1", port)) as listener:
        listener.settimeout(10)
        peer, _address = listener.accept()
        with peer:
            peer.sendall(b"220 slow.example ESMTP\r\n")
            peer.recv(1024)
            for _ in range(150):  # 30 s at most
                if stop.is_set():
                    return
                try:
                    peer.sendall(b"2")
                except OSError:
                    return  # the client cut it off
                time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_a_relay_that_dribbles_cannot_hold_a_send_past_its_deadline(sender: User,
                                                                    settings: Any) -> None:
    port = free_port()
    stop = threading.Event()
    relay = threading.Thread(target=_dribbling_relay, args=(port, stop))
    relay.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 1
    send(sender)
    done = threading.Event()
    started = time.monotonic()
    worker = _in_own_thread(lambda: (deliver_due(), done.set()))
    finished = done.wait(send_deadline() + 4)
    elapsed = time.monotonic() - started
    stop.set()
    worker.join(timeout=10)
    relay.join(timeout=10)
    assert finished, "the send was not cut off"
    assert elapsed < lease().total_seconds()
    item = OutboxItem.objects.get()
    assert item.state == "pending" and item.last_error.startswith("SMTPServerDisconnected")


def test_the_lease_outlasts_the_worst_send(settings: Any) -> None:
    settings.EMAIL_TIMEOUT = 30
    assert lease() == timedelta(minutes=5)
    assert lease().total_seconds() >= 2 * send_deadline()
    settings.SMS = SmsConfig(backend="webhook", url="https://sms.example.org/send")
    settings.EMAIL_TIMEOUT = 5
    # An SMS webhook call waits at most five socket timeouts of 15 s.
    assert lease().total_seconds() >= 2 * 5 * 15
