"""The contact-sync API: an EHR or CRM keeps the recipient directory up to date by its own key.

`PUT /contacts/{external_id}` makes the contact with that key look like the body (201 when it
was created, 200 otherwise; the same call twice changes nothing the second time), `GET` and
`DELETE` on the same path, `GET /contacts?page=` lists them. Every call needs a token with the
admin scope of a user who may manage contacts (an administrator); anything else is a 403. The
calls only ever see the caller's own organisation: another organisation's external id is a 404.
No answer ever holds an access code, only whether one is set and its hint.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from zegel.api.auth import BearerToken, api_user
from zegel.api.inputs import Input
from zegel.api.problems import UtcDateTime, problems
from zegel.core.problems import problem_response
from zegel.directory import actions
from zegel.directory.access import DirectoryError, DirectoryErrors, contacts_of, synced_contact
from zegel.directory.fields import ContactFields
from zegel.directory.models import Contact

router = Router(tags=["contact sync"], auth=BearerToken(scope="admin"))

PAGE_SIZE = 100
MAX_PAGE = 100_000


class ContactIn(Input):
    email: str = Field(max_length=254, description="The contact's e-mail address (stored "
                       "lower-case); one contact per address in the organisation.")
    name: str = Field(default="", max_length=200, description="The contact's name.")
    phone: str = Field(default="", max_length=40, description="A mobile number for the SMS "
                       "code; Dutch numbers may be written as 06 12345678. Stored in E.164.")
    access_code: str | None = Field(
        default=None, max_length=128, description="A personal access code, at least 6 "
        "characters; stored as Argon2id and never returned. Left out or null: the contact keeps "
        "the code it has. An empty string removes it.")
    access_code_hint: str = Field(default="", max_length=200, description="A hint for the "
                                  "access code, shown in the notification e-mail; it must not "
                                  "contain the code.")
    preferred_method: Literal["", "sms", "access_code", "email"] = Field(
        default="", description="How the contact proves who they are by default; empty: the "
        "most secure method the contact has (SMS or access code above e-mail code).")
    shared_code: str = Field(default="", max_length=200, description="The name of one of the "
                             "organisation's shared access codes (made on the admin pages); "
                             "empty for none.")


class ContactOut(Schema):
    external_id: str = Field(description="The key in the organisation's own system; empty "
                             "for a contact added on the admin pages.")
    email: str = Field(description="The contact's e-mail address, lower-case.")
    name: str = Field(description="The contact's name.")
    phone: str = Field(description="The mobile number in E.164, or empty.")
    has_access_code: bool = Field(description="Whether the contact has an access code of its "
                                  "own or a shared one (the code itself is never returned).")
    access_code_hint: str = Field(description="The hint for the contact's own access code.")
    preferred_method: str = Field(description="The preferred method, or empty for the most "
                                  "secure one the contact has.")
    default_method: str = Field(description="The method compose picks for this contact now.")
    shared_code: str = Field(description="The name of the shared access code, or empty.")
    updated_at: UtcDateTime = Field(description="When the contact last changed.")


class ContactPageOut(Schema):
    page: int = Field(description="This page's number, from 1.")
    pages: int = Field(description="How many pages there are (at least 1).")
    total: int = Field(description="How many contacts the organisation has.")
    contacts: list[ContactOut] = Field(description="At most 100 contacts, by name and e-mail "
                                       "address.")


def _out(contact: Contact) -> dict[str, Any]:
    return {"external_id": contact.external_id, "email": contact.email, "name": contact.name,
            "phone": contact.phone, "has_access_code": contact.has_access_code,
            "access_code_hint": contact.access_code_hint,
            "preferred_method": contact.preferred_method,
            "default_method": contact.default_method(),
            "shared_code": contact.shared_code.name if contact.shared_code else "",
            "updated_at": contact.updated_at}


def _problem(request: HttpRequest, exc: DirectoryError) -> HttpResponse:
    extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
    if isinstance(exc, DirectoryErrors):
        extra["errors"] = [{"loc": ["body", field], "msg": message}
                           for field, message in exc.errors]
    return problem_response(request, exc.status, exc.message, **extra)


class PageQuery(Schema):
    page: int = Field(default=1, ge=1, le=MAX_PAGE, description="The page, from 1.")


@router.get("/contacts", response={200: ContactPageOut, **problems(422)})
def list_contacts(request: HttpRequest, query: Query[PageQuery]) -> Any:
    try:
        contacts = contacts_of(api_user(request))
    except DirectoryError as exc:
        return _problem(request, exc)
    total = contacts.count()
    pages = max(1, -(-total // PAGE_SIZE))
    start = (query.page - 1) * PAGE_SIZE
    return {"page": query.page, "pages": pages, "total": total,
            "contacts": [_out(c) for c in contacts[start:start + PAGE_SIZE]]}


@router.get("/contacts/{external_id}", response={200: ContactOut, **problems(404)})
def get_contact(request: HttpRequest, external_id: str) -> Any:
    try:
        return _out(synced_contact(api_user(request), external_id))
    except DirectoryError as exc:
        return _problem(request, exc)


@router.put("/contacts/{external_id}",
            response={200: ContactOut, 201: ContactOut, **problems(400, 404)})
def put_contact(request: HttpRequest, external_id: str, payload: ContactIn) -> Any:
    fields = ContactFields(email=payload.email, name=payload.name, phone=payload.phone,
                           external_id=external_id, access_code=payload.access_code,
                           access_code_hint=payload.access_code_hint,
                           preferred_method=payload.preferred_method,
                           shared_code=payload.shared_code)
    try:
        saved = actions.sync_contact(api_user(request), external_id, fields, request=request)
    except DirectoryError as exc:
        return _problem(request, exc)
    return Status(201 if saved.created else 200, _out(saved.contact))


@router.delete("/contacts/{external_id}", response={204: None, **problems(404)})
def delete_contact(request: HttpRequest, external_id: str) -> Any:
    try:
        actions.delete_synced_contact(api_user(request), external_id, request=request)
    except DirectoryError as exc:
        return _problem(request, exc)
    return Status(204, None)
