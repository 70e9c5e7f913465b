"""POST /api/v1/check reports findings and rules; POST /api/v1/messages enforces them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.dlp_integration.test_sending import BSN, CARD
from zegel.audit.models import AuditEvent
from zegel.messaging.models import Message
from zegel.orgs.models import ApiToken, User


@pytest.fixture
def api(sender: User) -> Client:
    _token, secret = ApiToken.issue(sender)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _post(api: Client, path: str, **overrides: Any) -> Any:
    payload = {"subject": "Gegevens", "body": f"Het BSN van de cliënt is {BSN}.",
               "recipients": [{"email": "jan@gmail.com", "verification": "sms",
                               "phone": "06 12345678"}]}
    payload.update(overrides)
    return api.post(f"/api/v1/{path}", json.dumps(payload), content_type="application/json",
                    HTTP_ACCEPT_LANGUAGE="en")


def test_check_returns_findings_and_rules_without_the_value(api: Client) -> None:
    response = _post(api, "check", subject=f"BSN {BSN}")
    assert response.status_code == 200, response.content
    result = response.json()
    assert [(f["kind"], f["where"]) for f in result["findings"]] == [
        ("bsn", "subject"), ("bsn", "body")]
    assert result["findings"][1]["start"] == len("Het BSN van de cliënt is ")
    assert BSN not in response.content.decode()
    assert {r["kind"] for r in result["recipient_findings"]} == {"first_contact", "free_mail"}
    warning = next(r for r in result["rules"] if r["action"] == "warn")
    assert warning["message"] == warning["message_en"] and warning["message_nl"]
    assert result["needs_confirmation"] and not result["blocked"]
    assert result["required_methods"] == ["access_code", "sms"]
    assert not Message.objects.exists() and not AuditEvent.objects.filter(
        action__startswith="dlp.").exists()


def test_check_answers_in_dutch_when_asked(api: Client) -> None:
    response = api.post("/api/v1/check", json.dumps({
        "subject": "x", "body": CARD, "recipients": [{"email": "piet@example.nl"}]}),
        content_type="application/json", HTTP_ACCEPT_LANGUAGE="nl")
    [rule] = response.json()["rules"]
    assert rule["message"].startswith("Dit bericht bevat een creditcardnummer")


def test_messages_refuses_an_unconfirmed_warning_with_a_problem(api: Client) -> None:
    response = _post(api, "messages")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == "dlp" and problem["detail"]
    assert "Sensitive data to a free-mail address" in [r["name"] for r in problem["rules"]]
    assert BSN not in response.content.decode()

    response = _post(api, "messages", confirm_warnings=True)
    assert response.status_code == 201, response.content
    override = AuditEvent.objects.get(action="dlp.override")
    assert override.actor_type == "user" and override.data["via"] == "api"


def test_messages_refuses_a_blocked_message_even_if_confirmed(api: Client) -> None:
    response = _post(api, "messages", body=f"Kaart {CARD}", confirm_warnings=True)
    assert response.status_code == 400
    assert response.json()["rules"][0]["action"] == "block"
    assert not Message.objects.exists()


def test_check_refuses_someone_elses_attachment(api: Client, outsider: User) -> None:
    from tests.messaging.test_attachments import make_attachment

    theirs = make_attachment(outsider, b"BSN 111222333", "x.txt")
    response = _post(api, "check", attachments=[str(theirs.pk)])
    assert response.status_code == 404


def test_check_refuses_an_attachment_that_was_already_sent(api: Client, sender: User) -> None:
    from tests.messaging.test_attachments import make_attachment

    sent = make_attachment(sender, b"Uitslag bloedonderzoek", "uitslag.txt")
    response = _post(api, "messages", body="Zie bijlage.", attachments=[str(sent.pk)],
                     confirm_warnings=True)
    assert response.status_code == 201, response.content
    # Sent files are not decrypted again by the check, just as the send refuses them.
    for path in ("check", "messages"):
        response = _post(api, path, body="Zie bijlage.", attachments=[str(sent.pk)])
        assert response.status_code == 404, (path, response.content)
        assert response["Content-Type"] == "application/problem+json"


def test_check_answers_404_for_an_attachment_whose_key_was_shredded(
    api: Client, sender: User
) -> None:
    from django.utils import timezone

    from tests.messaging.test_attachments import make_attachment
    from zegel.keystore.models import DataKey

    for shredded in ({"wrapped": b"", "shredded_at": timezone.now()}, {"wrapped": b""}):
        upload = make_attachment(sender, b"BSN 111222333", "x.txt")
        DataKey.objects.filter(pk=upload.key_id).update(**shredded)
        for path in ("check", "messages"):
            response = _post(api, path, body="Zie bijlage.", attachments=[str(upload.pk)])
            assert response.status_code == 404, (path, response.content)
    assert not Message.objects.exists()


def test_check_answers_404_for_the_attachment_of_a_revoked_message(
    api: Client, sender: User
) -> None:
    from tests.messaging.test_attachments import make_attachment

    upload = make_attachment(sender, b"Uitslag", "uitslag.txt")
    sent = _post(api, "messages", body="Zie bijlage.", attachments=[str(upload.pk)],
                 confirm_warnings=True).json()
    assert api.generic("POST", f"/api/v1/messages/{sent['id']}/revoke").status_code == 200
    response = _post(api, "check", body="Zie bijlage.", attachments=[str(upload.pk)])
    assert response.status_code == 404
