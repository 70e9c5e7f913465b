"""Recipients only ever see what is addressed to them: an answer the sender gave one
recipient, another recipient's reply, a BCC recipient's address, and the notifications."""

from __future__ import annotations

import email
from email import policy
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import deliver_and_get_link, send
from tests.messaging.test_attachments import make_attachment
from zegel.messaging import actions
from zegel.messaging.models import Recipient, RecipientEvent
from zegel.notify.models import CapturedMessage
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User


def _code(email_address: str) -> actions.RecipientSpec:
    return actions.RecipientSpec(email=email_address, name=email_address.split("@")[0].title(),
                                 method="access_code", access_code="geheim-123")


def _open(token: str) -> Client:
    client = Client()
    assert client.post(f"/m/{token}/verify", {"code": "geheim-123"}).status_code == 302
    return client


def _parents(sender: User) -> tuple[Recipient, Recipient, Client, Client]:
    message = send(sender, recipients=[_code("moeder@example.nl"), _code("vader@example.nl")])
    mother, father = message.conversation.recipients.order_by("id")
    mother_client = _open(deliver_and_get_link("moeder@example.nl"))
    father_client = _open(deliver_and_get_link("vader@example.nl"))
    return mother, father, mother_client, father_client


def _page(client: Client, recipient: Recipient) -> str:
    token = deliver_and_get_link(recipient.email)
    response = client.get(f"/m/{token}")
    assert response.status_code == 200
    return response.content.decode()


def test_an_answer_to_one_parent_is_never_shown_to_the_other(sender: User) -> None:
    mother, father, mother_client, father_client = _parents(sender)
    mother_token = deliver_and_get_link(mother.email)
    mother_client.post(f"/m/{mother_token}/reply", {"body": "Een vraag van moeder alleen"})
    secret = make_attachment(sender, b"alleen voor moeder", name="voor-moeder.pdf")
    answer = actions.answer_conversation(sender=sender, conversation=mother.conversation,
                                         body="Het antwoord voor moeder",
                                         attachments=[secret], audience=[mother.pk])
    deliver_due()
    # The notification went to the mother only.
    assert CapturedMessage.objects.filter(to=mother.email).count() == 2
    assert CapturedMessage.objects.filter(to=father.email).count() == 1
    father_token = deliver_and_get_link(father.email)
    seen = father_client.get(f"/m/{father_token}").content.decode()
    assert "hierbij de uitslag" in seen
    assert "Het antwoord voor moeder" not in seen
    assert "Een vraag van moeder alleen" not in seen
    assert "voor-moeder.pdf" not in seen
    # Not by its id either: the file of a message not addressed to him is "not found".
    assert father_client.get(f"/m/{father_token}/a/{secret.pk}").status_code == 404
    assert father_client.head(f"/m/{father_token}/a/{secret.pk}").status_code == 404
    assert not RecipientEvent.objects.filter(recipient=father, kind="downloaded").exists()
    assert not RecipientEvent.objects.filter(recipient=father, message=answer).exists()
    mine = _page(mother_client, mother)
    assert "Het antwoord voor moeder" in mine and "Een vraag van moeder alleen" in mine
    assert mother_client.get(f"/m/{mother_token}/a/{secret.pk}").status_code == 200


def test_a_parent_never_sees_the_other_parents_reply_or_its_file(sender: User) -> None:
    mother, father, mother_client, father_client = _parents(sender)
    father_token = deliver_and_get_link(father.email)
    upload = SimpleUploadedFile("vader.pdf", b"%PDF-1.4 van vader")
    father_client.post(f"/m/{father_token}/reply", {"body": "Vaders eigen vraag",
                                                      "attachments": upload})
    reply = father.replies.get()
    file_id = reply.attachments.get().pk
    mother_token = deliver_and_get_link(mother.email)
    assert "Vaders eigen vraag" not in _page(mother_client, mother)
    assert mother_client.get(f"/m/{mother_token}/a/{file_id}").status_code == 404
    assert "Vaders eigen vraag" in _page(father_client, father)


def test_the_reply_form_says_who_reads_the_reply(sender: User) -> None:
    message = send(sender, recipients=[_code("moeder@example.nl")])
    client = _open(deliver_and_get_link("moeder@example.nl"))
    page = _page(client, message.conversation.recipients.get())
    assert ("Alleen Anna de Vries van Zorggroep Noord leest uw antwoord; andere ontvangers "
            "zien het niet.") in page


def test_bcc_recipients_are_never_shown_and_to_cc_only_on_the_same_message(
        sender: User) -> None:
    to, cc, bcc = (_code("aan@example.nl"), _code("kopie@example.nl"),
                   _code("blind@example.nl"))
    cc.kind, bcc.kind = "cc", "bcc"
    message = send(sender, recipients=[to, cc, bcc])
    to_r, cc_r, bcc_r = message.conversation.recipients.order_by("id")
    clients = {r.pk: _open(deliver_and_get_link(r.email)) for r in (to_r, cc_r, bcc_r)}
    to_page = _page(clients[to_r.pk], to_r)
    assert "kopie@example.nl" in to_page and "blind@example.nl" not in to_page
    assert "blind" not in to_page.lower()
    cc_page = _page(clients[cc_r.pk], cc_r)
    assert "aan@example.nl" in cc_page and "blind@example.nl" not in cc_page
    bcc_page = _page(clients[bcc_r.pk], bcc_r)
    assert "aan@example.nl" in bcc_page and "kopie@example.nl" in bcc_page
    # An answer to the BCC recipient alone names nobody else, not even the first message's To.
    actions.answer_conversation(sender=sender, conversation=message.conversation,
                                body="Alleen voor blind", audience=[bcc_r.pk])
    bcc_page = _page(clients[bcc_r.pk], bcc_r)
    answer_part = next(part for part in bcc_page.split('<li class="card message')
                       if "Alleen voor blind" in part)
    assert "Aan: u</p>" in answer_part and "aan@example.nl" not in answer_part


def test_each_notification_names_only_its_own_recipient(sender: User,
                                                        smtp_server: Any) -> None:
    addresses = ["aan@example.nl", "kopie@example.nl", "blind@example.nl"]
    specs = [actions.RecipientSpec(email=a, method="email", kind=k)
             for a, k in zip(addresses, ["to", "cc", "bcc"], strict=True)]
    message = send(sender, recipients=specs)
    actions.answer_conversation(sender=sender, conversation=message.conversation,
                                body="Voor iedereen")
    deliver_due()
    assert len(smtp_server.envelopes) == 6
    for envelope in smtp_server.envelopes:
        assert len(envelope.rcpt_tos) == 1
        own = envelope.rcpt_tos[0]
        mail = email.message_from_bytes(envelope.content, policy=policy.default)
        assert mail["To"] == own
        assert mail["Cc"] is None and mail["Bcc"] is None
        raw = envelope.content.decode("utf-8", "replace")
        assert not [a for a in addresses if a != own and a in raw]
