"""`zegel user reset-2fa EMAIL`: for a staff member who lost their phone and codes."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from zegel.audit.models import AuditEvent
from zegel.cli import main
from zegel.orgs.models import RecoveryCode, TotpDevice, User
from zegel.orgs.twofactor import policy, recovery, totp


def test_reset_2fa_removes_every_factor(sender: User, capsys: pytest.CaptureFixture[str]) -> None:
    totp.start_totp(sender)
    TotpDevice.objects.filter(user=sender).update(confirmed_at="2026-12-01T10:00:00Z")
    codes = recovery.new_recovery_codes(sender)
    assert main(["user", "reset-2fa", sender.email.upper()]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "an authenticator app, 0 passkey(s), 10 recovery code(s)" in captured.err
    assert not TotpDevice.objects.filter(user=sender).exists()
    assert not RecoveryCode.objects.filter(user=sender).exists()
    event = AuditEvent.objects.get(action="user.second_factors_reset")
    assert event.actor_type == "system" and event.object_id == str(sender.pk)
    assert event.data == {"totp": True, "passkeys": 0, "recovery_codes": 10}
    assert not any(code.replace("-", "") in str(event.data) for code in codes)
    login = Client().post("/login", {"username": sender.email, "password": PASSWORD})
    assert login["Location"] == "/"


def test_reset_2fa_of_an_unknown_user_is_one_clear_line(
        db: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "reset-2fa", "nobody@example.nl"]) == 1
    assert capsys.readouterr().err.strip().endswith("No user nobody@example.nl.")


def test_org_two_factor_sets_the_policy(sender: User,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    domain = sender.organisation.domain
    assert main(["org", "two-factor", domain.upper(), "required", "--grace-days", "0"]) == 0
    assert "now requires a second factor" in capsys.readouterr().err
    sender.organisation.refresh_from_db()
    assert sender.organisation.two_factor_required
    assert policy.must_enrol(User.objects.get(pk=sender.pk))
    event = AuditEvent.objects.get(action="org.two_factor_policy")
    assert event.data == {"required": True, "grace_days": 0}
    assert main(["org", "two-factor", domain, "optional"]) == 0
    sender.organisation.refresh_from_db()
    assert not sender.organisation.two_factor_required


@pytest.mark.parametrize(("argv", "reason"), [
    (["org", "two-factor", "nowhere.nl", "required"], "No organisation with domain nowhere.nl."),
    (["org", "two-factor", "zorggroep-noord.nl", "required", "--grace-days", "-1"],
     "The grace period is 0 to 365 days."),
])
def test_org_two_factor_refuses_bad_input(sender: User, argv: list[str], reason: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    assert capsys.readouterr().err.strip().endswith(reason)
