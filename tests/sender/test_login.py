"""Staff log-in: case-insensitive address, throttled after many failures."""

from __future__ import annotations

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

    from django.utils import timezone

    from zegel.audit.models import AuditEvent
    from zegel.orgs.backends import WINDOW
    from zegel.orgs.models import FailedLogin

    client = Client()
    for _ in range(10):
        client.post("/login", {"username": sender.email, "password": "wrong password"})
    assert FailedLogin.objects.filter(email=sender.email).count() == 10
    # The evidence is still written as before.
    assert AuditEvent.objects.filter(action="user.login_failed").count() == 10
    FailedLogin.objects.update(at=timezone.now() - WINDOW - timedelta(seconds=1))
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
