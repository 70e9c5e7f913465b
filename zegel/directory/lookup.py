"""Reading the directory while a message is written: the contacts that match what a sender
typed, and what the directory adds to a recipient at send time (docs/directory.md, "Picking
contacts while composing").

Every function takes the organisation and reads only its contacts: that is the boundary, and
it is in each query, never left to the caller. Each costs one query whatever it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db.models import Q

from zegel.directory.models import Contact, Method
from zegel.orgs.models import Organisation

SUGGESTIONS = 10  # the most a type-ahead shows; more is noise, and lets a directory be read out
MAX_QUERY = 100


def search_contacts(organisation: Organisation, query: str, *,
                    limit: int = SUGGESTIONS) -> list[Contact]:
    """The organisation's contacts whose e-mail address, name or a word of the name starts with
    `query` (case ignored), by name then address; at most `limit`. One query."""
    query = query.strip()[:MAX_QUERY]
    if not query:
        return []
    matches = (Q(email__startswith=query.lower()) | Q(name__istartswith=query)
               | Q(name__icontains=f" {query}"))
    return list(Contact.objects.filter(matches, organisation_id=organisation.pk)
                .select_related("shared_code").order_by("name", "email")[:max(limit, 0)])


def contacts_by_email(organisation: Organisation,
                      addresses: Iterable[str]) -> dict[str, Contact]:
    """The organisation's contacts for these addresses, by lower-case address. One query (none
    for no address)."""
    wanted = {a.strip().lower() for a in addresses if a and a.strip()}
    if not wanted:
        return {}
    return {c.email: c for c in Contact.objects.filter(organisation_id=organisation.pk,
                                                       email__in=wanted)
            .select_related("shared_code")}


def allowed_methods(organisation: Organisation, contact: Contact) -> list[str]:
    """The methods a sender may use for this contact, most secure first: what the contact has,
    without the e-mail code where the organisation does not allow it."""
    return [m for m in contact.available_methods()
            if m != Method.EMAIL or organisation.email_code_allowed]


def suggested_method(organisation: Organisation, contact: Contact, *,
                     last_used: str = "") -> str:
    """The method a picked contact starts with: the one this sender used last time when the
    contact still has it, else the contact's default (its preference, else the most secure it
    has), where policy allows; "" when no method is usable."""
    allowed = allowed_methods(organisation, contact)
    for method in (last_used, contact.default_method()):
        if method and method in allowed:
            return method
    return allowed[0] if allowed else ""


class Requested(Protocol):
    """A recipient as a sender gave it (compose's row, the API's RecipientSpec)."""
    email: str
    method: str
    name: str
    phone: str
    access_code: str
    access_code_hint: str


@dataclass(frozen=True)
class Resolved:
    """A recipient after the directory filled in what the sender left out. The access code
    comes as its hash (the directory never holds the code); "" when the sender typed one."""
    method: str
    name: str
    phone: str
    access_code_hash: str
    access_code_hint: str
    from_directory: bool


def resolve_recipient(organisation: Organisation, requested: Requested,
                      contact: Contact | None) -> Resolved:
    """What the directory adds to one recipient, before the recipient is checked. Precedence:

    1. what the sender gave wins: a method, a mobile number, an access code and its hint;
    2. a method without the detail it needs gets the contact's (number, code hash, hint);
    3. no method and no detail at all: the contact's suggested method, with its details;
    4. not in the directory (or nothing usable there): the recipient as given, so the checks
       that follow answer as they would without a directory.

    `contact` must be the organisation's contact for `requested.email` (contacts_by_email).
    """
    phone = requested.phone.strip()
    code = requested.access_code.strip()
    given = Resolved(method=requested.method, name=requested.name, phone=requested.phone,
                     access_code_hash="", access_code_hint=requested.access_code_hint,
                     from_directory=False)
    if contact is None or contact.organisation_id != organisation.pk:
        return given
    method = requested.method
    if not method and not phone and not code:
        method = suggested_method(organisation, contact)
    filled_phone = requested.phone
    code_hash = ""
    hint = requested.access_code_hint
    if method == Method.SMS and not phone and contact.phone:
        filled_phone = contact.phone
    elif method == Method.ACCESS_CODE and not code:
        # A personal code is more specific than the one shared at the contact's organisation.
        shared = contact.shared_code
        if contact.access_code_hash:
            code_hash = contact.access_code_hash
            hint = hint.strip() or contact.access_code_hint
        elif shared is not None and shared.organisation_id == organisation.pk:
            code_hash = shared.code_hash
            hint = hint.strip() or shared.hint
    return Resolved(method=method, name=requested.name.strip() or contact.name,
                    phone=filled_phone, access_code_hash=code_hash, access_code_hint=hint,
                    from_directory=True)


# --- Plain look-ups by organisation id (used by the admin side and its tests) ---


def contact_for_email(organisation_id: int, email: str) -> Contact | None:
    """The organisation's contact with this e-mail address (any case), or None."""
    address = (email or "").strip().lower()
    if not address or len(address) > 254:
        return None
    return (Contact.objects.filter(organisation_id=organisation_id, email=address)
            .select_related("shared_code").first())


def suggest(organisation_id: int, text: str, limit: int = 8) -> list[Contact]:
    """Contacts whose name or e-mail address contains `text` (at least 2 characters), names
    that start with it first; at most `limit`."""
    typed = (text or "").strip()[:100]
    if len(typed) < 2:
        return []
    found = (Contact.objects.filter(organisation_id=organisation_id)
             .filter(Q(name__icontains=typed) | Q(email__icontains=typed.lower()))
             .select_related("shared_code").order_by("name", "email")[:200])
    lowered = typed.lower()
    ranked = sorted(found, key=lambda c: (not (c.name.lower().startswith(lowered)
                                               or c.email.startswith(lowered)),
                                          c.name.lower(), c.email))
    return ranked[:max(1, min(limit, 50))]


@dataclass(frozen=True)
class Verification:
    """How a contact proves who they are, ready to copy onto a recipient."""

    method: str  # the contact's default method (Contact.default_method)
    phone: str  # E.164, "" when none
    access_code_hash: str  # Argon2id: the contact's own code, else its shared code's; or ""
    access_code_hint: str


def verification_of(contact: Contact, method: str = "") -> Verification:
    """The contact's verification data for `method` ("" for the contact's default). The
    contact's own access code comes before its shared code, with its own hint when it has one."""
    chosen = method or contact.default_method()
    shared = contact.shared_code
    code_hash = contact.access_code_hash or (shared.code_hash if shared else "")
    hint = (contact.access_code_hint if contact.access_code_hash or shared is None
            else shared.hint)
    if chosen != Method.ACCESS_CODE:
        code_hash, hint = "", ""
    return Verification(method=chosen, phone=contact.phone if chosen == Method.SMS else "",
                        access_code_hash=code_hash, access_code_hint=hint)
