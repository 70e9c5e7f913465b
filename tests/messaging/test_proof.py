"""Proof of delivery: the facts, each event's audit entry, the PDF's text, who may have it."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from django.test import Client
from pypdf import PdfReader

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.log import verify_log
from zegel.audit.models import AuditEvent
from zegel.messaging import actions, proof
from zegel.messaging.models import Message, RecipientEvent
from zegel.orgs.models import User

DATA = b"Uitslag van het lab: alles in orde.\n" * 40
BODY = "Beste mevrouw, hierbij de uitslag."
# The audit action that records each kind of event.
ACTION = {"notified": "email.sent", "verified": "verify.succeeded", "opened": "message.viewed",
          "downloaded": "attachment.downloaded", "replied": "message.replied",
          "locked": "recipient.locked",
          "revoked": "conversation.revoked"}


def _delivered(sender: User) -> Message:
    """Sent with a file, notified, verified by SMS, read and the file downloaded."""
    attachment = make_attachment(sender, DATA, "uitslag.txt")
    message = send(sender, attachments=[attachment], body=BODY)
    token = deliver_and_get_link()
    guest = Client()
    guest.post(f"/m/{token}/code")
    guest.post(f"/m/{token}/verify", {"code": latest_sms_code()})
    assert guest.get(f"/m/{token}").status_code == 200
    download = guest.get(f"/m/{token}/a/{attachment.pk}")
    assert b"".join(download.streaming_content) == DATA  # type: ignore[attr-defined]
    assert guest.post(f"/m/{token}/reply", {"body": "Dank u."}).status_code == 302
    return message


def _url(message: Message, fmt: str) -> str:
    return f"/c/{message.conversation_id}/m/{message.pk}/proof?format={fmt}"


def test_each_event_names_a_real_audit_entry_and_the_pdf_says_the_same(
        sender: User, sender_client: Client) -> None:
    message = _delivered(sender)
    response = sender_client.get(_url(message, "json"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    doc = response.json()
    assert doc["message"]["id"] == str(message.pk)
    assert doc["message"]["subject"] == "Uw uitslag"
    assert doc["organisation"]["name"] == "Zorggroep Noord"
    assert doc["sender"]["email"] == sender.email
    (piet,) = doc["recipients"]
    assert (piet["email"], piet["name"], piet["method"], piet["kind"]) == \
        ("piet@example.nl", "Piet", "sms", "to")
    (file,) = doc["attachments"]
    assert file["name"] == "uitslag.txt" and file["size"] == len(DATA)
    assert file["sha256"] == hashlib.sha256(DATA).hexdigest()
    kinds = [e["kind"] for e in piet["events"]]
    assert kinds == ["notified", "verified", "opened", "downloaded", "replied"]
    reply = Message.objects.get(author_recipient__isnull=False)
    assert piet["events"][-1]["message_id"] == str(reply.pk)
    for event in piet["events"]:
        assert event["at"].endswith("Z")
        entry = AuditEvent.objects.get(pk=event["audit"]["sequence"])
        assert entry.hash == event["audit"]["hash"]
        assert entry.prev_hash == event["audit"]["prev_hash"]
        assert entry.action == ACTION[event["kind"]]
    # The proof itself is audited, with the digest of what it says.
    issued = AuditEvent.objects.get(pk=doc["issued"]["audit"]["sequence"])
    assert issued.action == "proof.created" and issued.object_id == str(message.pk)
    facts = {k: v for k, v in doc.items() if k != "issued"}
    assert issued.data == {"format": "json", "facts_sha256": proof.facts_digest(facts)}
    hashes = tuple(e["audit"]["hash"] for e in piet["events"])
    assert verify_log(hashes).events == AuditEvent.objects.count()
    assert BODY not in response.content.decode()

    # The PDF says the same facts.
    response = sender_client.get(_url(message, "pdf"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for fact in (str(message.pk), "Zorggroep Noord", sender.email, "Piet <piet@example.nl>",
                 "Uw uitslag", "uitslag.txt", hashlib.sha256(DATA).hexdigest(), "SMS code"):
        assert fact in text, fact
    for event in RecipientEvent.objects.select_related("audit_entry"):
        assert event.audit_entry is not None
        assert f"#{event.audit_entry.pk} {event.audit_entry.hash}" in text
    assert BODY not in text
    assert AuditEvent.objects.filter(action="proof.created", data__format="pdf").count() == 1


def test_only_the_sender_gets_it(sender: User, teammate: User, outsider: User,
                                 org: Any) -> None:
    message = send(sender)
    auditor = User.objects.create_user("kees@zorggroep-noord.nl", org, None, name="Kees",
                                       role="auditor")
    for user, status in ((teammate, 404), (outsider, 404), (auditor, 403)):
        client = Client()
        client.force_login(user)
        assert client.get(_url(message, "pdf")).status_code == status, user.email
    mine = Client()
    mine.force_login(sender)
    other = send(sender, subject="Ander gesprek")
    # A message of another conversation under this conversation's address.
    assert mine.get(f"/c/{message.conversation_id}/m/{other.pk}/proof").status_code == 404
    assert mine.get(f"/c/{message.conversation_id}/m/not-an-id/proof").status_code == 404
    bad = mine.get(_url(message, "docx"), HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400 and b"format=pdf" in bad.content
    assert not AuditEvent.objects.filter(action="proof.created").exists()


def test_after_revoking_what_went_with_the_content_is_unknown(sender: User,
                                                              sender_client: Client) -> None:
    message = send(sender, attachments=[make_attachment(sender, DATA, "uitslag.txt")])
    deliver_and_get_link()
    actions.lock_recipient(message.conversation.recipients.get())
    actions.revoke_conversation(sender=sender, conversation=message.conversation)
    doc = sender_client.get(_url(message, "json")).json()
    assert doc["message"]["subject"] is None and doc["message"]["revoked_at"]
    (file,) = doc["attachments"]
    assert file == {"id": file["id"], "size": len(DATA), "name": None, "sha256": None,
                    "content_type": None, "known": False}
    events = doc["recipients"][0]["events"]
    assert [e["kind"] for e in events][-2:] == ["locked", "revoked"]
    for event in events:
        assert AuditEvent.objects.get(pk=event["audit"]["sequence"]).action == \
            ACTION[event["kind"]]
    pdf = sender_client.get(_url(message, "pdf"), HTTP_ACCEPT_LANGUAGE="en").content
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "unknown: destroyed with the content" in text


def test_an_event_from_before_the_link_is_said_to_be_unlinked(sender: User,
                                                              sender_client: Client) -> None:
    message = send(sender)
    recipient = message.conversation.recipients.get()
    RecipientEvent.objects.create(recipient=recipient, message=message, kind="notified")
    doc = sender_client.get(_url(message, "json")).json()
    assert doc["recipients"][0]["events"][0]["audit"] is None
    pdf = sender_client.get(_url(message, "pdf"), HTTP_ACCEPT_LANGUAGE="en").content
    assert "not linked" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_the_conversation_page_offers_the_proof_and_says_why_a_mail_bounced(
        sender: User, sender_client: Client) -> None:
    message = send(sender)
    recipient = message.conversation.recipients.get()
    RecipientEvent.objects.create(recipient=recipient, message=message, kind="bounced",
                                  detail="550 mailbox unknown")
    page = sender_client.get(f"/c/{message.conversation_id}").content.decode()
    assert f'/m/{message.pk}/proof?format=pdf"' in page
    assert f'/m/{message.pk}/proof?format=json"' in page
    assert "550 mailbox unknown" in page
    status = sender_client.get(f"/c/{message.conversation_id}/status").json()
    assert status["recipients"][0]["events"][0]["detail"] == "550 mailbox unknown"


def test_the_pdf_is_in_dutch_for_dutch_readers(sender: User, sender_client: Client) -> None:
    message = send(sender)
    pdf = sender_client.get(_url(message, "pdf"), HTTP_ACCEPT_LANGUAGE="nl").content
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Bewijs van aflevering" in text
