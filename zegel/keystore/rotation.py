"""Key rotation: a new KEK becomes current and every data key is re-wrapped under it."""

from __future__ import annotations

from django.db import transaction

from zegel.audit.log import record
from zegel.crypto.keyring import get_keyring, reset_keyring_cache
from zegel.keystore.models import DataKey


def rotate_keys() -> tuple[str, int]:
    keyring = get_keyring()
    new_id = keyring.rotate()
    reset_keyring_cache()
    keyring = get_keyring()
    count = 0
    for key in DataKey.objects.filter(shredded_at__isnull=True).exclude(kek_id=new_id).iterator():
        # The stored context is the one the key was wrapped with; a tampered one fails here
        # (it is in the wrap's associated data) instead of spreading into the new wrap.
        context = bytes(key.context)
        dek = keyring.unwrap(key.kek_id, bytes(key.wrapped), context=context)
        kek_id, wrapped = keyring.wrap(dek, context=context)
        with transaction.atomic():
            # Only if the row is still as read: a key destroyed meanwhile (revoke, expiry)
            # must stay destroyed, not come back re-wrapped.
            count += DataKey.objects.filter(
                pk=key.pk, kek_id=key.kek_id, shredded_at__isnull=True,
            ).update(kek_id=kek_id, wrapped=wrapped)
    record("keys.rotated", organisation=None, actor_type="system", data={"kek": new_id,
                                                                         "rewrapped": count})
    return new_id, count
