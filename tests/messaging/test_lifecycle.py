"""Revoking for recipients or for everyone, now or scheduled; the periodic job that applies
schedules, end dates and the retention period (docs/lifecycle.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.crypto.keyring import get_keyring
from zegel.crypto.stream import decrypt_bytes
from zegel.keystore.keys import ShreddedError
from zegel.keystore.models import DataKey
from zegel.messaging import actions, content
from zegel.messaging.models import Attachment, Conversation, Message
from zegel.orgs.models import ApiToken, User


@pytest.fixture(autouse=True)
def _contact(sender: User, settings: Any) -> None:
    """How recipients reach the organisation, for the pages that tell them; in English."""
    settings.LANGUAGE_CODE = "en"
    sender.organisation.contact_phone = "050 123 4567"
    sender.organisation.save(update_fields=["contact_phone"])


def _verified_guest(token: str) -> Client:
    guest = Client()
    guest.post(f"/m/{token}/code")
    assert guest.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    return guest


def _audits(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def _flash(client: Client, response: Any) -> str:
    """The page the form redirected to, where its message is shown."""
    assert response.status_code == 302
    return client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()


# --- For recipients ---------------------------------------------------------------------

def test_revoke_for_recipients_ends_every_session_and_keeps_the_content(
        sender: User, sender_client: Client) -> None:
    attachment = make_attachment(sender, b"dossier bytes")
    message = send(sender, attachments=[attachment])
    token = deliver_and_get_link()
    guest = _verified_guest(token)
    assert guest.get(f"/m/{token}").status_code == 200
    response = sender_client.post(f"/c/{message.conversation_id}/revoke",
                                  {"scope": "recipients", "when": "now"})
    page = _flash(sender_client, response)
    # The sender reads on; the conversation says what happened.
    assert "hierbij de uitslag" in page and 'data-closed="revoked"' in page
    assert sender_client.get(f"/c/{message.conversation_id}/a/{attachment.pk}").status_code == 200
    # The guest verified before: every next step is refused with the plain page.
    for refused in (guest.get(f"/m/{token}", HTTP_ACCEPT_LANGUAGE="en"),
                    guest.get(f"/m/{token}/a/{attachment.pk}", HTTP_ACCEPT_LANGUAGE="en"),
                    guest.post(f"/m/{token}/reply", {"body": "Dank u"},
                               HTTP_ACCEPT_LANGUAGE="en")):
        assert refused.status_code == 410
        assert b"withdrawn by the sender" in refused.content
        assert b"050 123 4567" in refused.content  # how to reach the organisation
        assert b"hierbij de uitslag" not in refused.content
    assert Message.objects.count() == 1  # the reply did not go in
    assert DataKey.objects.filter(shredded_at__isnull=False).count() == 0
    assert _audits("conversation.revoked_for_recipients") == 1
    with pytest.raises(actions.ActionError):
        actions.resend_notification(sender=sender, recipient=message.conversation
                                    .recipients.get())
    # Again: nothing more happens, nothing more is recorded.
    actions.revoke_for_recipients(sender=sender, conversation=message.conversation)
    assert _audits("conversation.revoked_for_recipients") == 1


def test_the_end_date_refuses_a_verified_session_before_the_job_runs(sender: User) -> None:
    attachment = make_attachment(sender, b"dossier bytes")
    message = send(sender, attachments=[attachment])
    token = deliver_and_get_link()
    guest = _verified_guest(token)
    Conversation.objects.filter(pk=message.conversation_id).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    for refused in (guest.get(f"/m/{token}", HTTP_ACCEPT_LANGUAGE="en"),
                    guest.get(f"/m/{token}/a/{attachment.pk}", HTTP_ACCEPT_LANGUAGE="en"),
                    guest.post(f"/m/{token}/reply", {"body": "Dank u"},
                               HTTP_ACCEPT_LANGUAGE="en")):
        assert refused.status_code == 410
        assert b"This message was available until" in refused.content
        assert b"050 123 4567" in refused.content and b"hierbij" not in refused.content
    assert Message.objects.count() == 1
    assert Conversation.objects.get().closed_at is None  # the job has not run: still refused


def test_for_everyone_still_destroys_after_for_recipients(sender: User,
                                                         sender_client: Client) -> None:
    message = send(sender)
    actions.revoke_for_recipients(sender=sender, conversation=message.conversation)
    page = sender_client.get(f"/c/{message.conversation_id}").content.decode()
    assert 'id="scope-recipients"' not in page and 'id="scope-everyone"' in page
    sender_client.post(f"/c/{message.conversation_id}/revoke",
                       {"scope": "everyone", "when": "now", "confirm": "yes"})
    conversation = Conversation.objects.get()
    assert conversation.revoked_at is not None and conversation.shredded_reason == "revoked"


def test_the_page_refuses_bad_revoke_forms(sender: User, sender_client: Client) -> None:
    message = send(sender)
    url = f"/c/{message.conversation_id}/revoke"
    cases = [
        ({"scope": "everyone", "when": "now"}, "Tick the box to confirm"),
        ({"scope": "somebody", "when": "now"}, "for recipients or for everyone"),
        ({"scope": "recipients", "when": "soon"}, "Choose when"),
        ({"scope": "recipients", "when": "on", "on_date": "2001-01-01"},
         "Choose a moment in the future"),
        ({"scope": "recipients", "when": "on", "on_date": "15 januari"}, "2027-01-15"),
        ({"scope": "recipients", "when": "on", "on_date": "2099-01-15", "on_time": "25:00"},
         "09:00"),
        ({"scope": "recipients", "when": "after", "after_days": "0"}, "from 1 to 3650"),
        ({"scope": "recipients", "when": "after", "after_days": "99999"}, "from 1 to 3650"),
        ({"scope": "recipients", "when": "after", "after_days": "veertien"}, "from 1 to 3650"),
    ]
    for form, said in cases:
        assert said in _flash(sender_client, sender_client.post(url, form)), form
    conversation = Conversation.objects.get()
    assert conversation.closed_at is None and conversation.revoked_at is None
    assert conversation.revoke_scheduled_at is None
    assert _audits("conversation.revoke_scheduled") == 0


# --- Schedules ---------------------------------------------------------------------------

def test_a_schedule_on_the_page_is_in_amsterdam_time_and_can_be_cancelled(
        sender: User, sender_client: Client) -> None:
    message = send(sender)
    url = f"/c/{message.conversation_id}/revoke"
    year = timezone.now().year + 1
    page = _flash(sender_client, sender_client.post(url, {
        "scope": "everyone", "when": "on", "on_date": f"{year}-01-15", "on_time": "09:00",
        "confirm": "yes"}))
    conversation = Conversation.objects.get()
    # 09:00 in Amsterdam in winter is 08:00 UTC.
    assert conversation.revoke_scheduled_at == datetime(year, 1, 15, 8, 0, tzinfo=UTC)
    assert conversation.revoke_scheduled_scope == "everyone"
    assert f"15 January {year}, 09:00" in page and 'data-revoke-scheduled="everyone"' in page
    # Replaced by "after 14 days", for recipients.
    sender_client.post(url, {"scope": "recipients", "when": "after", "after_days": "14"})
    conversation.refresh_from_db()
    assert conversation.revoke_scheduled_scope == "recipients"
    assert conversation.revoke_scheduled_at is not None
    assert abs(conversation.revoke_scheduled_at - (timezone.now() + timedelta(days=14))) \
        < timedelta(minutes=1)
    page = _flash(sender_client, sender_client.post(f"{url}/cancel"))
    assert "The scheduled revoke was cancelled." in page
    conversation.refresh_from_db()
    assert conversation.revoke_scheduled_at is None and conversation.revoke_scheduled_scope == ""
    assert "No revoke was scheduled." in _flash(sender_client,
                                                sender_client.post(f"{url}/cancel"))
    scheduled = AuditEvent.objects.filter(action="conversation.revoke_scheduled").order_by("id")
    assert [e.data["scope"] for e in scheduled] == ["everyone", "recipients"]
    assert scheduled[1].data["replaced"]["scope"] == "everyone"
    assert _audits("conversation.revoke_schedule_cancelled") == 1
    assert conversation.closed_at is None and conversation.revoked_at is None


@pytest.mark.parametrize("scope", ["recipients", "everyone"])
def test_the_job_applies_a_due_schedule_once(scope: str, sender: User) -> None:
    message = send(sender)
    token = deliver_and_get_link()
    actions.schedule_revocation(sender=sender, conversation=message.conversation, scope=scope,
                                at=timezone.now() + timedelta(hours=1))
    assert actions.apply_due().scheduled == 0  # not due yet
    assert Client().get(f"/m/{token}").status_code == 200
    Conversation.objects.update(revoke_scheduled_at=timezone.now() - timedelta(seconds=1))
    assert actions.apply_due().scheduled == 1
    assert actions.apply_due().scheduled == 0
    conversation = Conversation.objects.get()
    assert conversation.revoke_scheduled_at is None
    assert Client().get(f"/m/{token}").status_code == 410
    action = ("conversation.revoked" if scope == "everyone"
              else "conversation.revoked_for_recipients")
    event = AuditEvent.objects.get(action=action)
    assert event.actor_type == "system" and event.data["scheduled_for"]
    if scope == "everyone":
        assert conversation.revoked_at is not None
        assert DataKey.objects.get(pk=message.key_id).shredded_at is not None
    else:
        assert conversation.closed_at is not None and conversation.revoked_at is None
        assert content.open_message(Message.objects.get()).body


def test_the_job_catches_up_in_batches_and_one_failure_holds_nothing_back(
        sender: User, monkeypatch: pytest.MonkeyPatch) -> None:
    # Downtime: seven conversations whose end date passed at different moments.
    messages = [send(sender, subject=f"Oud {n}") for n in range(7)]
    for n, message in enumerate(messages):
        Conversation.objects.filter(pk=message.conversation_id).update(
            expires_at=timezone.now() - timedelta(days=10 - n))
    broken = messages[2].conversation_id
    real = actions.lifecycle_due.close_for_recipients

    def fail_one(conversation: Conversation, **kwargs: Any) -> bool:
        if conversation.pk == broken:
            raise OSError("disk on fire")
        return real(conversation, **kwargs)

    monkeypatch.setattr(actions.lifecycle_due, "close_for_recipients", fail_one)
    applied = actions.apply_due(batch=2)
    assert applied.expired == 6 and applied.failed == [broken]
    monkeypatch.setattr(actions.lifecycle_due, "close_for_recipients", real)
    assert actions.apply_due(batch=2).expired == 1  # the next run tries it again
    assert Conversation.objects.filter(closed_at__isnull=True).count() == 0
    assert _audits("conversation.expired") == 7


def test_a_bounded_run_leaves_the_rest_for_the_next(sender: User) -> None:
    for n in range(3):
        send(sender, subject=f"Oud {n}")
    Conversation.objects.update(expires_at=timezone.now() - timedelta(days=1))
    assert actions.apply_due(batch=1, max_batches=2).expired == 2
    assert actions.apply_due(batch=1, max_batches=2).expired == 1


def test_a_schedule_in_the_past_or_on_a_revoked_conversation_is_refused(sender: User) -> None:
    message = send(sender)
    with pytest.raises(actions.ActionError, match="future") as past:
        actions.schedule_revocation(sender=sender, conversation=message.conversation,
                                    scope="everyone", at=timezone.now() - timedelta(seconds=1))
    assert past.value.field == "at"
    with pytest.raises(actions.ActionError) as scope:
        actions.schedule_revocation(sender=sender, conversation=message.conversation,
                                    scope="nobody", at=timezone.now() + timedelta(days=1))
    assert scope.value.field == "scope"
    actions.revoke_conversation(sender=sender, conversation=message.conversation)
    with pytest.raises(actions.ActionError) as revoked:
        actions.schedule_revocation(sender=sender, conversation=message.conversation,
                                    scope="recipients", at=timezone.now() + timedelta(days=1))
    assert revoked.value.status == 409


# --- Retention ---------------------------------------------------------------------------

def test_retention_shreds_for_everyone_and_the_blob_no_longer_decrypts(
        sender: User, sender_client: Client, settings: Any) -> None:
    attachment = make_attachment(sender, b"dossier bytes")
    message = send(sender, attachments=[attachment])
    token = deliver_and_get_link()
    guest = _verified_guest(token)
    recent = send(sender, subject="Nieuw")
    # A backup of the file as stored, taken before the retention period ran out.
    backup = next(p for p in Path(settings.BLOB_DIR).rglob(f"*{attachment.blob_id}*")
                  if p.is_file()).read_bytes()
    sender.organisation.retention_days = 30
    sender.organisation.save(update_fields=["retention_days"])
    Conversation.objects.filter(pk=message.conversation_id).update(
        last_activity_at=timezone.now() - timedelta(days=31))
    assert actions.apply_due().retention == 1
    assert actions.apply_due().retention == 0
    conversation = Conversation.objects.get(pk=message.conversation_id)
    assert conversation.shredded_reason == "retention"
    assert content.open_message(Message.objects.get(pk=recent.pk)).subject == "Nieuw"
    with pytest.raises(ShreddedError):
        content.open_message(Message.objects.get(pk=message.pk))
    with pytest.raises(ShreddedError):
        content.open_attachment(Attachment.objects.get(pk=attachment.pk))
    # Whatever data key the key file still unwraps, none opens the backed-up file.
    keyring = get_keyring()
    for key in DataKey.objects.exclude(wrapped=b""):
        try:
            dek = keyring.unwrap(key.kek_id, bytes(key.wrapped), context=bytes(key.context))
        except Exception:  # noqa: S112 - a key wrapped for another owner: skip it
            continue
        with pytest.raises(Exception):  # noqa: B017 - any failure: the point is no plaintext
            decrypt_bytes(dek, bytes.fromhex(attachment.blob_id), backup)
    # The recipient who had it open is told plainly, without a date it may never have had.
    page = guest.get(f"/m/{token}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 410 and b"This message is no longer available" in page.content
    assert b"050 123 4567" in page.content
    event = AuditEvent.objects.get(action="conversation.retention_shredded")
    assert event.actor_type == "system" and event.data["retention_days"] == 30


# --- The API -----------------------------------------------------------------------------

def _api(sender: User) -> tuple[Client, str]:
    _t, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    sent = api.post("/api/v1/messages", json.dumps({
        "subject": "x", "body": "y",
        "recipients": [{"email": "a@example.nl", "verification": "email"}]}),
        content_type="application/json").json()
    return api, sent["id"]


def _revoke(api: Client, message_id: str, body: dict[str, Any]) -> Any:
    return api.post(f"/api/v1/messages/{message_id}/revoke", json.dumps(body),
                    content_type="application/json")


def test_the_api_revokes_for_recipients_and_keeps_the_content(sender: User) -> None:
    api, message_id = _api(sender)
    response = _revoke(api, message_id, {"scope": "recipients"})
    assert response.status_code == 200
    body = response.json()
    assert body["revoked_at"] is None
    assert body["lifecycle"]["recipients_revoked_at"] is not None
    assert body["lifecycle"]["ended_by"] == "revoked"
    assert body["recipients"][0]["status"] == "revoked"
    assert DataKey.objects.filter(shredded_at__isnull=False).count() == 0
    assert api.get(f"/api/v1/messages/{message_id}").json()["lifecycle"]["shredded_at"] is None


def test_the_api_schedules_in_utc_and_cancels(sender: User) -> None:
    api, message_id = _api(sender)
    year = timezone.now().year + 1
    response = _revoke(api, message_id, {"scope": "everyone",
                                         "at": f"{year}-01-15T09:00:00+01:00"})
    assert response.status_code == 200
    assert response.json()["lifecycle"]["scheduled_revoke"] == {
        "scope": "everyone", "at": f"{year}-01-15T08:00:00Z"}  # answered in UTC
    response = _revoke(api, message_id, {"scope": "recipients", "after_days": 14})
    assert response.json()["lifecycle"]["scheduled_revoke"]["scope"] == "recipients"
    cancelled = api.delete(f"/api/v1/messages/{message_id}/revoke-schedule")
    assert cancelled.status_code == 200 and cancelled.json()["scheduled_revoke"] is None
    again = api.delete(f"/api/v1/messages/{message_id}/revoke-schedule")
    assert again.status_code == 200
    assert _audits("conversation.revoke_schedule_cancelled") == 1
    assert api.delete("/api/v1/messages/not-an-id/revoke-schedule").status_code == 404
    assert Conversation.objects.get().revoked_at is None


def test_the_api_refuses_bad_revokes(sender: User) -> None:
    api, message_id = _api(sender)
    past = _revoke(api, message_id, {"at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400 and past.json()["field"] == "at"
    for body in ({"scope": "somebody"}, {"after_days": 0}, {"after_days": 4000},
                 {"at": "tomorrow"}, {"at": "2099-01-01T00:00:00Z", "after_days": 3},
                 {"at": "2099-01-15T09:00:00"},  # no zone: which 09:00?
                 {"scope": "everyone", "when": "now"}):
        assert _revoke(api, message_id, body).status_code == 422, body
    form = api.post(f"/api/v1/messages/{message_id}/revoke", {"scope": "recipients"})
    assert form.status_code == 415  # a form body is refused, not read as "for everyone"
    conversation = Conversation.objects.get()
    assert conversation.revoked_at is None and conversation.closed_at is None
    assert conversation.revoke_scheduled_at is None
