"""The directory's tests hash many access codes and create many users: with the production
Argon2 cost each takes most of a second on a busy CI machine. They use a cheap Argon2id (the
same algorithm and format, so the portal's check still verifies it) and a cheap password
hasher; test_actions.py checks the production parameters once."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from django.test import Client

from zegel.directory import validation
from zegel.orgs.models import User

# The hasher access codes are stored with outside the tests.
PRODUCTION = validation._argon2
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"  # the pages' texts as written; one test reads them in Dutch
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr("zegel.directory.validation._argon2", CHEAP)
    monkeypatch.setattr("zegel.directory.actions._argon2", CHEAP)


@pytest.fixture
def admin(sender: User) -> User:
    sender.role = "admin"
    sender.save()
    return sender


@pytest.fixture
def admin_client(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client
