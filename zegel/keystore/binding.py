"""What a data key and the values it seals belong to, as the bytes that bind them.

Every sealed object carries its owner and field role in its associated data, and every data key
is wrapped with its owner in the wrap context (format v2, docs/crypto.md "Binding"). A row moved
in the database (an attachment to another message, a message to another conversation, a subject
copied into a body, a data key swapped between rows) then names a different owner than the one
its ciphertext was sealed for, and does not decrypt.

    binding(role, owner) = b"ZGLB" || 02 || field(role) || field(kind) || field(organisation)
                           || field(conversation) || field(message) || field(attachment)
                           || field(recipient)
    field(value)         = length of value in UTF-8 (2 bytes, big-endian) || value in UTF-8
    wrap context         = data key id (16 bytes) || binding("data-key", owner)

Numbers are written in decimal, UUIDs in their 36-character lowercase form, absent values as
the empty string; the seven fields are always present, in this order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["BINDING_MAGIC", "Owner", "Role", "binding", "wrap_context"]

BINDING_MAGIC = b"ZGLB"
BINDING_VERSION = 2
_MAX_FIELD = 0xFFFF


class Role:
    """Field roles: one per kind of sealed value, so no value can stand in for another."""

    SUBJECT = "subject"
    BODY = "body"
    FILE = "file"
    FILE_METADATA = "file-metadata"
    OUTBOX_PAYLOAD = "outbox-payload"
    HELD_REPLY = "held-reply"
    HELP_NOTE = "help-note"
    DATA_KEY = "data-key"


@dataclass(frozen=True)
class Owner:
    """The row a data key belongs to, as far as it is known when the key is used.

    kind is "message", "attachment", "outbox", "held-reply" or "help-note". An attachment
    uploaded as a
    draft has no conversation and message yet; claiming it for a message re-wraps its key
    with both.
    """

    kind: str
    organisation: int
    conversation: uuid.UUID | None = None
    message: uuid.UUID | None = None
    attachment: uuid.UUID | None = None
    recipient: int | None = None


def _field(value: object) -> bytes:
    text = "" if value is None else str(value)
    encoded = text.encode("utf-8")
    if len(encoded) > _MAX_FIELD:
        raise ValueError("binding field too long")
    return len(encoded).to_bytes(2, "big") + encoded


def binding(role: str, owner: Owner) -> bytes:
    """The context bytes for one sealed value of `role` belonging to `owner`."""
    if not role or not owner.kind:
        raise ValueError("a binding needs a role and an owner kind")
    return (BINDING_MAGIC + bytes([BINDING_VERSION]) + _field(role) + _field(owner.kind)
            + _field(owner.organisation) + _field(owner.conversation) + _field(owner.message)
            + _field(owner.attachment) + _field(owner.recipient))


def wrap_context(key_id: uuid.UUID, owner: Owner) -> bytes:
    """The context a data key is wrapped with: its own id and its owner."""
    return key_id.bytes + binding(Role.DATA_KEY, owner)
