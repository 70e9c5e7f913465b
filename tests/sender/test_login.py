"""Staff log-in: case-insensitive address, throttled after many failures."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from zegel.orgs.models import User


def test_address_case_does_not_matter(sender: User) -> None:
    response = Client().post("/login", {"username": sender.email.upper(), "password": PASSWORD})
    assert response.status_code == 302


def test_it_refuses_even_the_right_password_after_ten_failures(sender: User) -> None:
    client = Client()
    for _ in range(10):
        client.post("/login", {"username": sender.email, "password": "wrong password"})
    response = client.post("/login", {"username": sender.email, "password": PASSWORD})
    assert response.status_code == 200  # the form again, not a redirect
    other = Client().post("/login", {"username": "someone@else.nl", "password": "x"})
    assert other.status_code == 200


def test_failures_are_counted_in_their_own_table_and_pruned(sender: User) -> None:
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from zegel.audit.models import AuditEvent
    from zegel.orgs.models import FailedLogin

    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)

    client = Client()
    for _ in range(10):
        client.post("/login", {"username": sender.email, "password": "wrong password"})
    assert FailedLogin.objects.filter(email=sender.email).count() == 10
    # The evidence is still written as before.
    assert AuditEvent.objects.filter(action="user.login_failed").count() == 10
    FailedLogin.objects.update(at=timezone.now() - window - timedelta(seconds=1))
    Client().post("/login", {"username": "someone@else.nl", "password": "x"})
    assert list(FailedLogin.objects.values_list("email", flat=True)) == ["someone@else.nl"]
    response = client.post("/login", {"username": sender.email, "password": PASSWORD})
    assert response.status_code == 302  # the window has passed


def test_the_throttle_does_not_read_the_audit_log(sender: User) -> None:
    from zegel.audit.log import record

    # Evidence is not operational data: old failure events do not lock anyone out.
    for _ in range(10):
        record("user.login_failed", organisation=None, actor_type="anonymous",
               actor_label=sender.email)
    response = Client().post("/login", {"username": sender.email, "password": PASSWORD})
    assert response.status_code == 302


def _fail(email: str, ip: str = "127.0.0.1", **headers: str) -> Any:
    return Client(REMOTE_ADDR=ip, **headers).post("/login", {"username": email,
                                                             "password": "wrong password"})


def _right(sender: User, ip: str = "127.0.0.1", **headers: str) -> Any:
    return Client(REMOTE_ADDR=ip, **headers).post("/login", {"username": sender.email,
                                                             "password": PASSWORD})


def test_one_address_trying_many_accounts_is_stopped(sender: User, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES_PER_IP = 5
    for n in range(5):
        _fail(f"guess{n}@zorggroep-noord.nl", ip="203.0.113.7")
    refused = _right(sender, ip="203.0.113.7")
    assert refused.status_code == 200
    assert "te vaak geprobeerd" in refused.content.decode()
    assert _right(sender, ip="198.51.100.2").status_code == 302  # another address is not held


def test_an_ipv6_client_is_counted_by_its_64_network(sender: User, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES_PER_IP = 3
    for n in range(3):
        _fail(f"guess{n}@example.nl", ip=f"2001:db8:1:2::{n + 1}")
    assert _right(sender, ip="2001:db8:1:2::99").status_code == 200
    assert _right(sender, ip="2001:db8:1:3::1").status_code == 302


def test_the_address_behind_a_trusted_proxy_is_the_forwarded_one(sender: User,
                                                                  settings: Any) -> None:
    import ipaddress

    settings.LOGIN_MAX_FAILURES_PER_IP = 3
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    for n in range(3):
        _fail(f"guess{n}@example.nl", ip="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert _right(sender, ip="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200
    # Colleagues behind the same proxy are other clients.
    assert _right(sender, ip="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302
    # A client that is no proxy of ours cannot pick its address by writing the header.
    for n in range(3):
        _fail(f"other{n}@example.nl", ip="192.0.2.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert _right(sender, ip="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 200


def test_many_addresses_together_reach_the_global_limit(sender: User, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES_GLOBAL = 6
    for n in range(6):
        _fail(f"guess{n}@example.nl", ip=f"203.0.113.{n + 1}")
    assert _right(sender, ip="198.51.100.2").status_code == 200


def test_attempts_during_a_lock_do_not_extend_it(sender: User) -> None:
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from zegel.orgs.models import FailedLogin

    for _ in range(10):
        _fail(sender.email)
    causes = list(FailedLogin.objects.values_list("pk", flat=True))
    for _ in range(5):  # the attacker keeps trying, the right password too
        assert _fail(sender.email).status_code == 200
        assert _right(sender).status_code == 200
    assert FailedLogin.objects.count() == 10
    # The lock's time is up when the failures that caused it leave the window.
    FailedLogin.objects.filter(pk__in=causes).update(
        at=timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW + 1))
    assert _right(sender).status_code == 302


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2 computation a log-in does: hashing a password or verifying one."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    calls: list[str] = []
    encode, verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def counted_encode(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("encode")
        return encode(self, *args, **kwargs)

    def counted_verify(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("verify")
        return verify(self, *args, **kwargs)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", counted_encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", counted_verify)
    return calls


@pytest.mark.parametrize("branch", ["wrong password", "unknown account", "right password",
                                    "account locked", "address locked", "all locked"])
def test_every_answer_costs_one_argon2_computation(sender: User, settings: Any,
                                                   argon2_calls: list[str],
                                                   branch: str) -> None:
    from zegel.orgs.models import FailedLogin

    settings.LOGIN_MAX_FAILURES_PER_IP = 50
    settings.LOGIN_MAX_FAILURES_GLOBAL = 100
    if branch == "account locked":
        FailedLogin.objects.bulk_create(FailedLogin(email=sender.email, client=f"192.0.2.{n}")
                                        for n in range(10))
    elif branch == "address locked":
        FailedLogin.objects.bulk_create(FailedLogin(email=f"g{n}@example.nl", client="127.0.0.1")
                                        for n in range(50))
    elif branch == "all locked":
        FailedLogin.objects.bulk_create(FailedLogin(email=f"g{n}@example.nl",
                                                    client=f"192.0.2.{n}") for n in range(100))
    email = "nobody@zorggroep-noord.nl" if branch == "unknown account" else sender.email
    password = PASSWORD if branch in ("right password", "account locked") else "wrong password"
    response = Client().post("/login", {"username": email, "password": password})
    assert response.status_code == (302 if branch == "right password" else 200)
    assert len(argon2_calls) == 1, argon2_calls


def test_the_page_does_not_say_which_limit_was_reached(sender: User, settings: Any) -> None:
    import re

    from zegel.orgs.models import FailedLogin

    settings.LOGIN_MAX_FAILURES_PER_IP = 5
    settings.LOGIN_MAX_FAILURES_GLOBAL = 20

    def summary(response: Any) -> str:
        match = re.search(r'<div class="error-summary".*?</div>', response.content.decode(), re.S)
        assert match, "no error summary"
        return match.group(0)

    wrong = summary(_fail(sender.email, ip="198.51.100.4"))
    FailedLogin.objects.all().delete()
    FailedLogin.objects.bulk_create(FailedLogin(email=sender.email) for _ in range(10))
    by_account = summary(_right(sender, ip="198.51.100.1"))
    FailedLogin.objects.all().delete()
    FailedLogin.objects.bulk_create(FailedLogin(email=f"g{n}@example.nl", client="198.51.100.2")
                                    for n in range(5))
    by_address = summary(_right(sender, ip="198.51.100.2"))
    FailedLogin.objects.bulk_create(FailedLogin(email=f"h{n}@example.nl") for n in range(15))
    by_all = summary(_right(sender, ip="198.51.100.3"))
    assert by_account == by_address == by_all
    assert "15 minuten" in by_account and "te vaak geprobeerd" in by_account
    assert wrong != by_account and "klopt niet" in wrong


def test_a_throttled_attempt_is_audited_as_such(sender: User) -> None:
    from zegel.audit.models import AuditEvent
    from zegel.orgs.models import FailedLogin

    FailedLogin.objects.bulk_create(FailedLogin(email=sender.email) for _ in range(10))
    _right(sender)
    event = AuditEvent.objects.get(action="user.login_failed")
    assert event.data == {"throttled": True}


@pytest.mark.django_db(transaction=True)
def test_parallel_attempts_get_no_more_password_checks_than_the_limit(
        sender: User, settings: Any, argon2_calls: list[str]) -> None:
    from tests.orgs.race import at_once
    from zegel.orgs.models import FailedLogin

    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    # The audit log's first event creates its head; parallel first events are another race
    # (zegel.audit.log.record), not the one this test is about.
    _fail("someone@else.nl", ip="198.51.100.1")
    FailedLogin.objects.all().delete()
    argon2_calls.clear()
    results = at_once(lambda: _fail(sender.email).status_code, times=8)
    assert results == [200] * 8
    # Exactly three passwords were checked; the others did the same work on a dummy hash.
    assert argon2_calls.count("verify") == 3, argon2_calls
    assert argon2_calls.count("encode") == 5
    assert FailedLogin.objects.count() == 3


def test_zero_switches_a_limit_off(sender: User, settings: Any) -> None:
    from zegel.orgs.models import FailedLogin

    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 0
    FailedLogin.objects.bulk_create(FailedLogin(email=sender.email) for _ in range(12))
    assert _right(sender).status_code == 302
