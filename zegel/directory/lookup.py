"""Reading the directory while composing: any sender of the organisation may look contacts up
(only admins change them, through zegel.directory.actions). These answer only the sender's
own organisation's contacts, and never a code: only its Argon2id hash, to copy onto a
recipient, whose portal check (zegel.messaging.actions.guest_auth) verifies it as it verifies
any access code.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from zegel.directory.models import Contact, Method

SUGGESTIONS = 8


def contact_for_email(organisation_id: int, email: str) -> Contact | None:
    """The organisation's contact with this e-mail address (any case), or None."""
    address = (email or "").strip().lower()
    if not address or len(address) > 254:
        return None
    return (Contact.objects.filter(organisation_id=organisation_id, email=address)
            .select_related("shared_code").first())


def suggest(organisation_id: int, text: str, limit: int = SUGGESTIONS) -> list[Contact]:
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
