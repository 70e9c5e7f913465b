"""Shared fixtures: a fresh key file and blob folder per test, named personas, helpers."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from zegel.config import SmsConfig
from zegel.crypto.keyring import reset_keyring_cache
from zegel.messaging import actions
from zegel.messaging.models import Message
from zegel.notify.models import CapturedMessage
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import Organisation, User

PASSWORD = "correct horse battery staple"

# aiosmtpd, the tests' SMTP server, says every connection's end at INFO: noise in the output.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _isolated_storage(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.BLOB_DIR = tmp_path / "blobs"
    settings.KEYRING_FILE = ""
    settings.KEYRING_DEFAULT = tmp_path / "keys" / "keyring.json"
    settings.BASE_URL = "https://zegel.example.org"
    settings.EMAIL_BACKEND = "zegel.notify.backends.CaptureEmailBackend"
    settings.SMS = SmsConfig(backend="capture")
    settings.CODE_RESEND_COOLDOWN_SECONDS = 0
    reset_keyring_cache()
    yield
    reset_keyring_cache()


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_audit_guards() -> Iterator[None]:
    """Django empties the database after a transactional test with one TRUNCATE, which the
    audit tables refuse on PostgreSQL, as they must in production. The flush runs in replica
    mode (superuser only: the tests' server), which skips triggers for that transaction."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self: DatabaseOperations, style: Any, tables: Any, *,
                  reset_sequences: bool = False, allow_cascade: bool = False) -> list[str]:
        sql = original(self, style, tables, reset_sequences=reset_sequences,
                       allow_cascade=allow_cascade)
        return ["SET LOCAL session_replication_role = replica", *sql] if sql else sql

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture
def org(db: None) -> Organisation:
    return Organisation.objects.create(name="Zorggroep Noord", domain="zorggroep-noord.nl",
                                       info_url="https://zorggroep-noord.nl/veilig-mailen")


@pytest.fixture
def sender(org: Organisation) -> User:
    return User.objects.create_user("anna@zorggroep-noord.nl", org, PASSWORD,
                                    name="Anna de Vries")


@pytest.fixture
def teammate(org: Organisation) -> User:
    return User.objects.create_user("bob@zorggroep-noord.nl", org, PASSWORD, name="Bob Jansen")


@pytest.fixture
def outsider(db: None) -> User:
    other = Organisation.objects.create(name="Gemeente Zuid", domain="gemeente-zuid.nl")
    return User.objects.create_user("eve@gemeente-zuid.nl", other, PASSWORD, name="Eve")


@pytest.fixture
def sender_client(sender: User) -> Client:
    client = Client()
    client.force_login(sender)
    return client


def send(sender: User, *, recipients: list[actions.RecipientSpec] | None = None,
         subject: str = "Uw uitslag", body: str = "Beste mevrouw, hierbij de uitslag.",
         attachments: list[Any] | None = None) -> Message:
    recipients = recipients or [actions.RecipientSpec(email="piet@example.nl", name="Piet",
                                                      method="sms", phone="06 12345678")]
    return actions.send_message(sender=sender, subject=subject, body=body,
                                recipients=recipients, attachments=attachments or [])


LINK_RE = re.compile(r"https://zegel\.example\.org/m/([A-Za-z0-9_-]{43})")


def deliver_and_get_link(to: str = "piet@example.nl") -> str:
    """Run the outbox and return the token from the newest notification to `to`."""
    deliver_due()
    mail = CapturedMessage.objects.filter(channel="email", to=to).order_by("-id").first()
    assert mail is not None, f"no notification captured for {to}"
    match = LINK_RE.search(mail.text)
    assert match, "notification has no link"
    return match.group(1)


def latest_sms_code(to: str = "+31612345678") -> str:
    deliver_due()
    sms = CapturedMessage.objects.filter(channel="sms", to=to).order_by("-id").first()
    assert sms is not None, "no SMS captured"
    match = re.search(r"\b(\d{6})\b", sms.text)
    assert match
    return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpCollector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpCollector]:
    """A real SMTP server on loopback that keeps what it receives."""
    collector = SmtpCollector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield collector
    finally:
        controller.stop()


def smtp_texts(collector: SmtpCollector, to: str) -> list[str]:
    """The plain-text bodies of the mails the loopback SMTP server received for `to`."""
    import email
    from email import policy

    texts = []
    for envelope in collector.envelopes:
        if to in envelope.rcpt_tos:
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, email.message.EmailMessage)
            body = message.get_body(("plain",))
            assert body is not None
            texts.append(body.get_content())
    return texts


def smtp_link(collector: SmtpCollector, to: str = "piet@example.nl") -> str:
    """The token from the newest notification to `to` that went out over SMTP."""
    texts = smtp_texts(collector, to)
    assert texts, f"no mail to {to}"
    match = LINK_RE.search(texts[-1])
    assert match, "notification has no link"
    return match.group(1)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
