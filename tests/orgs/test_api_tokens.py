"""Issuing, listing and revoking API tokens."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation

from tests.conftest import send
from tests.orgs.race import at_once
from zegel.audit.models import AuditEvent
from zegel.orgs.actions import Refused, issue_api_token, list_api_tokens, revoke_api_token
from zegel.orgs.models import ApiToken, User, hash_token


def status(token: str, path: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(path).status_code


@pytest.fixture
def message_path(sender: User) -> str:
    return f"/api/v1/messages/{send(sender).pk}"


def test_an_issued_token_works_and_is_audited_without_the_secret(sender: User,
                                                                  message_path: str) -> None:
    secret = issue_api_token(sender.email, label="EPD-koppeling")
    assert secret.startswith("zgl_") and status(secret, message_path) == 200
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(secret) and token.label == "EPD-koppeling"
    event = AuditEvent.objects.get(action="token.created")
    assert event.object_id == str(token.pk)
    # No part of the token, not even its hash.
    assert event.data == {"user": sender.email, "scopes": "send,read", "expires_at": None}


def test_the_list_shows_every_token_but_no_secret(sender: User, teammate: User,
                                                  message_path: str) -> None:
    first = issue_api_token(sender.email, label="eerste")
    issue_api_token(sender.email, label="tweede")
    issue_api_token(teammate.email)
    status(first, message_path)
    revoke_api_token(first)
    tokens = list_api_tokens(sender.email.upper())
    assert [t.label for t in tokens] == ["eerste", "tweede"]
    assert tokens[0].last_used_at is not None and tokens[0].revoked_at is not None
    assert tokens[1].last_used_at is None and tokens[1].revoked_at is None
    assert all(first not in repr(t) for t in tokens)
    # The requests above switched to the site's language (LocaleMiddleware); switch back.
    with translation.override("en"), pytest.raises(Refused, match="No user"):
        list_api_tokens("nobody@example.nl")


@pytest.mark.parametrize("by", ["id", "id as text", "token"])
def test_a_revoked_token_gets_401(sender: User, message_path: str, by: str) -> None:
    secret = issue_api_token(sender.email)
    other = issue_api_token(sender.email)
    token = ApiToken.objects.get(token_hash=hash_token(secret))
    reference = {"id": token.pk, "id as text": str(token.pk), "token": secret}[by]
    assert revoke_api_token(reference).pk == token.pk
    assert status(secret, message_path) == 401
    assert status(other, message_path) == 200
    event = AuditEvent.objects.get(action="token.revoked")
    assert event.object_id == str(token.pk) and event.data == {"user": sender.email}


def test_it_refuses_unknown_and_already_revoked_tokens(sender: User) -> None:
    secret = issue_api_token(sender.email)
    with pytest.raises(Refused, match="No such API token") as unknown:
        revoke_api_token("zgl_" + "x" * 43)
    assert "xxxx" not in unknown.value.message
    with pytest.raises(Refused, match="No such API token"):
        revoke_api_token(999_999)
    revoke_api_token(secret)
    with pytest.raises(Refused, match="revoked already"):
        revoke_api_token(secret)
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_a_token_revoked_by_a_direct_database_edit_stops_too(sender: User,
                                                             message_path: str) -> None:
    secret = issue_api_token(sender.email)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_apitoken SET revoked_at = CURRENT_TIMESTAMP")
    assert status(secret, message_path) == 401


@pytest.mark.django_db(transaction=True)
def test_two_operators_revoking_at_once_write_one_event(sender: User) -> None:
    secret = issue_api_token(sender.email)
    results = at_once(lambda: revoke_api_token(secret))
    assert sum(isinstance(r, ApiToken) for r in results) == 1, results
    assert all(isinstance(r, Refused) for r in results if not isinstance(r, ApiToken)), results
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_a_token_gets_only_the_scopes_asked_and_admin_only_for_admins(sender: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    reader = issue_api_token(sender.email, scopes=("read",))
    assert ApiToken.objects.get(token_hash=hash_token(reader)).scopes == "read"
    with pytest.raises(Refused, match="not an admin"):
        issue_api_token(sender.email, scopes=("send", "admin"))
    with pytest.raises(Refused, match="Scopes are send, read and admin"):
        issue_api_token(sender.email, scopes=("write",))
    with pytest.raises(Refused, match="in the future"):
        issue_api_token(sender.email, expires_at=timezone.now() - timedelta(minutes=1))
    assert ApiToken.objects.count() == 1
    sender.role = "admin"
    sender.save()
    later = timezone.now() + timedelta(days=90)
    admin = issue_api_token(sender.email, scopes=("admin", "send"), expires_at=later)
    token = ApiToken.objects.get(token_hash=hash_token(admin))
    assert token.scopes == "send,admin" and token.expires_at == later
    event = AuditEvent.objects.filter(action="token.created").latest("id")
    assert event.data == {"user": sender.email, "scopes": "send,admin",
                          "expires_at": later.isoformat()}


def test_last_used_is_written_at_most_once_a_minute(sender: User, message_path: str) -> None:
    from datetime import timedelta

    from django.test.utils import CaptureQueriesContext

    secret = issue_api_token(sender.email)
    assert status(secret, message_path) == 200
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        assert status(secret, message_path) == 200
    assert not [q for q in queries if "last_used_at" in q["sql"] and "UPDATE" in q["sql"]]
    assert ApiToken.objects.get().last_used_at == first
    # A minute later the next request notes the use again.
    ApiToken.objects.update(last_used_at=first - timedelta(seconds=61))
    assert status(secret, message_path) == 200
    assert ApiToken.objects.get().last_used_at > first
