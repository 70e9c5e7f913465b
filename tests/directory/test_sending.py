"""Sending to an address in the directory: the API and the compose page take the contact's
method, number and access code from the directory when the sender gives only the address,
and the recipient verifies with what the directory holds (also a shared code)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.directory.helpers import contact, shared_code
from zegel.messaging.drafts import RecipientSpec
from zegel.messaging.models import Recipient
from zegel.notify.models import CapturedMessage
from zegel.orgs.models import ApiToken, Organisation, User


@pytest.fixture
def api(sender: User) -> Client:
    _token, secret = ApiToken.issue(sender)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _post(api: Client, *recipients: dict[str, Any]) -> Any:
    payload = {"subject": "Uw uitslag", "body": "Beste, hierbij de uitslag.",
               "recipients": list(recipients)}
    return api.post("/api/v1/messages", json.dumps(payload), content_type="application/json")


def _opens_with(token: str, code: str, guest: Client | None = None) -> bool:
    guest = guest or Client()
    response = guest.post(f"/m/{token}/verify", {"code": code})
    return response.status_code == 302 and b"hierbij de uitslag" in guest.get(f"/m/{token}").content


def test_api_email_only_sends_the_sms_to_the_directorys_number(org: Organisation,
                                                                api: Client) -> None:
    contact(org, "piet@example.nl", name="Piet Jansen", phone="+31687654321")
    response = _post(api, {"email": "piet@example.nl"})
    assert response.status_code == 201, response.content
    [shown] = response.json()["recipients"]
    assert (shown["verification"], shown["name"]) == ("sms", "Piet Jansen")
    token = deliver_and_get_link("piet@example.nl")
    guest = Client()
    assert guest.post(f"/m/{token}/code").status_code == 302
    # The code goes through the SMS provider to the number only the directory had.
    assert _opens_with(token, latest_sms_code("+31687654321"), guest)


def test_api_given_details_win_over_the_directory(org: Organisation, api: Client) -> None:
    contact(org, "piet@example.nl", phone="+31687654321", code="geheim-123")
    contact(org, "klaas@example.nl", phone="+31687654322")
    response = _post(api, {"email": "piet@example.nl", "phone": "06 12345678"},
                     {"email": "klaas@example.nl", "verification": "email"})
    assert response.status_code == 201, response.content
    piet = Recipient.objects.get(email="piet@example.nl")
    klaas = Recipient.objects.get(email="klaas@example.nl")
    assert (piet.method, piet.phone) == ("sms", "+31612345678")
    assert (klaas.method, klaas.phone) == ("email", "")


def test_api_a_method_without_its_code_takes_the_directorys(org: Organisation,
                                                            api: Client) -> None:
    contact(org, "piet@example.nl", phone="+31687654321", code="geheim-123",
            access_code_hint="uw postcode")
    response = _post(api, {"email": "piet@example.nl", "verification": "access_code"})
    assert response.status_code == 201, response.content
    token = deliver_and_get_link("piet@example.nl")
    assert b"uw postcode" in Client().get(f"/m/{token}").content
    assert not _opens_with(token, "geheim-124")
    assert _opens_with(token, "geheim-123")


def test_api_another_organisations_contact_is_not_used(outsider: User, api: Client) -> None:
    contact(outsider.organisation, "piet@example.nl", phone="+31687654321")
    response = _post(api, {"email": "piet@example.nl"})
    # Nothing of the other organisation's contact is used: the recipient has no method, so it
    # is held (docs/api.md, "Held recipients") without a number, a link or a notification.
    assert response.status_code == 201, response.content
    [held] = response.json()["recipients"]
    assert (held["status"], held["held_reason"]) == ("held", "method_missing")
    recipient = Recipient.objects.get()
    assert (recipient.method, recipient.phone) == ("", "")
    assert not recipient.links.exists()


def test_the_data_leak_rules_judge_the_directorys_method(org: Organisation,
                                                         api: Client) -> None:
    """A BSN needs an SMS or access code: a contact with a code on file passes by its
    address alone; one with nothing but the e-mail code does not."""
    from tests.dlp_integration.test_sending import BSN

    contact(org, "code@example.nl", code="geheim-123")
    contact(org, "mail@example.nl")

    def post(address: str) -> Any:
        payload = {"subject": "Brief", "body": f"BSN: {BSN}", "confirm_warnings": True,
                   "recipients": [{"email": address}]}
        return api.post("/api/v1/messages", json.dumps(payload),
                        content_type="application/json")

    refused = post("mail@example.nl")
    assert refused.status_code == 400 and refused.json()["rules"][0]["action"] == "require"
    assert post("code@example.nl").status_code == 201


def test_api_check_judges_the_directorys_method(org: Organisation, api: Client) -> None:
    """POST /check sees the way the recipient will be sent with: a rule about the e-mail
    code applies to a contact with nothing else, not to one with a number on file."""
    from zegel.dlp.models import DlpRule

    DlpRule.objects.create(organisation=org, name="Zwakke code", action="suggest",
                           condition={"verification": ["email_code"]},
                           message_nl="Kies liever sms.", message_en="Prefer an SMS code.")
    contact(org, "mail@example.nl")
    contact(org, "sms@example.nl", phone="+31687654321")

    def rules_for(address: str) -> list[str]:
        payload = {"subject": "Brief", "body": "Tekst", "recipients": [{"email": address}]}
        response = api.post("/api/v1/check", json.dumps(payload),
                            content_type="application/json")
        assert response.status_code == 200, response.content
        return [r["name"] for r in response.json()["rules"]]

    assert "Zwakke code" in rules_for("mail@example.nl")
    assert "Zwakke code" not in rules_for("sms@example.nl")


def test_contacts_with_a_shared_code_verify_with_it(org: Organisation, sender: User) -> None:
    linde = shared_code(org, "Praktijk De Linde", "Linde-2027", hint="de code van de praktijk")
    contact(org, "assistent@linde.example", shared_code=linde)
    contact(org, "arts@linde.example", shared_code=linde)
    send(sender, recipients=[RecipientSpec(email="assistent@linde.example"),
                             RecipientSpec(email="arts@linde.example")])
    for address in ("assistent@linde.example", "arts@linde.example"):
        token = deliver_and_get_link(address)
        assert b"de code van de praktijk" in Client().get(f"/m/{token}").content
        assert not _opens_with(token, "Linde-2026")
        assert _opens_with(token, "Linde 2027")  # spaces and dashes left out as for any code
    assert {r.method for r in Recipient.objects.all()} == {"access_code"}


def test_compose_uses_the_directory_for_an_address_alone(org: Organisation,
                                                         sender_client: Client) -> None:
    """Without JavaScript: the row keeps the organisation's default method (SMS) and no
    number; the directory's number is used. A contact with only a code gets the code when the
    row asks for nothing."""
    contact(org, "piet@example.nl", name="Piet", phone="+31687654321")
    contact(org, "klaas@example.nl", code="geheim-123")
    response = sender_client.post("/compose", {
        "rows": "2", "r-0-email": "piet@example.nl", "r-0-method": "sms",
        "r-1-email": "klaas@example.nl", "r-1-method": "access_code",
        "subject": "Uitslag", "body": "Beste, hierbij de uitslag.", "expires_in": "30"})
    assert response.status_code == 302, response.content.decode()
    piet = Recipient.objects.get(email="piet@example.nl")
    klaas = Recipient.objects.get(email="klaas@example.nl")
    assert (piet.method, piet.phone, piet.name) == ("sms", "+31687654321", "Piet")
    assert klaas.method == "access_code" and klaas.access_code_hash.startswith("$argon2id$")
    deliver_and_get_link("piet@example.nl")
    assert not CapturedMessage.objects.filter(channel="sms").exists()  # only when asked


def test_compose_refused_form_does_not_show_the_directorys_details(
        org: Organisation, sender_client: Client) -> None:
    contact(org, "piet@example.nl", phone="+31687654321", code="geheim-123")
    response = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "piet@example.nl", "r-0-method": "sms",
        "subject": "", "body": "Tekst", "expires_in": "30"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a subject" in html or "Vul een onderwerp in" in html
    assert "687654321" not in html and "argon2" not in html
