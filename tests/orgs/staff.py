"""Personas and helpers for the staff-account tests."""

from __future__ import annotations

import re

from django.test import Client

from tests.conftest import PASSWORD
from zegel.notify.models import CapturedMessage
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import Organisation, User

STRONG = "kiezel lantaarn vijver"  # 22 characters, no context words, not on the lists


def make_user(org: Organisation, email: str, role: str = "member") -> User:
    return User.objects.create_user(email, org, PASSWORD, name=email.split("@")[0].title(),
                                    role=role)


def english() -> Client:
    """A visitor who reads the pages in English (the site's default is Dutch)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def client_of(user: User, *, ua: str = "TestBrowser/1.0", ip: str = "192.0.2.10") -> Client:
    # The pages in English (the site's default is Dutch; one test checks the Dutch).
    client = Client(HTTP_USER_AGENT=ua, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/login", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, "log-in failed"
    return client


def mailed_link(to: str, path: str) -> str:
    """Deliver the outbox and return the token of the newest link to `path` mailed to `to`."""
    deliver_due()
    mail = CapturedMessage.objects.filter(channel="email", to=to).order_by("-id").first()
    assert mail is not None, f"no e-mail captured for {to}"
    match = re.search(rf"https://zegel\.example\.org/account/{path}/([A-Za-z0-9_-]{{43}})",
                      mail.text)
    assert match, "the e-mail has no link"
    assert match.group(0) in mail.html
    return match.group(1)
