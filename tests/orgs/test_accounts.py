"""Creating organisations and staff users."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.orgs.race import at_once
from zegel.audit.models import AuditEvent
from zegel.orgs.actions import Refused, create_organisation, create_user
from zegel.orgs.models import Organisation, User

PASSPHRASE = "a long enough passphrase"


def test_creating_an_organisation_is_audited(db: None) -> None:
    org = create_organisation(name=" Zorggroep Noord ", domain="Zorggroep-Noord.NL")
    assert (org.name, org.domain) == ("Zorggroep Noord", "zorggroep-noord.nl")
    event = AuditEvent.objects.get(action="org.created")
    assert event.organisation_id == org.pk and event.data == {"domain": "zorggroep-noord.nl"}


@pytest.mark.parametrize(("name", "domain", "reason"), [
    ("X", "no-dot", "Not a domain name"),
    ("X", "a@b.nl", "Not a domain name"),
    ("X", "a b.nl", "Not a domain name"),
    ("  ", "x.nl", "needs a name"),
])
def test_it_refuses_a_bad_organisation(db: None, name: str, domain: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        create_organisation(name=name, domain=domain)
    assert not Organisation.objects.exists() and not AuditEvent.objects.exists()


def test_it_refuses_a_second_organisation_with_the_same_domain(org: Organisation) -> None:
    with pytest.raises(Refused, match="exists already"):
        create_organisation(name="Ander", domain=org.domain.upper())


def test_creating_a_user_is_audited_without_the_password(org: Organisation) -> None:
    user = create_user(organisation_domain=org.domain.upper(), email="Anna@Zorggroep-Noord.nl",
                       name="Anna", password=PASSPHRASE, role="admin")
    assert user.email == "anna@zorggroep-noord.nl" and user.is_admin
    assert user.check_password(PASSPHRASE)
    event = AuditEvent.objects.get(action="user.created")
    assert event.object_id == str(user.pk) and event.organisation_id == org.pk
    assert event.data == {"email": user.email, "role": "admin", "password_set": True}
    assert PASSPHRASE not in str(event.data)


def test_a_user_without_a_password_cannot_log_in_yet(org: Organisation) -> None:
    user = create_user(organisation_domain=org.domain, email="bob@zorggroep-noord.nl")
    assert not user.has_usable_password()


@pytest.mark.parametrize(("domain", "email", "password", "reason"), [
    ("unknown.nl", "a@b.nl", None, "No organisation with domain unknown.nl"),
    ("zorggroep-noord.nl", "not an address", None, "Not an e-mail address"),
    ("zorggroep-noord.nl", "a@zorggroep-noord.nl", "short", "at least 15 characters"),
    ("zorggroep-noord.nl", "a@zorggroep-noord.nl", "", "at least 15 characters"),
    ("zorggroep-noord.nl", "a@zorggroep-noord.nl", "zorggroep-noord-2026", "organisation's name"),
])
def test_it_refuses_a_bad_user(org: Organisation, domain: str, email: str,
                               password: str | None, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        create_user(organisation_domain=domain, email=email, password=password)
    assert not User.objects.exists() and not AuditEvent.objects.exists()


def test_it_refuses_a_second_user_with_the_same_address(sender: User) -> None:
    with pytest.raises(Refused, match="exists already"):
        create_user(organisation_domain=sender.organisation.domain, email=sender.email.upper())


@pytest.mark.django_db(transaction=True)
def test_two_operators_creating_the_same_organisation_make_one(db: None) -> None:
    results = at_once(lambda: create_organisation(name="Noord", domain="noord.nl"))
    assert sum(isinstance(r, Organisation) for r in results) == 1, results
    assert Organisation.objects.count() == 1
    assert AuditEvent.objects.filter(action="org.created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_operators_creating_the_same_user_make_one(org: Organisation) -> None:
    results = at_once(lambda: create_user(organisation_domain=org.domain,
                                          email="anna@zorggroep-noord.nl"))
    assert sum(isinstance(r, User) for r in results) == 1, results
    assert all(isinstance(r, Refused) for r in results if not isinstance(r, User)), results
    assert AuditEvent.objects.filter(action="user.created").count() == 1


def test_a_refusal_speaks_the_active_language(org: Organisation) -> None:
    with translation.override("nl"), pytest.raises(Refused) as refused:
        create_user(organisation_domain="onbekend.nl", email="a@b.nl")
    assert refused.value.message == "Er is geen organisatie met domein onbekend.nl."
