"""Data keys: creating, wrapping and unwrapping them, and sealing small values (subjects, bodies,
file metadata, outbox payloads) with them. Each key and each value is bound to its owner and
role (zegel.keystore.binding), so a row moved in the database does not decrypt."""

from __future__ import annotations

import uuid

from zegel.crypto.keyring import KeyringError, get_keyring, new_dek
from zegel.crypto.stream import DecryptionError, decrypt_bytes, encrypt_bytes
from zegel.keystore.binding import Owner, binding, wrap_context
from zegel.keystore.models import DataKey


class ShreddedError(Exception):
    """The data key was destroyed: the content is gone for good."""


class ContentIntegrityError(Exception):
    """A data key or sealed value does not belong where it was found: moved, copied or altered
    in the database or the blob store, or its key-encryption key is gone.

    It names the owner as found (ids, never content) so the failure can be audited.
    """

    def __init__(self, reason: str, owner: Owner | None = None, role: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.owner = owner
        self.role = role


def create_data_key(dek: bytes | None = None, *, owner: Owner) -> tuple[DataKey, bytes]:
    dek = dek or new_dek()
    key = DataKey(id=uuid.uuid4())
    _wrap_into(key, dek, owner)
    key.save()
    return key, dek


def _wrap_into(key: DataKey, dek: bytes, owner: Owner) -> None:
    context = wrap_context(key.id, owner)
    key.kek_id, key.wrapped = get_keyring().wrap(dek, context=context)
    # Kept so that rotation can re-wrap without knowing the owner; reads never trust it and
    # rebuild the context from the row that uses the key.
    key.context = context


def unwrap(key: DataKey, owner: Owner) -> bytes:
    """The DEK, if `key` was wrapped for `owner`; ContentIntegrityError otherwise."""
    if key.shredded_at is not None or not key.wrapped:
        raise ShreddedError
    try:
        return get_keyring().unwrap(key.kek_id, bytes(key.wrapped),
                                    context=wrap_context(key.id, owner))
    except KeyringError as exc:
        raise ContentIntegrityError(f"data key {key.id}: {exc}", owner, "data-key") from None


def rewrap(key: DataKey, dek: bytes, owner: Owner) -> None:
    """Wrap the same DEK for a new owner (an attachment claimed by a message). The caller has
    unwrapped it for the old owner, in the transaction that moves the row."""
    _wrap_into(key, dek, owner)
    DataKey.objects.filter(pk=key.pk, shredded_at__isnull=True).update(
        kek_id=key.kek_id, wrapped=key.wrapped, context=key.context)


def seal_text(dek: bytes, object_id: uuid.UUID, text: str, *, role: str, owner: Owner) -> bytes:
    return encrypt_bytes(dek, object_id.bytes, text.encode("utf-8"),
                         context=binding(role, owner))


def open_text(dek: bytes, object_id: uuid.UUID, sealed: bytes | memoryview, *, role: str,
              owner: Owner) -> str:
    try:
        plain = decrypt_bytes(dek, object_id.bytes, bytes(sealed), context=binding(role, owner))
    except DecryptionError as exc:
        raise ContentIntegrityError(f"{role} {object_id}: {exc}", owner, role) from None
    return plain.decode("utf-8")
