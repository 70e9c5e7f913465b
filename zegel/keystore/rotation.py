"""Key rotation and retirement: a new KEK becomes current and every data key (and every staff
user's wrapped TOTP secret, zegel.orgs.twofactor) is re-wrapped under it; a KEK that nothing
needs any more can then leave the key file."""

from __future__ import annotations

import logging
import uuid

from django.db import connection, transaction

from zegel.audit.log import record
from zegel.crypto.keyring import Keyring, KeyringError, get_keyring, reset_keyring_cache
from zegel.keystore.models import DataKey
from zegel.orgs.models import TotpDevice

log = logging.getLogger(__name__)


def rotate_keys() -> tuple[str, int]:
    """Returns the new KEK id and how many keys were re-wrapped. Raises KeyringError at the end
    if some keys could not be re-wrapped (they stay readable under their old KEK)."""
    keyring = get_keyring()
    new_id = keyring.rotate()
    reset_keyring_cache()
    keyring = get_keyring()
    count = 0
    failed = 0
    for pk in (DataKey.objects.filter(shredded_at__isnull=True).exclude(kek_id=new_id)
               .values_list("pk", flat=True).iterator()):
        outcome = _rewrap_one(keyring, pk, new_id)
        count += outcome == "rewrapped"
        failed += outcome == "failed"
    for pk in TotpDevice.objects.exclude(kek_id=new_id).values_list("pk", flat=True).iterator():
        outcome = _rewrap_totp(keyring, pk, new_id)
        count += outcome == "rewrapped"
        failed += outcome == "failed"
    record("keys.rotated", organisation=None, actor_type="system",
           data={"kek": new_id, "rewrapped": count, "failed": failed})
    if failed:
        raise KeyringError(f"{failed} data keys could not be re-wrapped under {new_id} and stay "
                           "under their old key; do not retire it (see the log)")
    return new_id, count


def _rewrap_one(keyring: Keyring, pk: uuid.UUID, new_id: str) -> str:
    # A claim may re-wrap the key for its message between our read and our write; then read
    # it again. Claims lock the row, so this settles within a few tries.
    for _attempt in range(5):
        key = DataKey.objects.filter(pk=pk, shredded_at__isnull=True).first()
        if key is None or key.kek_id == new_id:
            return "unchanged"
        # The stored context is the one the key was wrapped with; a tampered one fails here
        # (it is in the wrap's associated data) instead of spreading into the new wrap.
        context = bytes(key.context)
        try:
            dek = keyring.unwrap(key.kek_id, bytes(key.wrapped), context=context)
        except KeyringError:
            log.error("data key %s does not unwrap with its stored context; left as it is",
                      key.pk)
            return "failed"
        kek_id, wrapped = keyring.wrap(dek, context=context)
        with transaction.atomic():
            # Only if the row is still as read: a key destroyed meanwhile (revoke, expiry)
            # must stay destroyed, and a key re-wrapped meanwhile for a new owner (an
            # attachment claimed by a message) must keep that wrap. Every wrap has a fresh
            # nonce, so the wrapped bytes tell one wrap from any other.
            if DataKey.objects.filter(
                pk=key.pk, kek_id=key.kek_id, wrapped=key.wrapped, shredded_at__isnull=True,
            ).update(kek_id=kek_id, wrapped=wrapped):
                return "rewrapped"
    log.error("data key %s kept changing during rotation; left as it is", pk)
    return "failed"


def _rewrap_totp(keyring: Keyring, pk: uuid.UUID, new_id: str) -> str:
    device = TotpDevice.objects.filter(pk=pk).first()
    if device is None or device.kek_id == new_id:
        return "unchanged"
    context = bytes(device.context)
    try:
        secret = keyring.unwrap(device.kek_id, bytes(device.wrapped), context=context)
    except KeyringError:
        log.error("TOTP secret %s does not unwrap with its stored context; left as it is", pk)
        return "failed"
    kek_id, wrapped = keyring.wrap(secret, context=context)
    # Only if unchanged meanwhile (removed, or replaced by a new enrolment).
    updated = TotpDevice.objects.filter(pk=pk, kek_id=device.kek_id,
                                        wrapped=device.wrapped).update(kek_id=kek_id,
                                                                       wrapped=wrapped)
    return "rewrapped" if updated else "unchanged"


class RetireRefused(Exception):
    """The KEK was not retired: it is current, unknown, or data keys still need it."""


def retire_kek(kek_id: str) -> None:
    """Remove a KEK from the key file once no data key is wrapped under it any more.

    Run `zegel keys rotate` first: it re-wraps every data key under the new KEK. A destroyed
    (shredded) data key no longer needs its KEK. The audit event is written before the file
    changes, so a failure to rewrite the file leaves neither behind.
    """
    with transaction.atomic(durable=True):
        if connection.vendor == "postgresql":
            # Waits for transactions still writing data keys (wrapped under the KEK that was
            # current when they began) and holds new ones back until the file has changed;
            # SQLite's IMMEDIATE transactions already serialise every writer.
            table = connection.ops.quote_name(DataKey._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        keyring = get_keyring()
        if kek_id == keyring.current_id:
            raise RetireRefused(f"{kek_id} is the current key; rotate first (zegel keys rotate)")
        if kek_id not in keyring.kek_ids:
            raise RetireRefused(f"no key {kek_id!r} in the key file")
        in_use = (DataKey.objects.filter(kek_id=kek_id, shredded_at__isnull=True).count()
                  + TotpDevice.objects.filter(kek_id=kek_id).count())
        if in_use:
            raise RetireRefused(f"{in_use} data keys are still wrapped under {kek_id}; "
                                "run zegel keys rotate first")
        record("kek.retired", organisation=None, actor_type="system", object_type="kek",
               object_id=kek_id, data={"kek": kek_id, "current": keyring.current_id})
        try:
            keyring.retire(kek_id)
        except KeyringError as exc:
            raise RetireRefused(str(exc)) from None
    reset_keyring_cache()
