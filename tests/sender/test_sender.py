"""The sender app: login, compose validation, isolation between users and organisations."""

from __future__ import annotations

from django.test import Client

from tests.conftest import PASSWORD, send
from zegel.audit.models import AuditEvent
from zegel.messaging.models import Conversation, Recipient
from zegel.orgs.models import User


def test_login_and_failed_login_are_audited(sender: User) -> None:
    client = Client()
    assert client.post("/login", {"username": sender.email, "password": "wrong"}).status_code \
        == 200
    response = client.post("/login", {"username": sender.email, "password": PASSWORD})
    assert response.status_code == 302
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["user.login_failed", "user.login"]
    assert "wrong" not in str(AuditEvent.objects.values_list("data", flat=True))


def test_pages_need_login(db: None) -> None:
    for path in ("/inbox", "/sent", "/compose"):
        response = Client().get(path)
        assert response.status_code == 302 and "/login" in response["Location"]


def test_compose_requires_recipients(sender_client: Client) -> None:
    response = sender_client.post("/compose", {"rows": "1", "subject": "x", "body": "y"})
    assert response.status_code == 400
    assert not Conversation.objects.exists()


def test_compose_rejects_bad_address_and_phone(sender_client: Client) -> None:
    bad_mail = sender_client.post("/compose", {"rows": "1", "r-0-email": "piet@@example",
                                               "r-0-phone": "0612345678",
                                               "subject": "x", "body": "y"})
    assert bad_mail.status_code == 400
    bad_phone = sender_client.post("/compose", {"rows": "1", "r-0-email": "piet@example.nl",
                                                "r-0-phone": "0201234567",
                                                "subject": "x", "body": "y"})
    assert bad_phone.status_code == 400
    assert b"piet@example.nl" in bad_phone.content  # what was typed is kept
    assert not Conversation.objects.exists()


def test_compose_needs_a_method_when_no_phone_is_known(sender_client: Client) -> None:
    response = sender_client.post("/compose", {"rows": "1", "r-0-email": "piet@example.nl",
                                               "subject": "x", "body": "y"})
    assert response.status_code == 400
    assert b'data-error-field="0.method"' in response.content


def test_dutch_mobile_number_is_stored_in_e164(sender_client: Client) -> None:
    sender_client.post("/compose", {"rows": "2", "r-0-email": "piet@example.nl",
                                    "r-0-phone": "06-12 34 56 78", "r-1-email": "jan@example.nl",
                                    "r-1-method": "email", "subject": "x", "body": "y"})
    assert sorted(Recipient.objects.values_list("phone", "method")) == [
        ("", "email"), ("+31612345678", "sms")]


def test_access_code_is_stored_as_argon2id(sender_client: Client) -> None:
    sender_client.post("/compose", {"rows": "1", "r-0-email": "piet@example.nl",
                                    "r-0-method": "access_code", "r-0-access_code": "geheim-123",
                                    "subject": "x", "body": "y"})
    stored = Recipient.objects.get().access_code_hash
    assert stored.startswith("$argon2id$") and "geheim" not in stored


def test_others_cannot_see_a_conversation(sender: User, teammate: User,
                                          outsider: User) -> None:
    message = send(sender)
    for user in (teammate, outsider):
        client = Client()
        client.force_login(user)
        assert client.get(f"/c/{message.conversation_id}").status_code == 404
        assert b"Uw uitslag" not in client.get("/sent").content


def test_sent_lists_and_conversation_shows_status(sender_client: Client, sender: User) -> None:
    message = send(sender)
    assert b"Uw uitslag" in sender_client.get("/sent").content
    page = sender_client.get(f"/c/{message.conversation_id}")
    assert b"piet@example.nl" in page.content


def test_sender_answer_notifies_recipient_again(sender_client: Client, sender: User) -> None:
    from tests.conftest import deliver_and_get_link

    message = send(sender)
    first = deliver_and_get_link()
    response = sender_client.post(f"/c/{message.conversation_id}", {"body": "Nog een vraag"})
    assert response.status_code == 302
    second = deliver_and_get_link()
    assert first != second
    assert message.conversation.messages.count() == 2


def test_compose_post_without_csrf_is_refused(sender: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(sender)
    response = client.post("/compose", {"rows": "1", "r-0-email": "piet@example.nl",
                                        "r-0-phone": "0612345678", "subject": "x", "body": "y"})
    assert response.status_code == 403
    assert not Conversation.objects.exists()


def test_security_headers_are_set(db: None) -> None:
    response = Client().get("/login")
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_dev_outbox_does_not_exist_outside_demo(db: None) -> None:
    assert Client().get("/dev/outbox").status_code == 404
