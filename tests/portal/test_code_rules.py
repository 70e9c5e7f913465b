"""The rules of SMS and e-mail codes (docs/security.md): ten an hour, the newest one counts,
and a revoked recipient's codes die."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from zegel.messaging import actions
from zegel.messaging.actions import guest_auth
from zegel.messaging.models import Recipient, VerificationCode
from zegel.notify.models import CapturedMessage
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User


@pytest.fixture
def token(sender: User) -> str:
    send(sender)
    return deliver_and_get_link()


def test_at_most_ten_codes_an_hour(token: str) -> None:
    guest = Client()
    for _ in range(12):
        guest.post(f"/m/{token}/code")
    deliver_due()
    assert VerificationCode.objects.count() == 10
    assert CapturedMessage.objects.filter(channel="sms").count() == 10


def test_a_new_code_replaces_the_old_one(token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter([111111, 222222])
    monkeypatch.setattr(guest_auth.secrets, "randbelow", lambda _n: next(drawn))
    guest = Client()
    guest.post(f"/m/{token}/code")
    assert latest_sms_code() == "111111"
    guest.post(f"/m/{token}/code")
    assert latest_sms_code() == "222222"
    first, second = VerificationCode.objects.order_by("created_at", "id")
    assert first.used_at is not None and second.used_at is None
    assert guest.post(f"/m/{token}/verify", {"code": "111111"}).status_code == 400
    assert guest.post(f"/m/{token}/verify", {"code": "222222"}).status_code == 302


def test_codes_die_when_the_recipient_is_revoked(token: str, sender: User) -> None:
    guest = Client()
    guest.post(f"/m/{token}/code")
    code = latest_sms_code()
    recipient = Recipient.objects.get()
    actions.revoke_recipient(sender=sender, recipient=recipient)
    assert not VerificationCode.objects.filter(used_at__isnull=True).exists()
    # Even if the revoke were taken back in the database, the code stays dead.
    Recipient.objects.update(revoked_at=None)
    assert guest.post(f"/m/{token}/verify", {"code": code}).status_code == 400
