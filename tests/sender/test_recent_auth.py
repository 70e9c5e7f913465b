"""Recent authentication before changing how an account logs in (zegel.orgs.reauth): a
logged-in session that is no longer fresh (someone else's hands on it) cannot remove or
replace the second factor, nor an admin's reset another's, without the password again."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.sender.softauthn import SoftAuthenticator
from tests.sender.test_two_factor import ORIGIN, RP_ID, _enrol_totp, _register
from zegel.audit.models import AuditEvent
from zegel.orgs import reauth
from zegel.orgs.models import FailedLogin, Passkey, RecoveryCode, TotpDevice, User

CONFIRM = "/account/confirm?next=%2Fsecurity"


@pytest.fixture(autouse=True)
def _english_pages(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def _age(client: Client, seconds: float = reauth.RECENT_SECONDS + 1) -> None:
    """The session's log-in was this long ago: the cookie of a session left open."""
    session = client.session
    session["zegel_authenticated_at"] = time.time() - seconds
    session.save()


def test_a_stale_session_cannot_remove_or_replace_second_factors(sender_client: Client,
                                                                 sender: User) -> None:
    _enrol_totp(sender_client)
    _register(sender_client, SoftAuthenticator(RP_ID, ORIGIN))
    passkey = Passkey.objects.get(user=sender)
    codes_before = set(RecoveryCode.objects.filter(user=sender).values_list("code_hash",
                                                                            flat=True))
    _age(sender_client)
    page = sender_client.get("/security").content.decode()
    assert "asks for your password again" in page
    for path in ("/security/totp/remove", "/security/recovery-codes",
                 f"/security/passkeys/{passkey.pk}/remove", "/security/totp/start"):
        answer = sender_client.post(path)
        assert answer.status_code == 302 and answer["Location"] == CONFIRM, path
    options = sender_client.post("/security/passkeys/options")
    assert options.status_code == 403 and options.json()["redirect"] == CONFIRM
    # Nothing changed.
    assert TotpDevice.objects.filter(user=sender, confirmed_at__isnull=False).exists()
    assert Passkey.objects.filter(pk=passkey.pk).exists()
    assert set(RecoveryCode.objects.filter(user=sender)
               .values_list("code_hash", flat=True)) == codes_before
    assert not AuditEvent.objects.filter(action__in=["user.totp_removed",
                                                     "user.passkey_removed"]).exists()
    # A session that never had the mark (made before this version) is not recent either.
    session = sender_client.session
    del session["zegel_authenticated_at"]
    session.save()
    assert sender_client.post("/security/totp/remove")["Location"] == CONFIRM


def test_the_password_again_allows_the_change_and_is_audited(sender_client: Client,
                                                             sender: User) -> None:
    _enrol_totp(sender_client)
    _age(sender_client)
    page = sender_client.get(CONFIRM)
    assert page.status_code == 200 and b'name="next" value="/security"' in page.content
    answer = sender_client.post("/account/confirm", {"password": PASSWORD,
                                                     "next": "/security"})
    assert answer.status_code == 302 and answer["Location"] == "/security"
    assert sender_client.post("/security/totp/remove")["Location"] == "/security"
    assert not TotpDevice.objects.filter(user=sender).exists()
    event = AuditEvent.objects.get(action="user.reauthenticated")
    assert event.data == {"method": "password"} and PASSWORD not in json.dumps(event.data)
    # The confirmation wears off like a log-in.
    _age(sender_client)
    assert sender_client.post("/security/totp/start")["Location"] == CONFIRM


def test_a_fresh_log_in_counts_as_recent(sender: User) -> None:
    client = Client()
    assert client.post("/login", {"username": sender.email, "password": PASSWORD}).status_code \
        == 302
    assert client.post("/security/totp/start")["Location"] == "/security/totp"


def test_wrong_passwords_on_the_confirmation_are_throttled_like_log_ins(
        sender_client: Client, sender: User, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    _age(sender_client)
    for _ in range(3):
        answer = sender_client.post("/account/confirm", {"password": "guess " * 3})
        assert answer.status_code == 400 and b"not right" in answer.content
    assert FailedLogin.objects.filter(email=sender.email).count() == 3
    # Now even the right password waits, and the session stays unconfirmed.
    answer = sender_client.post("/account/confirm", {"password": PASSWORD})
    assert answer.status_code == 400 and b"too many attempts" in answer.content
    assert sender_client.post("/security/totp/start")["Location"] == CONFIRM
    assert AuditEvent.objects.filter(action="user.reauth_failed").count() == 4
    assert sender_client.post("/account/confirm", {"password": ""}).status_code == 400


def test_the_next_address_stays_on_this_site(sender_client: Client) -> None:
    _age(sender_client)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        answer = sender_client.post("/account/confirm", {"password": PASSWORD, "next": target})
        assert answer["Location"] == "/security", target


def test_a_passkey_confirms_too(sender_client: Client, sender: User) -> None:
    laptop = SoftAuthenticator(RP_ID, ORIGIN)
    _register(sender_client, laptop)
    _age(sender_client)
    page = sender_client.get(CONFIRM).content.decode()
    assert 'data-url="/account/confirm/passkey?next=/security"' in page
    options = sender_client.post("/account/confirm/passkey/options").json()["options"]
    # An assertion made for another site does not confirm.
    wrong = sender_client.post("/account/confirm/passkey?next=/security", json.dumps(
        {"credential": laptop.get(options, origin="https://evil.example")}),
        content_type="application/json")
    assert wrong.status_code == 400
    assert sender_client.post("/security/recovery-codes")["Location"] == CONFIRM
    options = sender_client.post("/account/confirm/passkey/options").json()["options"]
    right = sender_client.post("/account/confirm/passkey?next=/security", json.dumps(
        {"credential": laptop.get(options)}), content_type="application/json")
    assert right.status_code == 200 and right.json() == {"redirect": "/security"}
    assert sender_client.post("/security/recovery-codes").status_code == 200
    assert AuditEvent.objects.get(action="user.reauthenticated").data == {"method": "passkey"}


def test_an_admins_reset_of_another_users_factors_needs_it(sender: User,
                                                           teammate: User) -> None:
    User.objects.filter(pk=sender.pk).update(role="admin")
    admin = Client()
    admin.force_login(User.objects.get(pk=sender.pk))
    member = Client()
    member.force_login(teammate)
    _enrol_totp(member)
    _age(admin)
    answer = admin.post(f"/staff/users/{teammate.pk}/reset-two-factor", {"confirm": "yes"})
    assert answer.status_code == 302
    assert answer["Location"] == f"/account/confirm?next=%2Fstaff%2Fusers%2F{teammate.pk}"
    assert TotpDevice.objects.filter(user=teammate).exists()
    admin.post("/account/confirm", {"password": PASSWORD})
    admin.post(f"/staff/users/{teammate.pk}/reset-two-factor", {"confirm": "yes"})
    assert not TotpDevice.objects.filter(user=teammate).exists()


def test_guessing_the_current_password_on_the_change_page_is_throttled(
        sender_client: Client, sender: User, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    new = "kiezel lantaarn vijver"
    form = {"current_password": "guess guess guess", "new_password": new,
            "new_password_again": new}
    for _ in range(2):
        answer = sender_client.post("/account/password", form)
        assert answer.status_code == 400 and b"current password is not right" in answer.content
    answer = sender_client.post("/account/password", {**form, "current_password": PASSWORD})
    assert answer.status_code == 400 and b"too many attempts" in answer.content
    assert User.objects.get(pk=sender.pk).check_password(PASSWORD)
    # A refused new password with the right current one is no failure.
    FailedLogin.objects.all().delete()
    weak = {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"}
    assert sender_client.post("/account/password", weak).status_code == 400
    assert not FailedLogin.objects.exists()
