"""Syncs and imports of the same contacts at once, on PostgreSQL: no duplicate, no 500, no
refusal, and the same PUT many times at once is created once and answered 200 the other times.

SQLite lets one writer in at a time (BEGIN IMMEDIATE), so these skip there; `make test` runs
them in its PostgreSQL pass. Every call runs in its own thread with its own connection.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from django.db import connection
from django.test import Client

from tests.messaging.test_concurrency import run_together
from zegel.audit.models import AuditEvent
from zegel.directory import actions, importing, letters
from zegel.directory.fields import ContactFields
from zegel.directory.models import Contact
from zegel.directory.validation import normalise_code
from zegel.orgs.models import ApiToken, User

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="concurrent writers exist on PostgreSQL only"),
]
CALLS = 8


def _put(secret: str, external_id: str, body: dict[str, Any]) -> int:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.put(f"/api/v1/contacts/{external_id}", json.dumps(body),
                       content_type="application/json")
    return int(response.status_code)


def test_the_same_put_at_once_creates_one_contact(admin: User) -> None:
    _token, secret = ApiToken.issue(admin)
    body = {"email": "piet@example.nl", "name": "Piet", "phone": "0612345678",
            "access_code": "tulp-4711-zon"}
    statuses = run_together([lambda: _put(secret, "P-1", body)] * CALLS)
    assert sorted(statuses) == [200] * (CALLS - 1) + [201], statuses
    assert Contact.objects.count() == 1
    assert AuditEvent.objects.filter(action="contact.created").count() == 1


def test_different_puts_of_one_external_id_at_once_leave_one_contact(admin: User) -> None:
    _token, secret = ApiToken.issue(admin)
    calls = [(lambda n=n: _put(secret, "P-1", {"email": "piet@example.nl",
                                               "name": f"Piet {n}"}))
             for n in range(CALLS)]
    statuses = run_together(calls)
    assert sorted(statuses) == [200] * (CALLS - 1) + [201], statuses
    contact = Contact.objects.get()
    assert contact.name in {f"Piet {n}" for n in range(CALLS)}


def test_two_imports_of_the_same_contacts_at_once(admin: User) -> None:
    lines = [f"p{n}@example.nl,Patiënt {n},E{n}" for n in range(40)]
    forward = ("email,name,external_id\n" + "\n".join(lines)).encode()
    backward = ("email,name,external_id\n" + "\n".join(reversed(lines))).encode()
    results = run_together([
        lambda: actions.apply_import(admin, importing.read_csv(forward)),
        lambda: actions.apply_import(admin, importing.read_csv(backward)),
        lambda: actions.sync_contact(admin, "E7", ContactFields(email="p7@example.nl",
                                                                name="Patiënt 7")),
    ])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assert Contact.objects.count() == 40
    first, second = results[0], results[1]
    assert first.created + second.created + results[2].created == 40
    assert first.changed + second.changed == 0


def test_two_letter_batches_at_once_leave_exactly_the_later_code(admin: User) -> None:
    piet = Contact.objects.create(organisation=admin.organisation, email="piet@example.nl",
                                  name="Piet")

    def batch() -> str:
        [letter] = letters.generate_letters(admin, contact_ids=[str(piet.pk)], shared_ids=[],
                                            confirmed=True)
        return letter.code

    codes = run_together([batch, batch])
    assert all(isinstance(code, str) for code in codes), codes
    stored = Contact.objects.get(pk=piet.pk).access_code_hash

    def opens(code: str) -> bool:
        try:
            return bool(PasswordHasher().verify(stored, normalise_code(code)))
        except VerificationError:
            return False

    assert sorted(opens(code) for code in codes) == [False, True]
    assert AuditEvent.objects.filter(action="contacts.letters_generated").count() == 2
