"""The directory's admin pages: only for those who may manage contacts, the list with search and
pages, a contact's form with an error next to each field, shared codes that are never shown
again, and another organisation's rows not found."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from zegel.directory import actions
from zegel.directory.fields import ContactFields
from zegel.directory.models import Contact, SharedCode
from zegel.orgs.models import User

PAGES = ["/admin/contacts/", "/admin/contacts/new", "/admin/contacts/shared-codes",
         "/admin/contacts/import", "/admin/contacts/export.csv"]


def test_the_menu_shows_contacts_to_admins_only(admin_client: Client,
                                                sender_client: Client, teammate: User) -> None:
    assert 'href="/admin/contacts/"' in admin_client.get("/inbox").content.decode()
    member = Client()
    member.force_login(teammate)
    assert 'href="/admin/contacts/"' not in member.get("/inbox").content.decode()


@pytest.mark.parametrize("path", PAGES)
def test_members_and_policy_admins_are_refused(teammate: User, path: str) -> None:
    for role in ("member", "policy_admin", "auditor"):
        teammate.role = role
        teammate.save()
        client = Client()
        client.force_login(teammate)
        response = client.get(path)
        assert response.status_code == 403, (role, path)
        assert "recipient directory" in response.content.decode()


def test_visitors_are_sent_to_log_in() -> None:
    assert Client().get("/admin/contacts/").status_code == 302


def test_the_list_searches_and_pages(admin: User, admin_client: Client,
                                     outsider: User) -> None:
    Contact.objects.bulk_create(Contact(organisation=admin.organisation, name=f"Patiënt {n:02}",
                                        email=f"p{n:02}@example.nl") for n in range(55))
    Contact.objects.create(organisation=admin.organisation, name="Els de Wit",
                           email="els@wit.nl", phone="+31612345678", external_id="EPD-7")
    Contact.objects.create(organisation=outsider.organisation, name="Els Ander",
                           email="els@ander.nl")
    first = admin_client.get("/admin/contacts/").content.decode()
    assert "56 contacts." in first and "Page 1 of 2" in first
    assert first.count('href="/admin/contacts/') >= 50
    second = admin_client.get("/admin/contacts/?page=2").content.decode()
    assert "Patiënt 54" in second and "Patiënt 00" not in second
    for query in ("els", "EPD-7", "612345678", "wit.nl"):
        found = admin_client.get("/admin/contacts/", {"q": query}).content.decode()
        assert "Els de Wit" in found and "Els Ander" not in found, query
        assert "1 contact found" in found
    assert admin_client.get("/admin/contacts/?page=abc").status_code == 400
    assert admin_client.get("/admin/contacts/?page=99").status_code == 200  # the last page


def test_adding_a_contact_marks_each_wrong_field(admin_client: Client) -> None:
    response = admin_client.post("/admin/contacts/new", {
        "email": "geen-adres", "phone": "12345", "access_code": "kort-but-secret-x",
        "access_code_hint": "kort-but-secret-x", "preferred_method": "sms"})
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("email", "phone", "access_code_hint"):
        assert f'id="{field}-error"' in html, field
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html), field
        assert f'href="#{field}"' in html  # in the summary at the top
    assert "kort-but-secret-x" not in html.split('id="access_code_hint"')[0]  # not echoed
    assert 'value="geen-adres"' in html  # what was typed stays
    assert not Contact.objects.exists()


def test_adding_and_editing_a_contact(admin_client: Client, admin: User) -> None:
    response = admin_client.post("/admin/contacts/new", {
        "email": "Piet@Example.nl", "name": "Piet", "phone": "06 12345678",
        "access_code": "tulp-4711", "access_code_hint": "uit de brief",
        "preferred_method": "access_code", "external_id": "P1"})
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.email, contact.phone, contact.external_id) == (
        "piet@example.nl", "+31612345678", "P1")
    page = admin_client.get(f"/admin/contacts/{contact.pk}").content.decode()
    assert "tulp-4711" not in page and contact.access_code_hash not in page
    assert "uit de brief" in page and "has an access code of its own" in page
    # Saving without a new code keeps it; ticking "remove" removes it.
    admin_client.post(f"/admin/contacts/{contact.pk}", {
        "email": "piet@example.nl", "name": "Piet Jansen", "phone": "0612345678",
        "preferred_method": "access_code"})
    contact.refresh_from_db()
    assert contact.name == "Piet Jansen" and contact.access_code_hash
    admin_client.post(f"/admin/contacts/{contact.pk}", {
        "email": "piet@example.nl", "phone": "0612345678", "remove_code": "on"})
    contact.refresh_from_db()
    assert contact.access_code_hash == ""


def test_deleting_needs_the_box_ticked(admin_client: Client, admin: User) -> None:
    contact = actions.save_contact(admin, ContactFields(email="a@example.nl"))
    admin_client.post(f"/admin/contacts/{contact.pk}/delete")
    assert Contact.objects.exists()
    admin_client.post(f"/admin/contacts/{contact.pk}/delete", {"confirm": "yes"})
    assert not Contact.objects.exists()


def test_another_organisations_rows_are_not_found(admin_client: Client,
                                                  outsider: User) -> None:
    theirs = Contact.objects.create(organisation=outsider.organisation, email="x@example.nl")
    shared = SharedCode.objects.create(organisation=outsider.organisation, name="Hun code",
                                       code_hash="$argon2id$x")
    for path in (f"/admin/contacts/{theirs.pk}", f"/admin/contacts/shared-codes/{shared.pk}",
                 "/admin/contacts/not-a-uuid"):
        assert admin_client.get(path).status_code == 404, path
    assert admin_client.post(f"/admin/contacts/{theirs.pk}/delete",
                             {"confirm": "yes"}).status_code == 404
    assert admin_client.post(f"/admin/contacts/shared-codes/{shared.pk}/delete",
                             {"confirm": "yes"}).status_code == 404
    assert Contact.objects.filter(pk=theirs.pk).exists()
    assert SharedCode.objects.filter(pk=shared.pk).exists()


def test_a_shared_code_is_set_once_and_never_shown(admin_client: Client, admin: User) -> None:
    refused = admin_client.post("/admin/contacts/shared-codes", {"name": "", "code": "123"})
    assert refused.status_code == 400
    assert 'id="name-error"' in refused.content.decode()
    assert 'id="code-error"' in refused.content.decode()
    done = admin_client.post("/admin/contacts/shared-codes", {
        "name": "Praktijk De Linde", "code": "linde-2027", "hint": "Op de brief"}, follow=True)
    assert "is not shown again" in done.content.decode()
    assert "linde-2027" not in done.content.decode()
    shared = SharedCode.objects.get()
    assert shared.code_hash.startswith("$argon2id$")
    # Assign a contact to it on the contact's form.
    admin_client.post("/admin/contacts/new", {"email": "a@linde.nl",
                                              "shared_code": "Praktijk De Linde"})
    assert Contact.objects.get().shared_code_id == shared.pk
    page = admin_client.get(f"/admin/contacts/shared-codes/{shared.pk}").content.decode()
    assert "Op de brief" in page and "a@linde.nl" in page and "linde-2027" not in page
    # A new hint without a new code keeps the code.
    admin_client.post(f"/admin/contacts/shared-codes/{shared.pk}", {
        "name": "Praktijk De Linde", "hint": "Op de brief van januari"})
    shared.refresh_from_db()
    assert shared.hint == "Op de brief van januari"
    assert shared.code_hash == SharedCode.objects.get().code_hash
    admin_client.post(f"/admin/contacts/shared-codes/{shared.pk}/delete", {"confirm": "yes"})
    assert not SharedCode.objects.exists()
    assert Contact.objects.get().shared_code_id is None


def test_the_pages_are_in_dutch(admin_client: Client, settings: Any) -> None:
    settings.LANGUAGE_CODE = "nl"
    html = admin_client.get("/admin/contacts/").content.decode()
    assert ">Contactpersonen</a>" in html and "Gedeelde toegangscodes" in html
    refused = admin_client.post("/admin/contacts/new", {"email": "x", "phone": "1"})
    assert "is geen goed e-mailadres" in refused.content.decode()
