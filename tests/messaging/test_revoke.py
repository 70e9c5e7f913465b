"""Revoking: one recipient, or everyone with the content destroyed (crypto-shredding)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.keystore.models import DataKey
from zegel.messaging import actions
from zegel.messaging.models import Message, Recipient
from zegel.orgs.models import ApiToken, User


def _read(token: str) -> Client:
    client = Client()
    client.post(f"/m/{token}/code")
    client.post(f"/m/{token}/verify", {"code": latest_sms_code()})
    return client


def test_revoke_for_everyone_destroys_keys_and_blobs(
        sender: User, sender_client: Client, settings: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    attachment = make_attachment(sender, b"dossier bytes")
    message = send(sender, attachments=[attachment])
    token = deliver_and_get_link()
    guest = _read(token)
    assert b"hierbij de uitslag" in guest.get(f"/m/{token}").content
    refused = sender_client.post(f"/c/{message.conversation_id}/revoke")
    assert refused.status_code == 302
    assert Message.objects.get().conversation.revoked_at is None  # not confirmed: nothing done
    with django_capture_on_commit_callbacks(execute=True):
        sender_client.post(f"/c/{message.conversation_id}/revoke", {"confirm": "yes"})
    assert all(k.shredded_at and not bytes(k.wrapped) for k in DataKey.objects.filter(
        pk__in=[message.key_id, attachment.key_id]))
    blobs = [p for p in Path(settings.BLOB_DIR).rglob("*") if p.is_file()]
    assert blobs == []
    # The guest's session and link are dead: the page says the message was withdrawn.
    assert guest.get(f"/m/{token}").status_code == 410
    page = sender_client.get(f"/c/{message.conversation_id}")
    assert page.status_code == 200 and b"data-revoked" in page.content
    assert b"hierbij de uitslag" not in page.content
    assert sender_client.get(f"/c/{message.conversation_id}/a/{attachment.pk}").status_code == 404
    assert b"Uw uitslag" not in sender_client.get("/sent").content
    answer = sender_client.post(f"/c/{message.conversation_id}", {"body": "Nog iets"})
    assert answer.status_code == 400
    assert AuditEvent.objects.filter(action="conversation.revoked").count() == 1


def test_revoke_one_recipient_keeps_the_others(sender: User, sender_client: Client) -> None:
    message = send(sender, recipients=[
        actions.RecipientSpec(email="piet@example.nl", method="sms", phone="0612345678"),
        actions.RecipientSpec(email="klaas@example.nl", method="access_code",
                              access_code="geheim-123"),
    ])
    piet = deliver_and_get_link("piet@example.nl")
    klaas = deliver_and_get_link("klaas@example.nl")
    recipient = Recipient.objects.get(email="piet@example.nl")
    sender_client.post(f"/c/{message.conversation_id}/recipients/{recipient.pk}/revoke")
    assert Client().get(f"/m/{piet}").status_code == 410
    assert Client().get(f"/m/{klaas}").status_code == 200
    assert b'data-event="revoked"' in sender_client.get(f"/c/{message.conversation_id}").content


def test_others_cannot_revoke(sender: User, teammate: User, outsider: User) -> None:
    message = send(sender)
    recipient = Recipient.objects.get()
    for user in (teammate, outsider):
        client = Client()
        client.force_login(user)
        assert client.post(f"/c/{message.conversation_id}/revoke",
                           {"confirm": "yes"}).status_code == 404
        assert client.post(f"/c/{message.conversation_id}/recipients/{recipient.pk}/revoke"
                           ).status_code == 404
    assert Message.objects.get().conversation.revoked_at is None


def test_revoke_through_the_api(sender: User) -> None:
    _t, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    sent = api.post("/api/v1/messages", json.dumps({
        "subject": "x", "body": "y",
        "recipients": [{"email": "a@example.nl", "verification": "email"}]}),
        content_type="application/json").json()
    # No body at all (as `curl -X POST` sends): for everyone, now, as before scopes existed.
    response = api.generic("POST", f"/api/v1/messages/{sent['id']}/revoke")
    assert response.status_code == 200
    assert response.json()["recipients"][0]["status"] == "revoked"
    assert DataKey.objects.filter(shredded_at__isnull=False).exists()
