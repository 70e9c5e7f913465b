"""The recipient's edge cases: a session that ends, a reply held across it, and pages that say
what happened (withdrawn, expired, locked), each with how to reach the sender."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from zegel.jobs import worker  # noqa: F401  (the purge runs there)
from zegel.keystore.models import DataKey
from zegel.messaging import actions, content
from zegel.messaging.models import (
    Attachment,
    Conversation,
    HeldReply,
    Message,
    Recipient,
    RecipientLink,
)
from zegel.orgs.models import Organisation, User
from zegel.portal.templatetags.portal_files import kind_of

REPLY = "Dank u, ik kom dinsdag. HELDMARK-5521"


@pytest.fixture(autouse=True)
def _english(settings: Any, org: Organisation) -> Any:
    """The pages in English (Dutch is the default; its texts are checked by the catalogue)."""
    settings.LANGUAGE_CODE = "en"
    # Recipients get their organisation's default language.
    Organisation.objects.filter(pk=org.pk).update(default_language="en")
    org.refresh_from_db()
    with translation.override("en"):
        yield


@pytest.fixture
def token(sender: User) -> str:
    sender.organisation.contact_phone = "050 123 4567"
    sender.organisation.contact_email = "balie@zorggroep-noord.nl"
    sender.organisation.save()
    send(sender)
    return deliver_and_get_link()


def _verify(client: Client, token: str) -> None:
    client.post(f"/m/{token}/code")
    response = client.post(f"/m/{token}/verify", {"code": latest_sms_code()})
    assert response.status_code == 302


def _idle(client: Client) -> None:
    """As if the recipient left the page alone for longer than the idle limit."""
    session = client.session
    state = session["portal"]
    state["t"] = time.time() - 10_000
    session["portal"] = state
    session.save()


def _replies() -> list[str]:
    return [content.open_message(m).body
            for m in Message.objects.filter(author_recipient__isnull=False)]


def test_a_reply_after_the_session_ended_is_held_sealed_and_sent_after_a_new_code(
        token: str, caplog: Any) -> None:
    client = Client()
    _verify(client, token)
    _idle(client)
    response = client.post(f"/m/{token}/reply", {"body": REPLY})
    assert response.status_code == 302
    assert not _replies(), "nothing is sent before the recipient verified again"
    held = HeldReply.objects.get()
    assert REPLY.encode() not in bytes(held.content_ct)
    page = client.get(f"/m/{token}")
    assert b"Your session ended" in page.content
    assert b"Your reply is not lost" in page.content
    assert b"050 123 4567" in page.content and b"balie@zorggroep-noord.nl" in page.content
    _verify(client, token)
    assert _replies() == [REPLY]
    assert not HeldReply.objects.exists()
    assert not DataKey.objects.filter(pk=held.key_id).exists()
    assert b"The reply you wrote before was sent securely" in client.get(f"/m/{token}").content
    assert "HELDMARK" not in caplog.text


def test_a_held_reply_keeps_its_files(token: str) -> None:
    client = Client()
    _verify(client, token)
    _idle(client)
    upload = SimpleUploadedFile("formulier.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    client.post(f"/m/{token}/reply", {"body": REPLY, "attachments": upload})
    draft = Attachment.objects.get()
    assert draft.message_id is None
    _verify(client, token)
    draft.refresh_from_db()
    assert draft.message is not None and draft.message.author_recipient_id is not None
    # The conversation page says what the file is.
    assert b"formulier.pdf</a> <span class=\"size\">(PDF document, 13" in client.get(
        f"/m/{token}").content


def test_a_held_reply_is_not_released_to_another_recipient_or_link(sender: User) -> None:
    send(sender, recipients=[
        actions.RecipientSpec(email="piet@example.nl", method="sms", phone="0612345678"),
        actions.RecipientSpec(email="jan@example.nl", method="sms", phone="0687654321"),
    ])
    piet_token = deliver_and_get_link("piet@example.nl")
    jan_token = deliver_and_get_link("jan@example.nl")
    piet = Client()
    _verify(piet, piet_token)
    _idle(piet)
    piet.post(f"/m/{piet_token}/reply", {"body": REPLY})
    held = HeldReply.objects.get()
    hold = piet.session["portal_hold"]
    jan = Recipient.objects.get(email="jan@example.nl")
    jan_link = RecipientLink.objects.get(recipient=jan)
    piet_recipient = Recipient.objects.get(email="piet@example.nl")
    # Jan, even with Piet's secret, and Piet through another link, get nothing.
    assert not actions.release_held_reply(jan, jan_link, hold["s"]).found
    other_link = RecipientLink.objects.create(recipient=piet_recipient, token_hash="0" * 64)
    assert not actions.release_held_reply(piet_recipient, other_link, hold["s"]).found
    # A wrong secret (another browser) neither.
    piet_link = RecipientLink.objects.get(pk=held.link_id)
    assert not actions.release_held_reply(piet_recipient, piet_link, "not-the-secret").found
    # Jan verifying in Piet's browser releases nothing of Piet's.
    jan.refresh_from_db()
    piet.post(f"/m/{jan_token}/code")
    piet.post(f"/m/{jan_token}/verify", {"code": latest_sms_code("+31687654321")})
    assert not _replies()
    assert HeldReply.objects.filter(pk=held.pk).exists()


def test_a_row_moved_to_another_recipient_fails_closed(sender: User) -> None:
    send(sender, recipients=[
        actions.RecipientSpec(email="piet@example.nl", method="sms", phone="0612345678"),
        actions.RecipientSpec(email="jan@example.nl", method="sms", phone="0687654321"),
    ])
    piet_token = deliver_and_get_link("piet@example.nl")
    jan_token = deliver_and_get_link("jan@example.nl")
    piet = Client()
    _verify(piet, piet_token)
    _idle(piet)
    piet.post(f"/m/{piet_token}/reply", {"body": REPLY})
    jan = Recipient.objects.get(email="jan@example.nl")
    jan_link = RecipientLink.objects.get(recipient=jan)
    hold = piet.session["portal_hold"]
    # Someone with write access to the database moves Piet's held reply to Jan.
    HeldReply.objects.update(recipient=jan, link=jan_link)
    released = actions.release_held_reply(jan, jan_link, hold["s"])
    assert released.failed and not released.body
    assert not HeldReply.objects.exists()
    assert not _replies()
    assert jan_token


def test_an_altered_sealed_value_fails_closed_and_the_page_says_so(token: str) -> None:
    client = Client()
    _verify(client, token)
    _idle(client)
    client.post(f"/m/{token}/reply", {"body": REPLY})
    held = HeldReply.objects.get()
    sealed = bytearray(bytes(held.content_ct))
    sealed[-1] ^= 1
    HeldReply.objects.update(content_ct=bytes(sealed))
    _verify(client, token)
    assert not _replies()
    assert not HeldReply.objects.exists()
    page = client.get(f"/m/{token}")
    assert b"could not be kept safely" in page.content


def test_a_pointed_link_column_fails_closed(token: str) -> None:
    client = Client()
    _verify(client, token)
    _idle(client)
    client.post(f"/m/{token}/reply", {"body": REPLY})
    held = HeldReply.objects.select_related("recipient").get()
    other = RecipientLink.objects.create(recipient=held.recipient, token_hash="1" * 64)
    HeldReply.objects.update(link=other)
    released = actions.release_held_reply(held.recipient, other, client.session["portal_hold"]["s"])
    assert released.failed
    assert not _replies()


def test_expired_held_replies_are_purged_with_their_files(token: str) -> None:
    client = Client()
    _verify(client, token)
    _idle(client)
    upload = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    client.post(f"/m/{token}/reply", {"body": REPLY, "attachments": upload})
    held = HeldReply.objects.get()
    assert actions.purge_held_replies() == 0
    HeldReply.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert actions.purge_held_replies() == 1
    assert not HeldReply.objects.exists()
    assert not DataKey.objects.filter(pk=held.key_id).exists()
    assert not Attachment.objects.exists()
    # Verifying afterwards sends nothing and says so.
    _verify(client, token)
    assert not _replies()
    assert b"was not sent" in client.get(f"/m/{token}").content


def test_an_expired_hold_is_not_released_before_the_purge(token: str) -> None:
    client = Client()
    _verify(client, token)
    _idle(client)
    client.post(f"/m/{token}/reply", {"body": REPLY})
    HeldReply.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _verify(client, token)
    assert not _replies()


def test_a_browser_that_never_verified_gets_its_text_back_not_held(token: str) -> None:
    response = Client().post(f"/m/{token}/reply", {"body": REPLY})
    assert response.status_code == 403
    assert REPLY.encode() in response.content
    assert not HeldReply.objects.exists()


def test_an_empty_reply_after_the_session_ended_holds_nothing(token: str) -> None:
    client = Client()
    _verify(client, token)
    _idle(client)
    assert client.post(f"/m/{token}/reply", {"body": "   "}).status_code == 302
    assert not HeldReply.objects.exists()


def test_stay_signed_in_extends_the_session(token: str, settings: Any) -> None:
    client = Client()
    _verify(client, token)
    answer = client.post(f"/m/{token}/stay")
    assert answer.status_code == 200
    assert json.loads(answer.content) == {"signed_in": True,
                                          "seconds": settings.PORTAL_IDLE_SECONDS}
    _idle(client)
    assert client.post(f"/m/{token}/stay").status_code == 401
    assert client.get(f"/m/{token}/stay").status_code == 405
    assert Client().post(f"/m/{'A' * 43}/stay").status_code == 404
    assert Client().post(f"/m/{token}/stay").status_code == 401


def test_withdrawn_expired_and_locked_pages_name_the_organisation(token: str,
                                                                   sender: User) -> None:
    conversation = Conversation.objects.get()
    Conversation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = Client().get(f"/m/{token}")
    assert page.status_code == 410
    expected = timezone.localtime(conversation.created_at).strftime("%Y").encode()
    assert b"This message was available until" in page.content and expected in page.content
    assert b"Zorggroep Noord" in page.content and b"050 123 4567" in page.content
    # The worker expired it: still "expired", not "withdrawn".
    assert actions.apply_due().expired == 1
    assert b"was available until" in Client().get(f"/m/{token}").content
    # The POST endpoints say the same.
    assert Client().post(f"/m/{token}/code").status_code == 410


def test_a_revoked_conversation_is_withdrawn(token: str, sender: User) -> None:
    actions.revoke_conversation(sender=sender, conversation=Conversation.objects.get())
    page = Client().get(f"/m/{token}")
    assert page.status_code == 410
    assert b"withdrawn by the sender" in page.content
    assert b"Anna de Vries" in page.content


def test_locked_page_names_contact(token: str) -> None:
    Recipient.objects.update(locked_at=timezone.now())
    page = Client().get(f"/m/{token}")
    assert page.status_code == 403
    assert b"balie@zorggroep-noord.nl" in page.content


def test_without_contact_details_the_senders_address_is_shown(token: str,
                                                              sender: User) -> None:
    sender.organisation.contact_phone = ""
    sender.organisation.contact_email = ""
    sender.organisation.save()
    Recipient.objects.update(revoked_at=timezone.now())
    assert sender.email.encode() in Client().get(f"/m/{token}").content


@pytest.mark.parametrize("typed", ["{a} {b}", "{a}-{b}", " {a} - {b} ", "{a}\u2013{b}"])
def test_a_code_with_spaces_or_dashes_opens(token: str, typed: str) -> None:
    client = Client()
    client.post(f"/m/{token}/code")
    code = latest_sms_code()
    response = client.post(f"/m/{token}/verify",
                           {"code": typed.format(a=code[:3], b=code[3:])})
    assert response.status_code == 302


def test_an_access_code_with_spaces_or_dashes_opens(sender: User) -> None:
    send(sender, recipients=[actions.RecipientSpec(
        email="piet@example.nl", method="access_code", access_code="1234-5678")])
    token = deliver_and_get_link()
    for typed in ("1234 5678", "12345678", "1234-5678"):
        client = Client()
        assert client.post(f"/m/{token}/verify", {"code": typed}).status_code == 302


def test_a_wrong_code_says_what_to_do_next(token: str, settings: Any) -> None:
    client = Client()
    client.post(f"/m/{token}/code")
    code = latest_sms_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page = client.post(f"/m/{token}/verify", {"code": wrong})
    assert page.status_code == 400
    assert b"you can try 4 more times" in page.content
    Recipient.objects.update(last_failed_at=None)
    for _ in range(4):
        Recipient.objects.update(last_failed_at=None)
        page = client.post(f"/m/{token}/verify", {"code": wrong})
    assert b"it no longer works. Ask for a new code" in page.content
    Recipient.objects.update(last_failed_at=None)
    page = client.post(f"/m/{token}/verify", {"code": code})
    assert b"Ask for a new code" in page.content


def test_a_wrong_access_code_says_tries_left_and_whom_to_ask(sender: User,
                                                             settings: Any) -> None:
    send(sender, recipients=[actions.RecipientSpec(
        email="piet@example.nl", method="access_code", access_code="1234-5678")])
    token = deliver_and_get_link()
    page = Client().post(f"/m/{token}/verify", {"code": "0000-0000"})
    assert page.status_code == 400
    left = settings.RECIPIENT_MAX_FAILURES - 1
    assert f"You can try {left} more times".encode() in page.content
    assert b"ask Anna de Vries of Zorggroep Noord" in page.content
    assert b'data-show-code="code" aria-pressed="false"' in page.content


def test_bad_input_to_verify_is_refused_clearly(token: str) -> None:
    client = Client()
    client.post(f"/m/{token}/code")
    for typed in ("", "abc", "1" * 40, "12 34"):
        page = client.post(f"/m/{token}/verify", {"code": typed})
        assert page.status_code == 400
        assert b"There is a problem" in page.content


def test_the_conversation_page_says_until_when_and_what_files_are(sender: User,
                                                                  org: Any) -> None:
    from zegel.files.uploads import EncryptedUpload  # noqa: F401

    client_sender = Client()
    client_sender.force_login(sender)
    send(sender)
    Conversation.objects.update(expires_at=timezone.now() + timedelta(days=3))
    token = deliver_and_get_link()
    client = Client()
    _verify(client, token)
    page = client.get(f"/m/{token}").content
    assert b"This message is available until" in page
    assert b"data-session-warning" in page and b"Stay signed in" in page


def test_a_code_field_gets_focus_after_a_code_was_sent(token: str) -> None:
    client = Client()
    client.post(f"/m/{token}/code")
    page = client.get(f"/m/{token}").content
    assert b'autocomplete="one-time-code"' in page and b"autofocus" in page


@pytest.mark.parametrize(("content_type", "name", "kind"), [
    ("application/pdf", "a.pdf", "PDF document"),
    ("application/octet-stream", "brief.DOCX", "Word document"),
    ("image/jpeg", "foto.jpg", "Image (JPEG)"),
    ("text/plain", "a.txt", "Text file"),
    ("application/x-unknown", "x.bin", "File"),
    ("", "no-extension", "File"),
])
def test_file_kinds_in_words(content_type: str, name: str, kind: str) -> None:
    assert kind_of(content_type, name) == kind
