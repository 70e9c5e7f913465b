"""A deadlock or serialization failure that PostgreSQL breaks is run again, a bounded number of
times; nothing else is. After a send, that keeps the row from waiting out its lease in
`sending` and going out a second time.

The conflict is injected (the error PostgreSQL's driver raises), so this runs on SQLite too;
tests/portal/test_pg_load.py has the real thing on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import psycopg.errors
import pytest
from django.db import IntegrityError, OperationalError, transaction

from tests.conftest import send
from zegel import db
from zegel.audit.models import AuditEvent
from zegel.notify import outbox
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.orgs.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def _conflict(kind: type[Exception] = psycopg.errors.DeadlockDetected) -> OperationalError:
    try:
        raise OperationalError("deadlock detected") from kind("deadlock detected")
    except OperationalError as exc:
        return exc


def test_only_deadlocks_and_serialization_failures_count_as_conflicts() -> None:
    assert db.is_conflict(_conflict())
    assert db.is_conflict(_conflict(psycopg.errors.SerializationFailure))
    assert not db.is_conflict(_conflict(psycopg.errors.LockNotAvailable))
    assert not db.is_conflict(OperationalError("server closed the connection"))
    assert not db.is_conflict(IntegrityError("duplicate key"))
    assert not db.is_conflict(ValueError("deadlock detected"))


def test_a_conflict_is_run_again_at_most_a_few_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db.time, "sleep", lambda _s: None)
    calls: list[int] = []

    @db.retry_on_conflict
    def always() -> None:
        calls.append(1)
        raise _conflict()

    with pytest.raises(OperationalError):
        always()
    assert len(calls) == db.ATTEMPTS

    calls.clear()

    @db.retry_on_conflict
    def once() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise _conflict()
        return "done"

    assert once() == "done"
    assert len(calls) == 2


def test_other_errors_and_conflicts_inside_a_transaction_are_not_run_again() -> None:
    calls: list[int] = []

    @db.retry_on_conflict
    def broken() -> None:
        calls.append(1)
        raise OperationalError("server closed the connection")

    with pytest.raises(OperationalError):
        broken()
    assert calls == [1]

    calls.clear()

    @db.retry_on_conflict
    def conflicting() -> None:
        calls.append(1)
        raise _conflict()

    # Inside the caller's transaction the whole of it is lost: only the caller can retry.
    with pytest.raises(OperationalError), transaction.atomic():
        conflicting()
    assert calls == [1]


def test_a_deadlock_while_marking_a_sent_mail_does_not_send_it_again(
        sender: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db.time, "sleep", lambda _s: None)
    send(sender)
    real_record = outbox.record
    broken: list[str] = []

    def record(action: str, **kwargs: Any) -> AuditEvent:
        if action.endswith(".sent") and not broken:
            broken.append(action)
            raise _conflict()  # as PostgreSQL breaks a deadlock: the transaction is lost
        return real_record(action, **kwargs)

    monkeypatch.setattr(outbox, "record", record)
    assert outbox.deliver_due() == 1
    assert broken == ["email.sent"]
    item = OutboxItem.objects.get()
    assert item.state == OutboxItem.State.SENT
    assert item.attempts == 1
    assert CapturedMessage.objects.filter(channel="email").count() == 1
    assert AuditEvent.objects.filter(action="email.sent").count() == 1
    assert outbox.deliver_due() == 0
