"""The compose page: live hints from /compose/check, and the confirm box when a send is refused."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.dlp_integration.test_sending import BSN, CARD
from zegel.audit.models import AuditEvent
from zegel.messaging.models import Conversation
from zegel.orgs.models import User


def _form(**overrides: str) -> dict[str, Any]:
    form = {"rows": "1", "r-0-email": "jan@gmail.com", "r-0-phone": "06 12345678",
            "r-0-method": "", "subject": "Gegevens", "body": f"Het BSN is {BSN}."}
    form.update(overrides)
    return form


def test_check_returns_hints_in_the_users_language(sender_client: Client) -> None:
    response = sender_client.post("/compose/check", _form(), HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 200
    result = response.json()
    assert BSN not in response.content.decode()
    assert result["summary"] == "Gevonden: een BSN in het bericht."
    assert result["needs_confirmation"] and not result["blocked"]
    assert any("gratis e-mailadres" in hint for hint in result["hints"])

    english = sender_client.post("/compose/check", _form(), HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["summary"] == "Found: a BSN in the message."


def test_check_is_quiet_for_an_ordinary_message(sender_client: Client) -> None:
    result = sender_client.post("/compose/check", _form(
        body="Tot morgen!", **{"r-0-email": "piet@exa"})).json()
    assert result["findings"] == [] and result["hints"] == [] and result["summary"] == ""


def test_check_needs_a_login_and_a_csrf_token(sender: User) -> None:
    assert Client().post("/compose/check", _form()).status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sender)
    assert strict.post("/compose/check", _form()).status_code == 403
    page = strict.get("/compose")
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = strict.post("/compose/check", _form(), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200


def test_a_warning_is_confirmed_in_the_form(sender_client: Client) -> None:
    page = sender_client.get("/compose").content.decode()
    assert 'id="dlp-hints"' in page and 'aria-live="polite"' in page
    assert "data-dlp-confirm hidden" in page

    refused = sender_client.post("/compose", _form(), HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "data-dlp-confirm hidden" not in html and 'name="dlp_confirm"' in html
    assert "free-mail address" in html
    assert not Conversation.objects.exists()

    sent = sender_client.post("/compose", _form(dlp_confirm="1"))
    assert sent.status_code == 302
    assert AuditEvent.objects.filter(action="dlp.override").count() == 1


def test_a_blocked_message_shows_no_confirm_box(sender_client: Client) -> None:
    refused = sender_client.post("/compose", _form(body=f"Kaart {CARD}", dlp_confirm="1"),
                                 HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "data-dlp-confirm hidden" in refused.content.decode()
    assert "payment card number" in refused.content.decode()
    assert not Conversation.objects.exists()


def test_an_answer_with_a_warning_asks_for_confirmation(sender_client: Client) -> None:
    sender_client.post("/compose", _form(body="Hallo"))
    conversation = Conversation.objects.get()
    url = f"/c/{conversation.pk}"
    refused = sender_client.post(url, {"body": f"Het BSN is {BSN}"})
    assert refused.status_code == 400 and 'name="dlp_confirm"' in refused.content.decode()
    assert sender_client.post(url, {"body": f"Het BSN is {BSN}", "dlp_confirm": "1"}
                              ).status_code == 302
    assert conversation.messages.count() == 2
