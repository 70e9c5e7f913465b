"""Who a notification says it is from: the organisation, or "on behalf of" the staff member who
sent it with Reply-To their address. Always from the platform's address, through a real SMTP
server on loopback."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from tests.conftest import SmtpCollector, send
from zegel.audit.models import AuditEvent
from zegel.notify.outbox import deliver_due
from zegel.orgs.actions import Refused, update_organisation
from zegel.orgs.models import Organisation, User


def _received(collector: SmtpCollector) -> list[tuple[Any, EmailMessage]]:
    out = []
    for envelope in collector.envelopes:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        out.append((envelope, message))
    return out


def test_by_default_the_organisation_is_the_sender(sender: User, smtp_server: SmtpCollector
                                                   ) -> None:
    send(sender)
    assert deliver_due() == 1
    [(envelope, message)] = _received(smtp_server)
    assert message["From"].addresses[0].display_name == "Zorggroep Noord via Zegel"
    assert message["From"].addresses[0].addr_spec == "noreply@zorggroep-noord.nl"
    assert message["Reply-To"] is None
    body = message.get_body(("plain",))
    assert body is not None and "ordinary e-mail" not in body.get_content()
    assert envelope.mail_from == "noreply@zorggroep-noord.nl"


def test_on_behalf_names_the_staff_member_and_replies_go_to_them(
        sender: User, org: Organisation, smtp_server: SmtpCollector) -> None:
    update_organisation(org.domain, notification_sender="on_behalf")
    sender.refresh_from_db()
    send(sender)
    assert deliver_due() == 1
    [(envelope, message)] = _received(smtp_server)
    sent_from = message["From"].addresses[0]
    assert sent_from.display_name == "Anna de Vries via Zorggroep Noord"
    # The address stays the platform's: the staff member's domain is not spoofed.
    assert sent_from.addr_spec == "noreply@zorggroep-noord.nl"
    assert envelope.mail_from == "noreply@zorggroep-noord.nl"
    assert [a.addr_spec for a in message["Reply-To"].addresses] == ["anna@zorggroep-noord.nl"]
    assert envelope.rcpt_tos == ["piet@example.nl"]
    # The notification says that an e-mail reply is not secured, in both languages.
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and html is not None
    text = body.get_content()
    assert "goes to Anna de Vries as an ordinary e-mail" in text
    assert "gaat als gewone e-mail naar Anna de Vries" in text
    assert "goes to Anna de Vries as an ordinary e-mail" in html.get_content()


def test_a_staff_name_cannot_inject_headers_or_an_address(
        sender: User, org: Organisation, smtp_server: SmtpCollector) -> None:
    update_organisation(org.domain, notification_sender="on_behalf")
    User.objects.filter(pk=sender.pk).update(
        name='Directie <ceo@zorggroep-noord.nl>\r\nBcc: spy@evil.example')
    send(User.objects.get(pk=sender.pk))
    deliver_due()
    [(envelope, message)] = _received(smtp_server)
    assert envelope.rcpt_tos == ["piet@example.nl"]
    assert message["Bcc"] is None
    assert [a.addr_spec for a in message["From"].addresses] == ["noreply@zorggroep-noord.nl"]
    assert "\n" not in message["From"].addresses[0].display_name


def test_the_setting_on_the_page_is_checked_and_audited(sender: User, org: Organisation
                                                         ) -> None:
    with translation.override("en"), pytest.raises(Refused, match="platform or on_behalf"):
        update_organisation(org.domain, notification_sender="anna@zorggroep-noord.nl")
    User.objects.filter(pk=sender.pk).update(role="admin")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(pk=sender.pk))
    page = client.get("/settings/organisation").content.decode()
    assert 'value="platform" checked' in page and "noreply@zorggroep-noord.nl" in page
    form = {"name": org.name, "brand_colour": org.brand_colour, "info_url": org.info_url,
            "default_expiry_days": "30",
            "max_expiry_days": "0", "default_method": "sms", "email_code_allowed": "on",
            "portal_idle_minutes": "0", "max_attachment_mb": "0",
            "notification_sender": "on_behalf"}
    assert client.post("/settings/organisation", form).status_code == 302
    org.refresh_from_db()
    assert org.notification_sender == "on_behalf"
    assert AuditEvent.objects.get(action="org.updated").data == {
        "fields": ["notification_sender"]}
    refused = client.post("/settings/organisation", {**form, "notification_sender": "x"})
    assert refused.status_code == 400 and b"platform or on_behalf" in refused.content
