"""The communication kit (zegel.orgs.kit, /settings/kit): the seven built-in templates in both
languages, filled from the organisation's settings, edited, reset and exported; and the bad
input an editor can type."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from tests.conftest import PASSWORD
from zegel.audit.models import AuditEvent
from zegel.cli import DEMO_DOMAIN, ensure_demo
from zegel.orgs import kit
from zegel.orgs.models import KitText, Organisation, User

URL = "/settings/kit"


@pytest.fixture
def admin(org: Organisation) -> User:
    return User.objects.create_user("beheer@zorggroep-noord.nl", org, PASSWORD, role="admin")


def _client(user: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def _edit(client: Client, template: str = "clients", language: str = "en",
          **data: Any) -> Any:
    return client.post(f"{URL}/{template}/{language}", data)


def _complete(org: Organisation) -> Organisation:
    Organisation.objects.filter(pk=org.pk).update(
        contact_email="zorg@zorggroep-noord.nl", contact_phone="050 123 45 67",
        kit_start_date=date(2027, 3, 1),
        contact_change_procedure="Call reception and show your ID.",
        nta7516_record_url="https://zorggroep-noord.nl/nta7516")
    return Organisation.objects.get(pk=org.pk)


# --- Every template, filled for the demo organisation -----------------------------------------

@pytest.mark.django_db
def test_every_template_exports_in_both_languages_filled_for_the_demo() -> None:
    ensure_demo()
    admin = User.objects.get(organisation__domain=DEMO_DOMAIN, role="admin")
    client = _client(admin)
    org = admin.organisation
    assert len(kit.TEMPLATE_KEYS) == 7
    for template in kit.TEMPLATE_KEYS:
        for language in kit.LANGUAGES:
            page = client.get(f"{URL}/{template}/{language}")
            assert page.status_code == 200
            text = page.context["text"]
            assert text == kit.built_in(template, language)
            copy = {"client_name": "Mevrouw J. Jansen", "access_code": "K7P4-9XM2"}
            for action in ("export_html", "export_text", "export_pdf"):
                response = _edit(client, template, language, text=text, action=action, **copy)
                assert response.status_code == 200, (template, language, action)
                assert "attachment" in response["Content-Disposition"]
                if action == "export_pdf":
                    reader = PdfReader(io.BytesIO(response.content))
                    body = "\n".join(p.extract_text() for p in reader.pages)
                else:
                    body = response.content.decode()
                # Nothing left unfilled, no marker, and the organisation's own values in.
                assert "{" not in body and "not set" not in body
                assert org.name in " ".join(body.split())
                if "{access_code}" in text:
                    assert "K7P4-9XM2" in body and "Jansen" in body
                if "{contact_change_procedure}" in text and action != "export_pdf":
                    assert org.contact_change_procedure in body
                if action == "export_html":
                    assert body.startswith("<!DOCTYPE html>") and f'lang="{language}"' in body


# --- The kit follows the settings ------------------------------------------------------------

@pytest.mark.django_db
def test_the_methods_allowed_change_the_texts(org: Organisation) -> None:
    org = _complete(org)
    text = kit.built_in("clients", "en")
    with_email = kit.fill(text, org, "en").text
    assert "E-mail code: a code arrives" in with_email
    assert "SMS code, access code or e-mail code" in with_email
    org.email_code_allowed = False
    without = kit.fill(text, org, "en").text
    assert "E-mail code" not in without and "e-mail code" not in without
    assert "SMS code or access code" in without
    assert "sms-code, toegangscode of e-mailcode" in kit.fill(
        kit.built_in("clients", "nl"), Organisation.objects.get(pk=org.pk), "nl").text


@pytest.mark.django_db
def test_the_nta7516_record_is_mentioned_only_when_published(org: Organisation) -> None:
    org = _complete(org)
    text = kit.built_in("nta7516_letter", "en")
    assert "https://zorggroep-noord.nl/nta7516" in kit.fill(text, org, "en").text
    org.nta7516_record_url = ""
    filled = kit.fill(text, org, "en")
    assert "NTA 7516 statement" not in filled.text and filled.missing == []


# --- Missing values --------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_missing_value_is_marked_in_the_preview_and_refuses_export(
        org: Organisation, admin: User) -> None:
    client = _client(admin)
    text = "Changing details: {contact_change_procedure}\n\nDear {client_name}"
    preview = _edit(client, text=text, action="preview")
    assert preview.status_code == 200
    html = preview.content.decode()
    assert '<mark class="kit-missing">[not set: the procedure for changing contact details]' \
        in html
    for action in ("export_html", "export_text", "export_pdf"):
        refused = _edit(client, text=text, action=action)
        assert refused.status_code == 400
        assert refused["Content-Type"].startswith("text/html")
        message = refused.context["error"]
        assert "The procedure for changing contact details is not set." in message
        assert "The client's name is not set." in message
    # Given for this copy, the client's name no longer refuses; the procedure still does.
    refused = _edit(client, text=text, action="export_text", client_name="J. Jansen")
    assert "client's name" not in refused.context["error"]


# --- Template text is data -------------------------------------------------------------------

@pytest.mark.django_db
def test_django_syntax_and_html_are_text(org: Organisation, admin: User) -> None:
    org = _complete(org)
    client = _client(admin)
    text = ("{{ settings.SECRET_KEY }} {% load static %}{% debug %}\n\n"
            "<script>alert(1)</script> {{organisation}} {organisation}")
    saved = _edit(client, text=text, action="save")
    assert saved.status_code == 302
    assert KitText.objects.get(organisation=org, template="clients", language="en").text == text
    page = client.get(f"{URL}/clients/en")
    body = page.content.decode()
    from django.conf import settings
    assert settings.SECRET_KEY not in body
    assert "<script>alert(1)</script>" not in body
    preview = page.context["preview"]
    assert "{{ settings.SECRET_KEY }} {% load static %}{% debug %}" in preview
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{organisation}} Zorggroep Noord" in preview
    exported = _edit(client, text=text, action="export_html").content.decode()
    assert "&lt;script&gt;" in exported and "<script>" not in exported
    assert settings.SECRET_KEY not in exported
    plain = _edit(client, text=text, action="export_text").content.decode()
    assert plain.startswith("{{ settings.SECRET_KEY }} {% load static %}")
    assert "<script>alert(1)</script> {{organisation}} Zorggroep Noord" in plain


@pytest.mark.django_db
def test_a_megabyte_of_text_is_refused_with_the_limit(org: Organisation, admin: User) -> None:
    client = _client(admin)
    for action in ("save", "preview", "export_pdf"):
        response = _edit(client, text="a" * (1024 * 1024), action=action)
        assert response.status_code == 400
        assert "1,048,576 characters long; a template may hold at most 20,000" \
            in response.context["error"]
    assert not KitText.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "expected"), [
    ("Dear {client}", "Unknown placeholder {client}"),
    ("Dear { organisation }", "Unknown placeholder { organisation }"),
    ("Dear {Organisation}", "Unknown placeholder {Organisation}"),
    ("{if method_fax}x{endif}", "Unknown condition {if method_fax}"),
    ("{if nta7516}x", "An {if} is not closed with {endif}."),
    ("x{endif}", "{endif} without an {if} before it."),
    (" \n\n ", "The text is empty"),
])
def test_an_unknown_placeholder_or_broken_condition_is_refused_on_save(
        org: Organisation, admin: User, text: str, expected: str) -> None:
    response = _edit(_client(admin), text=text, action="save")
    assert response.status_code == 400
    assert expected in response.context["error"]
    assert not KitText.objects.exists()
    assert not AuditEvent.objects.filter(action="org.kit_text_saved").exists()


# --- Save, reset, who may ------------------------------------------------------------------

@pytest.mark.django_db
def test_save_and_reset_are_audited_without_the_text(org: Organisation, admin: User) -> None:
    client = _client(admin)
    assert _edit(client, "news", "nl", text="Geheim plan {organisation}",
                 action="save").status_code == 302
    assert client.get(f"{URL}/news/nl").context["own"] is True
    event = AuditEvent.objects.get(action="org.kit_text_saved")
    assert event.data == {"template": "news", "language": "nl", "characters": 26}
    assert "Geheim" not in str(event.data)
    assert _edit(client, "news", "nl", action="reset").status_code == 302
    page = client.get(f"{URL}/news/nl")
    assert page.context["own"] is False and page.context["text"] == kit.built_in("news", "nl")
    assert AuditEvent.objects.filter(action="org.kit_text_reset").count() == 1
    # Another organisation's text is its own.
    other = Organisation.objects.create(name="Ander", domain="ander.nl")
    assert kit.current(other, "news", "nl") == (kit.built_in("news", "nl"), False)


@pytest.mark.django_db
def test_bad_addresses_and_actions(org: Organisation, admin: User) -> None:
    client = _client(admin)
    assert client.get(f"{URL}/nope/en").status_code == 404
    assert client.get(f"{URL}/news/de").status_code == 404
    response = _edit(client, text="x", action="drop_table")
    assert response.status_code == 400 and "Unknown action" in response.context["error"]


@pytest.mark.django_db
def test_only_admins_see_the_kit(org: Organisation, admin: User) -> None:
    member = User.objects.create_user("lid@zorggroep-noord.nl", org, PASSWORD)
    client = _client(member)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/news/en").status_code == 403
    assert _edit(client, "news", "en", text="x", action="save").status_code == 403
    assert not KitText.objects.exists()
    page = _client(admin).get(URL)
    assert page.status_code == 200 and 'href="/settings/kit"' in page.content.decode()


@pytest.mark.django_db
def test_the_kit_details_are_checked_saved_and_audited(org: Organisation, admin: User) -> None:
    client = _client(admin)
    base = {"start_date": "2027-03-01", "procedure": "Bel de receptie.",
            "nta7516_record_url": ""}
    for field, value, message in (
            ("start_date", "1 maart", "Enter the start date as a date"),
            ("start_date", "2027-02-30", "Enter the start date as a date"),
            ("nta7516_record_url", "javascript:alert(1)", "as a web address"),
            ("procedure", "x" * 2001, "at most 2,000 characters")):
        response = client.post(URL, {**base, field: value})
        assert response.status_code == 400, field
        assert message in response.context["error"]
        assert response.context["error_field"] == field
    assert client.post(URL, base).status_code == 302
    org.refresh_from_db()
    assert org.kit_start_date == date(2027, 3, 1)
    assert org.contact_change_procedure == "Bel de receptie."
    event = AuditEvent.objects.get(action="org.kit_details_updated")
    assert event.data == {"fields": ["contact_change_procedure", "kit_start_date"]}
    assert kit.fill("{start_date}", org, "nl").text == "1 maart 2027"
    assert kit.fill("{start_date}", org, "en").text == "1 March 2027"


@pytest.mark.django_db
def test_the_explanation_template_becomes_the_notification_explanation(
        org: Organisation, admin: User) -> None:
    org = _complete(org)
    client = _client(admin)
    text = kit.built_in("explanation", "en")
    assert _edit(client, "explanation", "en", text=text,
                 action="use_as_explanation").status_code == 302
    org.refresh_from_db()
    assert org.explanation_en == kit.fill(text, org, "en").text.strip()
    assert org.explanation_en.startswith("Zorggroep Noord sends you this message")
    assert AuditEvent.objects.get(action="org.updated").data == {"fields": ["explanation_en"]}
    # A missing value refuses, and the explanation stays as it was.
    Organisation.objects.filter(pk=org.pk).update(contact_phone="")
    refused = _edit(client, "explanation", "en", text=text, action="use_as_explanation")
    assert refused.status_code == 400
    assert "The contact phone number is not set." in refused.context["error"]
    # Only the explanation template has this action.
    assert _edit(client, "news", "en", text="x",
                 action="use_as_explanation").status_code == 400
    org.refresh_from_db()
    assert org.explanation_en.startswith("Zorggroep Noord")
