"""The periodic job behind revocation schedules, end dates and the retention period
(docs/lifecycle.md). The worker runs it under a lease (zegel.jobs.lease), so one worker runs it
at a time; each item is still applied in its own transaction that re-reads and locks the
conversation and checks it is due, so an item is applied, and audited, exactly once even if
two runs meet. Everything due in the past is processed, oldest first, in bounded batches: after
downtime the job catches up by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from zegel.db import retry_on_conflict
from zegel.messaging.actions.lifecycle import close_for_recipients, shred_conversation
from zegel.messaging.models import Conversation
from zegel.orgs.models import Organisation

log = logging.getLogger(__name__)
BATCH = 100
MAX_BATCHES = 50  # per kind and run: the rest waits for the next run, not the whole worker
SYSTEM = {"actor_type": "system"}


@dataclass
class Applied:
    """What one run did, per kind, and the conversations that failed (tried again next run)."""

    scheduled: int = 0
    expired: int = 0
    retention: int = 0
    failed: list[Any] = field(default_factory=list)


def apply_due(*, batch: int = BATCH, max_batches: int = MAX_BATCHES,
              keep_going: Callable[[], bool] | None = None) -> Applied:
    """Apply every scheduled revoke, end date and retention period that is due now."""
    if _inside_a_transaction():
        # Each item is its own durable transaction; inside another one that refusal would be
        # swallowed by the per-item catch below and nothing applied.
        raise RuntimeError("apply_due opens a durable transaction per item: call it outside "
                           "any transaction")
    applied = Applied()
    now = timezone.now()
    kinds: list[tuple[str, QuerySet[Conversation], str, Callable[[Any], bool]]] = [
        ("scheduled", Conversation.objects.filter(revoke_scheduled_at__lte=now,
                                                  revoked_at__isnull=True),
         "revoke_scheduled_at", _apply_schedule),
        ("expired", Conversation.objects.filter(expires_at__lte=now, closed_at__isnull=True,
                                                revoked_at__isnull=True),
         "expires_at", _apply_expiry),
    ]
    for org_id, days in (Organisation.objects.filter(retention_days__gt=0)
                         .values_list("pk", "retention_days")):
        cutoff = now - timedelta(days=days)
        kinds.append(("retention", Conversation.objects.filter(
            organisation_id=org_id, revoked_at__isnull=True, last_activity_at__lte=cutoff),
            "last_activity_at", _apply_retention))
    for name, due, order, apply in kinds:
        for _ in range(max_batches):
            if keep_going is not None and not keep_going():
                return applied
            pks = list(due.exclude(pk__in=applied.failed).order_by(order, "pk")
                       .values_list("pk", flat=True)[:batch])
            for pk in pks:
                try:
                    done = apply(pk)
                except Exception:
                    # One conversation that fails must not hold back the rest; it is due
                    # still, so the next run tries it again.
                    log.exception("lifecycle: %s of conversation %s failed", name, pk)
                    applied.failed.append(pk)
                    continue
                if done:
                    setattr(applied, name, getattr(applied, name) + 1)
            if len(pks) < batch:
                break
    return applied


def _inside_a_transaction() -> bool:
    """Django's own test for a durable block (a TestCase's wrapping blocks do not count),
    without opening one: on SQLite even an empty BEGIN IMMEDIATE takes the write lock."""
    connection = transaction.get_connection()
    return bool(connection.atomic_blocks) and not getattr(connection.atomic_blocks[-1],
                                                          "_from_testcase", False)


def _locked_due(pk: Any, condition: Q) -> Conversation | None:
    """The conversation, locked, if it is still due: the sender may have revoked it, moved
    the date or cancelled the schedule meanwhile, or another run got there first."""
    return (Conversation.objects.select_for_update(of=("self",), no_key=True)
            .select_related("organisation").filter(condition, pk=pk).first())


@retry_on_conflict
def _apply_schedule(pk: Any) -> bool:
    with transaction.atomic(durable=True):
        now = timezone.now()
        conversation = _locked_due(pk, Q(revoke_scheduled_at__lte=now, revoked_at__isnull=True))
        if conversation is None:
            return False
        data = {"scheduled_for": _iso(conversation.revoke_scheduled_at)}
        if conversation.revoke_scheduled_scope == Conversation.RevokeScope.EVERYONE:
            return shred_conversation(conversation, reason=Conversation.Shredded.REVOKED,
                                      action="conversation.revoked", request=None,
                                      actor=SYSTEM, data=data)
        if close_for_recipients(conversation, reason=Conversation.Closed.REVOKED,
                                action="conversation.revoked_for_recipients", request=None,
                                actor=SYSTEM, data=data):
            return True
        # Ended for the recipients already (their end date came first): only the schedule
        # goes.
        Conversation.objects.filter(pk=pk).update(revoke_scheduled_at=None,
                                                  revoke_scheduled_scope="")
        return False


@retry_on_conflict
def _apply_expiry(pk: Any) -> bool:
    with transaction.atomic(durable=True):
        conversation = _locked_due(pk, Q(expires_at__lte=timezone.now(), closed_at__isnull=True,
                                         revoked_at__isnull=True))
        if conversation is None:
            return False
        return close_for_recipients(conversation, reason=Conversation.Closed.EXPIRED,
                                    action="conversation.expired", request=None, actor=SYSTEM,
                                    data={"expires_at": _iso(conversation.expires_at)})


@retry_on_conflict
def _apply_retention(pk: Any) -> bool:
    with transaction.atomic(durable=True):
        conversation = _locked_due(pk, Q(revoked_at__isnull=True))
        if conversation is None:
            return False
        days = conversation.organisation.retention_days  # read again: it may have changed
        if not days or conversation.last_activity_at > timezone.now() - timedelta(days=days):
            return False
        return shred_conversation(conversation, reason=Conversation.Shredded.RETENTION,
                                  action="conversation.retention_shredded", request=None,
                                  actor=SYSTEM, data={"retention_days": days})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
