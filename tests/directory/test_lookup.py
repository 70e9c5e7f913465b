"""Reading the directory while composing: which contacts match what was typed, which
recipients this sender used before, and what the directory adds to a recipient at send time.
Another organisation's contacts never come into it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import send
from tests.directory.helpers import contact, shared_code
from zegel.directory import lookup
from zegel.messaging import actions
from zegel.messaging.drafts import RecipientSpec, with_directory
from zegel.messaging.used_before import recipients_used_before
from zegel.orgs.models import Organisation, User


@pytest.fixture
def other_org(db: None) -> Organisation:
    return Organisation.objects.create(name="Gemeente Zuid", domain="gemeente-zuid.nl")


def test_search_matches_address_name_and_a_word_of_the_name(org: Organisation,
                                                            other_org: Organisation,
                                                            django_assert_num_queries: Any
                                                            ) -> None:
    contact(org, "piet.jansen@example.nl", name="Piet Jansen")
    contact(org, "j.bakker@example.nl", name="Joke Bakker")
    contact(org, "anders@example.nl", name="Karel Pieters")
    contact(other_org, "piet@gemeente.example", name="Piet Zuid")
    with django_assert_num_queries(1):
        found = lookup.search_contacts(org, "PIE")
    # Ordered by name; the other organisation's Piet is not there.
    assert [c.email for c in found] == ["anders@example.nl", "piet.jansen@example.nl"]
    assert [c.email for c in lookup.search_contacts(org, "jans")] == ["piet.jansen@example.nl"]
    assert [c.email for c in lookup.search_contacts(org, "J.B")] == ["j.bakker@example.nl"]
    # Inside a word is not a match; LIKE's wildcards are text.
    assert lookup.search_contacts(org, "ieter") == []
    assert lookup.search_contacts(org, "%") == []
    assert lookup.search_contacts(org, "   ") == []


def test_search_is_limited(org: Organisation) -> None:
    for n in range(lookup.SUGGESTIONS + 3):
        contact(org, f"klant{n:02d}@example.nl", name=f"Klant {n:02d}")
    found = lookup.search_contacts(org, "klant")
    assert len(found) == lookup.SUGGESTIONS
    assert found[0].name == "Klant 00"


def test_recipients_used_before_are_the_senders_own_with_the_last_method(
        sender: User, teammate: User, outsider: User, django_assert_num_queries: Any) -> None:
    send(sender, recipients=[RecipientSpec(email="Piet@Example.nl", name="Piet",
                                           method="sms", phone="0612345678")])
    send(sender, recipients=[RecipientSpec(email="piet@example.nl", name="Piet",
                                           method="email")])
    send(teammate, recipients=[RecipientSpec(email="pieter@example.nl", method="email")])
    send(outsider, recipients=[RecipientSpec(email="pietje@example.nl", method="email")])
    with django_assert_num_queries(1):
        used = recipients_used_before(sender, "pie")
    assert [(u.email, u.method) for u in used] == [("piet@example.nl", "email")]
    # Each sees only their own conversations' recipients.
    assert [u.email for u in recipients_used_before(teammate, "piet")] == ["pieter@example.nl"]
    assert [u.email for u in recipients_used_before(outsider, "piet")] == ["pietje@example.nl"]


def test_an_address_alone_gets_the_directorys_method_and_details(org: Organisation) -> None:
    contact(org, "piet@example.nl", name="Piet", phone="+31612345678", code="geheim-123")
    [spec] = with_directory(org, [RecipientSpec(email="Piet@example.nl ")])
    assert (spec.method, spec.phone, spec.name) == ("sms", "+31612345678", "Piet")
    assert spec.access_code_hash == ""  # SMS needs no code


def test_what_the_sender_gives_wins(org: Organisation) -> None:
    contact(org, "piet@example.nl", name="Piet", phone="+31612345678", code="geheim-123",
            access_code_hint="uw postcode")
    typed_phone, other_method, code_only, own_code = with_directory(org, [
        RecipientSpec(email="piet@example.nl", phone="06 87654321", name="P. Jansen"),
        RecipientSpec(email="piet@example.nl", method="email"),
        RecipientSpec(email="piet@example.nl", method="access_code"),
        RecipientSpec(email="piet@example.nl", method="access_code", access_code="eigen-456",
                      access_code_hint="het oude"),
    ])
    assert (typed_phone.method, typed_phone.phone, typed_phone.name) == \
        ("", "06 87654321", "P. Jansen")
    assert (other_method.method, other_method.phone) == ("email", "")
    assert code_only.access_code_hash.startswith("$argon2id$")
    assert code_only.access_code_hint == "uw postcode"
    assert (own_code.access_code_hash, own_code.access_code_hint) == ("", "het oude")


def test_the_email_code_is_not_chosen_where_policy_forbids_it(org: Organisation) -> None:
    org.email_code_allowed = False
    org.save()
    contact(org, "piet@example.nl", phone="+31612345678", preferred_method="email")
    contact(org, "mail@example.nl")  # nothing but the e-mail code
    piet, mail = with_directory(org, [RecipientSpec(email="piet@example.nl"),
                                      RecipientSpec(email="mail@example.nl")])
    assert piet.method == "sms"
    assert mail.method == ""  # no usable method: refused as without a directory


def test_another_organisations_contact_is_never_used(org: Organisation,
                                                     other_org: Organisation) -> None:
    theirs = contact(other_org, "piet@example.nl", phone="+31612345678")
    [spec] = with_directory(org, [RecipientSpec(email="piet@example.nl")])
    assert (spec.method, spec.phone) == ("", "")
    # Even when handed one directly.
    resolved = lookup.resolve_recipient(org, RecipientSpec(email="piet@example.nl"), theirs)
    assert not resolved.from_directory and resolved.phone == ""


def test_a_contacts_shared_code_of_another_organisation_is_not_used(
        org: Organisation, other_org: Organisation) -> None:
    theirs = shared_code(other_org, "Praktijk", "gedeeld-789")
    mine = contact(org, "piet@example.nl")
    mine.shared_code = theirs  # a database edit; the models allow no such thing otherwise
    resolved = lookup.resolve_recipient(
        org, RecipientSpec(email="piet@example.nl", method="access_code"), mine)
    assert resolved.access_code_hash == ""


def test_without_a_directory_entry_sending_is_as_before(sender: User) -> None:
    with pytest.raises(actions.ActionErrors) as refused:
        send(sender, recipients=[RecipientSpec(email="onbekend@example.nl")])
    assert [e.field for e in refused.value.errors] == ["0.method"]


def test_resolving_costs_one_query_for_any_number_of_recipients(
        org: Organisation, django_assert_num_queries: Any) -> None:
    for n in range(5):
        contact(org, f"klant{n}@example.nl", phone=f"+3161234567{n}")
    specs = [RecipientSpec(email=f"klant{n}@example.nl") for n in range(5)]
    with django_assert_num_queries(1):
        resolved = with_directory(org, specs)
    assert [s.phone for s in resolved] == [f"+3161234567{n}" for n in range(5)]
