"""Who may see and change an organisation's directory, and the one way to find its rows.

Managing contacts (the admin pages, CSV import and export, the contact-sync API) needs
roles.Permission.MANAGE_CONTACTS. A row of another organisation is "not found", never readable:
every query here starts from the admin's own organisation. Compose reads the directory through
zegel.directory.lookup instead, which any sender may use.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from zegel.directory.models import Contact, SharedCode
from zegel.orgs import roles
from zegel.orgs.models import User

MAX_EXTERNAL_ID = 200


class DirectoryError(Exception):
    """A request the directory refuses, with a message fit to show the person who made it,
    the field it is about ("" for none) and the HTTP status (400, 403 or 404)."""

    def __init__(self, message: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class DirectoryErrors(DirectoryError):
    """Every problem with one contact at once, so a form can mark each field. As a
    DirectoryError it is the first of them."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        if not errors:
            raise ValueError("DirectoryErrors needs at least one error")
        field, message = errors[0]
        super().__init__(message, field=field)
        self.errors = list(errors)

    def by_field(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for field, message in self.errors:
            found.setdefault(field, message)
        return found


def manager(user: Any) -> User:
    """The user, if they may manage the directory; a 403 DirectoryError otherwise."""
    if not isinstance(user, User) or not roles.allows(user, roles.Permission.MANAGE_CONTACTS):
        raise DirectoryError(roles.refusal(roles.Permission.MANAGE_CONTACTS), status=403)
    return user


def contacts_of(user: Any, search: str = "") -> QuerySet[Contact]:
    """The admin's organisation's contacts, optionally only those whose name, e-mail address,
    external id or phone number contains `search`."""
    contacts = (Contact.objects.filter(organisation_id=manager(user).organisation_id)
                .select_related("shared_code"))
    text = search.strip()[:200]
    if text:
        contacts = contacts.filter(Q(name__icontains=text) | Q(email__icontains=text)
                                   | Q(external_id__icontains=text) | Q(phone__contains=text))
    return contacts.order_by("name", "email", "id")


def _not_found() -> DirectoryError:
    return DirectoryError(_("That contact is not in your organisation's directory."),
                          status=404)


def contact_of(user: Any, contact_id: object) -> Contact:
    """One of the admin's organisation's contacts by id; another organisation's is a 404."""
    admin = manager(user)
    pk = _uuid_or_none(contact_id)
    found = (Contact.objects.filter(organisation_id=admin.organisation_id, pk=pk)
             .select_related("shared_code").first()) if pk else None
    if found is None:
        raise _not_found()
    return found


def synced_contact(user: Any, external_id: str) -> Contact:
    """The admin's organisation's contact with this external id; anything else is a 404."""
    found = None
    if external_id and len(external_id) <= MAX_EXTERNAL_ID:
        found = (Contact.objects.filter(organisation_id=manager(user).organisation_id,
                                        external_id=external_id)
                 .select_related("shared_code").first())
    if found is None:
        raise DirectoryError(_("No contact has this external id in your organisation's "
                               "directory."), status=404)
    return found


def shared_codes_of(user: Any) -> QuerySet[SharedCode]:
    return SharedCode.objects.filter(organisation_id=manager(user).organisation_id).order_by(
        "name", "id")


def shared_code_of(user: Any, shared_id: object) -> SharedCode:
    admin = manager(user)
    pk = _uuid_or_none(shared_id)
    found = (SharedCode.objects.filter(organisation_id=admin.organisation_id, pk=pk)
             .first()) if pk else None
    if found is None:
        raise DirectoryError(_("That shared access code is not in your organisation's "
                               "directory."), status=404)
    return found


def _uuid_or_none(value: object) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError):
        return None
