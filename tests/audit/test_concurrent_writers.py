"""Writers in parallel never fork the chain: each event follows exactly one other."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from zegel.audit.log import record, verify_chain
from zegel.audit.models import AuditEvent, AuditHead

THREADS = 4
EACH = 25


def _empty_log() -> None:
    """As on a fresh install: no event and no head row yet (past the guards, as a superuser)."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET session_replication_role = replica")
        cursor.execute("DELETE FROM audit_auditevent")
        cursor.execute("DELETE FROM audit_audithead")
        if postgres:
            cursor.execute("SET session_replication_role = DEFAULT")


def _write_in_parallel(each: int) -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(each):
                record("test.concurrent", organisation=None, actor_type="system",
                       data={"writer": writer, "n": n})
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=write, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fresh", [True, False], ids=["fresh install", "running log"])
def test_concurrent_writers_keep_one_chain(fresh: bool) -> None:
    if fresh:
        _empty_log()
    else:
        record("test.before", organisation=None, actor_type="system")
    before = AuditEvent.objects.count()
    _write_in_parallel(EACH)
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) == before + THREADS * EACH
    prev_hashes = [e.prev_hash for e in events]
    assert len(set(prev_hashes)) == len(prev_hashes), "two events chained onto the same one"
    assert verify_chain() == events[-1].hash == AuditHead.objects.get().last_hash


@pytest.mark.django_db(transaction=True)
def test_the_first_writers_of_a_fresh_install_agree_on_the_head() -> None:
    """The head row does not exist before the first event; parallel first writers must not
    both create it (on PostgreSQL the second insert meets the head's trigger)."""
    for _round in range(8):
        _empty_log()
        _write_in_parallel(2)
        assert AuditEvent.objects.count() == THREADS * 2
        verify_chain()
