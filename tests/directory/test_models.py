"""The directory's model: one contact per address and per external id in an organisation, and the
default method is the most secure one the contact has."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from zegel.directory.models import Contact, Method, SharedCode
from zegel.messaging.models import Recipient
from zegel.orgs.models import Organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Organisation:
    return Organisation.objects.create(name="Zorggroep", domain="zorg.example")


def test_methods_match_the_recipients() -> None:
    assert Method.choices == Recipient.Method.choices


def test_default_method_is_the_most_secure_available(org: Organisation) -> None:
    contact = Contact(organisation=org, email="a@example.nl")
    assert contact.default_method() == "email"
    contact.access_code_hash = "$argon2id$..."
    assert contact.default_method() == "access_code"
    contact.phone = "+31612345678"
    assert contact.default_method() == "sms"
    contact.preferred_method = "access_code"
    assert contact.default_method() == "access_code"
    # A preference the contact cannot use falls back to what it can.
    contact.access_code_hash = ""
    assert contact.default_method() == "sms"


def test_shared_code_counts_as_an_access_code(org: Organisation) -> None:
    shared = SharedCode.objects.create(organisation=org, name="Praktijk De Linde",
                                       code_hash="$argon2id$...")
    contact = Contact.objects.create(organisation=org, email="b@example.nl", shared_code=shared)
    assert contact.available_methods() == ["access_code", "email"]


def test_one_contact_per_address_and_external_id(org: Organisation) -> None:
    Contact.objects.create(organisation=org, email="a@example.nl", external_id="P1")
    Contact.objects.create(organisation=org, email="b@example.nl")
    Contact.objects.create(organisation=org, email="c@example.nl")  # two empty ids are fine
    other = Organisation.objects.create(name="Ander", domain="ander.example")
    Contact.objects.create(organisation=other, email="a@example.nl", external_id="P1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(organisation=org, email="a@example.nl")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(organisation=org, email="d@example.nl", external_id="P1")
