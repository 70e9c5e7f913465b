"""The contact-sync API: idempotent PUT by external id, GET, DELETE and the paged list; admins'
tokens with the admin scope only; another organisation's external id is not found; no answer
ever holds an access code; bad input is an RFC 9457 problem naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from zegel.audit.models import AuditEvent
from zegel.directory.models import Contact, SharedCode
from zegel.directory.validation import hash_access_code
from zegel.orgs.models import ApiToken, Organisation, User

BODY = {"email": "Piet.Jansen@Example.NL", "name": "Piet Jansen", "phone": "06 12345678",
        "access_code": "tulp-4711-zon", "access_code_hint": "De code uit de brief",
        "preferred_method": "access_code"}


def _api(user: User, scopes: tuple[str, ...] | None = None) -> Client:
    _token, secret = ApiToken.issue(user, scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _put(api: Client, external_id: str, body: dict[str, Any]) -> Any:
    return api.put(f"/api/v1/contacts/{external_id}", json.dumps(body),
                   content_type="application/json")


def test_put_creates_then_the_same_put_changes_nothing(admin: User) -> None:
    api = _api(admin)
    first = _put(api, "P-1001", BODY)
    assert first.status_code == 201, first.content
    answer = first.json()
    assert answer["email"] == "piet.jansen@example.nl"
    assert answer["phone"] == "+31612345678"
    assert answer["has_access_code"] is True
    assert answer["default_method"] == "access_code"
    assert "access_code" not in answer and "tulp" not in first.content.decode()
    stored = Contact.objects.get(external_id="P-1001")
    events = AuditEvent.objects.filter(action__startswith="contact.").count()

    second = _put(api, "P-1001", BODY)
    assert second.status_code == 200
    assert second.json() == answer
    again = Contact.objects.get(external_id="P-1001")
    assert again.access_code_hash == stored.access_code_hash  # not hashed anew
    assert again.updated_at == stored.updated_at
    assert AuditEvent.objects.filter(action__startswith="contact.").count() == events
    assert Contact.objects.count() == 1


def test_put_changes_and_audits_field_names_never_the_code(admin: User) -> None:
    api = _api(admin)
    _put(api, "P-1", BODY)
    changed = _put(api, "P-1", {**BODY, "phone": "+31 6 87654321", "access_code": "nieuw-9876"})
    assert changed.status_code == 200
    assert changed.json()["phone"] == "+31687654321"
    event = AuditEvent.objects.filter(action="contact.updated").get()
    assert event.actor_type == "api" and event.actor_id == str(admin.pk)
    assert event.data["fields"] == ["access_code", "phone"]
    assert event.data["external_id"] == "P-1"
    text = json.dumps([e.data for e in AuditEvent.objects.all()])
    assert "tulp" not in text and "nieuw" not in text and "87654321" not in text


def test_leaving_out_the_code_keeps_it_and_an_empty_one_removes_it(admin: User) -> None:
    api = _api(admin)
    _put(api, "P-1", BODY)
    body = {k: v for k, v in BODY.items() if k != "access_code"}
    kept = _put(api, "P-1", body)
    assert kept.status_code == 200 and kept.json()["has_access_code"] is True
    removed = _put(api, "P-1", {**body, "access_code": "", "preferred_method": ""})
    assert removed.json()["has_access_code"] is False
    assert removed.json()["default_method"] == "sms"


def test_get_list_and_delete(admin: User) -> None:
    api = _api(admin)
    for n in range(3):
        _put(api, f"P-{n}", {"email": f"p{n}@example.nl", "name": f"Patiënt {n}"})
    one = api.get("/api/v1/contacts/P-1")
    assert one.status_code == 200 and one.json()["email"] == "p1@example.nl"
    listing = api.get("/api/v1/contacts?page=1").json()
    assert listing["total"] == 3 and listing["pages"] == 1
    assert [c["external_id"] for c in listing["contacts"]] == ["P-0", "P-1", "P-2"]
    assert api.get("/api/v1/contacts?page=2").json()["contacts"] == []
    assert api.delete("/api/v1/contacts/P-1").status_code == 204
    assert api.get("/api/v1/contacts/P-1").status_code == 404
    assert api.delete("/api/v1/contacts/P-1").status_code == 404
    assert AuditEvent.objects.filter(action="contact.deleted").count() == 1


def test_the_list_is_paged(admin: User) -> None:
    org = admin.organisation
    Contact.objects.bulk_create(Contact(organisation=org, email=f"c{n:03}@example.nl",
                                        external_id=f"E{n}") for n in range(101))
    api = _api(admin)
    first = api.get("/api/v1/contacts").json()
    assert first["pages"] == 2 and len(first["contacts"]) == 100
    second = api.get("/api/v1/contacts?page=2").json()
    assert [c["email"] for c in second["contacts"]] == ["c100@example.nl"]


@pytest.mark.parametrize("page", ["0", "-1", "x", "100001"])
def test_a_bad_page_is_a_problem(admin: User, page: str) -> None:
    response = _api(admin).get(f"/api/v1/contacts?page={page}")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_another_organisations_external_id_is_not_found(admin: User, outsider: User) -> None:
    outsider.role = "admin"
    outsider.save()
    _put(_api(outsider), "P-1", {"email": "theirs@example.nl", "name": "Hun contact"})
    api = _api(admin)
    assert api.get("/api/v1/contacts/P-1").status_code == 404
    assert api.delete("/api/v1/contacts/P-1").status_code == 404
    created = _put(api, "P-1", {"email": "ours@example.nl"})
    assert created.status_code == 201  # a contact of our own, theirs untouched
    theirs = Contact.objects.get(organisation=outsider.organisation, external_id="P-1")
    assert theirs.email == "theirs@example.nl" and theirs.name == "Hun contact"
    ours = Contact.objects.get(organisation=admin.organisation, external_id="P-1")
    assert ours.email == "ours@example.nl"
    assert api.get("/api/v1/contacts").json()["total"] == 1


def test_a_shared_code_of_another_organisation_is_unknown(admin: User, outsider: User) -> None:
    SharedCode.objects.create(organisation=outsider.organisation, name="Praktijk De Linde",
                              code_hash=hash_access_code("gedeeld-123"))
    response = _put(_api(admin), "P-1", {"email": "a@example.nl",
                                         "shared_code": "Praktijk De Linde"})
    assert response.status_code == 400
    assert response.json()["field"] == "shared_code"


def test_a_members_token_may_not_read_or_write(sender: User) -> None:
    api = _api(sender)  # a member: send and read scopes only
    assert _put(api, "P-1", BODY).status_code == 403
    assert api.get("/api/v1/contacts").status_code == 403
    assert api.delete("/api/v1/contacts/P-1").status_code == 403
    assert not Contact.objects.exists()


def test_a_policy_admin_with_the_admin_scope_may_not_either(sender: User) -> None:
    sender.role = "policy_admin"
    sender.save()
    api = _api(sender, ("admin",))
    response = _put(api, "P-1", BODY)
    assert response.status_code == 403
    assert "recipient directory" in response.json()["detail"]
    assert api.get("/api/v1/contacts/P-1").status_code == 403
    assert not Contact.objects.exists()


def test_an_admins_token_without_the_admin_scope_may_not(admin: User) -> None:
    api = _api(admin, ("send", "read"))
    assert _put(api, "P-1", BODY).status_code == 403
    assert api.get("/api/v1/contacts").status_code == 403


def test_a_demoted_admins_token_stops_working(admin: User) -> None:
    api = _api(admin)
    assert _put(api, "P-1", BODY).status_code == 201
    admin.role = "member"
    admin.save()
    assert _put(api, "P-1", BODY).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({**BODY, "email": "geen-adres"}, "email"),
    ({**BODY, "email": ""}, "email"),
    ({**BODY, "phone": "12345"}, "phone"),
    ({**BODY, "phone": "020 123 4567"}, "phone"),  # a landline cannot get an SMS
    ({**BODY, "access_code": "kort"}, "access_code"),
    ({**BODY, "access_code_hint": "de code is tulp 4711 zon"}, "access_code_hint"),
    ({**BODY, "shared_code": "Bestaat niet"}, "shared_code"),
    ({**BODY, "phone": "", "preferred_method": "sms"}, "preferred_method"),
    ({**BODY, "access_code": "", "preferred_method": "access_code"}, "preferred_method"),
])
def test_bad_input_is_a_problem_naming_the_field(admin: User, body: dict[str, Any],
                                                 field: str) -> None:
    response = _put(_api(admin), "P-1", body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == field
    assert problem["detail"]
    assert not Contact.objects.exists()


def test_every_bad_field_is_listed(admin: User) -> None:
    response = _put(_api(admin), "P-1", {**BODY, "email": "x", "phone": "1"})
    assert response.status_code == 400
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "email"],
                                                            ["body", "phone"]]


@pytest.mark.parametrize("body", [
    {"name": "No address"},
    {**BODY, "preferred_method": "fax"},
    {**BODY, "email": "a@example.nl\x00"},
    {**BODY, "access_code": "x" * 129},
])
def test_a_body_off_the_schema_is_a_422(admin: User, body: dict[str, Any]) -> None:
    response = _put(_api(admin), "P-1", body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_an_external_id_with_a_space_at_its_end_is_refused(admin: User) -> None:
    response = _put(_api(admin), "P-1%20", BODY)
    assert response.status_code == 400
    assert response.json()["field"] == "external_id"


def test_an_address_of_another_synced_contact_is_refused(admin: User) -> None:
    api = _api(admin)
    _put(api, "P-1", {"email": "a@example.nl"})
    response = _put(api, "P-2", {"email": "A@example.nl"})
    assert response.status_code == 400
    assert response.json()["field"] == "email"
    assert Contact.objects.count() == 1


def test_a_contact_added_by_hand_is_adopted_by_its_address(admin: User) -> None:
    Contact.objects.create(organisation=admin.organisation, email="a@example.nl", name="Hand")
    response = _put(_api(admin), "P-9", {"email": "a@example.nl", "name": "Uit het EPD"})
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert contact.external_id == "P-9" and contact.name == "Uit het EPD"


def test_the_answer_is_in_dutch_when_asked(admin: User) -> None:
    _token, secret = ApiToken.issue(admin)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="nl")
    response = _put(api, "P-1", {**BODY, "phone": "12345"})
    assert response.status_code == 400
    assert "mobiel nummer" in response.json()["detail"]


def test_a_second_organisation_admin_client_sees_only_its_own(db: None) -> None:
    one = Organisation.objects.create(name="Een", domain="een.example")
    two = Organisation.objects.create(name="Twee", domain="twee.example")
    a = User.objects.create_user("a@een.example", one, PASSWORD, role="admin")
    b = User.objects.create_user("b@twee.example", two, PASSWORD, role="admin")
    _put(_api(a), "X", {"email": "x@example.nl"})
    assert _api(b).get("/api/v1/contacts").json()["total"] == 0
