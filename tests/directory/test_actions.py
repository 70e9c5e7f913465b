"""The directory's actions: what is checked, what is stored (lower-case address, E.164, the code
as Argon2id that the portal verifies), who may, and what the audit log keeps (never a code)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import send
from tests.directory.conftest import PRODUCTION
from zegel.audit.models import AuditEvent
from zegel.directory import actions, lookup
from zegel.directory.access import DirectoryError, DirectoryErrors, contact_of, contacts_of
from zegel.directory.fields import ContactFields
from zegel.directory.models import Contact, SharedCode
from zegel.messaging import actions as messaging
from zegel.messaging import drafts
from zegel.messaging.actions import guest_auth
from zegel.orgs.models import User


def test_the_code_is_hashed_as_recipients_codes_are() -> None:
    assert type(PRODUCTION) is type(drafts._argon2)
    assert (PRODUCTION.time_cost, PRODUCTION.memory_cost, PRODUCTION.parallelism) == (
        drafts._argon2.time_cost, drafts._argon2.memory_cost, drafts._argon2.parallelism)
    assert PRODUCTION.type.name == "ID"


def test_a_contacts_code_opens_a_message_in_the_portal(admin: User) -> None:
    contact = actions.save_contact(admin, ContactFields(
        email="Piet@Example.nl", access_code="TULP-4711-ZON", access_code_hint="uit de brief"))
    assert contact.access_code_hash.startswith("$argon2id$")
    assert "4711" not in contact.access_code_hash
    message = send(admin, recipients=[messaging.RecipientSpec(
        email="piet@example.nl", method="access_code", access_code="iets-anders-1")])
    recipient = message.conversation.recipients.get()
    # What compose copies from the directory: the hash, as it is.
    found = lookup.contact_for_email(admin.organisation_id, "PIET@example.nl")
    assert found is not None
    recipient.access_code_hash = lookup.verification_of(found).access_code_hash
    recipient.save()
    assert guest_auth.verify_access_code(recipient, "tulp 4711 zon").ok is True  # case-free
    assert guest_auth.verify_access_code(recipient, "tulp 4711 zo").ok is False
    assert guest_auth.verify_access_code(recipient, "TULP 4711-ZON").ok is True


def test_it_stores_the_address_lower_case_and_the_phone_in_e164(admin: User) -> None:
    contact = actions.save_contact(admin, ContactFields(
        email="  Piet.Jansen@Example.NL ", name="Piet\r\nJansen", phone="06-1234 5678"))
    assert contact.email == "piet.jansen@example.nl"
    assert contact.phone == "+31612345678"
    assert contact.name == "PietJansen"  # no control characters (names go in mail headers)
    assert contact.default_method() == "sms"


def test_it_names_every_wrong_field(admin: User) -> None:
    with pytest.raises(DirectoryErrors) as caught:
        actions.save_contact(admin, ContactFields(
            email="geen adres", phone="020 555 1234", access_code="kort",
            preferred_method="fax", shared_code="Onbekend", external_id="a/b"))
    assert set(caught.value.by_field()) == {"email", "phone", "access_code",
                                            "preferred_method", "shared_code", "external_id"}
    assert "not a mobile number" in caught.value.by_field()["phone"]
    assert not Contact.objects.exists()


def test_the_hint_may_not_give_the_code_away(admin: User) -> None:
    with pytest.raises(DirectoryErrors) as caught:
        actions.save_contact(admin, ContactFields(email="a@example.nl", access_code="Zon-123456",
                                                  access_code_hint="Het is zon 123456"))
    assert caught.value.field == "access_code_hint"


def test_one_contact_per_address(admin: User) -> None:
    actions.save_contact(admin, ContactFields(email="a@example.nl"))
    with pytest.raises(DirectoryErrors) as caught:
        actions.save_contact(admin, ContactFields(email="A@EXAMPLE.NL"))
    assert caught.value.field == "email"
    other = actions.save_contact(admin, ContactFields(email="b@example.nl"))
    with pytest.raises(DirectoryErrors):
        actions.save_contact(admin, ContactFields(email="a@example.nl"), contact_id=other.pk)


def test_editing_without_a_code_keeps_it_and_an_empty_one_removes_it(admin: User) -> None:
    contact = actions.save_contact(admin, ContactFields(email="a@example.nl",
                                                        access_code="geheim-123"))
    kept = actions.save_contact(admin, ContactFields(email="a@example.nl", name="A"),
                                contact_id=contact.pk)
    assert kept.access_code_hash == contact.access_code_hash
    removed = actions.save_contact(admin, ContactFields(email="a@example.nl", access_code=""),
                                   contact_id=contact.pk)
    assert removed.access_code_hash == ""


def test_every_change_is_audited_without_codes_or_numbers(admin: User) -> None:
    contact = actions.save_contact(admin, ContactFields(
        email="a@example.nl", phone="0612345678", access_code="geheim-123"))
    actions.save_contact(admin, ContactFields(email="a@example.nl", phone="0687654321"),
                         contact_id=contact.pk)
    shared = actions.save_shared_code(admin, name="Praktijk De Linde", code="linde-2027",
                                      hint="Op de brief van januari")
    actions.save_shared_code(admin, shared_id=shared.pk, name="Praktijk De Linde",
                             code="linde-2028", hint="Op de brief van januari")
    actions.delete_shared_code(admin, shared.pk)
    actions.delete_contact(admin, contact.pk)
    events = list(AuditEvent.objects.order_by("pk"))
    assert [e.action for e in events] == [
        "contact.created", "contact.updated", "shared_code.created", "shared_code.updated",
        "shared_code.deleted", "contact.deleted"]
    assert events[1].data["fields"] == ["phone"]
    assert events[3].data["fields"] == ["code"]
    assert all(e.actor_id == str(admin.pk) and e.data["via"] == "web" for e in events)
    text = json.dumps([e.data for e in events])
    for secret in ("geheim", "linde-202", "12345678", "87654321"):
        assert secret not in text


def test_saving_the_same_again_is_not_a_change(admin: User) -> None:
    fields = ContactFields(email="a@example.nl", name="A", phone="0612345678")
    contact = actions.save_contact(admin, fields)
    actions.save_contact(admin, fields, contact_id=contact.pk)
    assert AuditEvent.objects.filter(action="contact.updated").count() == 0


def test_a_member_may_not_manage_contacts(sender: User) -> None:
    with pytest.raises(DirectoryError) as caught:
        actions.save_contact(sender, ContactFields(email="a@example.nl"))
    assert caught.value.status == 403
    with pytest.raises(DirectoryError):
        contacts_of(sender)
    assert not Contact.objects.exists()


def test_another_organisations_contact_is_not_found(admin: User, outsider: User) -> None:
    theirs = Contact.objects.create(organisation=outsider.organisation, email="x@example.nl")
    for attempt in (lambda: contact_of(admin, theirs.pk),
                    lambda: actions.delete_contact(admin, theirs.pk),
                    lambda: actions.save_contact(admin, ContactFields(email="y@example.nl"),
                                                 contact_id=theirs.pk),
                    lambda: contact_of(admin, "not-a-uuid")):
        with pytest.raises(DirectoryError) as caught:
            attempt()
        assert caught.value.status == 404
    assert Contact.objects.get(pk=theirs.pk).email == "x@example.nl"


def test_a_shared_code_needs_a_code_and_a_name_of_its_own(admin: User) -> None:
    with pytest.raises(DirectoryErrors) as caught:
        actions.save_shared_code(admin, name="", code="", hint="")
    assert set(caught.value.by_field()) == {"name", "code"}
    with pytest.raises(DirectoryErrors) as caught:
        actions.save_shared_code(admin, name="Linde", code="12345", hint="")
    assert caught.value.field == "code"
    actions.save_shared_code(admin, name="Praktijk De Linde", code="linde-2027", hint="")
    with pytest.raises(DirectoryErrors) as caught:
        actions.save_shared_code(admin, name="praktijk de linde", code="ander-2027", hint="")
    assert caught.value.field == "name"
    with pytest.raises(DirectoryErrors) as caught:
        actions.save_shared_code(admin, name="Eik", code="eik-123456", hint="eik 123456")
    assert caught.value.field == "hint"


def test_contacts_share_a_code_and_lose_it_with_the_code(admin: User) -> None:
    shared = actions.save_shared_code(admin, name="Praktijk De Linde", code="linde-2027",
                                      hint="Op de brief")
    contact = actions.save_contact(admin, ContactFields(
        email="a@example.nl", shared_code="praktijk de linde", preferred_method="access_code"))
    assert contact.shared_code_id == shared.pk and contact.default_method() == "access_code"
    verification = lookup.verification_of(contact)
    assert verification.access_code_hash == shared.code_hash
    assert verification.access_code_hint == "Op de brief"
    # Changing the shared code's hint or name keeps the hash; a new code replaces it.
    same = actions.save_shared_code(admin, shared_id=shared.pk, name="De Linde", code=None,
                                    hint="Nieuwe hint")
    assert same.code_hash == shared.code_hash
    assert actions.delete_shared_code(admin, shared.pk) == 1
    contact.refresh_from_db()
    assert contact.shared_code_id is None and contact.preferred_method == ""
    assert contact.default_method() == "email"
    assert not SharedCode.objects.exists()


def test_lookup_by_address_and_type_ahead(admin: User, outsider: User) -> None:
    for email, name in (("piet@example.nl", "Piet Jansen"), ("jan@example.nl", "Jan Pieters"),
                        ("els@example.nl", "Els de Wit")):
        actions.save_contact(admin, ContactFields(email=email, name=name))
    Contact.objects.create(organisation=outsider.organisation, email="piet2@example.nl",
                           name="Piet Ander")
    assert lookup.contact_for_email(admin.organisation_id, " PIET@example.nl") is not None
    assert lookup.contact_for_email(admin.organisation_id, "piet2@example.nl") is None
    assert [c.email for c in lookup.suggest(admin.organisation_id, "pie")] == [
        "piet@example.nl", "jan@example.nl"]
    assert lookup.suggest(admin.organisation_id, "p") == []
