"""Ciphertext bound to its owner: a row moved or copied by a direct database edit does not
decrypt, the page says so (no 500, no content) and the audit log records it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.keystore.models import DataKey
from zegel.messaging import actions, content
from zegel.messaging.models import Attachment, Conversation, Message, RecipientEvent
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.notify.outbox import MAX_FAULTS, deliver_due
from zegel.orgs.models import ApiToken, User

THEIR_FILE = b"Dossier van Gemeente Zuid, vertrouwelijk. " * 40
THEIR_NAME = "zuid-dossier.pdf"


def _portal(token: str) -> Client:
    client = Client()
    client.post(f"/m/{token}/code")
    assert client.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    return client


def _staff(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _to(email: str) -> list[actions.RecipientSpec]:
    return [actions.RecipientSpec(email=email, method="sms", phone="06 12345678")]


def _theirs(outsider: User) -> Attachment:
    """A file another organisation sent to its own recipient."""
    attachment = make_attachment(outsider, THEIR_FILE, name=THEIR_NAME)
    send(outsider, subject="Zuid", body="Zuid-inhoud", attachments=[attachment],
         recipients=_to("zuid@example.nl"))
    deliver_and_get_link("zuid@example.nl")
    attachment.refresh_from_db()
    return attachment


def _refused(response: Any, *secrets: bytes) -> None:
    """The integrity answer: a clear page, not a crash, and none of the content."""
    assert response.status_code == 409, response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    for secret in secrets:
        assert secret not in body
    assert AuditEvent.objects.filter(action="content.integrity_failed").exists()


def _no_audit_yet() -> None:
    assert not AuditEvent.objects.filter(action="content.integrity_failed").exists()


def test_it_refuses_an_attachment_moved_to_another_organisations_message(
        sender: User, outsider: User) -> None:
    theirs = _theirs(outsider)
    ours = send(sender)
    token = deliver_and_get_link()
    # The attack of the issue: one UPDATE, and the portal served the other organisation's file.
    Attachment.objects.filter(pk=theirs.pk).update(message_id=ours.pk)
    piet = _portal(token)
    _no_audit_yet()
    page = piet.get(f"/m/{token}")
    _refused(page, THEIR_NAME.encode())
    assert "Deze inhoud kan niet worden getoond" in page.content.decode()
    _refused(piet.get(f"/m/{token}/a/{theirs.pk}"), THEIR_FILE[:40], THEIR_NAME.encode())
    event = AuditEvent.objects.filter(action="content.integrity_failed").last()
    assert event is not None and event.object_id == str(theirs.pk)
    assert event.data["view"] == "portal:download"
    # Ids only: no file name, and not the link token that the portal path carries.
    assert THEIR_NAME not in json.dumps(event.data)
    assert token not in json.dumps(event.data) + event.object_id


def test_it_refuses_an_attachment_moved_with_its_organisation(sender: User,
                                                              outsider: User) -> None:
    theirs = _theirs(outsider)
    ours = send(sender)
    token = deliver_and_get_link()
    Attachment.objects.filter(pk=theirs.pk).update(message_id=ours.pk,
                                                   organisation_id=sender.organisation_id)
    _refused(_portal(token).get(f"/m/{token}/a/{theirs.pk}"), THEIR_FILE[:40])


def test_it_refuses_an_attachment_moved_between_messages_of_one_organisation(
        sender: User) -> None:
    first_file = make_attachment(sender, b"eerste bestand " * 50, name="eerste.pdf")
    first = send(sender, attachments=[first_file], recipients=_to("jan@example.nl"))
    second = send(sender, subject="Tweede")
    Attachment.objects.filter(pk=first_file.pk).update(message_id=second.pk)
    anna = _staff(sender)
    _refused(anna.get(f"/c/{second.conversation_id}/a/{first_file.pk}"), b"eerste bestand")
    _refused(anna.get(f"/c/{second.conversation_id}"), b"eerste.pdf")
    assert first.pk  # the first message itself is untouched


def test_it_refuses_a_draft_attachment_moved_into_a_message(sender: User,
                                                            teammate: User) -> None:
    """A draft of a colleague, attached by a database edit instead of by claiming it."""
    draft = make_attachment(teammate, b"concept van bob " * 50, name="concept.pdf")
    message = send(sender)
    Attachment.objects.filter(pk=draft.pk).update(message_id=message.pk)
    _refused(_staff(sender).get(f"/c/{message.conversation_id}/a/{draft.pk}"),
             b"concept van bob")


def test_it_refuses_a_message_moved_to_another_conversation(sender: User) -> None:
    first = send(sender, body="Eerste gesprek, geheim-AB12")
    second = send(sender, subject="Tweede", body="Tweede gesprek")
    Message.objects.filter(pk=first.pk).update(conversation_id=second.conversation_id)
    _refused(_staff(sender).get(f"/c/{second.conversation_id}"), b"geheim-AB12")


def test_it_refuses_a_conversation_moved_to_another_organisation(sender: User,
                                                                 outsider: User) -> None:
    attachment = make_attachment(sender, b"noord dossier " * 50, name="noord.pdf")
    message = send(sender, body="Noord-inhoud-CD34", attachments=[attachment])
    Conversation.objects.filter(pk=message.conversation_id).update(
        organisation_id=outsider.organisation_id, created_by_id=outsider.pk)
    eve = _staff(outsider)
    _refused(eve.get(f"/c/{message.conversation_id}"), b"Noord-inhoud-CD34", b"noord.pdf")
    _refused(eve.get(f"/c/{message.conversation_id}/a/{attachment.pk}"), b"noord dossier")


@pytest.mark.parametrize("copy", [
    {"body_ct": F("subject_ct")},
    {"body_ct": F("subject_ct"), "body_oid": F("subject_oid")},
])
def test_it_refuses_a_subject_copied_into_the_body(sender: User, copy: dict[str, Any]) -> None:
    send(sender, subject="Onderwerp-EF56", body="De echte tekst")
    token = deliver_and_get_link()
    Message.objects.update(**copy)
    _refused(_portal(token).get(f"/m/{token}"), b"De echte tekst")
    # Nothing was shown, so the sender must not read "opened".
    assert not RecipientEvent.objects.filter(kind=RecipientEvent.Kind.OPENED).exists()


def test_it_refuses_data_keys_swapped_between_messages(sender: User) -> None:
    first = send(sender, body="Eerste-GH78", recipients=_to("jan@example.nl"))
    second = send(sender, body="Tweede-IJ90")
    token = deliver_and_get_link()
    # Swap the wrapped keys themselves (the rows keep their ids), then point one message at the
    # other's key row: neither trick may open anything.
    one, two = DataKey.objects.get(pk=first.key_id), DataKey.objects.get(pk=second.key_id)
    DataKey.objects.filter(pk=one.pk).update(wrapped=two.wrapped, kek_id=two.kek_id)
    DataKey.objects.filter(pk=two.pk).update(wrapped=one.wrapped, kek_id=one.kek_id)
    _refused(_portal(token).get(f"/m/{token}"), b"Tweede-IJ90", b"Eerste-GH78")
    DataKey.objects.filter(pk=one.pk).update(wrapped=one.wrapped, kek_id=one.kek_id)
    DataKey.objects.filter(pk=two.pk).update(wrapped=two.wrapped, kek_id=two.kek_id)
    Message.objects.filter(pk=second.pk).update(key_id=first.key_id, body_ct=first.body_ct,
                                                body_oid=first.body_oid,
                                                subject_ct=first.subject_ct,
                                                subject_oid=first.subject_oid)
    _refused(_portal(token).get(f"/m/{token}"), b"Eerste-GH78")


def test_it_refuses_a_file_key_and_metadata_taken_from_another_attachment(
        sender: User, outsider: User) -> None:
    theirs = _theirs(outsider)
    mine = make_attachment(sender, b"mijn bestand " * 50, name="mijn.pdf")
    message = send(sender, attachments=[mine])
    token = deliver_and_get_link()
    Attachment.objects.filter(pk=mine.pk).update(key_id=theirs.key_id, blob_id="0" * 32)
    Attachment.objects.filter(pk=theirs.pk).update(blob_id=mine.blob_id)
    Attachment.objects.filter(pk=mine.pk).update(blob_id=theirs.blob_id,
                                                 meta_ct=theirs.meta_ct,
                                                 meta_oid=theirs.meta_oid)
    _refused(_portal(token).get(f"/m/{token}/a/{mine.pk}"), THEIR_FILE[:40])
    assert message.pk


def test_it_refuses_an_outbox_payload_moved_to_another_row(sender: User) -> None:
    send(sender, recipients=[
        actions.RecipientSpec(email="piet@example.nl", method="sms", phone="06 12345678"),
        actions.RecipientSpec(email="jan@example.nl", method="sms", phone="06 87654321"),
    ])
    piet_item, jan_item = OutboxItem.objects.order_by("id")
    # Jan's row now carries Piet's notification (his personal link) with its key.
    OutboxItem.objects.filter(pk=jan_item.pk).update(key_id=piet_item.key_id,
                                                     payload_ct=piet_item.payload_ct)
    OutboxItem.objects.filter(pk=piet_item.pk).update(state=OutboxItem.State.SENT)
    for _ in range(MAX_FAULTS):
        # A poison row backs off; make it due again until the worker gives up on it.
        OutboxItem.objects.filter(pk=jan_item.pk, state=OutboxItem.State.PENDING).update(
            next_attempt_at=timezone.now())
        deliver_due()
    # Nothing reached a recipient; only the sender is told that the notification failed.
    assert set(CapturedMessage.objects.values_list("to", flat=True)) <= {sender.email}
    jan_item.refresh_from_db()
    assert jan_item.state == OutboxItem.State.FAILED
    # Audited once, not once per attempt.
    event = AuditEvent.objects.get(action="content.integrity_failed")
    assert event.object_type == "outbox"


def test_the_api_answers_a_moved_attachment_with_a_problem(sender: User,
                                                           outsider: User) -> None:
    draft = make_attachment(outsider, THEIR_FILE, name=THEIR_NAME)
    # The other organisation's draft, handed to Anna by a database edit.
    Attachment.objects.filter(pk=draft.pk).update(organisation_id=sender.organisation_id,
                                                  uploaded_by_user_id=sender.pk)
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    payload = {"subject": "Brief", "body": "", "attachments": [str(draft.pk)],
               "recipients": [{"email": "piet@example.nl", "verification": "sms",
                               "phone": "06 12345678"}]}
    for path in ("/api/v1/check", "/api/v1/messages"):
        response = api.post(path, json.dumps(payload), content_type="application/json")
        assert response.status_code == 409, (path, response.content[:300])
        assert response["Content-Type"] == "application/problem+json"
        assert THEIR_NAME.encode() not in response.content
    assert not Message.objects.exists()
    assert AuditEvent.objects.filter(action="content.integrity_failed").count() == 2


def test_rows_left_in_place_still_open(sender: User) -> None:
    """The same flows without an edit: nothing above fails for a reason of its own."""
    attachment = make_attachment(sender, b"gewoon bestand " * 50, name="gewoon.pdf")
    message = send(sender, body="Gewone tekst", attachments=[attachment])
    token = deliver_and_get_link()
    piet = _portal(token)
    page = piet.get(f"/m/{token}")
    assert page.status_code == 200 and b"Gewone tekst" in page.content
    download = piet.get(f"/m/{token}/a/{attachment.pk}")
    assert b"".join(download.streaming_content) == b"gewoon bestand " * 50
    assert _staff(sender).get(f"/c/{message.conversation_id}").status_code == 200
    _no_audit_yet()


def test_a_draft_claimed_meanwhile_is_not_taken_for_tampering(sender: User) -> None:
    """A double-clicked send: the second request read the draft, then the first one claimed it
    (re-wrapping its key) before the second one's checks read the file."""
    draft = make_attachment(sender, b"dubbel verstuurd " * 50, name="dubbel.pdf")
    stale = Attachment.objects.get(pk=draft.pk)  # as a view loads it: the key not yet read
    send(sender, attachments=[draft])
    assert content.attachment_meta(stale).name == "dubbel.pdf"
    assert b"".join(content.iter_attachment(stale)) == b"dubbel verstuurd " * 50
    with pytest.raises(actions.ActionError):
        send(sender, attachments=[stale])
    _no_audit_yet()
