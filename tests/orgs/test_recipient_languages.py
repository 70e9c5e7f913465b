"""The languages an organisation offers its recipients: the setting (action, page, API,
command line), the notification's languages and the portal's language switch."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD, deliver_and_get_link, send
from zegel.audit.models import AuditEvent
from zegel.cli import main
from zegel.messaging import actions
from zegel.notify.models import CapturedMessage
from zegel.notify.outbox import deliver_due
from zegel.orgs.actions import Refused, organisation_settings, update_organisation
from zegel.orgs.models import ApiToken, Organisation, User


def _reload(org: Organisation) -> Organisation:
    org.refresh_from_db()
    return org


# --- The setting -----------------------------------------------------------------------------

def test_languages_are_stored_in_shipped_order_and_audited(org: Organisation) -> None:
    assert organisation_settings(org)["languages"] == ["nl", "en"]
    update_organisation(org.domain, languages=["EN"], default_language="en")
    assert _reload(org).recipient_languages == "en" and org.default_language == "en"
    update_organisation(org.domain, languages=["en", "nl", "en"])
    assert _reload(org).recipient_languages == "nl,en"
    assert organisation_settings(org)["languages"] == ["nl", "en"]
    fields = [e.data["fields"] for e in AuditEvent.objects.filter(action="org.updated")
              .order_by("id")]
    assert fields == [["default_language", "recipient_languages"], ["recipient_languages"]]


@pytest.mark.parametrize(("values", "field", "reason"), [
    ({"languages": ["nl", "fr"]}, "languages", "Zegel has no language fr; it ships nl, en."),
    ({"languages": "de"}, "languages", "no language de"),
    ({"languages": []}, "languages", "at least one language"),
    ({"languages": [" ", ""]}, "languages", "at least one language"),
    ({"languages": 7}, "languages", "a list of language codes"),
    ({"default_language": "fr"}, "default_language", "no language fr"),
    ({"default_language": ""}, "default_language", "no language"),
    # Not offered: the default first, then the set that leaves the default out.
    ({"languages": ["en"]}, "default_language", "must be one of the languages offered"),
    ({"languages": ["nl"], "default_language": "en"}, "default_language",
     "must be one of the languages offered"),
])
def test_bad_languages_are_refused_and_change_nothing(org: Organisation, values: dict[str, Any],
                                                      field: str, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        update_organisation(org.domain, **values)
    assert refused.value.field == field and reason in refused.value.message
    assert _reload(org).recipient_languages == "nl,en" and org.default_language == "nl"
    assert not AuditEvent.objects.filter(action="org.updated").exists()


def test_the_settings_page_changes_them(org: Organisation) -> None:
    admin = User.objects.create_user("beheer@zorggroep-noord.nl", org, PASSWORD, role="admin")
    client = Client(headers={"accept-language": "en"})
    client.force_login(admin)
    page = client.get("/settings/organisation").content.decode()
    assert re.search(r'name="languages" type="checkbox" value="en" checked', page)
    form = {"name": org.name, "brand_colour": org.brand_colour, "default_expiry_days": "30",
            "max_expiry_days": "0", "default_method": "sms", "portal_idle_minutes": "0",
            "max_attachment_mb": "0", "notification_sender": "platform",
            "email_code_allowed": "on"}
    refused = client.post("/settings/organisation", {**form, "default_language": "nl"})
    assert refused.status_code == 400
    assert "Offer recipients at least one language." in refused.content.decode()
    refused = client.post("/settings/organisation",
                          {**form, "languages": ["nl"], "default_language": "en"})
    assert refused.status_code == 400 and 'id="default_language-error"' in \
        refused.content.decode()
    assert _reload(org).recipient_languages == "nl,en"
    saved = client.post("/settings/organisation",
                        {**form, "languages": ["en"], "default_language": "en"})
    assert saved.status_code == 302
    assert _reload(org).recipient_languages == "en" and org.default_language == "en"


def test_the_api_reads_and_changes_them(sender: User, org: Organisation) -> None:
    User.objects.filter(pk=sender.pk).update(role="admin")
    _token, secret = ApiToken.issue(User.objects.get(pk=sender.pk))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def patch(body: Any) -> Any:
        return api.patch("/api/v1/organisation", json.dumps(body),
                         content_type="application/json")

    assert api.get("/api/v1/organisation").json()["languages"] == ["nl", "en"]
    bad = patch({"languages": ["xx"]})
    assert bad.status_code == 400 and bad.json()["field"] == "languages"
    bad = patch({"default_language": "en", "languages": ["nl"]})
    assert bad.status_code == 400 and bad.json()["field"] == "default_language"
    assert patch({"languages": "nl"}).status_code == 422  # a list, not a text
    good = patch({"languages": ["en"], "default_language": "en"})
    assert good.status_code == 200
    assert good.json()["languages"] == ["en"] and good.json()["default_language"] == "en"


def test_the_command_line_changes_them(org: Organisation,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "set", "--domain", org.domain, "--languages", "fr,nl"]) == 1
    assert "Zegel has no language fr" in capsys.readouterr().err
    assert main(["org", "set", "--domain", org.domain, "--languages", "en",
                 "--default-language", "en"]) == 0
    assert re.search(r"languages: +en\n", capsys.readouterr().err)
    assert _reload(org).recipient_languages == "en"


# --- The notification ------------------------------------------------------------------------

def test_the_notification_follows_the_default_and_the_offered_languages(
        sender: User, org: Organisation) -> None:
    update_organisation(org.domain, languages=["nl"])
    send(User.objects.get(pk=sender.pk))
    deliver_due()
    mail = CapturedMessage.objects.filter(channel="email").latest("id")
    assert mail.subject == "Beveiligd bericht van Zorggroep Noord"
    assert "English" not in mail.text and "----" not in mail.text
    assert '<html lang="nl">' in mail.html


# --- The portal ------------------------------------------------------------------------------

def _switch(page: str) -> list[str]:
    return re.findall(r'<button name="language" value="(\w+)"', page)


def _open(client: Client, token: str) -> str:
    return client.get(f"/m/{token}").content.decode()


def test_the_portal_offers_only_the_offered_languages(sender: User, org: Organisation) -> None:
    send(sender)
    token = deliver_and_get_link()
    client = Client()
    page = _open(client, token)
    assert '<html lang="nl">' in page and _switch(page) == ["en"]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = _open(client, token)
    assert '<html lang="en">' in page and _switch(page) == ["nl"]
    # Dutch only: the English cookie (and an English browser) are ignored, and no switch.
    update_organisation(org.domain, languages=["nl"])
    page = client.get(f"/m/{token}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="nl">' in page and _switch(page) == []
    genuine = client.get(f"/o/{org.domain}/genuine").content.decode()
    assert '<html lang="nl">' in genuine and _switch(genuine) == []


def test_a_browser_language_counts_only_when_offered(sender: User, org: Organisation) -> None:
    update_organisation(org.domain, default_language="en")
    send(sender)
    token = deliver_and_get_link()
    # No choice and a browser that asks for nothing Zegel has: the organisation's default.
    page = Client().get(f"/m/{token}", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="en">' in page
    page = Client().get(f"/m/{token}", HTTP_ACCEPT_LANGUAGE="nl-BE,fr").content.decode()
    assert '<html lang="nl">' in page


def test_the_code_email_is_in_an_offered_language(sender: User, org: Organisation) -> None:
    update_organisation(org.domain, languages=["nl"])
    actions.send_message(sender=sender, subject="Uitslag", body="Zie bijlage.", recipients=[
        actions.RecipientSpec(email="mail@example.nl", method="email")])
    token = deliver_and_get_link("mail@example.nl")
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.post(f"/m/{token}/code", HTTP_ACCEPT_LANGUAGE="en")
    deliver_due()
    code = CapturedMessage.objects.filter(channel="email", to="mail@example.nl").latest("id")
    assert code.subject == "Uw code voor het bericht van Zorggroep Noord"
