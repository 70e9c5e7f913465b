"""Who may see and change a conversation: only the sender who created it, the same rule through
the sender app, the API and the actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import send
from tests.messaging.test_attachments import make_attachment
from zegel.messaging import actions
from zegel.messaging.models import Conversation, Message, Recipient
from zegel.orgs.models import ApiToken, User


@pytest.fixture
def message(sender: User) -> Message:
    return send(sender, attachments=[make_attachment(sender, b"dossier")])


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_teammate_cannot_answer_someone_elses_conversation(message: Message,
                                                             teammate: User) -> None:
    with pytest.raises(actions.NotFound):
        actions.answer_conversation(sender=teammate, conversation=message.conversation,
                                    body="Ik neem het over.")
    assert Message.objects.count() == 1


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_no_other_user_changes_a_conversation_through_the_actions(
        message: Message, who: str, request: pytest.FixtureRequest) -> None:
    other: User = request.getfixturevalue(who)
    conversation = message.conversation
    recipient = conversation.recipients.get()
    later = timezone.now() + timedelta(days=3)
    refused = [
        lambda: actions.answer_conversation(sender=other, conversation=conversation, body="x"),
        lambda: actions.revoke_conversation(sender=other, conversation=conversation),
        lambda: actions.revoke_recipient(sender=other, recipient=recipient),
        lambda: actions.set_expiry(sender=other, conversation=conversation, expires_at=later),
        lambda: actions.resend_notification(sender=other, recipient=recipient),
        lambda: actions.record_download(message.attachments.get(), user=other),
    ]
    for attempt in refused:
        with pytest.raises(actions.NotFound):
            attempt()
    conversation.refresh_from_db()
    assert conversation.revoked_at is None and conversation.expires_at is None
    assert Recipient.objects.get().revoked_at is None


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_no_other_user_sees_a_conversation_in_the_sender_app(
        message: Message, who: str, request: pytest.FixtureRequest) -> None:
    client = _client(request.getfixturevalue(who))
    conversation_id = message.conversation_id
    recipient = Recipient.objects.get()
    attachment = message.attachments.get()
    assert client.get(f"/c/{conversation_id}").status_code == 404
    assert client.post(f"/c/{conversation_id}", {"body": "x"}).status_code == 404
    assert client.get(f"/c/{conversation_id}/a/{attachment.pk}").status_code == 404
    assert client.post(f"/c/{conversation_id}/revoke", {"confirm": "yes"}).status_code == 404
    assert client.post(f"/c/{conversation_id}/expiry",
                       {"expires_on": "2099-01-31"}).status_code == 404
    assert client.post(f"/c/{conversation_id}/recipients/{recipient.pk}/revoke"
                       ).status_code == 404
    assert client.post(f"/c/{conversation_id}/recipients/{recipient.pk}/resend"
                       ).status_code == 404
    assert b"Uw uitslag" not in client.get("/sent").content
    conversation = Conversation.objects.get()
    assert conversation.revoked_at is None and conversation.expires_at is None


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_no_other_user_reads_or_revokes_a_message_through_the_api(
        message: Message, who: str, request: pytest.FixtureRequest) -> None:
    _token, secret = ApiToken.issue(request.getfixturevalue(who), "test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    client = Client()
    assert client.get(f"/api/v1/messages/{message.pk}", **auth).status_code == 404
    assert client.post(f"/api/v1/messages/{message.pk}/revoke", b"{}", "application/json",
                       **auth).status_code == 404
    assert Conversation.objects.get().revoked_at is None


def test_the_creator_still_does_all_of_it(message: Message, sender: User) -> None:
    client = _client(sender)
    attachment = message.attachments.get()
    assert client.get(f"/c/{message.conversation_id}").status_code == 200
    assert client.get(f"/c/{message.conversation_id}/a/{attachment.pk}").status_code == 200
    actions.answer_conversation(sender=sender, conversation=message.conversation, body="Nog iets.")
    assert Message.objects.count() == 2


def test_a_draft_of_someone_else_cannot_be_attached(sender: User, teammate: User) -> None:
    theirs = make_attachment(teammate, b"van bob")
    with pytest.raises(actions.NotFound):
        send(sender, attachments=[theirs])
    assert not Message.objects.exists()
