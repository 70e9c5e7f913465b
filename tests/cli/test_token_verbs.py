"""`zegel token create|list|revoke`."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import send
from zegel.audit.models import AuditEvent
from zegel.cli import main
from zegel.orgs.models import ApiToken, User


def create(email: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["token", "create", email, *extra]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return out.strip()


def test_list_shows_ids_and_state_but_never_a_token(sender: User,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    message = send(sender)
    first = create(sender.email, capsys, "--label", "EPD")
    second = create(sender.email, capsys)
    Client(HTTP_AUTHORIZATION=f"Bearer {first}").get(f"/api/v1/messages/{message.pk}")
    assert main(["token", "revoke", second]) == 0
    capsys.readouterr()
    assert main(["token", "list", sender.email]) == 0
    out = capsys.readouterr().out
    header, row1, row2 = out.splitlines()
    assert header.split() == ["ID", "PREFIX", "CREATED", "LAST", "USED", "REVOKED", "EXPIRES",
                              "SCOPE", "LABEL"]
    ids = [str(t.pk) for t in ApiToken.objects.order_by("pk")]
    assert row1.split()[0] == ids[0] and row1.endswith("EPD")
    assert row1.split()[1] == first[:12] + "..."
    # Used, not revoked; then: never used, revoked.
    assert row1.split()[6] == "-" and row1.split()[4] != "-"
    assert row2.split()[4] == "-" and row2.split()[5] != "-"
    assert first not in out and second not in out


def test_list_of_a_user_without_tokens_says_so(sender: User,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "list", sender.email]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "has no API tokens" in captured.err


@pytest.mark.parametrize("by", ["token", "id"])
def test_revoke_by_token_or_by_listed_id(sender: User, by: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    message = send(sender)
    secret = create(sender.email, capsys)
    token = ApiToken.objects.get()
    assert main(["token", "revoke", secret if by == "token" else str(token.pk)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and f"Revoked API token {token.pk}" in captured.err
    assert secret not in captured.err
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_revoke_errors_are_one_line(sender: User, capsys: pytest.CaptureFixture[str]) -> None:
    secret = create(sender.email, capsys)
    assert main(["token", "revoke", "zgl_not-a-token"]) == 1
    assert main(["token", "revoke", "424242"]) == 1
    assert main(["token", "revoke", secret]) == 0
    assert main(["token", "revoke", secret]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == "zegel: error: No such API token."
    assert lines[1] == "zegel: error: No such API token."
    assert lines[3].startswith("zegel: error: ") and "revoked already" in lines[3]
    assert "not-a-token" not in captured.err and secret not in captured.err


@pytest.mark.parametrize("argv", [
    ["token", "create", "nobody@example.nl"],
    ["token", "list", "nobody@example.nl"],
])
def test_unknown_user_is_a_one_line_error(db: None, argv: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "zegel: error: No user nobody@example.nl.\n"


def test_a_deactivated_user_gets_no_new_token(sender: User,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "deactivate", sender.email]) == 0
    assert main(["token", "create", sender.email]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "deactivated" in captured.err
    assert not ApiToken.objects.exists()


def test_create_with_scope_and_expiry_shows_them_in_the_list(
        sender: User, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    create(sender.email, capsys, "--scope", "read", "--expires", "90d", "--label", "dashboard")
    token = ApiToken.objects.get()
    assert token.scopes == "read" and token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    create(sender.email, capsys, "--expires", "2099-03-01")
    assert main(["token", "list", sender.email]) == 0
    _header, row1, row2 = capsys.readouterr().out.splitlines()
    assert row1.split()[-2:] == ["read", "dashboard"]
    assert row2.split()[-1] == "send,read" and "2099-03-01 00:00" in row2


@pytest.mark.parametrize(("argv", "says"), [
    (["--expires", "soon"], "--expires takes 90d, 12h or a date"),
    (["--expires", "2001-01-01"], "in the future"),
    (["--scope", "send,admin"], "not an admin"),
    (["--scope", "everything"], "Scopes are send, read and admin"),
])
def test_create_refuses_bad_scope_or_expiry(sender: User, argv: list[str], says: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", sender.email, *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and says in captured.err
    assert len(captured.err.splitlines()) == 1
    assert not ApiToken.objects.exists()
