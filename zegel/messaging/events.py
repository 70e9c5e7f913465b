"""Recipient events and the audit entries that record them.

Every action that notes a RecipientEvent writes an audit entry in the same transaction, the
audit entry last (its head is the last lock a transaction takes, docs/architecture.md). The
event then names that entry, so a proof of delivery can cite each event's place in the hash
chain. Linking is an update of rows this transaction inserted itself: no other transaction
can see or lock them, so it adds no lock after the audit head's.
"""

from __future__ import annotations

from collections.abc import Iterable

from zegel.audit.models import AuditEvent
from zegel.messaging.models import RecipientEvent


def link_audit(events: Iterable[RecipientEvent], entry: AuditEvent) -> None:
    """These events (written in this transaction) are recorded by `entry`."""
    events = list(events)
    if not events:
        return
    RecipientEvent.objects.filter(pk__in=[e.pk for e in events]).update(audit_entry=entry)
    for event in events:
        event.audit_entry = entry
