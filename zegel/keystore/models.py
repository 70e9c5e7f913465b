"""Data-encryption keys (DEKs), stored only wrapped by a key-encryption key (KEK)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class DataKey(models.Model):
    """One DEK, wrapped by the KEK named in kek_id.

    Deleting the wrapped key (crypto-shredding) makes everything it encrypted unreadable, in
    backups too.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kek_id = models.CharField(max_length=16)
    wrapped = models.BinaryField()
    # The wrap context (binding.wrap_context) this key was last wrapped with, for rotation only:
    # reads rebuild it from the row that uses the key, so editing it unlocks nothing.
    context = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now)
    shredded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when data keys lived in the messaging app.
        db_table = "messaging_datakey"
