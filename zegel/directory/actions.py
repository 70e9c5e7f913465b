"""Changing the recipient directory: contacts and shared access codes, by the organisation's
admins (roles.Permission.MANAGE_CONTACTS) on the admin pages, by CSV import and over the
contact-sync API. Every change is audited with identifiers and the names of the changed fields,
never a code or a phone number.

Concurrency: every write takes the organisation's directory lock first (a PostgreSQL advisory
lock; SQLite's IMMEDIATE transactions already let one writer in at a time), then re-reads what it
changes, then writes the audit event (whose head row is always locked last). Two imports or syncs
of the same external id at once therefore take turns: the second finds the contact the first
created and updates it. The unique constraints stay the last line; an IntegrityError is answered
as a refusal, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import record, staff_actor
from zegel.directory import importing
from zegel.directory.access import (
    DirectoryError,
    DirectoryErrors,
    contact_of,
    manager,
    shared_code_of,
)
from zegel.directory.fields import (
    MAX_TEXT,
    CleanContact,
    ContactFields,
    audit_fields,
    clean_contact,
    external_id_refusal,
    method_refusal,
)
from zegel.directory.models import Contact, SharedCode
from zegel.directory.validation import (
    MIN_ACCESS_CODE_LENGTH,
    clean_access_code,
    clean_display_name,
    hash_access_code,
    hint_gives_away,
    normalise_code,
)
from zegel.orgs.models import User

_argon2 = PasswordHasher()
# The high half of the advisory lock key: "ZD"; the low half is the organisation's id.
_LOCK_CLASS = 0x5A44

VIA_WEB = "web"
VIA_API = "api"
VIA_IMPORT = "import"


def _lock_directory(organisation_id: int) -> None:
    """Let one directory write of this organisation run at a time (inside its transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)",
                           [(_LOCK_CLASS << 32) | (organisation_id & 0xFFFFFFFF)])


def _actor(admin: User, via: str) -> dict[str, Any]:
    actor = staff_actor(admin)
    if via == VIA_API:
        actor["actor_type"] = "api"
    return actor


def _audit(admin: User, action: str, object_type: str, object_id: object, via: str,
           request: HttpRequest | None, data: dict[str, Any]) -> None:
    record(action, organisation=admin.organisation, **_actor(admin, via),
           object_type=object_type, object_id=object_id, request=request,
           data={**data, "via": via})


def _matches(code_hash: str, code: str) -> bool:
    if not code_hash:
        return False
    try:
        return bool(_argon2.verify(code_hash, normalise_code(code)))
    except (VerificationError, InvalidHashError):
        return False


def _code_hash(current_hash: str, code: str | None) -> str | None:
    """The hash to store for a code given (None: keep the current one; "": none). The same code
    again keeps the current hash, so the same request twice changes nothing. Argon2 is slow on
    purpose: callers run this before their transaction, not while holding the lock."""
    if code is None:
        return None
    if code == "":
        return ""
    if _matches(current_hash, code):
        return current_hash
    return hash_access_code(code)


@dataclass(frozen=True)
class Saved:
    contact: Contact
    created: bool
    changed: list[str]  # the audit log's names of the fields that changed


def _taken(organisation_id: int, contact: Contact | None, clean: CleanContact) -> None:
    others = Contact.objects.filter(organisation_id=organisation_id)
    if contact is not None:
        others = others.exclude(pk=contact.pk)
    errors = []
    if others.filter(email=clean.email).exists():
        errors.append(("email", _("%(email)s is already in the directory.")
                       % {"email": clean.email}))
    if clean.external_id and others.filter(external_id=clean.external_id).exists():
        errors.append(("external_id", _("Another contact already has the external id "
                                        "%(id)s.") % {"id": clean.external_id[:100]}))
    if errors:
        raise DirectoryErrors(errors)


def _save(contact: Contact, clean: CleanContact, *, checked: bool, **options: Any) -> None:
    """Write the row. An unchecked write runs in a savepoint, so a unique constraint the checks
    missed is a refusal and the caller's transaction goes on; an import's plan has checked its
    rows under the lock already, and a constraint there fails the whole import."""
    if checked:
        contact.save(**options)
        return
    try:
        with transaction.atomic():
            contact.save(**options)
    except IntegrityError as exc:
        raise DirectoryError(_("%(email)s is already in the directory.")
                             % {"email": clean.email}, field="email") from exc


def _store(admin: User, contact: Contact | None, clean: CleanContact, code_hash: str | None, *,
           via: str, request: HttpRequest | None, checked: bool = False) -> Saved:
    """Create or change one contact, inside the caller's transaction and directory lock.
    `checked`: the import's plan has checked the method and that the address and external id
    are free, under the same lock."""
    values = clean.values()
    if code_hash is not None:
        values["access_code_hash"] = code_hash
    if not checked:
        has_code = bool(values.get("access_code_hash",
                                   contact.access_code_hash if contact else ""))
        refusal = method_refusal(clean.preferred_method, clean.phone,
                                 has_code or clean.shared_code_id is not None)
        if refusal:
            raise DirectoryErrors([("preferred_method", refusal)])
        _taken(admin.organisation_id, contact, clean)
    now = timezone.now()
    if contact is None:
        contact = Contact(organisation_id=admin.organisation_id, created_at=now, updated_at=now,
                          **values)
        _save(contact, clean, checked=checked, force_insert=True)
        changed = audit_fields([name for name, value in values.items() if value])
        _audit(admin, "contact.created", "contact", contact.pk, via, request,
               {"email": contact.email, "external_id": contact.external_id, "fields": changed})
        return Saved(contact, True, changed)
    changed_names = [name for name, value in values.items() if getattr(contact, name) != value]
    if not changed_names:
        return Saved(contact, False, [])
    for name in changed_names:
        setattr(contact, name, values[name])
    contact.updated_at = now
    _save(contact, clean, checked=checked, update_fields=[*changed_names, "updated_at"])
    changed = audit_fields(changed_names)
    _audit(admin, "contact.updated", "contact", contact.pk, via, request,
           {"email": contact.email, "external_id": contact.external_id, "fields": changed})
    return Saved(contact, False, changed)


def _locked_contact(organisation_id: int, **match: Any) -> Contact | None:
    return (Contact.objects.select_for_update(of=("self",), no_key=True)
            .filter(organisation_id=organisation_id, **match).first())


def _fresh_code_hash(contact: Contact | None, code: str | None, planned: str | None) -> str | None:
    """The planned hash, unless the contact's code changed since it was planned (another write
    came between): then the same code still keeps the stored hash."""
    if not code or contact is None or planned == contact.access_code_hash:
        return planned
    return contact.access_code_hash if _matches(contact.access_code_hash, code) else planned


def save_contact(user: Any, fields: ContactFields, *, contact_id: object = None,
                 request: HttpRequest | None = None) -> Contact:
    """Add a contact (no contact_id) or change one, from the admin pages."""
    admin = manager(user)
    clean = clean_contact(admin.organisation_id, fields)
    current = contact_of(admin, contact_id) if contact_id is not None else None
    code_hash = _code_hash(current.access_code_hash if current else "", clean.access_code)
    with transaction.atomic(durable=True):
        _lock_directory(admin.organisation_id)
        contact = None
        if current is not None:
            contact = _locked_contact(admin.organisation_id, pk=current.pk)
            if contact is None:
                raise DirectoryError(_("That contact is not in your organisation's "
                                       "directory."), status=404)
        return _store(admin, contact, clean, _fresh_code_hash(contact, clean.access_code,
                                                              code_hash),
                      via=VIA_WEB, request=request).contact


def sync_contact(user: Any, external_id: str, fields: ContactFields, *,
                 request: HttpRequest | None = None) -> Saved:
    """The contact-sync API's PUT: make the contact with this external id in the caller's own
    organisation look like `fields`, creating it when there is none. A contact with the same
    e-mail address and no external id yet is adopted. The same call twice changes nothing
    the second time (Saved.created and .changed say so)."""
    admin = manager(user)
    refusal = external_id_refusal(external_id)
    if refusal or not external_id:
        raise DirectoryError(refusal or _("Give an external id."), field="external_id")
    clean = clean_contact(admin.organisation_id, replace(fields, external_id=external_id))
    org_id = admin.organisation_id
    seen = Contact.objects.filter(organisation_id=org_id, external_id=external_id).first()
    code_hash = _code_hash(seen.access_code_hash if seen else "", clean.access_code)
    with transaction.atomic(durable=True):
        _lock_directory(org_id)
        contact = _locked_contact(org_id, external_id=external_id)
        if contact is None:
            contact = _locked_contact(org_id, email=clean.email)
            if contact is not None and contact.external_id:
                raise DirectoryError(_("%(email)s is already in the directory with another "
                                       "external id.") % {"email": clean.email}, field="email")
        return _store(admin, contact, clean, _fresh_code_hash(contact, clean.access_code,
                                                              code_hash),
                      via=VIA_API, request=request)


def _delete(admin: User, contact: Contact, via: str, request: HttpRequest | None) -> None:
    contact_pk = contact.pk
    contact.delete()
    _audit(admin, "contact.deleted", "contact", contact_pk, via, request,
           {"email": contact.email, "external_id": contact.external_id})


def delete_contact(user: Any, contact_id: object, *, request: HttpRequest | None = None) -> None:
    admin = manager(user)
    found = contact_of(admin, contact_id)
    with transaction.atomic(durable=True):
        _lock_directory(admin.organisation_id)
        contact = _locked_contact(admin.organisation_id, pk=found.pk)
        if contact is None:
            raise DirectoryError(_("That contact is not in your organisation's directory."),
                                 status=404)
        _delete(admin, contact, VIA_WEB, request)


def delete_synced_contact(user: Any, external_id: str, *,
                          request: HttpRequest | None = None) -> None:
    """The contact-sync API's DELETE; another organisation's external id is a 404."""
    admin = manager(user)
    with transaction.atomic(durable=True):
        _lock_directory(admin.organisation_id)
        contact = (_locked_contact(admin.organisation_id, external_id=external_id)
                   if external_id and not external_id_refusal(external_id) else None)
        if contact is None:
            raise DirectoryError(_("No contact has this external id in your organisation's "
                                   "directory."), status=404)
        _delete(admin, contact, VIA_API, request)


# Shared access codes


def _clean_shared(name: str, code: str | None, hint: str, *, creating: bool) -> tuple[str, str]:
    errors = []
    clean_name = clean_display_name(name)
    if not clean_name:
        errors.append(("name", _("Enter a name, such as the partner organisation's.")))
    elif len(name.strip()) > MAX_TEXT:
        errors.append(("name", _("The name is too long (at most %(n)d characters).")
                       % {"n": MAX_TEXT}))
    if creating and not code:
        errors.append(("code", _("Enter the access code, at least %(n)d characters.")
                       % {"n": MIN_ACCESS_CODE_LENGTH}))
    elif code:
        try:
            clean_access_code(code)
        except ValidationError as exc:
            errors.append(("code", _code_refusal(exc)))
    clean_hint = clean_display_name(hint)
    if len(hint.strip()) > MAX_TEXT:
        errors.append(("hint", _("The hint is too long (at most %(n)d characters).")
                       % {"n": MAX_TEXT}))
    elif code and hint_gives_away(clean_hint, code):
        errors.append(("hint", _("The hint contains the access code. The hint is in the "
                                 "notification e-mail, so choose a hint that does not give "
                                 "the code away.")))
    if errors:
        raise DirectoryErrors(errors)
    return clean_name, clean_hint


def _code_refusal(exc: ValidationError) -> str:
    if exc.code == "code_long":
        return _("The access code is too long (at most 128 characters).")
    return _("The access code must be at least %(n)d characters.") % {
        "n": MIN_ACCESS_CODE_LENGTH}


def save_shared_code(user: Any, *, name: str, code: str | None, hint: str,
                     shared_id: object = None, request: HttpRequest | None = None) -> SharedCode:
    """Add a shared access code (the code is required) or change one (an empty code keeps the
    current one). The code is stored as Argon2id and never shown again; the hint is."""
    admin = manager(user)
    current = shared_code_of(admin, shared_id) if shared_id is not None else None
    clean_name, clean_hint = _clean_shared(name, code, hint, creating=current is None)
    code_hash = hash_access_code(code) if code else None
    with transaction.atomic(durable=True):
        _lock_directory(admin.organisation_id)
        same_name = (SharedCode.objects.filter(organisation_id=admin.organisation_id)
                     .annotate(lower=Lower("name")).filter(lower=clean_name.lower()))
        if current is not None:
            same_name = same_name.exclude(pk=current.pk)
        if same_name.exists():
            raise DirectoryErrors([("name", _("There is already a shared access code named "
                                              "“%(name)s”.") % {"name": clean_name})])
        now = timezone.now()
        if current is None:
            assert code_hash is not None  # noqa: S101 (_clean_shared refused a missing code)
            shared = SharedCode(organisation_id=admin.organisation_id, name=clean_name,
                                hint=clean_hint, code_hash=code_hash, created_at=now,
                                updated_at=now)
            action, changed = "shared_code.created", ["code", "hint", "name"]
        else:
            shared = (SharedCode.objects.select_for_update(of=("self",), no_key=True)
                      .get(pk=current.pk))
            changed = sorted(
                [field for field, value in (("name", clean_name), ("hint", clean_hint))
                 if getattr(shared, field) != value] + (["code"] if code_hash else []))
            if not changed:
                return shared
            shared.name, shared.hint, shared.updated_at = clean_name, clean_hint, now
            if code_hash:
                shared.code_hash = code_hash
            action = "shared_code.updated"
        try:
            with transaction.atomic():
                shared.save()
        except IntegrityError as exc:
            raise DirectoryErrors([("name", _("There is already a shared access code named "
                                              "“%(name)s”.") % {"name": clean_name})]
                                  ) from exc
        _audit(admin, action, "shared_code", shared.pk, VIA_WEB, request,
               {"name": shared.name, "fields": changed})
        return shared


def delete_shared_code(user: Any, shared_id: object, *,
                       request: HttpRequest | None = None) -> int:
    """Delete a shared code; its contacts keep their own code if they have one. Answers how
    many contacts used it."""
    admin = manager(user)
    found = shared_code_of(admin, shared_id)
    with transaction.atomic(durable=True):
        _lock_directory(admin.organisation_id)
        shared = (SharedCode.objects.select_for_update(of=("self",))
                  .filter(pk=found.pk).first())
        if shared is None:
            raise DirectoryError(_("That shared access code is not in your organisation's "
                                   "directory."), status=404)
        users = Contact.objects.filter(shared_code=shared).update(shared_code=None,
                                                                  updated_at=timezone.now())
        # A contact that preferred the access code and had only this one now has none.
        Contact.objects.filter(organisation_id=admin.organisation_id, shared_code=None,
                               access_code_hash="", preferred_method="access_code").update(
            preferred_method="")
        shared_pk = shared.pk
        shared.delete()
        _audit(admin, "shared_code.deleted", "shared_code", shared_pk, VIA_WEB, request,
               {"name": found.name, "contacts": users})
        return users


# CSV import


@dataclass(frozen=True)
class ImportSummary:
    created: int
    changed: int
    unchanged: int


def apply_import(user: Any, parsed: importing.ParsedFile, *,
                 request: HttpRequest | None = None) -> ImportSummary:
    """Write an import whose dry run the admin saw: the plan is made again under the lock
    (another admin may have changed a contact since), and nothing is written when any line
    has an error now. All lines or none."""
    admin = manager(user)
    with transaction.atomic(durable=True):
        _lock_directory(admin.organisation_id)
        plan = importing.plan(admin.organisation_id, parsed)
        if any(row.errors for row in plan):
            raise DirectoryError(_("Some lines have errors: nothing was imported. Correct the "
                                   "file and upload it again."), field="file")
        created = changed = 0
        try:
            for row in plan:
                if row.status == importing.UNCHANGED or row.clean is None:
                    continue
                # The plan read the contact under this transaction's lock: it is current.
                saved = _store(admin, row.contact, row.clean, None, via=VIA_IMPORT,
                               request=request, checked=True)
                created += saved.created
                changed += bool(saved.changed) and not saved.created
        except IntegrityError as exc:
            raise DirectoryError(_("Some lines have errors: nothing was imported. Correct the "
                                   "file and upload it again."), field="file") from exc
        summary = ImportSummary(created, changed, len(plan) - created - changed)
        _audit(admin, "contacts.imported", "directory", admin.organisation_id, VIA_IMPORT,
               request, {"sha256": parsed.digest, "lines": len(plan), "created": created,
                         "changed": changed, "unchanged": summary.unchanged})
        return summary
