"""The `zegel` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from zegel.cli import main
from zegel.orgs.models import ApiToken, Organisation, User, hash_token


def test_createorg_createuser_and_token(db: None, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["createorg", "--name", "Zorggroep Noord", "--domain", "Zorggroep-Noord.nl"]) == 0
    assert Organisation.objects.get().domain == "zorggroep-noord.nl"
    password = tmp_path / "pw"
    password.write_text("a long enough passphrase\n")
    assert main(["createuser", "--org", "zorggroep-noord.nl", "--email", "Anna@Zorggroep-Noord.nl",
                 "--password-file", str(password), "--admin"]) == 0
    user = User.objects.get()
    assert user.email == "anna@zorggroep-noord.nl" and user.is_admin
    assert user.check_password("a long enough passphrase")
    capsys.readouterr()
    assert main(["token", "create", "anna@zorggroep-noord.nl"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("zgl_")
    assert ApiToken.objects.get().token_hash == hash_token(out.strip())


@pytest.mark.parametrize("argv", [
    ["createorg", "--name", "X", "--domain", "no-dot"],
    ["createuser", "--org", "unknown.nl", "--email", "a@b.nl"],
    ["token", "create", "nobody@example.nl"],
    ["serve", "127.0.0.1:0", "--threads", "0"],
    ["serve", "127.0.0.1:0", "--workers", "0"],
])
def test_errors_are_one_line_and_non_zero(db: None, argv: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("zegel: error: ") and err.count("\n") == 1


def test_weak_password_is_refused(db: None, tmp_path: Path) -> None:
    main(["createorg", "--name", "X", "--domain", "x.nl"])
    password = tmp_path / "pw"
    password.write_text("short")
    assert main(["createuser", "--org", "x.nl", "--email", "a@x.nl",
                 "--password-file", str(password)]) == 1
    assert not User.objects.exists()


def test_keys_rotate_rewraps_and_old_content_stays_readable(db: None) -> None:
    from tests.conftest import send
    from zegel.keystore.models import DataKey
    from zegel.messaging.content import open_message
    from zegel.messaging.models import Message

    main(["createorg", "--name", "X", "--domain", "x.nl"])
    user = User.objects.create_user("a@x.nl", Organisation.objects.get(), "x" * 12)
    send(user, body="Voor de rotatie")
    before = set(DataKey.objects.values_list("kek_id", flat=True))
    assert main(["keys", "rotate"]) == 0
    after = set(DataKey.objects.values_list("kek_id", flat=True))
    assert before != after and len(after) == 1
    assert open_message(Message.objects.get()).body == "Voor de rotatie"


def test_help_for_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    for verb in ("migrate", "serve", "worker", "demo", "createorg", "createuser"):
        with pytest.raises(SystemExit) as exit_info:
            main([verb, "--help"])
        assert exit_info.value.code == 0


def test_the_demo_data_is_made_once_and_audited(db: None) -> None:
    from zegel.audit.models import AuditEvent
    from zegel.cli import DEMO_ADMIN, DEMO_PASSWORD, DEMO_SENDER, ensure_demo

    ensure_demo()
    ensure_demo()
    assert Organisation.objects.get().domain == "demo.zegel.test"
    assert User.objects.get(email=DEMO_SENDER).check_password(DEMO_PASSWORD)
    # README.md tells people this password.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"password `{DEMO_PASSWORD}`" in readme
    assert User.objects.get(email=DEMO_SENDER).role == "member"
    assert User.objects.get(email=DEMO_ADMIN).role == "admin"
    assert User.objects.count() == 2
    assert AuditEvent.objects.filter(action="org.created").count() == 1
    assert AuditEvent.objects.filter(action="user.created").count() == 2


@pytest.mark.django_db(transaction=True)
def test_serve_forks_its_workers_with_no_database_connection_open(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connection
    from gunicorn.app.base import BaseApplication

    from zegel import cli

    open_at_fork: list[bool] = []
    monkeypatch.setattr(BaseApplication, "run",
                        lambda self: open_at_fork.append(connection.connection is not None))
    connection.ensure_connection()
    cli._serve("127.0.0.1:0", 1, 1)
    assert open_at_fork == [False]
