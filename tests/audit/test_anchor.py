"""Anchors: the worker writes the head into the log once a day, and a head kept elsewhere
proves later that nothing was cut from the log's end, even by restoring an older copy."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from zegel.audit import log as audit_log
from zegel.audit.log import (
    AnchorNotFound,
    anchor_due,
    current_head,
    record,
    verify_log,
    write_daily_anchor,
)
from zegel.audit.models import AuditEvent, AuditHead


@pytest.fixture(autouse=True)
def _anchor_check_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_log, "_next_anchor_check", 0.0)


def _events(n: int) -> list[AuditEvent]:
    return [record("test.event", organisation=None, actor_type="system", data={"n": i})
            for i in range(n)]


def test_it_writes_one_anchor_a_day_with_the_head(db: None,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    events = _events(2)
    with caplog.at_level(logging.INFO, logger="zegel.audit.log"):
        anchor = write_daily_anchor()
    assert anchor is not None and anchor.action == "audit.anchor"
    assert anchor.data == {"head": events[-1].hash}
    # The new head also goes to the application log: a copy outside the database.
    # In the words docs/operations.md tells operators to look for.
    assert f"Audit anchor: the audit log's head is {anchor.hash}" in caplog.messages
    assert write_daily_anchor() is None
    assert write_daily_anchor(timezone.now() + timedelta(days=1)) is not None
    assert AuditEvent.objects.filter(action="audit.anchor").count() == 2


def test_anchor_due_asks_the_database_only_now_and_then(
        db: None, django_assert_num_queries: Any) -> None:
    _events(1)
    assert anchor_due() is not None
    with django_assert_num_queries(0):
        assert anchor_due() is None


def test_several_workers_write_one_anchor(transactional_db: None) -> None:
    _events(1)
    barrier = threading.Barrier(4)
    results: list[object] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(write_daily_anchor())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sum(r is not None for r in results) == 1
    assert AuditEvent.objects.filter(action="audit.anchor").count() == 1


def test_the_worker_loop_writes_the_anchor(transactional_db: None) -> None:
    from zegel.jobs.worker import run_worker

    _events(1)
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(stop,), kwargs={"poll_seconds": 0.05})
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not AuditEvent.objects.filter(
            action="audit.anchor").exists():
        time.sleep(0.05)
    time.sleep(0.3)  # a few more turns of the loop: still one anchor
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert AuditEvent.objects.filter(action="audit.anchor").count() == 1


def test_an_anchor_is_found_in_the_chain(db: None) -> None:
    _events(3)
    anchor = current_head()
    _events(2)
    assert verify_log((anchor,)).events == 5


def test_an_older_copy_of_the_log_verifies_but_lacks_a_later_anchor(db: None) -> None:
    _events(3)
    older = AuditHead.objects.values_list("last_hash", "seal").get()
    events = _events(2)
    anchor = current_head()
    assert anchor == events[-1].hash
    # Someone puts back an older, consistent copy: the cut events and the head of back then.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM audit_auditevent WHERE id >= %s", [events[0].pk])
        cursor.execute("UPDATE audit_audithead SET last_hash = %s, seal = %s", list(older))
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    assert verify_log().head == older[0]  # on its own, the copy looks whole
    with pytest.raises(AnchorNotFound, match=anchor):
        verify_log((anchor,))
