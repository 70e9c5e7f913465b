"""Contacts as the contacts admin stores them: lower-case address, E.164 number, access codes
hashed with the same Argon2id (and the same normalising) as a code typed on the compose page."""

from __future__ import annotations

from typing import Any

from zegel.directory.models import Contact, SharedCode
from zegel.messaging.drafts import _argon2
from zegel.messaging.validation import normalise_code
from zegel.orgs.models import Organisation


def hash_code(code: str) -> str:
    return _argon2.hash(normalise_code(code))


def contact(organisation: Organisation, email: str, *, code: str = "",
            **fields: Any) -> Contact:
    return Contact.objects.create(organisation=organisation, email=email.lower(),
                                  access_code_hash=hash_code(code) if code else "", **fields)


def shared_code(organisation: Organisation, name: str, code: str, hint: str = "") -> SharedCode:
    return SharedCode.objects.create(organisation=organisation, name=name,
                                     code_hash=hash_code(code), hint=hint)
