"""The chain is keyed from the key file, so someone who can write the database cannot re-hash
a change forward or cut the newest events and move the head (docs/security.md, "Audit log")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from zegel.audit import chain
from zegel.audit.log import ChainBroken, record, verify_chain, verify_log
from zegel.audit.models import AuditEvent, AuditHead
from zegel.crypto.keyring import reset_keyring_cache


@contextmanager
def database_attacker() -> Iterator[Any]:
    """A cursor of someone who can write the database directly. On PostgreSQL they also got
    past the triggers (an owner or superuser: replica mode skips them), which is exactly when
    the keyed chain is the last line."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def _unkeyed(prev: str, row: dict[str, Any]) -> str:
    """What a forger without the key computes: the old formula, the only one they can."""
    payload = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(prev.encode() + b"\n" + payload.encode()).hexdigest()


def _events(n: int) -> list[AuditEvent]:
    return [record("test.event", organisation=None, actor_type="system", data={"n": i})
            for i in range(n)]


def test_events_are_keyed_and_verify(db: None) -> None:
    events = _events(3)
    assert all(e.version == chain.KEYED for e in events)
    fields = chain.event_fields(events[1])
    assert events[1].hash == chain.keyed_digest(chain.chain_key(), events[0].hash, fields)
    assert events[1].hash != _unkeyed(events[0].hash, fields)
    assert verify_chain() == events[-1].hash


def test_it_catches_an_edit_that_was_rehashed_forward(db: None) -> None:
    events = _events(4)
    # The attacker edits the second event and re-hashes it and every later one, then moves the
    # head: with the unkeyed chain this read "intact".
    with database_attacker() as cursor:
        prev = events[0].hash
        for event in events[1:]:
            row = chain.event_fields(event)
            if event.pk == events[1].pk:
                row["action"] = "forged"
            new_hash = _unkeyed(prev, row)
            cursor.execute("UPDATE audit_auditevent SET action = %s, prev_hash = %s, hash = %s "
                           "WHERE id = %s", [row["action"], prev, new_hash, event.pk])
            prev = new_hash
        cursor.execute("UPDATE audit_audithead SET last_hash = %s", [prev])
    with pytest.raises(ChainBroken) as broken:
        verify_chain()
    assert broken.value.event_id == events[1].pk


def test_it_catches_a_rehash_that_pretends_to_be_from_before_the_upgrade(db: None) -> None:
    events = _events(3)
    with database_attacker() as cursor:
        prev = chain.GENESIS
        for event in events:
            row = chain.event_fields(event)
            row["data"] = {"n": 99}
            new_hash = _unkeyed(prev, row)
            cursor.execute("UPDATE audit_auditevent SET data = %s, prev_hash = %s, hash = %s, "
                           "version = 1 WHERE id = %s",
                           [json.dumps(row["data"]), prev, new_hash, event.pk])
            prev = new_hash
        cursor.execute("UPDATE audit_audithead SET last_hash = %s", [prev])
    with pytest.raises(ChainBroken, match="not keyed"):
        verify_chain()


def test_it_catches_the_newest_events_cut_and_the_head_moved_back(db: None) -> None:
    events = _events(4)
    with database_attacker() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id >= %s", [events[2].pk])
        cursor.execute("UPDATE audit_audithead SET last_hash = %s", [events[1].hash])
    with pytest.raises(ChainBroken, match="head was moved"):
        verify_chain()


def test_it_catches_an_emptied_log_whose_head_was_reset(db: None) -> None:
    _events(2)
    with database_attacker() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
        cursor.execute("UPDATE audit_audithead SET last_hash = %s", [chain.GENESIS])
    with pytest.raises(ChainBroken, match="emptied"):
        verify_chain()


def test_a_log_written_under_another_key_file_does_not_verify(db: None, settings: Any,
                                                              tmp_path: Path) -> None:
    events = _events(2)
    settings.KEYRING_DEFAULT = tmp_path / "other" / "keyring.json"
    reset_keyring_cache()
    with pytest.raises(ChainBroken) as broken:
        verify_chain()
    assert broken.value.event_id == events[0].pk


def test_the_chain_key_survives_key_rotation(db: None) -> None:
    from zegel.crypto.keyring import get_keyring

    events = _events(2)
    get_keyring().rotate()
    reset_keyring_cache()
    assert verify_chain() == events[-1].hash


# -- Upgrading a log written before the chain was keyed -------------------------------------


def _write_legacy_events(n: int) -> list[str]:
    """Events as the unkeyed release wrote them: version 1, no head seal."""
    AuditHead.objects.get_or_create(pk=1)
    prev, hashes = chain.GENESIS, []
    for i in range(n):
        event = AuditEvent(actor_type="system", action="old.event", data={"n": i},
                           prev_hash=prev, version=chain.LEGACY)
        event.hash = chain.legacy_digest(prev, chain.event_fields(event))
        event.save()
        prev = event.hash
        hashes.append(prev)
    AuditHead.objects.filter(pk=1).update(last_hash=prev)
    return hashes


def _run_seal_migration() -> None:
    """The data step of the upgrade's migration, on the events above."""
    loader = MigrationExecutor(connection).loader
    seal = loader.get_migration("audit", "0004_keyed_chain").operations[-1]
    seal.code(loader.project_state(("audit", "0004_keyed_chain")).apps, None)


def test_the_upgrade_seals_unkeyed_events_and_keeps_verifying_them(db: None) -> None:
    legacy = _write_legacy_events(3)
    _run_seal_migration()
    sealed = AuditEvent.objects.order_by("id").last()
    assert sealed is not None and sealed.action == "audit.keyed"
    assert sealed.prev_hash == legacy[-1] and sealed.data["legacy_events"] == 3
    record("test.event", organisation=None, actor_type="system")
    state = verify_log()
    assert (state.events, state.legacy_events) == (5, 3)


def test_an_unkeyed_event_rehashed_after_the_upgrade_is_caught(db: None) -> None:
    legacy = _write_legacy_events(3)
    _run_seal_migration()
    first = AuditEvent.objects.order_by("id").first()
    assert first is not None
    with database_attacker() as cursor:
        prev = chain.GENESIS
        for event in AuditEvent.objects.filter(version=chain.LEGACY).order_by("id"):
            row = chain.event_fields(event)
            if event.pk == first.pk:
                row["action"] = "forged"
            new_hash = chain.legacy_digest(prev, row)
            cursor.execute("UPDATE audit_auditevent SET action = %s, prev_hash = %s, hash = %s "
                           "WHERE id = %s", [row["action"], prev, new_hash, event.pk])
            prev = new_hash
    assert prev != legacy[-1]
    with pytest.raises(ChainBroken) as broken:
        verify_chain()
    # The keyed seal still names the old end of the unkeyed part.
    assert broken.value.event_id == AuditEvent.objects.get(action="audit.keyed").pk
