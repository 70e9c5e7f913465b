"""The append-only audit log (NTA 7516 §6.4.2): who, what, when, from where; never content."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from zegel.audit.chain import GENESIS, KEYED


class AuditEvent(models.Model):
    # A global sequence: each entry carries the keyed hash of the one before, so a removed or
    # changed row breaks the chain (see zegel.audit.log.verify_log and zegel.audit.chain).
    organisation = models.ForeignKey("orgs.Organisation", null=True, on_delete=models.PROTECT,
                                     related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_type = models.CharField(max_length=20)  # user, recipient, system, api
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Which formula of zegel.audit.chain made `hash`: 1 (unkeyed, before the upgrade), 2 (HMAC).
    version = models.PositiveSmallIntegerField(default=KEYED)

    class Meta:
        ordering = ["id"]
        # The audit page's searches, newest first a page at a time (zegel.staff.audit_search):
        # each starts with the organisation and ends with the id, so a page is one short
        # backward index range however big the log; without them a rare actor, object or
        # address meant walking the whole table on PostgreSQL.
        indexes = [
            models.Index(fields=["organisation", "id"], name="audit_org_id"),
            models.Index(fields=["organisation", "object_id", "id"], name="audit_org_object"),
            models.Index(fields=["organisation", "actor_label", "id"], name="audit_org_actor"),
            models.Index(fields=["organisation", "ip", "id"], name="audit_org_ip"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("audit events are append-only")


class AuditHead(models.Model):
    """One row that writers lock, so two processes never chain onto the same predecessor.

    It names the newest event and carries an HMAC of that name (`seal`), so cutting the newest
    events and moving the head back shows; on PostgreSQL a trigger also lets it move only to
    the newest event.
    """

    last_hash = models.CharField(max_length=64, default=GENESIS)
    seal = models.CharField(max_length=64, blank=True, default="")
