"""Notifications: real SMTP on loopback, retries when it is down, no header injection."""

from __future__ import annotations

import email
from email import policy
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from tests.conftest import free_port, read_jsonl, send
from zegel.config import SmsConfig
from zegel.messaging import actions
from zegel.messaging.models import RecipientEvent
from zegel.notify.models import OutboxItem
from zegel.notify.outbox import Email, deliver_due, enqueue_email
from zegel.orgs.models import User


def _parsed(envelope: Any) -> email.message.EmailMessage:
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_notification_goes_over_real_smtp_without_content(smtp_server: Any,
                                                          sender: User) -> None:
    send(sender, subject="Uitslag bloedonderzoek", body="Uw HbA1c is 48.")
    assert deliver_due() == 1
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["piet@example.nl"]
    message = _parsed(envelope)
    assert "Zorggroep Noord" in message["From"]
    raw = envelope.content.decode("utf-8", "replace")
    assert "Uitslag bloedonderzoek" not in raw and "HbA1c" not in raw
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "https://zegel.example.org/m/" in text.get_content()
    assert "Anna de Vries" in text.get_content()
    assert OutboxItem.objects.get().state == "sent"
    assert RecipientEvent.objects.filter(kind="notified").count() == 1


def test_smtp_down_keeps_the_message_and_sends_it_later(settings: Any, sender: User,
                                                        smtp_server: Any) -> None:
    real_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens here
    send(sender)
    deliver_due()
    item = OutboxItem.objects.get()
    assert item.state == "pending" and item.attempts == 1
    assert item.next_attempt_at > item.created_at
    assert item.last_error
    # The server comes back; the item is due again (we move its time forward).
    settings.EMAIL_PORT = real_port
    OutboxItem.objects.update(next_attempt_at=item.created_at)
    deliver_due()
    assert OutboxItem.objects.get().state == "sent"
    assert len(smtp_server.envelopes) == 1
    # Running the worker again sends nothing twice.
    deliver_due()
    assert len(smtp_server.envelopes) == 1


def test_a_refused_recipient_is_shown_as_bounced(settings: Any, sender: User,
                                                 smtp_server: Any) -> None:
    async def refuse(server: Any, session: Any, envelope: Any, address: str,
                     options: Any) -> str:
        return "550 5.1.1 No such user"

    smtp_server.handle_RCPT = refuse
    send(sender)
    deliver_due()
    item = OutboxItem.objects.get(purpose="notification")
    assert item.state == "failed"
    bounced = RecipientEvent.objects.select_related("audit_entry").get(kind="bounced")
    # Linked to the audit entry that records the failure (docs/proof.md).
    assert bounced.audit_entry is not None
    assert (bounced.audit_entry.action, bounced.audit_entry.object_id) == \
        ("email.failed", str(item.pk))


def test_header_injection_in_names_and_subject_goes_nowhere(smtp_server: Any, org: Any) -> None:
    evil = User.objects.create_user("evil@zorggroep-noord.nl", org, "x" * 12,
                                    name="Anna\r\nBcc: victim@evil.test")
    org.name = "Zorg =?utf-8?q?x=0D=0ABcc:_victim2@evil.test?= Noord"
    org.save()
    send(evil, subject="Hallo\r\nBcc: victim3@evil.test",
         recipients=[actions.RecipientSpec(email="piet@example.nl",
                                           name="Piet\nBcc: victim4@evil.test",
                                           method="sms", phone="0612345678")])
    deliver_due()
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["piet@example.nl"]
    message = _parsed(envelope)
    assert message["Bcc"] is None
    header_block = envelope.content.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    assert "\nBcc:" not in header_block.replace("\r\n", "\n")
    # The user-typed encoded-word never reaches a header line as one (names here are ASCII,
    # so no encoded-word is needed at all): a mail program would decode it into a new line.
    unfolded = header_block.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n")
    lines = {line.split(":", 1)[0].lower(): line for line in unfolded if ":" in line}
    assert "Zorg" in lines["from"] and lines["subject"]
    assert "=?" not in lines["from"] and "=?" not in lines["subject"]


def test_links_ignore_the_host_header(sender_client: Client, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    response = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "piet@example.nl", "r-0-phone": "0612345678",
        "subject": "Test", "body": "Hallo",
    }, HTTP_HOST="evil.example.com")
    assert response.status_code == 302
    deliver_due()
    from zegel.notify.models import CapturedMessage

    mail = CapturedMessage.objects.get(channel="email")
    assert "evil.example.com" not in mail.text + mail.html
    assert "https://zegel.example.org/m/" in mail.text


def test_sms_file_backend_writes_json_lines(settings: Any, sender: User, tmp_path: Any) -> None:
    path = tmp_path / "sms.jsonl"
    settings.SMS = SmsConfig(backend="file", path=str(path))
    send(sender)
    deliver_due()
    from tests.conftest import deliver_and_get_link

    token = deliver_and_get_link()
    Client().post(f"/m/{token}/code")
    deliver_due()
    lines = read_jsonl(path)
    assert len(lines) == 1
    assert lines[0]["to"] == "+31612345678"
    assert "Zorggroep Noord" in lines[0]["body"]


def test_the_outbox_stores_no_code_in_clear(sender: User) -> None:
    from tests.conftest import deliver_and_get_link

    send(sender)
    token = deliver_and_get_link()
    Client().post(f"/m/{token}/code")
    item = OutboxItem.objects.get(purpose="code")
    assert item.state == "pending"
    assert b"geldig" not in bytes(item.payload_ct) and b"valid" not in bytes(item.payload_ct)
    deliver_due()
    item.refresh_from_db()
    assert bytes(item.payload_ct) == b""


def test_dutch_notification_says_klik_voor_bericht(sender: User) -> None:
    from zegel.notify.models import CapturedMessage

    send(sender)
    deliver_due()
    mail = CapturedMessage.objects.get(channel="email")
    assert "Bekijk het bericht" in mail.html and "To read it in English" in mail.html
    assert mail.subject.startswith("Beveiligd bericht van Zorggroep Noord")


def test_a_temporary_refusal_is_retried_not_bounced(sender: User, smtp_server: Any) -> None:
    async def greylist(server: Any, session: Any, envelope: Any, address: str,
                       options: Any) -> str:
        return "451 4.7.1 Greylisted, try again later"

    smtp_server.handle_RCPT = greylist
    send(sender)
    deliver_due()
    item = OutboxItem.objects.get()
    assert item.state == "pending" and item.attempts == 1 and bytes(item.payload_ct)
    assert not RecipientEvent.objects.filter(kind__in=["bounced", "failed"]).exists()


def test_it_gives_up_after_days_not_after_a_count(sender: User, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    send(sender)
    OutboxItem.objects.update(attempts=40)
    deliver_due()
    assert OutboxItem.objects.get().state == "pending"
    OutboxItem.objects.update(created_at=timezone.now() - timedelta(days=6),
                              next_attempt_at=timezone.now())
    deliver_due()
    assert OutboxItem.objects.get(purpose="notification").state == "failed"
    assert RecipientEvent.objects.filter(kind="failed").exists()


def test_subjects_are_not_html_escaped(org: Any, sender: User) -> None:
    from zegel.notify.models import CapturedMessage

    org.name = "Zorg & Welzijn 'Noord'"
    org.save()
    sender.organisation.refresh_from_db()
    send(sender)
    deliver_due()
    subject = CapturedMessage.objects.get(channel="email").subject
    assert "Zorg & Welzijn 'Noord'" in subject and "&amp;" not in subject


def test_a_repeated_dedupe_key_is_dropped_unless_the_caller_said_it_was_new(org: Any) -> None:
    mail = Email(to="piet@example.nl", subject="Onderwerp", text="Tekst", html="",
                 from_name="Zegel")
    with transaction.atomic():
        assert enqueue_email(org, mail, dedupe_key="event:1", purpose="test") is not None
        # The same event again: no second row, and the caller's transaction goes on.
        assert enqueue_email(org, mail, dedupe_key="event:1", purpose="test") is None
    assert OutboxItem.objects.filter(dedupe_key="event:1").count() == 1
    # A caller that promised a key no row has, and broke the promise: the transaction fails
    # rather than the mail quietly going missing.
    with pytest.raises(IntegrityError), transaction.atomic():
        enqueue_email(org, mail, dedupe_key="event:1", purpose="test", new_key=True)
    assert OutboxItem.objects.filter(dedupe_key="event:1").count() == 1
