"""`zegel user deactivate|reactivate|reset-password EMAIL`."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from zegel.audit.models import AuditEvent
from zegel.cli import main
from zegel.orgs.models import User


def test_deactivate_and_reactivate(sender: User, capsys: pytest.CaptureFixture[str]) -> None:
    client = Client()
    client.force_login(sender)
    assert main(["user", "deactivate", sender.email.upper()]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and f"Deactivated {sender.email}" in captured.err
    assert client.get("/inbox").status_code == 302
    sender.refresh_from_db()
    assert not sender.is_active
    assert main(["user", "reactivate", sender.email]) == 0
    sender.refresh_from_db()
    assert sender.is_active
    assert [e.action for e in AuditEvent.objects.filter(object_type="user").order_by("id")
            if e.action != "user.login"] == ["user.deactivated", "user.reactivated"]


@pytest.mark.parametrize(("argv", "reason"), [
    (["user", "deactivate", "nobody@example.nl"], "No user nobody@example.nl."),
    (["user", "reactivate", "nobody@example.nl"], "No user nobody@example.nl."),
    (["user", "reset-password", "nobody@example.nl"], "No user nobody@example.nl."),
    (["user", "reactivate", "anna@zorggroep-noord.nl"], "active already"),
])
def test_errors_are_one_line_on_stderr(sender: User, argv: list[str], reason: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("zegel: error: ") and captured.err.count("\n") == 1
    assert reason in captured.err


def test_deactivating_twice_is_an_error(sender: User, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "deactivate", sender.email]) == 0
    assert main(["user", "deactivate", sender.email]) == 1
    assert "deactivated already" in capsys.readouterr().err


def test_reset_password_from_a_file_prints_nothing_secret(
        sender: User, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("another long passphrase\n")
    client = Client()
    client.force_login(sender)
    assert main(["user", "reset-password", sender.email, "--password-file",
                 str(password_file)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "another long passphrase" not in captured.err
    sender.refresh_from_db()
    assert sender.check_password("another long passphrase")
    assert client.get("/inbox").status_code == 302


def test_reset_password_without_a_file_prints_only_the_generated_one(
        sender: User, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "reset-password", sender.email]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1 and len(lines[0]) >= 20
    assert lines[0] not in captured.err
    sender.refresh_from_db()
    assert sender.check_password(lines[0]) and not sender.check_password(PASSWORD)
    assert lines[0] not in str(AuditEvent.objects.get(action="user.password_reset").data)


def test_reset_password_refuses_a_weak_or_missing_file(
        sender: User, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weak = tmp_path / "weak"
    weak.write_text("short")
    assert main(["user", "reset-password", sender.email, "--password-file", str(weak)]) == 1
    assert main(["user", "reset-password", sender.email, "--password-file",
                 str(tmp_path / "missing")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 2
    assert "at least 15 characters" in captured.err and "cannot read" in captured.err
    sender.refresh_from_db()
    assert sender.check_password(PASSWORD)


@pytest.mark.parametrize("argv", [
    ["user", "--help"], ["user", "deactivate", "--help"], ["user", "reactivate", "--help"],
    ["user", "reset-password", "--help"], ["token", "--help"], ["token", "create", "--help"],
    ["token", "list", "--help"], ["token", "revoke", "--help"], ["keys", "--help"],
    ["keys", "rotate", "--help"], ["keys", "retire", "--help"],
])
def test_every_operator_verb_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "usage: zegel " + " ".join(argv[:-1]) in capsys.readouterr().out
