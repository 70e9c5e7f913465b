"""Two-factor log-in through the pages: enrolment, the second step, passkeys, the policy, and
the attacks on them (replay, guessing, another origin, another session's challenge, a half
logged-in session, CSRF)."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.sender.softauthn import SoftAuthenticator
from zegel.audit.models import AuditEvent
from zegel.orgs import twofactor
from zegel.orgs.models import ApiToken, Organisation, Passkey, RecoveryCode, TotpDevice, User
from zegel.orgs.twofactor import policy, recovery, totp

ORIGIN = "https://zegel.example.org"
RP_ID = "zegel.example.org"


@pytest.fixture(autouse=True)
def _english_pages(settings: Any) -> None:
    # The tests read the pages in English; test_the_second_step_speaks_dutch checks the Dutch.
    settings.LANGUAGE_CODE = "en"


def _secret_from_page(client: Client) -> str:
    page = client.get("/security/totp")
    assert page.status_code == 200
    found = re.search(r'id="manual-key">([A-Z2-7 ]+)<', page.content.decode())
    assert found, "the manual-entry key is on the page"
    return found.group(1).replace(" ", "")


def _code(secret: str, *, at: float | None = None) -> str:
    return pyotp.TOTP(secret).at(at if at is not None else time.time())


def _enrol_totp(client: Client) -> tuple[str, list[str]]:
    assert client.post("/security/totp/start").status_code == 302
    secret = _secret_from_page(client)
    response = client.post("/security/totp", {"code": _code(secret)})
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>",
                       response.content.decode())
    return secret, codes


def _password_step(user: User, client: Client | None = None) -> Client:
    client = client or Client()
    response = client.post("/login", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/login/verify"
    return client


def _forget_last_step(user: User) -> None:
    # Lets a test log in twice within one 30-second step; replay tests never call it.
    TotpDevice.objects.filter(user=user).update(last_step=-1)


@pytest.fixture
def enrolled(sender_client: Client, sender: User) -> tuple[str, list[str]]:
    secret, codes = _enrol_totp(sender_client)
    _forget_last_step(sender)
    return secret, codes


def test_enrolment_shows_a_qr_code_and_ten_recovery_codes(sender_client: Client,
                                                            sender: User) -> None:
    sender_client.post("/security/totp/start")
    qr = sender_client.get("/security/totp/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    assert b"<svg" in qr.content and b"<script" not in qr.content
    assert "no-store" in qr["Cache-Control"]
    secret = _secret_from_page(sender_client)
    wrong = sender_client.post("/security/totp", {"code": "000000" if _code(secret) != "000000"
                                                  else "111111"})
    assert wrong.status_code == 400 and b"not right" in wrong.content
    assert TotpDevice.objects.get(user=sender).confirmed_at is None
    response = sender_client.post("/security/totp", {"code": _code(secret)})
    codes = re.findall(r"<code>([a-z2-9-]{14})</code>", response.content.decode())
    assert len(set(codes)) == recovery.RECOVERY_CODES
    assert TotpDevice.objects.get(user=sender).confirmed_at is not None
    # Stored hashed: no code appears in the table.
    stored = set(RecoveryCode.objects.filter(user=sender).values_list("code_hash", flat=True))
    assert not stored & {c.replace("-", "") for c in codes}
    # The QR code of a confirmed device is no longer served.
    assert sender_client.get("/security/totp/qr.svg").status_code == 404
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"user.totp_enrol_failed", "user.totp_enrolled",
            "user.recovery_codes_generated"} <= actions
    # Never a secret or a code in the audit log.
    dump = json.dumps(list(AuditEvent.objects.values("data", "actor_label", "object_id")))
    assert secret not in dump and not any(c in dump for c in codes)


def test_the_secret_is_stored_only_wrapped_and_bound_to_its_user(
        enrolled: tuple[str, list[str]], sender: User, teammate: User) -> None:
    import base64

    secret, _codes = enrolled
    device = TotpDevice.objects.get(user=sender)
    assert base64.b32decode(secret) not in bytes(device.wrapped)
    assert secret.encode() not in bytes(device.wrapped)
    # The wrapped secret copied into another user's device row does not unwrap.
    totp.start_totp(teammate)
    TotpDevice.objects.filter(user=teammate).update(kek_id=device.kek_id,
                                                    wrapped=device.wrapped)
    with pytest.raises(twofactor.TwoFactorError):
        totp.manual_key(totp.pending_totp(teammate))  # type: ignore[arg-type]


def test_key_rotation_rewraps_the_secret_and_the_old_key_can_retire(
        enrolled: tuple[str, list[str]], sender: User) -> None:
    from zegel.keystore.rotation import RetireRefused, retire_kek, rotate_keys

    secret, _codes = enrolled
    old = TotpDevice.objects.get(user=sender).kek_id
    new, _count = rotate_keys()
    assert TotpDevice.objects.get(user=sender).kek_id == new
    retire_kek(old)
    assert totp.verify_totp(sender, _code(secret))
    # A device still under a KEK keeps that KEK from being retired.
    newer, _count = rotate_keys()
    TotpDevice.objects.filter(user=sender).update(kek_id=new)
    with pytest.raises(RetireRefused, match="still wrapped"):
        retire_kek(new)
    assert newer != new


def test_login_asks_for_the_code_and_the_half_way_session_is_not_logged_in(
        enrolled: tuple[str, list[str]], sender: User) -> None:
    secret, _codes = enrolled
    client = _password_step(sender)
    # Half-way: no sender page, no API call (with or without the session), no Security page.
    for path in ("/inbox", "/sent", "/compose", "/security", "/admin/dlp/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login"), path
    assert client.get("/api/v1/messages/00000000-0000-0000-0000-000000000000").status_code == 401
    assert client.post("/compose/check", {"body": "x"}).status_code == 302
    assert "_auth_user_id" not in client.session
    response = client.post("/login/verify", {"code": _code(secret)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/inbox").status_code == 200
    event = AuditEvent.objects.filter(action="user.second_factor_used").get()
    assert event.data == {"method": "totp"}


def test_the_second_step_speaks_dutch(enrolled: tuple[str, list[str]], sender: User,
                                     settings: Any) -> None:
    settings.LANGUAGE_CODE = "nl"
    client = _password_step(sender)
    page = client.get("/login/verify").content.decode()
    assert "Bevestig dat u het bent" in page
    wrong = client.post("/login/verify", {"code": "12345"}).content.decode()
    assert "Die code klopt niet, of is al gebruikt." in wrong


def test_a_code_is_accepted_once(enrolled: tuple[str, list[str]], sender: User) -> None:
    secret, _codes = enrolled
    code = _code(secret)
    first = _password_step(sender)
    assert first.post("/login/verify", {"code": code}).status_code == 302
    second = _password_step(sender)
    replay = second.post("/login/verify", {"code": code})
    assert replay.status_code == 400 and b"used already" in replay.content
    assert "_auth_user_id" not in second.session
    # An older code in the drift window is refused too once a newer one was used.
    assert not totp.verify_totp(sender, _code(secret, at=time.time() - 30))
    failed = AuditEvent.objects.filter(action="user.second_factor_failed").get()
    assert failed.data == {"method": "totp"} and code not in json.dumps(failed.data)


def test_wrong_codes_are_throttled_like_passwords(enrolled: tuple[str, list[str]],
                                                   sender: User, settings: Any) -> None:
    secret, _codes = enrolled
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    client = _password_step(sender)
    right = _code(secret)
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    for _ in range(5):
        assert client.post("/login/verify", {"code": wrong}).status_code == 400
    # Now even the right code waits.
    response = client.post("/login/verify", {"code": right})
    assert response.status_code == 400 and b"too many attempts" in response.content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="user.second_factor_failed",
                                     data__throttled=True).count() == 1
    # And the password step of the same account is locked as well.
    locked = Client().post("/login", {"username": sender.email, "password": PASSWORD})
    assert locked.status_code == 200


def test_a_recovery_code_works_once(enrolled: tuple[str, list[str]], sender: User) -> None:
    _secret, codes = enrolled
    client = _password_step(sender)
    response = client.post("/login/verify", {"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert recovery.recovery_codes_left(sender) == 9
    again = _password_step(sender).post("/login/verify", {"code": codes[0]})
    assert again.status_code == 400
    assert AuditEvent.objects.filter(action="user.second_factor_used",
                                     data__method="recovery_code").count() == 1


def test_new_recovery_codes_replace_the_old(enrolled: tuple[str, list[str]],
                                            sender_client: Client, sender: User) -> None:
    _secret, old = enrolled
    page = sender_client.post("/security/recovery-codes")
    new = re.findall(r"<code>([a-z2-9-]{14})</code>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert not recovery.use_recovery_code(sender, old[1])
    assert recovery.use_recovery_code(sender, new[1])


def test_a_stale_or_changed_pending_login_starts_again(enrolled: tuple[str, list[str]],
                                                       sender: User) -> None:
    secret, _codes = enrolled
    client = _password_step(sender)
    sender.set_password("another long password 2026")
    sender.save()
    response = client.post("/login/verify", {"code": _code(secret)})
    assert response.status_code == 302 and response["Location"] == "/login"
    assert "_auth_user_id" not in client.session
    assert Client().get("/login/verify")["Location"] == "/login"


def test_removing_the_last_factor_drops_the_recovery_codes(
        enrolled: tuple[str, list[str]], sender_client: Client, sender: User) -> None:
    assert sender_client.post("/security/totp/remove").status_code == 302
    assert not TotpDevice.objects.filter(user=sender).exists()
    assert not RecoveryCode.objects.filter(user=sender).exists()
    # One step again.
    assert Client().post("/login", {"username": sender.email,
                                    "password": PASSWORD})["Location"] == "/"


def test_csrf_is_checked_on_the_second_step_and_the_passkey_calls(
        enrolled: tuple[str, list[str]], sender: User) -> None:
    secret, _codes = enrolled
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    response = client.post("/login", {"username": sender.email, "password": PASSWORD,
                                      "csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    assert client.post("/login/verify", {"code": _code(secret)}).status_code == 403
    assert client.post("/login/passkey/options").status_code == 403
    assert client.post("/login/passkey", "{}", content_type="application/json").status_code == 403
    logged_in = Client(enforce_csrf_checks=True)
    logged_in.force_login(sender)
    assert logged_in.post("/security/totp/remove").status_code == 403
    assert logged_in.post("/security/passkeys/options").status_code == 403
    assert TotpDevice.objects.filter(user=sender).exists()


# -- passkeys -------------------------------------------------------------------------------


def _register(client: Client, authenticator: SoftAuthenticator, name: str = "Laptop",
              **kwargs: Any) -> Any:
    options = client.post("/security/passkeys/options").json()["options"]
    return client.post("/security/passkeys",
                       json.dumps({"name": name,
                                   "credential": authenticator.create(options, **kwargs)}),
                       content_type="application/json")


def _passkey_login(client: Client, authenticator: SoftAuthenticator, **kwargs: Any) -> Any:
    options = client.post("/login/passkey/options").json()["options"]
    return client.post("/login/passkey",
                       json.dumps({"credential": authenticator.get(options, **kwargs)}),
                       content_type="application/json")


def test_passkeys_register_log_in_rename_and_remove(sender_client: Client,
                                                    sender: User) -> None:
    laptop = SoftAuthenticator(RP_ID, ORIGIN)
    key = SoftAuthenticator(RP_ID, ORIGIN)
    assert _register(sender_client, laptop).json() == {"redirect": "/security"}
    assert _register(sender_client, key, name="  Blue   key ").status_code == 200
    assert list(Passkey.objects.filter(user=sender).values_list("name", flat=True)
                .order_by("pk")) == ["Laptop", "Blue key"]
    # Registering the same authenticator again is refused.
    assert _register(sender_client, laptop).status_code == 400
    client = _password_step(sender)
    answer = _passkey_login(client, key)
    assert answer.status_code == 200 and answer.json() == {"redirect": "/"}
    assert client.get("/inbox").status_code == 200
    passkey = Passkey.objects.get(name="Blue key")
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    assert sender_client.post(f"/security/passkeys/{passkey.pk}/rename",
                              {"name": "Spare key"}).status_code == 302
    assert sender_client.post(f"/security/passkeys/{passkey.pk}/rename",
                              {"name": "   "}).status_code == 400
    page = sender_client.get("/security").content.decode()
    assert "Spare key" in page and "Laptop" in page
    assert sender_client.post(f"/security/passkeys/{passkey.pk}/remove").status_code == 302
    assert not Passkey.objects.filter(pk=passkey.pk).exists()
    actions = list(AuditEvent.objects.filter(action__startswith="user.passkey")
                   .values_list("action", flat=True))
    assert actions.count("user.passkey_added") == 2
    assert {"user.passkey_renamed", "user.passkey_removed"} <= set(actions)


def test_a_user_cannot_touch_anothers_passkey(sender_client: Client, teammate: User) -> None:
    other = Client()
    other.force_login(teammate)
    _register(other, SoftAuthenticator(RP_ID, ORIGIN))
    passkey = Passkey.objects.get(user=teammate)
    assert sender_client.post(f"/security/passkeys/{passkey.pk}/remove").status_code == 400
    assert sender_client.post(f"/security/passkeys/{passkey.pk}/rename",
                              {"name": "mine"}).status_code == 400
    assert Passkey.objects.get(pk=passkey.pk).name == "Laptop"


def test_an_assertion_for_another_origin_or_rp_is_refused(sender_client: Client,
                                                         sender: User) -> None:
    authenticator = SoftAuthenticator(RP_ID, ORIGIN)
    # A registration made on another site is refused too.
    assert _register(sender_client, authenticator,
                     origin="https://zegel.example.org.evil.test").status_code == 400
    assert _register(sender_client, authenticator).status_code == 200
    client = _password_step(sender)
    phished = _passkey_login(client, authenticator, origin="https://zegel-example.org")
    assert phished.status_code == 400
    other_rp = _passkey_login(client, authenticator, rp_id="example.org")
    assert other_rp.status_code == 400
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="user.second_factor_failed",
                                     data__method="passkey").count() == 2


def test_a_challenge_from_another_session_is_refused(sender_client: Client,
                                                     sender: User) -> None:
    authenticator = SoftAuthenticator(RP_ID, ORIGIN)
    _register(sender_client, authenticator)
    victim = _password_step(sender)
    options = victim.post("/login/passkey/options").json()["options"]
    assertion = authenticator.get(options)
    attacker = _password_step(sender)
    attacker.post("/login/passkey/options")  # its own, different challenge
    response = attacker.post("/login/passkey", json.dumps({"credential": assertion}),
                             content_type="application/json")
    assert response.status_code == 400
    assert "_auth_user_id" not in attacker.session
    # A challenge is used once: the victim's answer replayed in its own session fails too
    # after one use.
    assert victim.post("/login/passkey", json.dumps({"credential": assertion}),
                       content_type="application/json").status_code == 200
    again = _password_step(sender)
    assert again.post("/login/passkey", json.dumps({"credential": assertion}),
                      content_type="application/json").status_code == 400


def test_a_signature_counter_going_back_is_refused(sender_client: Client,
                                                   sender: User) -> None:
    authenticator = SoftAuthenticator(RP_ID, ORIGIN)
    _register(sender_client, authenticator)
    assert _passkey_login(_password_step(sender), authenticator, count=5).status_code == 200
    clone = _passkey_login(_password_step(sender), authenticator, count=3)
    assert clone.status_code == 400


def test_bad_passkey_input_gets_a_clear_answer(sender_client: Client, sender: User) -> None:
    bad = sender_client.post("/security/passkeys", "not json", content_type="application/json")
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    # No challenge asked for in this session.
    missing = sender_client.post("/security/passkeys",
                                 json.dumps({"name": "x", "credential": {}}),
                                 content_type="application/json")
    assert missing.status_code == 400 and "expired" in missing.json()["error"]
    sender_client.post("/security/passkeys/options")
    garbage = sender_client.post("/security/passkeys",
                                 json.dumps({"name": "x", "credential": {"id": 3}}),
                                 content_type="application/json")
    assert garbage.status_code == 400
    nameless = sender_client.post("/security/passkeys",
                                  json.dumps({"name": " ", "credential": {}}),
                                  content_type="application/json")
    assert nameless.status_code == 400 and "name" in nameless.json()["error"]
    assert Client().post("/login/passkey/options").status_code == 401
    # A user without passkeys asked for passkey options at the second step.
    totp.start_totp(sender)
    device = TotpDevice.objects.get(user=sender)
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
    client = _password_step(sender)
    assert client.post("/login/passkey/options").status_code == 400
    assert client.post("/login/passkey", "[]", content_type="application/json").status_code == 400


# -- the organisation's policy --------------------------------------------------------------


def _require(org: Organisation, days: int) -> None:
    Organisation.objects.filter(pk=org.pk).update(two_factor_required=True,
                                                  two_factor_grace_days=days)


def test_after_the_grace_period_a_user_without_a_factor_can_only_enrol(
        sender: User, org: Organisation) -> None:
    _require(org, 14)
    User.objects.filter(pk=sender.pk).update(date_joined=timezone.now() - timedelta(days=15))
    _token, secret = ApiToken.issue(sender)
    client = Client()
    assert client.post("/login", {"username": sender.email,
                                  "password": PASSWORD})["Location"] == "/"
    for path in ("/inbox", "/compose", "/sent", "/admin/dlp/"):
        assert client.get(path)["Location"] == "/security", path
    assert client.get("/security").status_code == 200
    api = Client().get("/api/v1/messages/00000000-0000-0000-0000-000000000000",
                       HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.status_code == 403 and "two-factor" in api.json()["detail"]
    _enrol_totp(client)
    assert client.get("/inbox").status_code == 200
    api = Client().get("/api/v1/messages/00000000-0000-0000-0000-000000000000",
                       HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.status_code == 404


def test_within_the_grace_period_the_user_is_reminded(sender: User, org: Organisation,
                                                       sender_client: Client) -> None:
    _require(org, 14)
    assert sender_client.get("/inbox").status_code == 200
    assert b"Set one up before" in sender_client.get("/security").content


def test_an_admin_reset_removes_every_factor_and_is_audited(
        enrolled: tuple[str, list[str]], sender: User, org: Organisation) -> None:
    admin = User.objects.create_user("admin@zorggroep-noord.nl", org, PASSWORD, role="admin")
    client = Client()
    client.force_login(sender)
    _register(client, SoftAuthenticator(RP_ID, ORIGIN))
    outcome = policy.reset_second_factors(sender, actor=admin, request=None)
    assert outcome == policy.ResetOutcome(totp=True, passkeys=1, recovery_codes=10)
    assert not policy.has_second_factor(sender)
    assert not RecoveryCode.objects.filter(user=sender).exists()
    event = AuditEvent.objects.get(action="user.second_factors_reset")
    assert event.actor_id == str(admin.pk) and event.object_id == str(sender.pk)
    assert Client().post("/login", {"username": sender.email,
                                    "password": PASSWORD})["Location"] == "/"


def test_the_page_asked_for_is_kept_through_the_second_step(
        enrolled: tuple[str, list[str]], sender: User) -> None:
    secret, _codes = enrolled
    client = Client()
    response = client.post("/login?next=/sent", {"username": sender.email, "password": PASSWORD,
                                                 "next": "/sent"})
    assert response["Location"] == "/login/verify"
    assert client.post("/login/verify", {"code": _code(secret)})["Location"] == "/sent"
    _forget_last_step(sender)
    other = Client()
    other.post("/login", {"username": sender.email, "password": PASSWORD,
                          "next": "https://evil.example/"})
    assert other.post("/login/verify", {"code": _code(secret)})["Location"] == "/"
