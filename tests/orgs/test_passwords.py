"""Password rules (NIST SP 800-63B), "forgot password" and changing one's own password."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.orgs.staff import STRONG, client_of, english, mailed_link
from zegel.audit.models import AuditEvent
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.orgs.actions import Refused, reset_password
from zegel.orgs.models import AccountLink, Organisation, StaffSession, User
from zegel.orgs.passwords import common_passwords


def refusal(password: str, user: User) -> str:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return ""


def test_the_common_list_is_large_and_shipped() -> None:
    words = common_passwords()
    assert len(words) > 35_000
    assert {"password", "123456", "qwerty", "dragon"} <= words


@pytest.mark.parametrize(("password", "why"), [
    ("kort genoeg?", "at least 15"),  # 12 characters
    ("", "at least 15"),
    ("password1234567", "too common"),
    ("Dragon123456789!", "too common"),  # a listed password with digits around it
    ("!!!!Iloveyou2024!!!", "too common"),
    ("anna-de-vries-1968", "your name"),  # the user's name
    ("ikwerkbijzorggroep", "your name"),  # the organisation's name
    ("Zorggroep-Noord.nl!", "your name"),  # its domain
    ("wachtwoord voor zegel", "your name"),
    ("aaaaaaaaaaaaaaaaaaaa", "repeats"),
    ("abababababababababab", "repeats"),
    ("x" * 1001, "at most 1000"),
])
def test_weak_breached_and_context_passwords_are_refused(sender: User, password: str,
                                                         why: str) -> None:
    assert why in refusal(password, sender)


def test_no_composition_rules_and_long_passphrases_pass(sender: User) -> None:
    for good in (STRONG, "alleen kleine letters hier", "x7#Qm!2vLp@9sRw"):
        assert refusal(good, sender) == ""


def test_twelve_characters_do_when_the_organisation_requires_a_second_factor(
        org: Organisation, sender: User) -> None:
    twelve = "kiezel vijve"
    assert "at least 15" in refusal(twelve, sender)
    org.two_factor_required = True
    org.save(update_fields=["two_factor_required"])
    sender.refresh_from_db()
    assert refusal(twelve, sender) == ""
    assert "at least 12" in refusal("kiezel vijv", sender)


def test_an_operator_reset_checks_the_context_too(sender: User) -> None:
    with pytest.raises(Refused, match="your name"):
        reset_password(sender.email, "anna de vries is hier")


def test_forgot_password_answers_the_same_for_unknown_and_known_addresses(
        sender: User) -> None:
    known = english().post("/account/forgot-password", {"email": sender.email})
    unknown = english().post("/account/forgot-password", {"email": "niemand@zorggroep-noord.nl"})
    assert known.status_code == unknown.status_code == 200
    def page(response: Any, email: str) -> str:
        # The CSRF token differs per visitor; everything else must be the same.
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return text.replace(email, "X")

    assert page(known, sender.email) == page(unknown, "niemand@zorggroep-noord.nl")
    assert OutboxItem.objects.count() == 1
    events = AuditEvent.objects.filter(action="user.password_reset_requested").order_by("id")
    assert [e.data["sent"] for e in events] == [True, False]


def test_a_suspended_user_gets_no_reset_link(sender: User) -> None:
    User.objects.filter(pk=sender.pk).update(is_active=False)
    assert english().post("/account/forgot-password", {"email": sender.email}
                          ).status_code == 200
    assert not OutboxItem.objects.exists()


def test_a_bad_address_on_forgot_password_is_a_clear_error(db: None) -> None:
    for bad in ("", "geen adres", "a@" + "b" * 260):
        response = english().post("/account/forgot-password", {"email": bad})
        assert response.status_code == 400
        assert "Enter your e-mail address" in response.content.decode()


def test_a_reset_link_sets_the_password_once_and_ends_the_sessions(sender: User) -> None:
    old_session = client_of(sender)
    english().post("/account/forgot-password", {"email": sender.email})
    token = mailed_link(sender.email, "reset")
    assert CapturedMessage.objects.filter(to=sender.email).count() == 1
    form = {"new_password": STRONG, "new_password_again": STRONG}
    assert english().post(f"/account/reset/{token}", form).status_code == 302
    sender.refresh_from_db()
    assert sender.check_password(STRONG)
    assert old_session.get("/sent").status_code == 302
    # Used once: the same link again is refused and the password stays.
    other = {"new_password": "nog een ander wachtwoord", "new_password_again":
             "nog een ander wachtwoord"}
    again = english().post(f"/account/reset/{token}", other)
    assert again.status_code == 404 and "no longer works" in again.content.decode()
    sender.refresh_from_db()
    assert sender.check_password(STRONG)


def test_an_expired_reset_link_is_refused(sender: User) -> None:
    english().post("/account/forgot-password", {"email": sender.email})
    token = mailed_link(sender.email, "reset")
    AccountLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    form = {"new_password": STRONG, "new_password_again": STRONG}
    assert english().post(f"/account/reset/{token}", form).status_code == 404
    sender.refresh_from_db()
    assert sender.check_password(PASSWORD)


def test_a_weak_password_through_a_link_is_refused_and_the_link_still_works(
        sender: User) -> None:
    english().post("/account/forgot-password", {"email": sender.email})
    token = mailed_link(sender.email, "reset")
    weak = {"new_password": "password1234567", "new_password_again": "password1234567"}
    response = english().post(f"/account/reset/{token}", weak)
    assert response.status_code == 400 and "too common" in response.content.decode()
    mismatch = {"new_password": STRONG, "new_password_again": STRONG + "x"}
    assert english().post(f"/account/reset/{token}", mismatch).status_code == 400
    good = {"new_password": STRONG, "new_password_again": STRONG}
    assert english().post(f"/account/reset/{token}", good).status_code == 302


def test_an_unknown_link_looks_like_a_used_one(db: None) -> None:
    for path in ("/account/reset/abc", "/account/invitation/" + "A" * 43):
        response = english().get(path)
        assert response.status_code == 404 and "no longer works" in response.content.decode()


def test_changing_ones_own_password_needs_the_current_one(sender: User) -> None:
    here = client_of(sender)
    elsewhere = client_of(sender, ip="203.0.113.5")
    wrong = here.post("/account/password", {"current_password": "fout", "new_password": STRONG,
                                            "new_password_again": STRONG})
    assert wrong.status_code == 400 and "current password is not right" in wrong.content.decode()
    weak = here.post("/account/password", {"current_password": PASSWORD,
                                           "new_password": "anna de vries 2026",
                                           "new_password_again": "anna de vries 2026"})
    assert weak.status_code == 400
    sender.refresh_from_db()
    assert sender.check_password(PASSWORD)
    done = here.post("/account/password", {"current_password": PASSWORD,
                                           "new_password": STRONG, "new_password_again": STRONG})
    assert done.status_code == 302
    sender.refresh_from_db()
    assert sender.check_password(STRONG)
    assert here.get("/sent").status_code == 200  # this session stays
    assert StaffSession.objects.filter(user=sender).count() == 1
    assert "this session" in here.get("/account").content.decode()
    assert elsewhere.get("/sent").status_code == 302  # the other one ended
    assert AuditEvent.objects.filter(action="user.password_changed").count() == 1
