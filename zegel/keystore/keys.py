"""Data keys: creating, wrapping and unwrapping them, and sealing small values (subjects, bodies,
file names, outbox payloads) with them."""

from __future__ import annotations

import uuid

from zegel.crypto.keyring import get_keyring, new_dek
from zegel.crypto.stream import decrypt_bytes, encrypt_bytes
from zegel.keystore.models import DataKey


class ShreddedError(Exception):
    """The data key was destroyed: the content is gone for good."""


def create_data_key(dek: bytes | None = None) -> tuple[DataKey, bytes]:
    dek = dek or new_dek()
    key = DataKey(id=uuid.uuid4())
    key.kek_id, wrapped = get_keyring().wrap(dek, context=key.id.bytes)
    key.wrapped = wrapped
    key.save()
    return key, dek


def unwrap(key: DataKey) -> bytes:
    if key.shredded_at is not None or not key.wrapped:
        raise ShreddedError
    return get_keyring().unwrap(key.kek_id, bytes(key.wrapped), context=key.id.bytes)


def seal_text(dek: bytes, object_id: uuid.UUID, text: str) -> bytes:
    return encrypt_bytes(dek, object_id.bytes, text.encode("utf-8"))


def open_text(dek: bytes, object_id: uuid.UUID, sealed: bytes | memoryview) -> str:
    return decrypt_bytes(dek, object_id.bytes, bytes(sealed)).decode("utf-8")
