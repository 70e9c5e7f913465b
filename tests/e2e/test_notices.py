"""The genuine-message page and the demo's outbox in a real browser, at 320 px and desktop
width, with axe on every page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, wait_for

pytestmark = pytest.mark.browser

# The 320 px check allows for a rounding pixel or two, not for a real overflow.
WIDTHS = ({"width": 320, "height": 640}, {"width": 1280, "height": 800})
# A captured mail whose HTML tries to run script, restyle the page and reach the parent.
HOSTILE = ('<!doctype html><html lang="en"><head><title>Hostile</title></head><body>'
           '<p>Hostile mail</p><script>document.body.setAttribute("data-ran", "1");'
           'parent.document.body.setAttribute("data-ran", "1");</script>'
           '<img src="x" onerror="document.body.setAttribute(\'data-ran\', \'2\')" alt=""></body>'
           '</html>')


def assert_no_horizontal_scroll(page: Any, width: int) -> None:
    if width == 320:
        assert_fits(page, 320)


@pytest.mark.parametrize("viewport", WIDTHS, ids=["320px", "desktop"])
def test_the_genuine_message_page_reads_well(zegel: Zegel, new_context: Any,
                                             viewport: dict[str, int]) -> None:
    from zegel.orgs.models import Organisation

    Organisation.objects.filter(pk=zegel.org.pk).update(
        contact_email="zorgvragen-en-afspraken@zorg.example", contact_phone="088 123 45 67")
    page = new_context(locale="nl-NL", viewport=viewport).new_page()
    page.goto(f"{zegel.url}/o/zorg.example/genuine")
    assert page.locator("h1").inner_text() == \
        "Zo herkent u een echt bericht van Zorggroep Voorbeeld"
    assert page.locator("a[href='tel:0881234567']").is_visible()
    assert f"{zegel.url}/m/" in page.locator("main").inner_text()
    check_a11y(page)
    assert_no_horizontal_scroll(page, viewport["width"])

    # The language switch gives the same page in English.
    page.locator("form.lang button").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == \
        "How to recognise a genuine message from Zorggroep Voorbeeld"
    check_a11y(page)
    assert_no_horizontal_scroll(page, viewport["width"])

    # The information page for recipients, in the language just chosen.
    page.goto(f"{zegel.url}/o/zorg.example/")
    assert page.locator("h1").inner_text() == "Secure messages from Zorggroep Voorbeeld"
    assert page.locator("a[href='tel:0881234567']").is_visible()
    check_a11y(page)
    assert_no_horizontal_scroll(page, viewport["width"])


@pytest.mark.parametrize("viewport", WIDTHS, ids=["320px", "desktop"])
def test_the_outbox_shows_each_mail_as_it_looks_and_runs_none_of_it(
        zegel: Zegel, new_context: Any, settings: Any, viewport: dict[str, int]) -> None:
    from zegel.config import SmsConfig
    from zegel.messaging import actions
    from zegel.notify.models import CapturedMessage

    settings.DEMO = True
    settings.EMAIL_BACKEND = "zegel.notify.backends.CaptureEmailBackend"
    settings.SMS = SmsConfig(backend="capture")
    actions.send_message(sender=zegel.user, subject="Uitslag", body="Zie bijlage.",
                         recipients=[actions.RecipientSpec(email="piet@example.org",
                                                           name="Piet Jansen", method="sms",
                                                           phone="06 12345678")])
    zegel.wait_idle()
    wait_for("the captured notification",
             lambda: CapturedMessage.objects.filter(to="piet@example.org").exists())
    hostile = CapturedMessage.objects.create(channel="email", to="hostile@example.org",
                                             subject="Hostile", text="Hostile", html=HOSTILE)

    page = new_context(locale="nl-NL", viewport=viewport).new_page()
    page.goto(f"{zegel.url}/dev/outbox")
    frames = page.locator("iframe.captured-html")
    assert frames.count() == 2
    # The notification as it looks: the organisation's header and the button, in the frame.
    mail = page.frame_locator("article:has-text('piet@example.org') iframe")
    mail.locator("a", has_text="Bekijk het bericht").first.wait_for()
    assert mail.locator("text=Beste Piet Jansen,").count() == 1
    assert mail.locator("td", has_text="Zorggroep Voorbeeld").count() >= 1
    # Nothing in the hostile mail ran: not in its frame, not in the page around it.
    framed = page.frame_locator(f"iframe[src='/dev/outbox/{hostile.pk}.html']")
    framed.locator("text=Hostile mail").wait_for()
    assert framed.locator("body[data-ran]").count() == 0
    assert page.locator("body[data-ran]").count() == 0
    for frame in frames.all():
        assert frame.get_attribute("sandbox") == ""
    # The text part stays, with its link to follow.
    assert page.locator("pre.captured-text a[href*='/m/']").count() == 2  # English line, Dutch text
    check_a11y(page)
    assert_no_horizontal_scroll(page, viewport["width"])
