"""Writing and verifying the audit log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from zegel.audit.models import AuditEvent, AuditHead
from zegel.orgs.models import Organisation


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR is set by the WSGI server; behind a proxy, gunicorn's forwarded-allow-ips
    # decides whether X-Forwarded-For is trusted, not we.
    return request.META.get("REMOTE_ADDR") or None


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(prev_hash.encode() + b"\n" + payload.encode()).hexdigest()


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "org": event.organisation_id,
        "at": event.at.isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "ip": event.ip,
        "data": event.data,
    }


def record(
    action: str,
    *,
    organisation: Organisation | None,
    actor_type: str,
    actor_id: object = "",
    actor_label: str = "",
    object_type: str = "",
    object_id: object = "",
    request: HttpRequest | None = None,
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Callers pass identifiers and outcomes, never message content."""
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            organisation=organisation,
            actor_type=actor_type,
            actor_id=str(actor_id),
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            ip=ip or client_ip(request),
            data=data or {},
            prev_hash=head.last_hash,
        )
        event.hash = _digest(head.last_hash, _fields(event))
        event.save()
        head.last_hash = event.hash
        head.save(update_fields=["last_hash"])
    return event


def verify_chain() -> int | None:
    """Return the id of the first event whose hash does not follow, or None if all is intact."""
    prev = "0" * 64
    for event in AuditEvent.objects.order_by("id").iterator():
        if event.prev_hash != prev or event.hash != _digest(prev, _fields(event)):
            return event.id
        prev = event.hash
    return None
