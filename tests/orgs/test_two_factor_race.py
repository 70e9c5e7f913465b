"""A TOTP code or recovery code sent by several log-ins at the same moment is accepted once
(on PostgreSQL the device row is locked; tests/postgres.sh runs this directory there too)."""

from __future__ import annotations

import pyotp
import pytest
from django.utils import timezone

from tests.orgs.race import at_once
from zegel.orgs.models import TotpDevice, User
from zegel.orgs.twofactor import recovery, totp


def _confirmed(user: User) -> str:
    device = totp.start_totp(user)
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
    return totp.manual_key(device).replace(" ", "")


@pytest.mark.django_db(transaction=True)
def test_the_same_code_at_once_logs_in_once(sender: User) -> None:
    secret = _confirmed(sender)
    code = pyotp.TOTP(secret).now()
    results = at_once(lambda: totp.verify_totp(sender, code), times=4)
    assert sorted(results, key=str) == [False, False, False, True], results
    assert not totp.verify_totp(sender, code)


@pytest.mark.django_db(transaction=True)
def test_the_same_recovery_code_at_once_logs_in_once(sender: User) -> None:
    _confirmed(sender)
    code = recovery.new_recovery_codes(sender)[0]
    results = at_once(lambda: recovery.use_recovery_code(sender, code), times=4)
    assert sorted(results, key=str) == [False, False, False, True], results
