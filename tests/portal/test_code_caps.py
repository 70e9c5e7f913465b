"""What code requests may cost: caps per recipient per hour and per day, per phone number
across recipients, and an hourly SMS budget per organisation that alerts the admins."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD, deliver_and_get_link, send
from tests.messaging.test_concurrency import _no_errors, run_together
from zegel.audit.models import AuditEvent
from zegel.messaging import actions
from zegel.messaging.models import Recipient, VerificationCode
from zegel.notify.models import OutboxItem
from zegel.orgs.models import Organisation, User

PHONE = "06 12345678"


def _recipients(sender: User, count: int, *, phone: str = PHONE) -> list[Recipient]:
    """`count` SMS recipients in their own conversations, all with the same number."""
    for n in range(count):
        send(sender, recipients=[actions.RecipientSpec(
            email=f"r{n}@example.nl", name=f"R{n}", method="sms", phone=phone)])
    return list(Recipient.objects.filter(conversation__organisation=sender.organisation)
                .order_by("pk"))


def _ask(token: str, language: str = "en") -> str:
    response = Client().post(f"/m/{token}/code", follow=True, HTTP_ACCEPT_LANGUAGE=language)
    return html.unescape(response.content.decode())


def test_it_caps_codes_per_recipient_per_day_and_says_so_kindly(sender: User,
                                                                settings: Any) -> None:
    settings.CODES_PER_RECIPIENT_HOUR = 100
    settings.CODES_PER_RECIPIENT_DAY = 3
    send(sender)
    token = deliver_and_get_link()
    for _ in range(3):
        assert "We sent a code by SMS" in _ask(token)
    page = _ask(token)
    assert "For your safety we cannot send a new code right now" in page
    assert "Voor uw veiligheid kunnen we nu geen nieuwe code sturen" in _ask(token, "nl")
    assert "day" not in page.split("For your safety")[1][:200]  # no internal detail
    assert VerificationCode.objects.count() == 3
    assert OutboxItem.objects.filter(purpose="code").count() == 3
    refused = AuditEvent.objects.filter(action="code.refused")
    assert [e.data["cap"] for e in refused] == ["recipient_day", "recipient_day"]


def test_the_hourly_cap_per_recipient_is_a_setting(sender: User, settings: Any) -> None:
    settings.CODES_PER_RECIPIENT_HOUR = 2
    send(sender)
    recipient = Recipient.objects.get()
    results = [actions.request_code(recipient, "s") for _ in range(3)]
    assert [r.sent for r in results] == [True, True, False]
    assert results[2].limited


def test_it_caps_sms_per_phone_number_across_recipients(sender: User, outsider: User,
                                                        settings: Any) -> None:
    settings.SMS_PER_PHONE_DAY = 2
    first, second, third = _recipients(sender, 3)
    assert actions.request_code(first, "a").sent
    assert actions.request_code(second, "b").sent
    refused = actions.request_code(third, "c")
    assert not refused.sent and refused.limited
    assert AuditEvent.objects.get(action="code.refused").data["cap"] == "phone_day"
    # Another number, and the same number in another organisation, are not held back.
    other_number = _recipients(sender, 4, phone="06 87654321")[-1]
    assert actions.request_code(other_number, "d").sent
    elsewhere = _recipients(outsider, 1)[0]
    assert actions.request_code(elsewhere, "e").sent


def test_the_organisation_budget_alerts_the_admins_once_per_hour(
        sender: User, org: Organisation, settings: Any) -> None:
    settings.SMS_PER_ORGANISATION_HOUR = 2
    admin = User.objects.create_user("admin@zorggroep-noord.nl", org, PASSWORD, role="admin")
    recipients = [_recipients(sender, 1, phone=f"06 1234567{n}")[-1] for n in range(4)]
    assert actions.request_code(recipients[0], "a").sent
    assert actions.request_code(recipients[1], "b").sent
    assert actions.request_code(recipients[2], "c").limited
    assert actions.request_code(recipients[3], "d").limited
    alerts = OutboxItem.objects.filter(purpose="sms_budget_alert")
    assert alerts.count() == 1
    assert f":{admin.pk}" in alerts.get().dedupe_key
    budget = AuditEvent.objects.filter(action="sms.budget_reached")
    assert budget.count() == 1 and budget.get().data["admins_alerted"] == 1
    # E-mail codes do not spend the SMS budget.
    send(sender, recipients=[actions.RecipientSpec(email="mail@example.nl", method="email")])
    assert actions.request_code(Recipient.objects.get(email="mail@example.nl"), "e").sent


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cap", ["SMS_PER_PHONE_DAY", "SMS_PER_ORGANISATION_HOUR"])
def test_parallel_requests_at_one_below_the_cap_send_exactly_one_more(
        cap: str, sender: User, settings: Any) -> None:
    setattr(settings, cap, 3)
    recipients = _recipients(sender, 8)
    assert actions.request_code(recipients[0], "a").sent
    assert actions.request_code(recipients[1], "b").sent
    racers = recipients[2:]
    results = run_together([lambda r=r: actions.request_code(r, f"s{r.pk}") for r in racers])
    _no_errors(results)
    assert sum(1 for r in results if r.sent) == 1
    assert OutboxItem.objects.filter(channel="sms", purpose="code").count() == 3
    assert VerificationCode.objects.count() == 3
