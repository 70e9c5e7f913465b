"""`zegel audit verify` on a live system: events keep coming while it walks the log, and it
reads the events and the head in one snapshot, so it never raises a false alarm."""

from __future__ import annotations

import threading
import time

from django.db import connection

from zegel.audit.log import AnchorNotFound, ChainBroken, record, verify_log

WRITE_EVERY = 0.05
RUNS = 25
BUDGET_SECONDS = 20.0


def _writer(stop: threading.Event, written: list[int], errors: list[BaseException]) -> None:
    try:
        while not stop.is_set():
            record("test.tick", organisation=None, actor_type="system",
                   data={"n": len(written)})
            written.append(1)
            stop.wait(WRITE_EVERY)
    except BaseException as exc:  # reported by the test, not lost in the thread
        errors.append(exc)
    finally:
        connection.close()


def test_verify_during_writes_raises_no_false_alarm(transactional_db: None) -> None:
    # A log long enough that one walk takes a while, so writes land while it runs.
    for i in range(600):
        record("test.before", organisation=None, actor_type="system", data={"n": i})
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []
    writer = threading.Thread(target=_writer, args=(stop, written, errors), daemon=True)
    writer.start()
    alarms: list[str] = []
    heads: set[str] = set()
    anchor = None
    deadline = time.monotonic() + BUDGET_SECONDS
    try:
        # At least RUNS walks, and on until the log has really moved under the verifier: a
        # fast walk must not end the test before the writer got going.
        runs = 0
        while time.monotonic() < deadline:
            if runs >= RUNS and len(written) >= 10 and len(heads) >= 5:
                break
            runs += 1
            try:
                state = verify_log((anchor,) if anchor else ())
            except (ChainBroken, AnchorNotFound) as exc:
                alarms.append(str(exc))
                continue
            heads.add(state.head)
            anchor = anchor or state.head
    finally:
        stop.set()
        writer.join(timeout=10)
    assert not errors
    assert len(written) >= 10 and len(heads) >= 5  # the log really moved under the verifier
    assert alarms == []


def test_writers_racing_on_an_empty_log_all_get_in(transactional_db: None) -> None:
    # A fresh installation: no head row yet. Every writer must get its event in, and the
    # chain must hold (on PostgreSQL the database refuses a head created after an event).
    from django.db import transaction

    from zegel.audit.models import AuditEvent, AuditHead

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The database refuses to delete the head; a fresh installation simply has none.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        AuditHead.objects.all().delete()
    assert not AuditEvent.objects.exists()
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait(timeout=10)
            record("test.first", organisation=None, actor_type="system", data={"n": n})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert AuditEvent.objects.filter(action="test.first").count() == 6
    verify_log()
