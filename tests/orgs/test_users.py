"""Deactivating, reactivating and resetting the password of staff users."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from tests.conftest import PASSWORD, send
from tests.orgs.race import at_once
from zegel.audit.models import AuditEvent
from zegel.orgs.actions import (
    Refused,
    deactivate_user,
    issue_api_token,
    reactivate_user,
    reset_password,
)
from zegel.orgs.models import ApiToken, User

NEW_PASSWORD = "a brand new passphrase"


def logged_in(user: User, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post("/login", {"username": user.email, "password": password})
    assert response.status_code == 302
    assert client.get("/inbox").status_code == 200
    return client


def assert_sent_to_login(client: Client) -> None:
    response = client.get("/inbox")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_a_deactivated_users_open_session_stops_at_once(sender: User) -> None:
    client = logged_in(sender)
    deactivate_user(sender.email)
    assert_sent_to_login(client)
    assert client.get("/compose").status_code == 302


def test_a_deactivated_users_token_gets_401(sender: User) -> None:
    message = send(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(sender.email)}")
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 200
    deactivate_user(sender.email)
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 401


def test_deactivation_is_audited_and_revokes_the_tokens(sender: User, teammate: User) -> None:
    issue_api_token(sender.email)
    issue_api_token(sender.email)
    issue_api_token(teammate.email)
    logged_in(sender)
    deactivate_user(sender.email.upper())
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.object_id == str(sender.pk) and event.actor_type == "system"
    assert event.data == {"email": sender.email, "tokens_revoked": 2, "sessions_ended": 1}
    assert not ApiToken.objects.filter(user=sender, revoked_at__isnull=True).exists()
    assert ApiToken.objects.get(user=teammate).revoked_at is None


def test_a_deactivated_user_cannot_log_in(sender: User) -> None:
    deactivate_user(sender.email)
    response = Client().post("/login", {"username": sender.email, "password": PASSWORD})
    assert response.status_code == 200  # the form again


def test_reactivation_restores_log_in_but_not_tokens_or_old_sessions(sender: User) -> None:
    message = send(sender)
    old_session = logged_in(sender)
    token = issue_api_token(sender.email)
    deactivate_user(sender.email)
    reactivate_user(sender.email)
    assert AuditEvent.objects.filter(action="user.reactivated", object_id=sender.pk).count() == 1
    logged_in(sender)
    assert_sent_to_login(old_session)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 401


def test_a_session_saved_while_deactivated_does_not_open_after_reactivation(sender: User) -> None:
    deactivate_user(sender.email)
    # A log-in whose password check passed just before the deactivation, saving its session
    # just after it.
    late = Client()
    late.force_login(sender)
    reactivate_user(sender.email)
    assert_sent_to_login(late)
    event = AuditEvent.objects.get(action="user.reactivated")
    assert event.data == {"email": sender.email, "sessions_ended": 1}


def test_it_refuses_unknown_users_and_repeated_changes(sender: User) -> None:
    with pytest.raises(Refused, match=r"No user nobody@example\.nl"):
        deactivate_user("nobody@example.nl")
    with pytest.raises(Refused, match="active already"):
        reactivate_user(sender.email)
    deactivate_user(sender.email)
    with pytest.raises(Refused, match="deactivated already"):
        deactivate_user(sender.email)
    with pytest.raises(Refused, match="deactivated"):
        issue_api_token(sender.email)
    assert AuditEvent.objects.filter(action="user.deactivated").count() == 1


def test_a_password_reset_ends_the_users_sessions(sender: User, teammate: User) -> None:
    first, second = logged_in(sender), logged_in(sender)
    colleague = logged_in(teammate)
    reset_password(sender.email, NEW_PASSWORD)
    assert_sent_to_login(first)
    assert_sent_to_login(second)
    assert colleague.get("/inbox").status_code == 200
    refused = Client().post("/login", {"username": sender.email, "password": PASSWORD})
    assert refused.status_code == 200
    logged_in(sender, NEW_PASSWORD)


def test_a_password_reset_is_audited_without_the_password(sender: User) -> None:
    reset_password(sender.email, NEW_PASSWORD)
    event = AuditEvent.objects.get(action="user.password_reset")
    assert event.object_id == str(sender.pk)
    assert NEW_PASSWORD not in str(event.data) and "pbkdf2" not in str(event.data)


def test_a_weak_password_is_refused_and_the_old_one_stays(sender: User) -> None:
    with pytest.raises(Refused, match="at least 15 characters"):
        reset_password(sender.email, "short")
    sender.refresh_from_db()
    assert sender.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="user.password_reset").exists()


def test_a_session_cut_by_a_direct_database_edit_stops_too(sender: User) -> None:
    client = logged_in(sender)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_user SET is_active = %s WHERE id = %s", [False, sender.pk])
    assert_sent_to_login(client)


@pytest.mark.django_db(transaction=True)
def test_two_operators_deactivating_at_once_write_one_event(sender: User) -> None:
    issue_api_token(sender.email)
    results = at_once(lambda: deactivate_user(sender.email))
    assert sum(isinstance(r, User) for r in results) == 1, results
    assert all(isinstance(r, Refused) for r in results if not isinstance(r, User)), results
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.data["tokens_revoked"] == 1
    assert not Session.objects.exists()
