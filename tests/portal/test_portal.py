"""The guest portal: opening a link, proving who you are, reading, downloading, replying."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from zegel.messaging import actions
from zegel.messaging.models import Recipient, RecipientEvent, VerificationCode
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User


def _verified_client(token: str) -> Client:
    client = Client()
    client.post(f"/m/{token}/code")
    code = latest_sms_code()
    response = client.post(f"/m/{token}/verify", {"code": code})
    assert response.status_code == 302
    return client


@pytest.fixture
def token(sender: User) -> str:
    send(sender)
    return deliver_and_get_link()


def test_get_of_link_changes_nothing(token: str) -> None:
    outbox_before = OutboxItem.objects.count()
    response = Client().get(f"/m/{token}")
    assert response.status_code == 200
    assert b"Anna de Vries" in response.content
    assert b"+31 6 ** ** ** 78" in response.content
    assert OutboxItem.objects.count() == outbox_before
    assert not VerificationCode.objects.exists()
    assert not RecipientEvent.objects.exclude(kind="notified").exists()


def test_it_reads_after_sms_code(token: str) -> None:
    client = _verified_client(token)
    response = client.get(f"/m/{token}")
    assert b"hierbij de uitslag" in response.content
    assert RecipientEvent.objects.filter(kind="verified").count() == 1
    assert RecipientEvent.objects.filter(kind="opened").count() == 1


def _wait_out_the_throttle() -> None:
    """As if the recipient waited as long as the portal asked (the delay is counted from the
    stored time of the last failure)."""
    Recipient.objects.update(last_failed_at=timezone.now() - timedelta(days=1))


def test_it_kills_a_code_after_five_wrong_tries(token: str) -> None:
    client = Client()
    client.post(f"/m/{token}/code")
    code = latest_sms_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        _wait_out_the_throttle()
        assert client.post(f"/m/{token}/verify", {"code": wrong}).status_code == 400
    _wait_out_the_throttle()
    response = client.post(f"/m/{token}/verify", {"code": code})
    assert response.status_code == 400, "the right code must be dead after 5 failures"


def test_it_locks_recipient_after_twenty_failures_and_tells_sender(token: str, sender: User,
                                                                  settings: Any) -> None:
    settings.RECIPIENT_MAX_FAILURES = 20
    client = Client()
    for i in range(19):
        if i % 5 == 0:
            client.post(f"/m/{token}/code")
        _wait_out_the_throttle()
        client.post(f"/m/{token}/verify", {"code": "000000" if i % 2 else "999999"})
    assert Recipient.objects.get().failed_attempts == 19
    # Someone else holds a fresh, unused code when the twentieth failure, a wrong guess at
    # that code, locks the recipient.
    holder = Client()
    holder.post(f"/m/{token}/code")
    right_code = latest_sms_code()
    assert Recipient.objects.get().locked_at is None
    _wait_out_the_throttle()
    holder.post(f"/m/{token}/verify", {"code": f"{(int(right_code) + 1) % 10**6:06d}"})
    recipient = Recipient.objects.get()
    assert recipient.locked_at is not None
    assert RecipientEvent.objects.filter(kind="locked").exists()
    deliver_and_get_link()  # runs the outbox
    notice = CapturedMessage.objects.filter(channel="email", to=sender.email).first()
    assert notice is not None and "piet@example.nl" in notice.text
    assert client.get(f"/m/{token}").status_code == 403
    # Even the right code does not open it now.
    assert holder.post(f"/m/{token}/verify", {"code": right_code}).status_code == 403
    assert not actions.verify_code(recipient, right_code, holder.session.session_key or "")
    assert not RecipientEvent.objects.filter(kind="verified").exists()


def test_it_rejects_a_replayed_code(token: str) -> None:
    client = Client()
    client.post(f"/m/{token}/code")
    code = latest_sms_code()
    assert client.post(f"/m/{token}/verify", {"code": code}).status_code == 302
    client.post(f"/m/{token}/end")
    again = Client()
    assert again.post(f"/m/{token}/verify", {"code": code}).status_code == 400


def test_it_rejects_an_expired_code(token: str) -> None:
    client = Client()
    client.post(f"/m/{token}/code")
    code = latest_sms_code()
    VerificationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(f"/m/{token}/verify", {"code": code}).status_code == 400


def test_a_code_is_bound_to_the_session_that_asked(token: str) -> None:
    asker = Client()
    asker.post(f"/m/{token}/code")
    code = latest_sms_code()
    thief = Client()
    assert thief.post(f"/m/{token}/verify", {"code": code}).status_code == 400


def test_unknown_and_malformed_links_look_the_same_and_a_revoked_one_says_so(
        token: str) -> None:
    paths = ["/m/" + "A" * 43, "/m/abc"]
    unknown = Client().get(paths[0])
    short = Client().get(paths[1])
    malformed = Client().get("/m/../../etc/passwd")
    # The page echoes its own path (the language switch returns there); apart from that, equal.
    csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    bodies = {csrf.sub(b"", r.content.replace(p.encode(), b"PATH"))
              for r, p in zip((unknown, short), paths, strict=True)}
    assert len(bodies) == 1
    assert {unknown.status_code, short.status_code} == {404}
    assert malformed.status_code == 404
    assert b"Zorggroep" not in unknown.content
    # Only the whole, valid token learns what became of its message.
    Recipient.objects.update(revoked_at=timezone.now())
    revoked = Client().get(f"/m/{token}", HTTP_ACCEPT_LANGUAGE="en")
    assert revoked.status_code == 410
    assert b"withdrawn" in revoked.content and b"Zorggroep Noord" in revoked.content


def test_one_recipients_session_cannot_open_another_recipients_link(sender: User) -> None:
    send(sender, recipients=[
        actions.RecipientSpec(email="piet@example.nl", method="sms", phone="0612345678"),
        actions.RecipientSpec(email="klaas@example.nl", method="access_code",
                              access_code="geheim-123"),
    ])
    piet_token = deliver_and_get_link("piet@example.nl")
    klaas_token = deliver_and_get_link("klaas@example.nl")
    piet = _verified_client(piet_token)
    response = piet.get(f"/m/{klaas_token}")
    assert b"hierbij de uitslag" not in response.content
    assert b'name="code"' in response.content


def test_it_refuses_attachment_of_another_conversation(sender: User, tmp_path: Any) -> None:
    from tests.messaging.test_attachments import make_attachment

    other_attachment = make_attachment(sender, b"secret other file")
    send(sender, subject="Other", attachments=[other_attachment])
    deliver_and_get_link()
    send(sender, recipients=[actions.RecipientSpec(email="jan@example.nl", method="sms",
                                                   phone="0612345678")])
    jan_token = deliver_and_get_link("jan@example.nl")
    jan = _verified_client(jan_token)
    response = jan.get(f"/m/{jan_token}/a/{other_attachment.pk}")
    assert response.status_code == 404
    assert jan.get(f"/m/{jan_token}/a/not-a-uuid").status_code == 404


def test_it_refuses_posts_without_csrf_token(token: str) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/m/{token}/code").status_code == 403
    assert client.post(f"/m/{token}/verify", {"code": "123456"}).status_code == 403
    assert not VerificationCode.objects.exists()


def test_access_code_opens_and_wrong_one_does_not(sender: User) -> None:
    send(sender, recipients=[actions.RecipientSpec(email="klaas@example.nl",
                                                   method="access_code",
                                                   access_code="geheim-123",
                                                   access_code_hint="uw postcode")])
    token = deliver_and_get_link("klaas@example.nl")
    client = Client()
    page = client.get(f"/m/{token}")
    assert b"uw postcode" in page.content
    assert client.post(f"/m/{token}/verify", {"code": "geheim-124"}).status_code == 400
    assert client.post(f"/m/{token}/verify", {"code": "geheim-123"}).status_code == 302
    assert b"hierbij de uitslag" in client.get(f"/m/{token}").content


def test_email_code_is_sent_by_email(sender: User) -> None:
    send(sender, recipients=[actions.RecipientSpec(email="mail@example.nl", method="email")])
    token = deliver_and_get_link("mail@example.nl")
    client = Client()
    client.post(f"/m/{token}/code")
    deliver_due()
    mail = CapturedMessage.objects.filter(to="mail@example.nl").order_by("-id").first()
    assert mail is not None
    code = re.search(r"\b(\d{6})\b", mail.text)
    assert code
    assert client.post(f"/m/{token}/verify", {"code": code.group(1)}).status_code == 302


def test_resend_waits_for_the_cooldown(token: str, settings: Any) -> None:
    settings.CODE_RESEND_COOLDOWN_SECONDS = 60
    client = Client()
    client.post(f"/m/{token}/code")
    client.post(f"/m/{token}/code")
    assert VerificationCode.objects.count() == 1


def test_session_expires_after_inactivity(token: str, settings: Any) -> None:
    client = _verified_client(token)
    settings.PORTAL_IDLE_SECONDS = 0
    time.sleep(0.01)
    response = client.get(f"/m/{token}")
    assert b"hierbij de uitslag" not in response.content


def test_logout_ends_the_session(token: str) -> None:
    client = _verified_client(token)
    client.post(f"/m/{token}/end")
    assert b"hierbij de uitslag" not in client.get(f"/m/{token}").content


def test_reply_with_file_reaches_sender(token: str, sender: User) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = _verified_client(token)
    upload = SimpleUploadedFile("antwoord.pdf", b"%PDF-1.4 reply bytes")
    response = client.post(f"/m/{token}/reply", {"body": "Dank u, zie bijlage.",
                                                  "attachments": [upload]})
    assert response.status_code == 302
    page = client.get(f"/m/{token}").content.decode()
    assert 'class="notice notice-success"' in page  # "your reply was sent"
    assert "OpenMessage" not in page
    assert RecipientEvent.objects.filter(kind="replied").exists()
    deliver_and_get_link()
    notice = CapturedMessage.objects.filter(to=sender.email).first()
    assert notice is not None and "Dank u" not in notice.text
    sender_client = Client()
    sender_client.force_login(sender)
    inbox = sender_client.get("/inbox")
    assert b"Uw uitslag" in inbox.content
    conversation = Recipient.objects.get().conversation
    page = sender_client.get(f"/c/{conversation.pk}")
    assert b"Dank u, zie bijlage." in page.content
    assert b"antwoord.pdf" in page.content


def test_html_in_body_subject_and_names_is_shown_as_text(sender: User) -> None:
    from tests.messaging.test_attachments import make_attachment

    attachment = make_attachment(sender, b"x", name="<img src=x onerror=alert(1)>.pdf")
    send(sender, subject="<script>alert('s')</script>",
         body="<b>vet</b><script>alert('b')</script>", attachments=[attachment])
    token = deliver_and_get_link()
    client = _verified_client(token)
    html = client.get(f"/m/{token}").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;b&#x27;)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_a_body_keeps_its_line_breaks_and_links_and_no_other_markup(sender: User) -> None:
    send(sender, body='Regel een\nRegel twee\n\nZie https://zorggroep-noord.nl/info voor meer.\n'
                      '<a href="https://evil.test/x">klik</a> <b>vet</b> <p onclick="x()">p</p>')
    token = deliver_and_get_link()
    html = _verified_client(token).get(f"/m/{token}").content.decode()
    body = html.split('<div class="body">', 1)[1].split("</div>", 1)[0]
    assert "Regel een<br>Regel twee</p>" in body
    assert body.count("<p>") == 2  # the blank line starts a new paragraph
    # Every link shows its own address: a typed <a> is text, only the bare URL in it is a link.
    links = re.findall(r'<a href="([^"]*)" rel="nofollow">([^<]*)</a>', body)
    assert links == [("https://zorggroep-noord.nl/info", "https://zorggroep-noord.nl/info"),
                     ("https://evil.test/x", "https://evil.test/x")]
    assert len(re.findall(r"<a ", body)) == 2
    assert set(re.findall(r"</?([a-zA-Z]+)", body)) == {"p", "br", "a"}
    assert "&lt;a href=&quot;" in body and "&quot;&gt;klik&lt;/a&gt;" in body
    assert "&lt;b&gt;vet&lt;/b&gt;" in body and "onclick=\"" not in body
