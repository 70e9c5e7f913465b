""""I don't have my access code" / "I did not get the SMS": the sender is told by e-mail and
in the conversation, the note stays out of e-mails and logs, and flooding sends at most the
caps' worth of e-mails."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import deliver_and_get_link, send
from tests.messaging.test_concurrency import _no_errors, run_together
from zegel.audit.models import AuditEvent
from zegel.messaging import actions
from zegel.messaging.models import HelpRequest, Recipient, RecipientEvent
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User

NOTE = "Bel mij na 17:00 op het vaste nummer, ik heb geen brief gekregen."
BODY = "hierbij de uitslag"


def _access_code_message(sender: User, email: str = "klaas@example.nl") -> str:
    send(sender, recipients=[actions.RecipientSpec(email=email, method="access_code",
                                                   access_code="geheim-123")])
    return deliver_and_get_link(email)


def _text(response: Any) -> str:
    return html.unescape(response.content.decode())


def _notices() -> int:
    return OutboxItem.objects.filter(purpose="help_notice").count()


def test_no_access_code_tells_the_sender_without_content(sender: User,
                                                          sender_client: Client) -> None:
    token = _access_code_message(sender)
    client = Client(headers={"accept-language": "en"})
    assert "I don't have my access code" in _text(client.get(f"/m/{token}"))
    response = client.post(f"/m/{token}/help", {"note": NOTE}, follow=True)
    assert "We let Anna de Vries of Zorggroep Noord know" in _text(response)
    help_request = HelpRequest.objects.get()
    assert help_request.reason == "no_access_code"
    assert NOTE.encode() not in bytes(help_request.note_ct)  # sealed, not stored as typed
    event = RecipientEvent.objects.get(kind="help_no_code")
    assert event.message_id == help_request.message_id
    # The sender's e-mail (in the site's language): who and why, a link into the app; no
    # content, no note.
    deliver_due()
    mail = CapturedMessage.objects.get(channel="email", to="anna@zorggroep-noord.nl")
    assert "klaas@example.nl" in mail.text and "toegangscode niet te hebben" in mail.text
    assert f"/c/{help_request.recipient.conversation_id}" in mail.text
    assert "er een bericht bij geschreven" in mail.text  # that there is a note, not what
    for leaked in (NOTE, BODY, "Uw uitslag", "geheim"):
        assert leaked not in mail.text and leaked not in mail.subject
    # Never in the audit log either.
    assert "help.requested" in AuditEvent.objects.values_list("action", flat=True)
    for event_row in AuditEvent.objects.all():
        assert "17:00" not in json.dumps(event_row.data)
    # The conversation page shows the event and the note.
    page = _text(sender_client.get(f"/c/{help_request.recipient.conversation_id}",
                                   headers={"accept-language": "en"}))
    assert "says they have no access code" in page
    assert "does not have the access code" in page and NOTE in page


def test_sms_help_is_offered_once_a_code_was_asked_for(sender: User) -> None:
    send(sender)
    token = deliver_and_get_link()
    client = Client(headers={"accept-language": "en"})
    assert "I did not get the SMS" not in _text(client.get(f"/m/{token}"))
    page = _text(client.post(f"/m/{token}/code", follow=True))
    assert "I did not get the SMS" in page
    assert client.post(f"/m/{token}/help", {"note": ""}).status_code == 302
    help_request = HelpRequest.objects.get()
    assert help_request.reason == "no_sms" and not help_request.note_ct
    assert RecipientEvent.objects.filter(kind="help_no_sms").count() == 1
    deliver_due()
    mail = CapturedMessage.objects.get(channel="email", to="anna@zorggroep-noord.nl")
    assert "sms met de code niet te hebben gekregen" in mail.text
    assert "er een bericht bij geschreven" not in mail.text
    # The SMS itself went to the recipient; the help notice carries no code.
    sms = CapturedMessage.objects.get(channel="sms")
    assert sms.text[:6] not in mail.text


def test_it_is_in_dutch(sender: User) -> None:
    token = _access_code_message(sender)
    client = Client(headers={"accept-language": "nl"})
    assert "Ik heb mijn toegangscode niet" in _text(client.get(f"/m/{token}"))
    page = _text(client.post(f"/m/{token}/help", {}, follow=True))
    assert "We hebben Anna de Vries van Zorggroep Noord laten weten" in page


def test_flooding_sends_one_notice_per_cooldown_and_says_so(sender: User,
                                                              settings: Any) -> None:
    settings.HELP_REQUEST_COOLDOWN_SECONDS = 900
    token = _access_code_message(sender)
    client = Client(headers={"accept-language": "en"})
    answers = [client.post(f"/m/{token}/help", {"note": NOTE}) for _ in range(20)]
    assert [a.status_code for a in answers].count(302) == 1
    refused = answers[-1]
    assert refused.status_code == 429
    assert "so we did not send it again" in _text(refused)
    assert _notices() == 1 and HelpRequest.objects.count() == 1
    assert RecipientEvent.objects.filter(kind="help_no_code").count() == 1
    caps = AuditEvent.objects.filter(action="help.refused").values_list("data", flat=True)
    assert {c["cap"] for c in caps} == {"recipient_cooldown"}


def test_the_daily_cap_holds_without_a_cooldown(sender: User, settings: Any) -> None:
    settings.HELP_REQUEST_COOLDOWN_SECONDS = 0
    settings.HELP_REQUESTS_PER_RECIPIENT_DAY = 3
    token = _access_code_message(sender)
    client = Client()
    codes = [client.post(f"/m/{token}/help").status_code for _ in range(10)]
    assert codes == [302] * 3 + [429] * 7
    assert _notices() == 3


def test_the_cap_per_client_spans_recipients(sender: User, settings: Any) -> None:
    settings.HELP_REQUESTS_PER_CLIENT_DAY = 2
    tokens = [_access_code_message(sender, f"r{n}@example.nl") for n in range(3)]
    here = Client(REMOTE_ADDR="192.0.2.7")
    assert [here.post(f"/m/{t}/help").status_code for t in tokens] == [302, 302, 429]
    assert AuditEvent.objects.get(action="help.refused").data["cap"] == "client_day"
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    assert elsewhere.post(f"/m/{tokens[2]}/help").status_code == 302
    assert _notices() == 3


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_send_exactly_one_notice(sender: User) -> None:
    _access_code_message(sender)
    recipient = Recipient.objects.get()
    results = run_together([lambda: actions.request_help(recipient, NOTE) for _ in range(6)])
    _no_errors(results)
    assert sum(1 for r in results if r.sent) == 1
    assert _notices() == 1


def test_bad_input_is_refused_and_sends_nothing(sender: User) -> None:
    token = _access_code_message(sender)
    client = Client(headers={"accept-language": "en"})
    too_long = client.post(f"/m/{token}/help", {"note": "x" * 501})
    assert too_long.status_code == 400
    assert "it can be at most 500" in _text(too_long)
    assert 'aria-invalid="true"' in _text(too_long)
    assert client.get(f"/m/{token}/help").status_code == 405
    assert Client(enforce_csrf_checks=True).post(f"/m/{token}/help").status_code == 403
    assert client.post("/m/" + "A" * 43 + "/help").status_code == 404
    assert client.post("/m/short/help").status_code == 404
    assert _notices() == 0 and not HelpRequest.objects.exists()
    # Control characters go; the note itself is kept.
    assert actions.request_help(Recipient.objects.get(), "a\x00b\x1bc\nd").sent


def test_a_locked_or_revoked_recipient_cannot_ask(sender: User) -> None:
    token = _access_code_message(sender)
    recipient = Recipient.objects.get()
    actions.lock_recipient(recipient)
    assert Client().post(f"/m/{token}/help").status_code == 403
    actions.revoke_recipient(sender=sender, recipient=recipient)
    assert Client().post(f"/m/{token}/help").status_code == 410
    assert _notices() == 0


def test_a_note_goes_with_the_content_when_revoked_for_everyone(
        sender: User, sender_client: Client) -> None:
    token = _access_code_message(sender)
    Client().post(f"/m/{token}/help", {"note": NOTE})
    conversation = Recipient.objects.get().conversation
    actions.revoke_conversation(sender=sender, conversation=conversation)
    page = _text(sender_client.get(f"/c/{conversation.pk}", headers={"accept-language": "en"}))
    assert NOTE not in page and "The note was destroyed with the content" in page
