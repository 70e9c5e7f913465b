"""The conversation page: a held recipient says what is missing, and its form releases it; the
same form changes how a notified recipient verifies. The pages are in Dutch, the default."""

from __future__ import annotations

from django.test import Client

from tests.conftest import deliver_and_get_link
from zegel.messaging import actions
from zegel.messaging.models import Recipient, RecipientLink
from zegel.orgs.models import User


def _held(sender: User) -> Recipient:
    message = actions.send_message(
        sender=sender, subject="Brief", body="Zie bijlage.", via="api", hold_incomplete=True,
        recipients=[actions.RecipientSpec(email="kees@example.nl", method="sms")])
    return message.conversation.recipients.get()


def test_the_page_shows_a_held_recipient_and_releases_it(sender: User,
                                                         sender_client: Client) -> None:
    kees = _held(sender)
    page = sender_client.get(f"/c/{kees.conversation_id}").content.decode()
    assert 'data-held="phone_missing"' in page
    assert "vul een mobiel nummer in voor de sms-code" in page
    assert "Naar deze ontvanger versturen" in page
    assert "is tegengehouden: vul in hoe" in sender_client.get("/sent").content.decode()
    url = f"/c/{kees.conversation_id}/recipients/{kees.pk}/verification"
    bad = sender_client.post(url, {"method": "sms", "phone": "12"}, follow=True)
    assert "Vul een goed mobiel nummer in" in bad.content.decode()
    assert not RecipientLink.objects.exists()
    done = sender_client.post(url, {"method": "sms", "phone": "06 87654321"}, follow=True)
    assert "Veilig verstuurd naar kees@example.nl" in done.content.decode()
    assert 'data-held="' not in done.content.decode()
    deliver_and_get_link("kees@example.nl")
    again = sender_client.post(url, {"method": "sms", "phone": "06 87654321"}, follow=True)
    assert "Er is niets gewijzigd" in again.content.decode()
    assert RecipientLink.objects.count() == 1


def test_only_the_sender_may_use_the_form(sender: User, outsider: User) -> None:
    kees = _held(sender)
    other = Client()
    other.force_login(outsider)
    response = other.post(f"/c/{kees.conversation_id}/recipients/{kees.pk}/verification",
                          {"method": "sms", "phone": "06 87654321"})
    assert response.status_code == 404
    kees.refresh_from_db()
    assert kees.held_reason == "phone_missing"
