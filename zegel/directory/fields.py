"""What a contact is made of, checked: the one place that decides whether a contact's e-mail
address, phone number, external id, access code, hint, method and shared code are acceptable,
for the admin pages, the CSV import and the contact-sync API alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from zegel.directory.access import MAX_EXTERNAL_ID, DirectoryErrors
from zegel.directory.models import Contact, Language, Method, SharedCode
from zegel.directory.validation import (
    MIN_ACCESS_CODE_LENGTH,
    clean_access_code,
    clean_display_name,
    clean_email,
    clean_phone,
    hint_gives_away,
)

MAX_TEXT = 200


@dataclass(frozen=True)
class ContactFields:
    """A contact as it should be, as typed. `access_code` None keeps the contact's current code
    (it can never be read back, so a client cannot send it again); "" removes it."""

    email: str
    name: str = ""
    phone: str = ""
    external_id: str = ""
    access_code: str | None = None
    access_code_hint: str = ""
    preferred_method: str = ""
    shared_code: str = ""  # the name of one of the organisation's shared codes; "" for none
    language: str | None = None  # "nl" or "en", of its letters; None keeps it (new: Dutch)


@dataclass(frozen=True)
class CleanContact:
    email: str
    name: str
    phone: str
    external_id: str
    access_code: str | None  # checked, not yet hashed
    access_code_hint: str
    preferred_method: str
    shared_code_id: uuid.UUID | None
    language: str | None = None

    def values(self) -> dict[str, Any]:
        """The model fields this sets (the access code's hash is the caller's)."""
        values = {"email": self.email, "name": self.name, "phone": self.phone,
                  "external_id": self.external_id, "access_code_hint": self.access_code_hint,
                  "preferred_method": self.preferred_method,
                  "shared_code_id": self.shared_code_id}
        if self.language is not None:
            values["language"] = self.language
        return values


def external_id_refusal(value: str) -> str | None:
    """Why this external id cannot be used (it is a path segment of the sync API), or None."""
    if len(value) > MAX_EXTERNAL_ID:
        return _("The external id is too long (at most %(n)d characters).") % {
            "n": MAX_EXTERNAL_ID}
    if value != value.strip() or any(not ch.isprintable() or ch in "/\\" for ch in value):
        return _("The external id may not contain slashes, control characters or spaces at "
                 "its start or end.")
    return None


def clean_contact(organisation_id: int, fields: ContactFields) -> CleanContact:
    """The contact's fields checked and normalised (e-mail lower-case, phone in E.164), or
    DirectoryErrors naming every field that is wrong."""
    errors: list[tuple[str, str]] = []
    email = ""
    if not fields.email.strip():
        errors.append(("email", _("Enter an e-mail address.")))
    else:
        try:
            email = clean_email(fields.email).lower()
        except ValidationError:
            errors.append(("email", _("%(email)s is not a valid e-mail address.")
                           % {"email": fields.email.strip()[:100]}))
    name = clean_display_name(fields.name)
    if len(fields.name.strip()) > MAX_TEXT:
        errors.append(("name", _("The name is too long (at most %(n)d characters).")
                       % {"n": MAX_TEXT}))
    phone = ""
    if fields.phone.strip():
        try:
            phone = clean_phone(fields.phone)
        except ValidationError as exc:
            errors.append(("phone", _("%(phone)s is not a mobile number; an SMS cannot reach "
                                      "it.") % {"phone": fields.phone.strip()[:40]}
                           if exc.code == "phone_not_mobile" else
                           _("%(phone)s is not a valid mobile number; write it as 06 12345678 "
                             "or +31 6 12345678.") % {"phone": fields.phone.strip()[:40]}))
    external_id = fields.external_id
    refusal = external_id_refusal(external_id)
    if refusal:
        errors.append(("external_id", refusal))
    code = fields.access_code
    if code:
        try:
            clean_access_code(code)
        except ValidationError as exc:
            errors.append(("access_code", _("The access code is too long (at most 128 "
                                            "characters).") if exc.code == "code_long" else
                           _("The access code must be at least %(n)d characters.")
                           % {"n": MIN_ACCESS_CODE_LENGTH}))
    hint = clean_display_name(fields.access_code_hint)
    if len(fields.access_code_hint.strip()) > MAX_TEXT:
        errors.append(("access_code_hint", _("The hint is too long (at most %(n)d "
                                             "characters).") % {"n": MAX_TEXT}))
    elif code and hint_gives_away(hint, code):
        errors.append(("access_code_hint", _("The hint contains the access code. The hint is in "
                                             "the notification e-mail, so choose a hint that "
                                             "does not give the code away.")))
    method = fields.preferred_method.strip()
    if method and method not in Method.values:
        errors.append(("preferred_method", _("Choose SMS code, access code or e-mail code as "
                                             "the preferred method, or leave it empty.")))
    shared_id = None
    shared_name = fields.shared_code.strip()
    if shared_name:
        shared = SharedCode.objects.filter(organisation_id=organisation_id,
                                           name__iexact=shared_name[:MAX_TEXT]).first()
        if shared is None:
            errors.append(("shared_code", _("There is no shared access code named "
                                            "“%(name)s”.") % {"name": shared_name[:100]}))
        else:
            shared_id = shared.pk
    language = fields.language.strip() if fields.language is not None else None
    if language is not None and language not in Language.values:
        errors.append(("language", _("Choose Dutch or English as the language of the "
                                     "contact's letters.")))
    if errors:
        raise DirectoryErrors(errors)
    return CleanContact(email=email, name=name, phone=phone, external_id=external_id,
                        access_code=code, access_code_hint=hint, preferred_method=method,
                        shared_code_id=shared_id, language=language)


def method_refusal(preferred_method: str, phone: str, has_access_code: bool) -> str | None:
    """Why the contact cannot have this preferred method, or None: SMS needs a mobile number,
    an access code needs a personal or shared code."""
    if preferred_method == Method.SMS and not phone:
        return _("The preferred method is the SMS code, but the contact has no mobile number.")
    if preferred_method == Method.ACCESS_CODE and not has_access_code:
        return _("The preferred method is the access code, but the contact has no access code "
                 "of their own or shared.")
    return None


def audit_fields(changed: list[str]) -> list[str]:
    """The names of changed model fields as the audit log shows them (the hash is the code)."""
    names = {"access_code_hash": "access_code", "shared_code_id": "shared_code"}
    return sorted(names.get(name, name) for name in changed)


def current_fields(contact: Contact) -> dict[str, str]:
    """A contact's fields as ContactFields takes them (no code: it is never read back)."""
    return {"email": contact.email, "name": contact.name, "phone": contact.phone,
            "external_id": contact.external_id, "access_code_hint": contact.access_code_hint,
            "preferred_method": contact.preferred_method, "language": contact.language,
            "shared_code": contact.shared_code.name if contact.shared_code else ""}
