"""Recording a failed integrity check: the audit event `content.integrity_failed`."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from zegel.audit.log import record
from zegel.keystore.keys import ContentIntegrityError
from zegel.orgs.models import Organisation

log = logging.getLogger(__name__)


def _actor(request: HttpRequest | None) -> dict[str, Any]:
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return {"actor_type": "user", "actor_id": user.pk, "actor_label": user.email}
    return {"actor_type": "anonymous"}


def report_integrity_failure(exc: ContentIntegrityError,
                             request: HttpRequest | None = None) -> None:
    """Log and audit one failed check; ids and the failing step only, never content."""
    owner = exc.owner
    found = {} if owner is None else {
        "kind": owner.kind, "organisation": owner.organisation,
        "conversation": str(owner.conversation or ""), "message": str(owner.message or ""),
        "attachment": str(owner.attachment or ""), "recipient": owner.recipient,
    }
    log.error("content integrity check failed: %s", exc.reason)
    organisation = (Organisation.objects.filter(pk=owner.organisation).first()
                    if owner is not None else None)
    object_id = (owner.attachment or owner.message or owner.recipient or "") if owner else ""
    record("content.integrity_failed", organisation=organisation, **_actor(request),
           object_type=owner.kind if owner else "", object_id=object_id, request=request,
           data={"role": exc.role, "reason": exc.reason[:200], "found": found,
                 # The view's name, not the path: portal paths carry link tokens.
                 "view": _view_name(request)})


def _view_name(request: HttpRequest | None) -> str:
    match = getattr(request, "resolver_match", None)
    return str(match.view_name) if match is not None else ""
