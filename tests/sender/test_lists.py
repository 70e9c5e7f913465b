"""The sent list and the inbox: status at a glance, search, paging, revoked titles, read and
unread, and a query count that does not grow with the rows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import send
from zegel.messaging import actions, search
from zegel.messaging.models import (
    Conversation,
    Message,
    Recipient,
    RecipientEvent,
    SubjectWord,
)
from zegel.orgs.models import User
from zegel.sender import lists

TWO = [actions.RecipientSpec(email="piet@example.nl", name="Piet", method="sms",
                             phone="06 12345678"),
       actions.RecipientSpec(email="joke@example.nl", name="Joke Bakker", method="email")]


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    """Zegel speaks Dutch by default; these tests read the English texts (one checks Dutch)."""
    settings.LANGUAGE_CODE = "en"


def _rows(response: Any) -> list[str]:
    """The conversation ids of the list's rows, in order."""
    return re.findall(r'data-conversation="([0-9a-f-]{36})"', response.content.decode())


def _status(response: Any, conversation_id: object) -> tuple[str, str]:
    html = response.content.decode()
    row = html[html.index(f'data-conversation="{conversation_id}"'):]
    row = row[:row.index("</tr>")]
    kind = re.search(r'data-status="([a-z]+)"', row)
    text = re.search(r'class="status-text">([^<]*)<', row)
    assert kind and text
    return kind.group(1), text.group(1)


def _open(recipient: Recipient) -> None:
    staff = list(Message.objects.filter(conversation=recipient.conversation,
                                        author_user__isnull=False))
    actions.record_opened(recipient, staff)


# --- Status at a glance -------------------------------------------------------------------

def test_status_counts_who_opened_the_latest_message(sender: User,
                                                     sender_client: Client) -> None:
    message = send(sender, recipients=TWO)
    conversation = message.conversation
    piet, joke = conversation.recipients.order_by("id")
    assert _status(sender_client.get("/sent"), conversation.pk) == ("unopened",
                                                                     "Not opened yet")
    _open(piet)
    assert _status(sender_client.get("/sent"), conversation.pk) == ("partly",
                                                                     "Opened by 1 of 2")
    _open(joke)
    assert _status(sender_client.get("/sent"), conversation.pk) == ("opened",
                                                                     "Opened by all 2")
    # A new answer has not been opened by anyone yet.
    actions.answer_conversation(sender=sender, conversation=conversation, body="Nog iets")
    assert _status(sender_client.get("/sent"), conversation.pk)[0] == "unopened"


def test_a_bounce_or_a_lock_is_a_problem_until_it_is_solved(sender: User,
                                                            sender_client: Client) -> None:
    message = send(sender, recipients=TWO)
    piet, joke = message.conversation.recipients.order_by("id")
    RecipientEvent.objects.create(recipient=joke, message=message,
                                  kind=RecipientEvent.Kind.BOUNCED)
    actions.lock_recipient(piet)
    kind, text = _status(sender_client.get("/sent"), message.conversation_id)
    assert kind == "problem"
    assert "notification to joke@example.nl bounced" in text
    assert "piet@example.nl is locked out" in text
    # Sending again unlocks Piet; a later delivered notification clears Joke's bounce.
    actions.resend_notification(sender=sender, recipient=piet)
    RecipientEvent.objects.create(recipient=joke, message=message,
                                  kind=RecipientEvent.Kind.NOTIFIED)
    assert _status(sender_client.get("/sent"), message.conversation_id)[0] == "unopened"


def test_the_status_is_said_in_words_beside_its_icon(sender: User,
                                                     sender_client: Client) -> None:
    send(sender)
    html = sender_client.get("/sent").content.decode()
    assert re.search(r'<svg class="status-icon"[^>]*aria-hidden="true"', html)
    assert 'class="status-text">Not opened yet<' in html


def test_the_status_is_in_dutch_for_dutch_readers(sender: User, sender_client: Client) -> None:
    message = send(sender, recipients=TWO)
    _open(message.conversation.recipients.order_by("id")[0])
    response = sender_client.get("/sent", HTTP_ACCEPT_LANGUAGE="nl")
    assert _status(response, message.conversation_id) == ("partly", "Geopend door 1 van 2")


# --- Revoked titles -----------------------------------------------------------------------

def test_a_revoked_conversation_is_named_by_recipients_and_date(sender: User,
                                                                sender_client: Client) -> None:
    message = send(sender, recipients=TWO, subject="Geheime uitslag")
    conversation = message.conversation
    actions.revoke_conversation(sender=sender, conversation=conversation)
    for path in ("/sent", f"/c/{conversation.pk}"):
        html = sender_client.get(path).content.decode()
        assert "Geheime uitslag" not in html
        assert "Revoked — to piet@example.nl, joke@example.nl," in html
    assert _status(sender_client.get("/sent"), conversation.pk) == ("revoked", "Revoked")


def test_an_expired_conversation_says_expired(sender: User, sender_client: Client) -> None:
    message = send(sender, subject="Verlopen")
    Conversation.objects.filter(pk=message.conversation_id).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    assert actions.apply_due().expired == 1
    # The recipients' access ended; the sender still reads it, subject and all.
    html = sender_client.get("/sent").content.decode()
    assert "Verlopen" in html
    assert _status(sender_client.get("/sent"), message.conversation_id) == ("expired",
                                                                             "Expired")
    assert SubjectWord.objects.exists()


def test_a_conversation_shredded_by_retention_says_so(sender: User,
                                                      sender_client: Client) -> None:
    message = send(sender, subject="Oud dossier")
    sender.organisation.retention_days = 30
    sender.organisation.save(update_fields=["retention_days"])
    Conversation.objects.update(last_activity_at=message.created_at - timedelta(days=31))
    assert actions.apply_due().retention == 1
    html = sender_client.get("/sent").content.decode()
    assert "Oud dossier" not in html and "Shredded by retention — to piet@example.nl," in html
    assert _status(sender_client.get("/sent"), message.conversation_id) == (
        "revoked", "Shredded by retention policy")
    page = sender_client.get(f"/c/{message.conversation_id}").content.decode()
    assert 'data-shredded-by="retention"' in page and "by the retention policy" in page
    assert not SubjectWord.objects.exists()


def test_a_long_recipient_list_is_cut_in_the_title(sender: User) -> None:
    many = [actions.RecipientSpec(email=f"r{i}@example.nl", method="email") for i in range(5)]
    message = send(sender, recipients=many)
    actions.revoke_conversation(sender=sender, conversation=message.conversation)
    conversation = Conversation.objects.get()
    title = lists.revoked_title(conversation, list(conversation.recipients.all()))
    assert title.startswith("Revoked — to r0@example.nl, r1@example.nl, r2@example.nl, 2 more,")


# --- Search -------------------------------------------------------------------------------

def test_search_finds_by_recipient_address_name_and_subject_words(
        sender: User, sender_client: Client) -> None:
    uitslag = send(sender, subject="Uitslag bloedonderzoek Patiënt").conversation_id
    afspraak = send(sender, recipients=TWO[1:], subject="Nieuwe afspraak").conversation_id

    def found(q: str) -> set[str]:
        response = sender_client.get("/sent", {"q": q})
        assert response.status_code == 200
        return set(_rows(response))

    assert found("piet@example") == {str(uitslag)}
    assert found("bakker") == {str(afspraak)}
    assert found("BLOEDONDERZOEK") == {str(uitslag)}
    assert found("patient") == {str(uitslag)}  # accents and case do not matter
    assert found("afspraak joke") == {str(afspraak)}  # every term must match
    assert found("afspraak piet") == set()
    assert found("bloed") == set()  # whole words only: the index holds no prefixes
    assert found("example.nl") == {str(uitslag), str(afspraak)}


def test_the_index_holds_keyed_tokens_not_words(sender: User) -> None:
    send(sender, subject="Uitslag uitslag bloedonderzoek")
    stored = set(SubjectWord.objects.values_list("token", flat=True))
    assert len(stored) == 2  # each distinct word once
    assert not any("uitslag" in t or "bloed" in t for t in stored)
    assert stored == set(search.tokens(sender.organisation_id, "uitslag bloedonderzoek"))


def test_another_organisation_gets_other_tokens_for_the_same_word(sender: User,
                                                                  outsider: User) -> None:
    assert search.tokens(sender.organisation_id, "uitslag") != search.tokens(
        outsider.organisation_id, "uitslag")


def test_a_revoked_conversation_cannot_be_found_by_its_old_subject(
        sender: User, sender_client: Client) -> None:
    message = send(sender, subject="Uitslag bloedonderzoek")
    conversation_id = str(message.conversation_id)
    assert _rows(sender_client.get("/sent", {"q": "bloedonderzoek"})) == [conversation_id]
    actions.revoke_conversation(sender=sender, conversation=message.conversation)
    assert not SubjectWord.objects.filter(conversation_id=conversation_id).exists()
    assert _rows(sender_client.get("/sent", {"q": "bloedonderzoek"})) == []
    # Its recipients are not secret from its sender: it is still found by them.
    assert _rows(sender_client.get("/sent", {"q": "piet"})) == [conversation_id]


def test_search_stays_within_the_senders_own_conversations(sender: User, teammate: User,
                                                           sender_client: Client) -> None:
    send(teammate, subject="Uitslag")
    assert _rows(sender_client.get("/sent", {"q": "uitslag"})) == []
    assert _rows(sender_client.get("/sent", {"q": "piet"})) == []


@pytest.mark.parametrize("query", ["x" * 201, " ".join(["woord"] * 11)])
def test_a_search_that_is_too_long_is_refused_clearly(sender_client: Client,
                                                      query: str) -> None:
    response = sender_client.get("/sent", {"q": query})
    assert response.status_code == 400
    assert b"Search for at most" in response.content
    assert b'id="q-error"' in response.content


def test_the_index_is_filled_for_conversations_sent_before_it(sender: User) -> None:
    import importlib

    from django.apps import apps

    live = send(sender, subject="Oude uitslag")
    gone = send(sender, subject="Ingetrokken bericht")
    actions.revoke_conversation(sender=sender, conversation=gone.conversation)
    SubjectWord.objects.all().delete()
    migration = importlib.import_module("zegel.messaging.migrations.0011_subject_search_index")
    migration.fill(apps, None)
    assert set(SubjectWord.objects.values_list("conversation_id", "token")) == {
        (live.conversation_id, t) for t in search.tokens(sender.organisation_id, "oude uitslag")}


# --- Paging -------------------------------------------------------------------------------

def test_pages_show_every_conversation_once_with_a_count(sender: User, sender_client: Client,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lists, "PAGE_SIZE", 2)
    sent = [str(send(sender, subject=f"Bericht {i}").conversation_id) for i in range(5)]
    first = sender_client.get("/sent")
    assert "5 conversations." in first.content.decode()
    assert "Page 1 of 3" in first.content.decode()
    assert 'rel="next"' in first.content.decode() and 'rel="prev"' not in first.content.decode()
    seen = _rows(first) + _rows(sender_client.get("/sent", {"page": "2"}))
    last = sender_client.get("/sent", {"page": "3"})
    assert 'rel="prev"' in last.content.decode() and 'rel="next"' not in last.content.decode()
    seen += _rows(last)
    assert seen == list(reversed(sent))  # newest first, none twice, none left out


def test_paging_keeps_the_search(sender: User, sender_client: Client,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lists, "PAGE_SIZE", 1)
    send(sender, subject="Uitslag een")
    send(sender, subject="Uitslag twee")
    send(sender, subject="Iets anders")
    html = sender_client.get("/sent", {"q": "uitslag"}).content.decode()
    assert "2 conversations found for “uitslag”" in html
    assert 'href="/sent?q=uitslag&amp;page=2" rel="next"' in html


@pytest.mark.parametrize("page,status", [("abc", 400), ("0", 400), ("-1", 400), ("1.5", 400),
                                         ("9" * 30, 400), ("7", 404)])
def test_a_bad_page_number_gets_a_clear_answer(sender: User, sender_client: Client,
                                               page: str, status: int) -> None:
    send(sender)
    response = sender_client.get("/sent", {"page": page})
    assert response.status_code == status
    assert b"There is a problem" in response.content
    assert b"Go to the list" in response.content


def test_an_empty_list_has_one_page(sender_client: Client) -> None:
    response = sender_client.get("/sent")
    assert response.status_code == 200
    assert b"You have not sent any secure messages yet." in response.content


def test_the_lists_take_only_get(sender_client: Client) -> None:
    assert sender_client.post("/sent").status_code == 405


# --- Inbox: read and unread ---------------------------------------------------------------

def test_the_inbox_keeps_read_conversations_with_replies(sender: User,
                                                         sender_client: Client) -> None:
    replied = send(sender, subject="Met antwoord")
    send(sender, subject="Zonder antwoord")
    piet = replied.conversation.recipients.get()
    actions.reply_as_recipient(piet, "Dank u wel")
    html = sender_client.get("/inbox").content.decode()
    assert _rows(sender_client.get("/inbox")) == [str(replied.conversation_id)]
    assert 'class="unread"' in html and "data-unread" in html and "new reply" in html
    sender_client.get(f"/c/{replied.conversation_id}")  # read it
    html = sender_client.get("/inbox").content.decode()
    assert _rows(sender_client.get("/inbox")) == [str(replied.conversation_id)]
    assert "data-unread" not in html and 'class="unread"' not in html


# --- Queries ------------------------------------------------------------------------------

def _queries(client: Client, path: str) -> int:
    return len(_captured(client, path))


def _captured(client: Client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_a_page_takes_the_same_few_queries_for_one_row_or_many(
        sender: User, sender_client: Client) -> None:
    def reply_to_all() -> None:
        for recipient in Recipient.objects.filter(conversation__messages__author_recipient=None,
                                                  replies__isnull=True).distinct():
            actions.reply_as_recipient(recipient, "Dank u")

    send(sender, recipients=TWO, subject="Onderwerp 0")
    reply_to_all()
    few = {path: _queries(sender_client, path)
           for path in ("/sent", "/inbox", "/sent?q=onderwerp", "/inbox?q=piet")}
    for i in range(1, 12):
        message = send(sender, recipients=TWO, subject=f"Onderwerp {i}")
        _open(message.conversation.recipients.order_by("id")[0])
    reply_to_all()
    for path, count in few.items():
        assert _queries(sender_client, path) == count, path
        page = sender_client.get(path)
        assert len(_rows(page)) == 12
        assert all(f"Onderwerp {i}".encode() in page.content for i in range(12))
    # The list itself: the count, the page, the recipients with their status, the first
    # messages with their keys. The rest is the session, the user and the organisation's name.
    listing = [q for q in _captured(sender_client, "/sent?q=onderwerp") if "messaging_" in q]
    assert len(listing) == 4
    assert few["/sent"] <= 10
