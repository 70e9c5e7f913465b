"""The public information page for an organisation's recipients (/o/<domain>/), and the links
to it from the notification e-mails and the portal."""

from __future__ import annotations

from django.test import Client

from tests.conftest import deliver_and_get_link, send
from zegel.notify.models import CapturedMessage
from zegel.orgs.models import Organisation, User

URL = "/o/zorggroep-noord.nl/"


def test_it_explains_opening_codes_replying_genuineness_and_contact(org: Organisation) -> None:
    Organisation.objects.filter(pk=org.pk).update(
        contact_email="zorg@zorggroep-noord.nl", contact_phone="050 123 45 67")
    response = Client().get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Secure messages from Zorggroep Noord</h1>" in page
    for text in ("How to open a message", "SMS code", "Access code", "E-mail code",
                 "How to reply", "noreply@zorggroep-noord.nl", "https://zegel.example.org/m/",
                 "We never ask for your password", 'href="tel:0501234567"',
                 'href="mailto:zorg@zorggroep-noord.nl"'):
        assert text in page, text


def test_it_names_only_the_methods_the_organisation_allows(org: Organisation) -> None:
    Organisation.objects.filter(pk=org.pk).update(email_code_allowed=False)
    page = Client().get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "SMS code" in page and "Access code" in page
    assert "E-mail code" not in page


def test_it_speaks_dutch(org: Organisation) -> None:
    page = Client().get(URL, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "<h1>Beveiligde berichten van Zorggroep Noord</h1>" in page
    assert "Zo opent u een bericht" in page and "Toegangscode" in page


def test_an_unknown_organisation_is_a_404_and_only_reads_are_answered(org: Organisation) -> None:
    for path in ("/o/nobody.example/", "/o/%3Cscript%3E/"):
        response = Client().get(path)
        assert response.status_code == 404
        assert "<script>" not in response.content.decode()
    assert Client().post(URL).status_code == 405


def test_names_on_the_page_are_escaped(org: Organisation) -> None:
    Organisation.objects.filter(pk=org.pk).update(name="<script>alert(1)</script>",
                                                  contact_email="x@example.nl")
    page = Client().get(URL).content.decode()
    assert "<script>alert" not in page


def test_the_notification_and_the_portal_link_to_it(sender: User) -> None:
    send(sender)
    token = deliver_and_get_link("piet@example.nl")
    mail = CapturedMessage.objects.filter(channel="email", to="piet@example.nl").latest("id")
    assert "https://zegel.example.org/o/zorggroep-noord.nl/" in mail.text
    assert 'href="https://zegel.example.org/o/zorggroep-noord.nl/"' in mail.html
    portal = Client().get(f"/m/{token}").content.decode()
    assert f'href="{URL}"' in portal
