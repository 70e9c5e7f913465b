"""Writers in parallel never fork the chain: each event follows exactly one other."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from zegel.audit.log import record, verify_chain
from zegel.audit.models import AuditEvent, AuditHead

THREADS = 4
EACH = 25


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain() -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(EACH):
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
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) == THREADS * EACH
    prev_hashes = [e.prev_hash for e in events]
    assert len(set(prev_hashes)) == len(prev_hashes), "two events chained onto the same one"
    assert verify_chain() == events[-1].hash == AuditHead.objects.get().last_hash
