"""The recipient's own copy: the conversation as a PDF and each message as an .eml, with what
the recipient may see and nothing else, audited as downloads, refused once access ended."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from pypdf import PdfReader

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.messaging import actions
from zegel.messaging.models import Conversation, Message, Recipient, RecipientEvent
from zegel.orgs.models import Organisation, User
from zegel.portal.owncopy import eml

SUBJECT = "Uw uitslag van 1 december"
BODY = "Beste Piet,\r\n\r\nHierbij de uitslag. FIRSTBODY-7731\r\nMet vriendelijke groet"
REPORT = b"%PDF-1.4 uitslag " + bytes(range(256)) * 40
NOTE = "Notitie voor u: één regel.\n".encode()
PHONES = {"piet@example.nl": "+31612345678", "jan@example.nl": "+31687654321",
          "bea@example.nl": "+31611111111"}
COPY_ACTIONS = ("conversation.downloaded", "message.downloaded")


@pytest.fixture(autouse=True)
def _english(settings: Any, org: Organisation) -> Any:
    settings.LANGUAGE_CODE = "en"
    # Recipients get their organisation's default language.
    Organisation.objects.filter(pk=org.pk).update(default_language="en")
    org.refresh_from_db()
    with translation.override("en"):
        yield


@dataclass
class Thread:
    conversation: Conversation
    first: Message
    tokens: dict[str, str]
    clients: dict[str, Client]
    recipients: dict[str, Recipient]


def _verify(client: Client, token: str, phone: str) -> None:
    client.post(f"/m/{token}/code")
    assert client.post(f"/m/{token}/verify", {"code": latest_sms_code(phone)}).status_code == 302


@pytest.fixture
def thread(sender: User) -> Thread:
    """Piet (To), Jan (CC) and Bea (BCC) got the first message with two files; Jan replied,
    the sender answered Jan only, and Piet replied."""
    files = [make_attachment(sender, REPORT, name="uitslag.pdf"),
             make_attachment(sender, NOTE, name="notitie één.txt")]
    first = send(sender, subject=SUBJECT, body=BODY, attachments=files, recipients=[
        actions.RecipientSpec(email="piet@example.nl", name="Piet Bakker", method="sms",
                              phone="0612345678"),
        actions.RecipientSpec(email="jan@example.nl", name="Jan", method="sms", kind="cc",
                              phone="0687654321"),
        actions.RecipientSpec(email="bea@example.nl", method="sms", kind="bcc",
                              phone="0611111111"),
    ])
    conversation = first.conversation
    recipients = {r.email: r for r in conversation.recipients.all()}
    tokens = {email: deliver_and_get_link(email) for email in recipients}
    clients = {email: Client() for email in recipients}
    for email in recipients:
        _verify(clients[email], tokens[email], PHONES[email])
    actions.reply_as_recipient(recipients["jan@example.nl"], "JANREPLY-1 alleen voor Anna")
    actions.answer_conversation(sender=sender, conversation=conversation,
                                body="ONLYJAN-2 alleen aan Jan",
                                audience=[recipients["jan@example.nl"].pk])
    actions.reply_as_recipient(recipients["piet@example.nl"], "PIETREPLY-3 dank u 漢字")
    return Thread(conversation, first, tokens, clients, recipients)


def _content(response: Any) -> bytes:
    data = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(data), "the announced size is the size"
    return data


def _pdf_text(response: Any) -> str:
    data = _content(response)
    assert data.startswith(b"%PDF-")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def _assert_download(response: Any, extension: str) -> None:
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert re.search(rf'filename="Zorggroep Noord [0-9 -]+\.{extension}"', disposition)
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def _eml(response: Any) -> EmailMessage:
    _assert_download(response, "eml")
    parsed = message_from_bytes(_content(response), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_pdf_holds_what_the_recipient_may_see_and_nothing_else(
        thread: Thread, caplog: Any) -> None:
    piet = thread.recipients["piet@example.nl"]
    response = thread.clients[piet.email].get(f"/m/{thread.tokens[piet.email]}/copy.pdf")
    _assert_download(response, "pdf")
    text = _pdf_text(response)
    flat = re.sub(r"\s+", "", text)
    for expected in ("Zorggroep Noord", "zorggroep-noord.nl", "Anna de Vries",
                     "anna@zorggroep-noord.nl", SUBJECT, "FIRSTBODY-7731", "PIETREPLY-3",
                     "uitslag.pdf", "notitie één.txt", "Piet Bakker <piet@example.nl>",
                     "Jan <jan@example.nl>"):
        assert expected in text, expected
    assert hashlib.sha256(REPORT).hexdigest() in flat
    assert hashlib.sha256(NOTE).hexdigest() in flat
    assert f"{len(REPORT):,}".replace(",", "") in flat.replace(",", "")
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), "times in UTC"
    assert "CET" in text or "CEST" in text, "and in local time"
    # Other guests' replies, answers to others and the BCC recipient stay out.
    for hidden in ("JANREPLY", "ONLYJAN", "bea@example.nl"):
        assert hidden not in text, hidden
    # The font has no CJK: replaced and said so; the characters never reach the log.
    assert "\ufffd" in text and ".eml" in text
    assert "漢" not in caplog.text and "6F22" not in caplog.text.upper()
    assert "glyph" not in caplog.text.lower(), "the fonts' subsets are not logged"
    event = AuditEvent.objects.get(action="conversation.downloaded")
    assert event.actor_type == "recipient" and event.actor_id == str(piet.pk)
    assert event.data["format"] == "pdf" and len(event.data["messages"]) == 2
    saved = RecipientEvent.objects.get(kind=RecipientEvent.Kind.SAVED)
    assert saved.recipient_id == piet.pk and saved.detail == "pdf"


def test_the_eml_parses_back_with_its_headers_text_and_files(thread: Thread) -> None:
    piet = thread.recipients["piet@example.nl"]
    response = thread.clients[piet.email].get(
        f"/m/{thread.tokens[piet.email]}/e/{thread.first.pk}")
    raw = _content(response)
    assert b"\r\n" in raw and b"filename*=utf-8''notitie%20%C3%A9%C3%A9n.txt" in raw
    mail = message_from_bytes(raw, policy=policy.default)
    _assert_download(response, "eml")
    assert isinstance(mail, EmailMessage)
    assert str(mail["From"]) == "Anna de Vries <anna@zorggroep-noord.nl>"
    assert str(mail["To"]) == "Piet Bakker <piet@example.nl>"
    assert str(mail["Cc"]) == "Jan <jan@example.nl>"
    assert mail["Bcc"] is None and b"bea@" not in raw
    assert str(mail["Subject"]) == SUBJECT
    assert str(mail["Message-ID"]) == f"<{thread.first.pk}@zorggroep-noord.nl>"
    assert mail["Date"].datetime == thread.first.created_at.replace(microsecond=0)
    body = mail.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n").rstrip("\n") == BODY.replace("\r\n", "\n")
    files = [(a.get_filename(), a.get_content_type(), a.get_payload(decode=True))
             for a in mail.iter_attachments()]
    assert files == [("uitslag.pdf", "application/pdf", REPORT),
                     ("notitie één.txt", "text/plain", NOTE)]
    event = AuditEvent.objects.get(action="message.downloaded")
    assert event.object_id == str(thread.first.pk) and len(event.data["attachments"]) == 2
    # Piet's own reply: from Piet to the sender, in reply to the first message.
    reply = Message.objects.get(author_recipient=piet)
    mail = _eml(thread.clients[piet.email].get(f"/m/{thread.tokens[piet.email]}/e/{reply.pk}"))
    assert str(mail["From"]) == "Piet Bakker <piet@example.nl>"
    assert str(mail["To"]) == "Anna de Vries <anna@zorggroep-noord.nl>"
    assert str(mail["In-Reply-To"]) == f"<{thread.first.pk}@zorggroep-noord.nl>"


def test_a_bcc_recipient_is_named_as_bcc_and_only_themselves(thread: Thread) -> None:
    bea = "bea@example.nl"
    mail = _eml(thread.clients[bea].get(f"/m/{thread.tokens[bea]}/e/{thread.first.pk}"))
    assert str(mail["Bcc"]) == bea
    assert str(mail["To"]) == "Piet Bakker <piet@example.nl>"
    assert str(mail["Cc"]) == "Jan <jan@example.nl>"


def test_files_over_the_limit_are_listed_to_download_separately(thread: Thread,
                                                                settings: Any) -> None:
    settings.OWN_COPY_EML_MAX_SIZE = len(REPORT) - 1
    piet = "piet@example.nl"
    mail = _eml(thread.clients[piet].get(f"/m/{thread.tokens[piet]}/e/{thread.first.pk}"))
    assert [(a.get_filename(), a.get_payload(decode=True)) for a in mail.iter_attachments()] \
        == [("notitie één.txt", NOTE)]
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert text.startswith(BODY.replace("\r\n", "\n"))
    assert "uitslag.pdf" in text and hashlib.sha256(REPORT).hexdigest() in text
    assert "download it from the message page" in text
    event = AuditEvent.objects.get(action="message.downloaded")
    assert len(event.data["attachments"]) == 1


def test_a_subject_with_an_encoded_word_adds_no_header(sender: User) -> None:
    send(sender, subject="Uitslag =?utf-8?q?=0ABcc:_evil@example.org?= klaar")
    token = deliver_and_get_link()
    client = Client()
    _verify(client, token, PHONES["piet@example.nl"])
    message = Message.objects.get()
    raw = _content(client.get(f"/m/{token}/e/{message.pk}"))
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Bcc"] is None and b"\nBcc:" not in raw
    assert "Uitslag" in str(mail["Subject"]) and "klaar" in str(mail["Subject"])


def _no_copies() -> None:
    assert not AuditEvent.objects.filter(action__in=COPY_ACTIONS).exists()
    assert not RecipientEvent.objects.filter(kind=RecipientEvent.Kind.SAVED).exists()


@dataclass
class Single:
    client: Client
    token: str
    message: Message


@pytest.fixture
def single(sender: User) -> Single:
    """Piet, verified, with a message and a file."""
    message = send(sender, attachments=[make_attachment(sender, NOTE, name="notitie.txt")])
    token = deliver_and_get_link()
    client = Client()
    _verify(client, token, PHONES["piet@example.nl"])
    return Single(client, token, message)


def _paths(token: str, message: Message) -> list[str]:
    return [f"/m/{token}/copy.pdf", f"/m/{token}/e/{message.pk}"]


@pytest.mark.parametrize("ending", ["recipient", "everyone", "expired", "expired_shredded"])
def test_a_copy_is_refused_once_access_ended_also_with_a_verified_session(
        single: Single, sender: User, ending: str) -> None:
    conversation = single.message.conversation
    if ending == "recipient":
        actions.revoke_recipient(sender=sender, recipient=conversation.recipients.get())
    elif ending == "everyone":
        actions.revoke_conversation(sender=sender, conversation=conversation)
    else:
        Conversation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        if ending == "expired_shredded":
            actions.apply_due()
    for path in _paths(single.token, single.message):
        response = single.client.get(path)
        assert response.status_code == 410, path
        assert b"Zorggroep Noord" in response.content
    _no_copies()


def test_a_locked_recipient_gets_the_locked_page(single: Single) -> None:
    Recipient.objects.update(locked_at=timezone.now())
    for path in _paths(single.token, single.message):
        assert single.client.get(path).status_code == 403
    _no_copies()


def test_a_copy_is_refused_without_a_verified_session_for_this_recipient(
        thread: Thread, sender: User) -> None:
    for path in _paths(thread.tokens["piet@example.nl"], thread.first):
        # Never verified, or verified as somebody else: back to the page that asks the code.
        for client in (Client(), thread.clients["jan@example.nl"]):
            response = client.get(path)
            assert response.status_code == 302 and response["Location"].endswith(
                f"/m/{thread.tokens['piet@example.nl']}")
        assert thread.clients["piet@example.nl"].head(path).status_code == 405
    # Verified for another conversation: not for this one.
    send(sender, subject="Tweede gesprek")
    other = deliver_and_get_link("piet@example.nl")
    assert thread.clients["piet@example.nl"].get(f"/m/{other}/copy.pdf").status_code == 302
    _no_copies()


def test_an_eml_is_refused_for_a_message_the_recipient_may_not_see(thread: Thread) -> None:
    piet, token = thread.clients["piet@example.nl"], thread.tokens["piet@example.nl"]
    jan = thread.recipients["jan@example.nl"]
    hidden = [Message.objects.get(author_recipient=jan),
              Message.objects.get(audience=jan, author_user__isnull=False,
                                  created_at__gt=thread.first.created_at)]
    for path in [*(f"/m/{token}/e/{m.pk}" for m in hidden), f"/m/{token}/e/not-a-uuid",
                 f"/m/{token}/e/00000000-0000-0000-0000-000000000000"]:
        assert piet.get(path).status_code == 404, path
    # Addressed nothing at all (no such recipient is made today): no empty PDF either.
    piet_recipient = thread.recipients["piet@example.nl"]
    Message.audience.through.objects.filter(recipient=piet_recipient).delete()
    Message.objects.filter(author_recipient=piet_recipient).update(
        author_recipient=thread.recipients["bea@example.nl"])
    assert piet.get(f"/m/{token}/copy.pdf").status_code == 404
    _no_copies()


def test_recording_a_copy_rechecks_access_and_visibility(thread: Thread, sender: User) -> None:
    """Access that ends while a copy is being made: the record refuses, so nothing is sent."""
    piet = thread.recipients["piet@example.nl"]
    jan_reply = Message.objects.get(author_recipient=thread.recipients["jan@example.nl"])
    with pytest.raises(actions.NotFound):
        actions.record_own_copy(piet, [jan_reply], form="eml")
    actions.revoke_recipient(sender=sender, recipient=piet)
    with pytest.raises(actions.NotFound):
        actions.record_own_copy(piet, [thread.first], form="pdf")
    _no_copies()


def test_the_conversation_page_links_to_both_copies(thread: Thread) -> None:
    piet, token = thread.clients["piet@example.nl"], thread.tokens["piet@example.nl"]
    page = piet.get(f"/m/{token}").content.decode()
    assert f'href="/m/{token}/copy.pdf"' in page
    assert "Download this conversation (PDF)" in page
    visible = Message.objects.filter(pk=thread.first.pk) | Message.objects.filter(
        author_recipient=thread.recipients["piet@example.nl"])
    links = re.findall(rf'href="/m/{token}/e/([0-9a-f-]+)"', page)
    assert sorted(links) == sorted(str(m.pk) for m in visible)
    with translation.override("nl"):
        piet.cookies["django_language"] = "nl"
        dutch = piet.get(f"/m/{token}").content.decode()
    assert "Download dit gesprek (PDF)" in dutch and "Bewaar dit bericht (.eml)" in dutch


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, eml.PIECE - 1, eml.PIECE, eml.PIECE + 1,
                                  2 * eml.PIECE + 1000])
def test_streamed_base64_is_standard_base64_of_the_announced_size(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    # Pieces of uneven sizes, as a decryptor may hand them over.
    pieces = [data[i:i + 65_537] for i in range(0, size, 65_537)]
    streamed = b"".join(eml.base64_lines(iter(pieces)))
    assert streamed == base64.encodebytes(data).replace(b"\n", b"\r\n").removesuffix(b"\r\n")
    assert len(streamed) == eml.base64_size(size)
    assert max((len(line) for line in streamed.split(b"\r\n")), default=0) <= 76
