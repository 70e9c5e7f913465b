"""`zegel audit verify [--anchor HASH]` and `zegel audit anchor`."""

from __future__ import annotations

import pytest
from django.db import connection

from zegel.audit.log import record
from zegel.audit.models import AuditEvent
from zegel.cli import main


def _events(n: int) -> list[AuditEvent]:
    return [record("test.event", organisation=None, actor_type="system", data={"n": i})
            for i in range(n)]


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("zegel: error: ") and captured.err.count("\n") == 1
    return captured.err


def test_anchor_prints_only_the_head_on_stdout(db: None,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    events = _events(2)
    assert main(["audit", "anchor"]) == 0
    captured = capsys.readouterr()
    assert captured.out == events[-1].hash + "\n"
    assert "verify --anchor" in captured.err


def test_anchor_of_an_empty_log_is_an_error(db: None,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "anchor"]) == 1
    assert "empty" in _one_error_line(capsys)


def test_verify_finds_an_anchor(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    _events(2)
    main(["audit", "anchor"])
    anchor = capsys.readouterr().out.strip()
    newest = _events(1)[-1]
    assert main(["audit", "verify", "--anchor", anchor.upper()]) == 0
    captured = capsys.readouterr()
    assert captured.out == newest.hash + "\n"
    assert "3 events" in captured.err and "anchor" in captured.err


def test_verify_reports_a_missing_anchor_in_one_line(db: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _events(2)
    capsys.readouterr()  # what setting up logged (the new key file), not the command's
    assert main(["audit", "verify", "--anchor", "ab" * 32]) == 1
    assert "not in the audit log" in _one_error_line(capsys)


def test_verify_refuses_what_is_not_a_hash(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--anchor", "not-a-hash"]) == 1
    assert "64 hex digits" in _one_error_line(capsys)


def test_verify_reports_a_broken_chain_in_one_line(db: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    events = _events(3)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s",
                       [events[1].pk])
    capsys.readouterr()  # what setting up logged (the new key file), not the command's
    assert main(["audit", "verify"]) == 1
    assert f"event {events[1].pk}" in _one_error_line(capsys)


@pytest.mark.parametrize("verb", ["verify", "anchor"])
def test_audit_verbs_have_help(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", verb, "--help"])
    assert exit_info.value.code == 0
    assert "usage: zegel audit " + verb in capsys.readouterr().out
