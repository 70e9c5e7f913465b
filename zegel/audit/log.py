"""Writing and verifying the audit log."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from zegel.audit.models import AuditEvent, AuditHead
from zegel.orgs.models import Organisation


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)


def client_ip(request: HttpRequest | None) -> str | None:
    """The address the request came from. Behind a reverse proxy listed in
    ZEGEL_TRUSTED_PROXIES, the nearest address in X-Forwarded-For that is not a proxy of ours;
    anything a client wrote further left in that header is not believed."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or ""
    if remote and _trusted(remote):
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for hop in reversed([h for h in hops if h]):
            if not _trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    break
    return remote or None


def staff_actor(user: Any) -> dict[str, Any]:
    """The actor fields of an event done by a staff user."""
    return {"actor_type": "user", "actor_id": user.pk, "actor_label": user.email}


def guest_actor(recipient: Any) -> dict[str, Any]:
    """The actor fields of an event done by a recipient through the portal."""
    return {"actor_type": "recipient", "actor_id": recipient.pk, "actor_label": recipient.email}


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


class ChainBroken(Exception):
    def __init__(self, message: str, event_id: int | None = None) -> None:
        super().__init__(message)
        self.event_id = event_id


def verify_chain() -> str:
    """Walk the whole log. Returns the hash of the newest event (keep it elsewhere: a later
    check that does not reach the same hash shows events were removed); raises ChainBroken."""
    prev = "0" * 64
    for event in AuditEvent.objects.order_by("id").iterator():
        if event.prev_hash != prev or event.hash != _digest(prev, _fields(event)):
            raise ChainBroken(f"event {event.id} does not follow the one before it", event.id)
        prev = event.hash
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != prev:
        # The newest events were removed: the chain ends before the head that writers kept.
        raise ChainBroken("the newest events are missing: the log ends before its head")
    return prev
