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
