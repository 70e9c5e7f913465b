"""What a recipient reads in the notification and the code e-mail, per method and language."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import LINK_RE, deliver_and_get_link
from zegel.messaging import actions
from zegel.messaging.errors import ActionError
from zegel.notify.models import CapturedMessage
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import Organisation, User

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def notify(sender: User, *, expires_at: datetime | None = None,
           **recipient: str) -> CapturedMessage:
    spec = {"email": "piet@example.nl", "method": "email", **recipient}
    actions.send_message(sender=sender, subject="Uitslag", body="Zie bijlage.",
                         recipients=[actions.RecipientSpec(**spec)], expires_at=expires_at)
    deliver_due()
    return CapturedMessage.objects.filter(channel="email", to=spec["email"]).latest("id")


def change(org: Organisation, **fields: str) -> None:
    Organisation.objects.filter(pk=org.pk).update(**fields)
    org.refresh_from_db()  # the sender fixture holds this very object


def main_part(text: str) -> str:
    """The notification's text without the short lines in the other languages above it."""
    return text.split("\n----\n")[-1]


def in_dutch_and_english(sender: User, **recipient: Any) -> tuple[CapturedMessage,
                                                                  CapturedMessage]:
    """The same notification from an organisation whose default language is Dutch, then from
    one whose default is English (both offered)."""
    org = sender.organisation
    dutch = notify(sender, **recipient)
    change(org, default_language="en")
    english = notify(sender, **recipient)
    change(org, default_language="nl")
    return dutch, english


def dutch_and_english(sender: User, **recipient: Any) -> tuple[str, str]:
    dutch, english = in_dutch_and_english(sender, **recipient)
    return main_part(dutch.text), main_part(english.text)


def test_an_access_code_recipient_is_told_to_have_the_code_ready(sender: User) -> None:
    mail, english_mail = in_dutch_and_english(sender, method="access_code",
                                              access_code="tulp-4821",
                                              access_code_hint="zoals aan de telefoon besproken")
    dutch, english = main_part(mail.text), main_part(english_mail.text)
    assert "toegangscode nodig die u van Zorggroep Noord heeft gekregen" in dutch
    assert "Houd die bij de hand." in dutch
    assert "Hint: zoals aan de telefoon besproken" in dutch
    assert "Please have it ready." in english and "Hint: zoals aan de telefoon" in english
    assert "SMS" not in mail.text and "sms" not in dutch
    assert "tulp" not in mail.text and "4821" not in mail.html


def test_an_sms_recipient_is_told_a_code_comes_to_their_phone_never_the_number(
        sender: User) -> None:
    mail, english_mail = in_dutch_and_english(sender, method="sms", phone="06 12345678")
    dutch, english = main_part(mail.text), main_part(english_mail.text)
    assert "per sms naar uw telefoonnummer +31 6 ** ** ** 78" in dutch
    assert "by SMS to your phone number +31 6 ** ** ** 78" in english
    for part in (mail.text, mail.html, mail.raw):
        assert "12345678" not in part and "612345678" not in part
    assert "toegangscode" not in dutch


def test_an_email_code_recipient_is_told_a_code_comes_by_email(sender: User) -> None:
    dutch, english = dutch_and_english(sender, method="email")
    assert "Die sturen wij per e-mail naar dit adres." in dutch
    assert "We send it by e-mail to this address." in english
    assert "sms" not in dutch.lower() and "toegangscode" not in dutch


def test_the_hint_is_only_told_to_access_code_recipients(sender: User) -> None:
    mail = notify(sender, method="email", access_code_hint="uw geboortedatum")
    assert "geboortedatum" not in mail.text and "geboortedatum" not in mail.html


def test_a_named_recipient_is_greeted_by_name(sender: User) -> None:
    mail, english_mail = in_dutch_and_english(sender, name="Piet Jansen")
    dutch, english = main_part(mail.text), main_part(english_mail.text)
    assert dutch.startswith("Beste Piet Jansen,") and english.startswith("Dear Piet Jansen,")
    assert "Beste Piet Jansen," in mail.html and "Dear Piet Jansen," in english_mail.html


def test_a_recipient_without_a_name_gets_a_neutral_greeting(sender: User) -> None:
    dutch, english = dutch_and_english(sender)
    assert dutch.startswith("Goedendag,") and english.startswith("Hello,")
    assert "Beste" not in dutch and "Dear" not in english


def test_the_end_date_is_written_in_each_language_in_amsterdam_time(sender: User) -> None:
    # 23:30 UTC on 2 March is 00:30 on 3 March in Amsterdam (winter time).
    now = timezone.now()
    ends = datetime(now.year + 1, 3, 2, 23, 30, tzinfo=ZoneInfo("UTC"))
    mail, english_mail = in_dutch_and_english(sender, expires_at=ends)
    dutch, english = main_part(mail.text), main_part(english_mail.text)
    assert f"U kunt het lezen tot 3 maart {ends.year}, 00:30." in dutch
    assert f"You can read it until 3 March {ends.year}, 00:30." in english
    assert f"3 maart {ends.year}, 00:30" in mail.html


def test_without_an_end_date_none_is_mentioned(sender: User) -> None:
    mail = notify(sender)
    assert "lezen tot" not in mail.text and "read it until" not in mail.text


def test_the_link_is_also_written_out_as_text_in_both_parts(sender: User) -> None:
    mail = notify(sender)
    token = LINK_RE.search(mail.text)
    assert token
    link = token.group(0)
    english, dutch = mail.text.split("\n----\n")
    assert link in dutch and link in english
    # In the HTML the link is the button's target and also readable text, in the Dutch part
    # and in the English line.
    assert mail.html.count(f">{link}</a>") == 2
    assert "Kopieer dan deze link naar uw browser" in mail.html


def test_the_button_describes_the_action_by_default(sender: User) -> None:
    dutch, english = in_dutch_and_english(sender)
    assert re.search(r">Bekijk het bericht</a>", dutch.html)
    assert re.search(r">View the message</a>", english.html)
    assert "Bekijk het bericht: https://" in dutch.text
    assert "View the message: https://" in english.text
    assert "Klik voor bericht" not in dutch.html


def test_the_organisation_chooses_its_own_button_text(sender: User, org: Organisation) -> None:
    change(org, notification_button_text="Klik voor bericht")
    mail = notify(sender)
    assert mail.html.count(">Klik voor bericht</a>") == 1
    assert "Klik voor bericht: https://" in mail.text
    assert "Bekijk het bericht" not in mail.html and "View the message" not in mail.html


def test_names_and_texts_cannot_inject_html(sender: User, org: Organisation) -> None:
    change(org,
        name="Zorg <script>alert(1)</script>",
        notification_button_text="<b onclick=x>Klik</b>",
        explanation="<img src=x onerror=alert(2)>", brand_colour="red;a:b")  # the column holds 7
    User.objects.filter(pk=sender.pk).update(name="Anna <script>alert(3)</script>")
    sender.refresh_from_db()
    mail = notify(sender, name="Piet <script>alert(4)</script>", method="access_code",
                  access_code="tulp-4821", access_code_hint="<i>kleur</i>")
    for raw in ("<script>", "<b onclick", "<img src=x", "<i>kleur", "red;a:b"):
        assert raw not in mail.html
    assert "Beste Piet &lt;script&gt;alert(4)&lt;/script&gt;," in mail.html
    assert "&lt;b onclick=x&gt;Klik&lt;/b&gt;" in mail.html
    assert "Hint: &lt;i&gt;kleur&lt;/i&gt;" in mail.html
    assert "background:#154273" in mail.html  # the broken colour is replaced, not copied
    # The plain text part is text: the names as they were typed.
    assert "Beste Piet <script>alert(4)</script>," in mail.text


def test_a_hint_that_gives_the_code_away_is_refused(sender: User) -> None:
    with pytest.raises(ActionError) as refused:
        actions.send_message(sender=sender, subject="Uitslag", body="Zie bijlage.", recipients=[
            actions.RecipientSpec(email="piet@example.nl", method="access_code",
                                  access_code="tulp-4821",
                                  access_code_hint="de code is TULP 4821")])
    assert refused.value.field == "0.access_code_hint"
    assert "piet@example.nl" in refused.value.message
    assert not CapturedMessage.objects.exists()


def test_the_genuine_link_is_zegels_page_without_one_of_the_organisations_own(
        sender: User, org: Organisation) -> None:
    change(org, info_url="")
    mail = notify(sender)
    page = "https://zegel.example.org/o/zorggroep-noord.nl/genuine"
    assert f'href="{page}"' in mail.html and page in mail.text


def request_email_code(sender: User, org: Organisation, language: str) -> CapturedMessage:
    change(org,
        brand_colour="#0a7a3b", explanation="Wij mailen alleen beveiligd.")
    notify(sender, email="mail@example.nl")
    token = deliver_and_get_link("mail@example.nl")
    Client().post(f"/m/{token}/code", HTTP_ACCEPT_LANGUAGE=language)
    deliver_due()
    return CapturedMessage.objects.filter(channel="email", to="mail@example.nl").latest("id")


def test_the_code_email_carries_the_notifications_branding(sender: User,
                                                           org: Organisation) -> None:
    code = request_email_code(sender, org, "nl")
    notification = CapturedMessage.objects.filter(to="mail@example.nl").order_by("id").first()
    assert notification is not None and notification.pk != code.pk
    for mail in (notification, code):
        assert "background:#0a7a3b" in mail.html
        assert ">Zorggroep Noord</td>" in mail.html
        assert "Wij mailen alleen beveiligd." in mail.html
        assert 'href="https://zorggroep-noord.nl/veilig-mailen"' in mail.html
    assert re.search(r">\d{6}</p>", code.html)
    assert "Zo herkent u een echt bericht van Zorggroep Noord: https://zorggroep-noord.nl/" \
        in code.text


def test_the_code_email_is_in_the_language_of_the_page_it_was_asked_on(
        sender: User, org: Organisation) -> None:
    code = request_email_code(sender, org, "en")
    assert code.subject == "Your code for the message from Zorggroep Noord"
    assert "The code is valid for 10 minutes." in code.text
    assert '<html lang="en">' in code.html
    CapturedMessage.objects.all().delete()
    dutch = request_email_code(sender, org, "nl")
    assert dutch.subject == "Uw code voor het bericht van Zorggroep Noord"
    assert "De code werkt 10 minuten." in dutch.text
    assert '<html lang="nl">' in dutch.html


def test_the_notification_is_in_the_default_language_with_a_line_in_the_other(
        sender: User) -> None:
    mail = notify(sender, expires_at=timezone.now() + timedelta(days=3))
    assert mail.subject == ("Beveiligd bericht van Zorggroep Noord / "
                            "Secure message from Zorggroep Noord")
    assert '<html lang="nl">' in mail.html and '<td style="padding:12px 24px 0" lang="en">' \
        in mail.html
    english_line = ("Zorggroep Noord sent you a secure message. To read it in English, open "
                    "this link and choose English at the top of the page:")
    # The short English line first, then the whole notification in Dutch only.
    assert mail.text.startswith(english_line + " https://zegel.example.org/m/")
    assert mail.html.index(english_line) < mail.html.index("Bekijk het bericht")
    assert "You can read it until" not in mail.text and "View the message" not in mail.html
    assert "U kunt het lezen tot" in mail.text


def test_an_english_default_puts_english_first_and_a_dutch_line(sender: User,
                                                                org: Organisation) -> None:
    change(org, default_language="en", explanation="Wij mailen alleen beveiligd.",
           explanation_en="We only e-mail securely.")
    mail = notify(sender)
    assert mail.subject == ("Secure message from Zorggroep Noord / "
                            "Beveiligd bericht van Zorggroep Noord")
    dutch_line, english = mail.text.split("\n----\n")
    assert dutch_line.startswith("Zorggroep Noord heeft u een beveiligd bericht gestuurd. "
                                 "Wilt u het in het Nederlands lezen?")
    assert english.startswith("Hello,") and "We only e-mail securely." in english
    assert "Wij mailen alleen beveiligd." not in mail.text
    assert '<html lang="en">' in mail.html and 'lang="nl"' in mail.html


def test_one_offered_language_means_no_other_line(sender: User, org: Organisation) -> None:
    change(org, recipient_languages="en", default_language="en")
    mail = notify(sender)
    assert mail.subject == "Secure message from Zorggroep Noord"
    assert "----" not in mail.text and mail.text.startswith("Hello,")
    assert "Nederlands" not in mail.text and "Bekijk" not in mail.html
