"""On PostgreSQL the database itself guards the audit tables: no TRUNCATE, the head moves only
forward, and the application's role (docs/operations.md) may not change or delete events."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from zegel.audit.log import record, verify_chain
from zegel.audit.models import AuditEvent, AuditHead

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                reason="triggers and roles are PostgreSQL's")

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _events(n: int) -> list[AuditEvent]:
    return [record("test.event", organisation=None, actor_type="system", data={"n": i})
            for i in range(n)]


def _settle() -> None:
    """Run the foreign-key checks that Django defers to commit: PostgreSQL will not TRUNCATE a
    table with checks pending, which would hide what the trigger says."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _refused(sql: str, params: list[object] | None = None) -> str:
    _settle()
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return str(refused.value)


def test_it_refuses_truncate_of_the_events(db: None) -> None:
    _events(2)
    assert "cannot be truncated" in _refused("TRUNCATE audit_auditevent")
    assert "cannot be truncated" in _refused("TRUNCATE audit_audithead")
    assert AuditEvent.objects.count() == 2


def test_it_refuses_update_and_delete_of_an_event_even_to_the_owner(db: None) -> None:
    events = _events(2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user = tableowner FROM pg_tables "
                       "WHERE tablename = 'audit_auditevent'")
        assert cursor.fetchone() == (True,), "this test must run as the table's owner"
    assert "append-only" in _refused(
        "UPDATE audit_auditevent SET action = 'user.login' WHERE id = %s", [events[0].pk])
    assert "append-only" in _refused(
        "UPDATE audit_auditevent SET data = '{}'::jsonb")
    assert "append-only" in _refused("DELETE FROM audit_auditevent WHERE id = %s",
                                     [events[1].pk])
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.event"] * 2
    assert verify_chain() == events[1].hash


def test_it_refuses_a_truncate_that_cascades_from_the_organisations(org: object) -> None:
    _events(1)
    assert "cannot be truncated" in _refused("TRUNCATE orgs_organisation CASCADE")


def test_it_refuses_to_move_the_head_back(db: None) -> None:
    events = _events(3)
    assert "only move to the newest event" in _refused(
        "UPDATE audit_audithead SET last_hash = %s", [events[1].hash])
    assert "only move to the newest event" in _refused(
        "UPDATE audit_audithead SET last_hash = %s", ["f" * 64])
    assert "cannot be deleted" in _refused("DELETE FROM audit_audithead")
    assert "starts empty" in _refused(
        "INSERT INTO audit_audithead (id, last_hash, seal) VALUES (2, %s, '')", ["0" * 64])
    assert AuditHead.objects.get().last_hash == events[2].hash
    assert verify_chain() == events[2].hash


def test_a_truncate_past_the_triggers_and_a_head_reset_are_caught(db: None) -> None:
    from zegel.audit.log import ChainBroken

    _events(3)
    with connection.cursor() as cursor:
        # An owner or superuser can skip triggers; then the keyed head is what shows it.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("TRUNCATE audit_auditevent")
        cursor.execute("UPDATE audit_audithead SET last_hash = %s", ["0" * 64])
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    with pytest.raises(ChainBroken, match="emptied"):
        verify_chain()


def _app_role_sql() -> str:
    text = OPERATIONS.read_text(encoding="utf-8")
    match = re.search(r"<!-- app-role-grants -->\s*```sql\n(.*?)```", text, re.S)
    assert match, "docs/operations.md has no app-role-grants SQL block"
    return match.group(1)


def test_the_documented_app_role_may_write_events_but_not_change_or_delete_them(
        db: None) -> None:
    events = _events(1)
    # Roles are cluster-wide; created inside the test's transaction, this one vanishes with it.
    role = f"zegel_app_{connection.settings_dict['NAME']}"[:63]
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        cursor.execute(_app_role_sql().replace("zegel_app", f'"{role}"'))
        cursor.execute(f'SET LOCAL ROLE "{role}"')
    # What the application does still works under the role.
    newest = record("test.event", organisation=None, actor_type="system")
    assert verify_chain() == newest.hash
    for sql in ("DELETE FROM audit_auditevent", "TRUNCATE audit_auditevent",
                "UPDATE audit_auditevent SET action = 'forged'",
                "DELETE FROM audit_audithead", "TRUNCATE audit_audithead"):
        assert "permission denied" in _refused(sql), sql
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert list(AuditEvent.objects.values_list("hash", flat=True)) == [events[0].hash,
                                                                        newest.hash]
