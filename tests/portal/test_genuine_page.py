"""The public page on how to recognise a genuine notification from an organisation."""

from __future__ import annotations

from django.test import Client

from zegel.orgs.models import Organisation


def test_it_explains_what_a_genuine_notification_looks_like(org: Organisation,
                                                            settings: object) -> None:
    Organisation.objects.filter(pk=org.pk).update(
        contact_email="zorg@zorggroep-noord.nl", contact_phone="050 123 45 67",
        explanation="Wij sturen uitslagen alleen beveiligd.")
    response = Client().get("/o/zorggroep-noord.nl/genuine", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Zo herkent u een echt bericht van Zorggroep Noord</h1>" in page
    assert "noreply@zorggroep-noord.nl" in page
    assert "https://zegel.example.org/m/" in page
    assert "Wij vragen nooit om uw wachtwoord" in page
    assert 'href="tel:0501234567"' in page and 'href="mailto:zorg@zorggroep-noord.nl"' in page
    assert "Wij sturen uitslagen alleen beveiligd." in page


def test_it_speaks_english_too(org: Organisation) -> None:
    page = Client().get("/o/zorggroep-noord.nl/genuine",
                        HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "How to recognise a genuine message from Zorggroep Noord" in page
    assert "We never ask for your password" in page
    # Without contact details it says how to reach the organisation safely instead.
    assert "with a phone number or e-mail address you already know" in page


def test_the_configured_sender_address_is_the_one_shown(org: Organisation,
                                                       settings: object) -> None:
    settings.EMAIL_FROM = "berichten@zegel.example.org"  # type: ignore[attr-defined]
    page = Client().get("/o/zorggroep-noord.nl/genuine").content.decode()
    assert "berichten@zegel.example.org" in page and "noreply@" not in page


def test_an_unknown_organisation_has_no_page(org: Organisation) -> None:
    for path in ("/o/nobody.example/genuine", "/o/%3Cscript%3E/genuine"):
        response = Client().get(path)
        assert response.status_code == 404
        assert "<script>" not in response.content.decode()


def test_the_page_only_answers_reads(org: Organisation) -> None:
    assert Client().post("/o/zorggroep-noord.nl/genuine").status_code == 405


def test_names_on_the_page_are_escaped(org: Organisation) -> None:
    Organisation.objects.filter(pk=org.pk).update(name="<script>alert(1)</script>",
                                                  contact_phone="\" onmouseover=x")
    page = Client().get("/o/zorggroep-noord.nl/genuine").content.decode()
    assert "<script>alert" not in page and '" onmouseover' not in page


def test_it_is_the_default_information_page(org: Organisation) -> None:
    assert org.genuine_url == "https://zorggroep-noord.nl/veilig-mailen"
    org.info_url = ""
    assert org.genuine_url == "https://zegel.example.org/o/zorggroep-noord.nl/genuine"
