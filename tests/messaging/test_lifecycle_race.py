"""Two workers at once on PostgreSQL: the lifecycle lease goes to one of them, and even two
runs that meet apply (and audit) each schedule, end date and retention exactly once.

SQLite takes one writer at a time, so these tests skip there; `make test` runs them in its
PostgreSQL pass (tests/messaging is in its list).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import send
from tests.orgs.race import at_once
from zegel.audit.models import AuditEvent
from zegel.jobs.worker import run_lifecycle
from zegel.keystore.models import DataKey
from zegel.messaging import actions
from zegel.messaging.models import Conversation
from zegel.orgs.models import User

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks and concurrent writers exist on PostgreSQL only"),
]

EACH = 4  # conversations per kind


def _due(sender: User) -> dict[str, list[object]]:
    """EACH conversations with a schedule due, EACH past their end date, EACH past retention."""
    kinds: dict[str, list[object]] = {"scheduled": [], "expired": [], "retention": []}
    for kind in kinds:
        for n in range(EACH):
            kinds[kind].append(send(sender, subject=f"{kind} {n}").conversation_id)
    past = timezone.now() - timedelta(minutes=5)
    Conversation.objects.filter(pk__in=kinds["scheduled"]).update(
        revoke_scheduled_at=past, revoke_scheduled_scope="everyone")
    Conversation.objects.filter(pk__in=kinds["expired"]).update(expires_at=past)
    sender.organisation.retention_days = 30
    sender.organisation.save(update_fields=["retention_days"])
    Conversation.objects.filter(pk__in=kinds["retention"]).update(
        last_activity_at=timezone.now() - timedelta(days=31))
    return kinds


def _assert_each_applied_once(kinds: dict[str, list[object]]) -> None:
    for action, kind in (("conversation.revoked", "scheduled"),
                         ("conversation.expired", "expired"),
                         ("conversation.retention_shredded", "retention")):
        ids = sorted(AuditEvent.objects.filter(action=action).values_list("object_id",
                                                                          flat=True))
        assert ids == sorted(str(pk) for pk in kinds[kind]), action
    assert Conversation.objects.filter(pk__in=kinds["expired"], closed_at__isnull=False,
                                       revoked_at__isnull=True).count() == EACH
    shredded = kinds["scheduled"] + kinds["retention"]
    assert Conversation.objects.filter(pk__in=shredded,
                                       revoked_at__isnull=False).count() == 2 * EACH
    assert DataKey.objects.filter(shredded_at__isnull=False).count() == 2 * EACH


def test_two_runs_that_meet_apply_each_item_once(sender: User) -> None:
    kinds = _due(sender)
    # No lease here: both run the whole job at the same moment, one item at a time each.
    results = at_once(lambda: actions.apply_due(batch=3), times=2)
    assert all(isinstance(r, actions.Applied) for r in results), results
    assert all(not r.failed for r in results)
    assert sum(r.scheduled for r in results) == EACH
    assert sum(r.expired for r in results) == EACH
    assert sum(r.retention for r in results) == EACH
    _assert_each_applied_once(kinds)


def test_the_lease_lets_one_of_two_workers_run_the_job(sender: User) -> None:
    kinds = _due(sender)
    stop = threading.Event()
    results = at_once(lambda: run_lifecycle(stop), times=2)
    assert sorted(results, key=str) == [False, True], results
    _assert_each_applied_once(kinds)
    # Within the lease nobody runs it again; the items are done anyway.
    assert run_lifecycle(stop) is False
