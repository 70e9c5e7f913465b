"""The organisation settings in a real browser, at 320 px and desktop width with axe on every
page: the admin sets the colour, the notification texts and the logo; a message is sent and the
recipient's notification (from the SMTP server) and portal page show them."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, link_from, log_in

pytestmark = pytest.mark.browser

WIDTHS = ({"width": 320, "height": 640}, {"width": 1280, "height": 800})
RECIPIENT = "j.jansen@example.org"
EXPLANATION = "Zorggroep Voorbeeld mailt uw gegevens alleen via Zegel. <b>{{ x }}</b>"


def _no_sideways_scroll(page: Any, width: int) -> None:
    if width == 320:
        assert_fits(page, 320)


def _check(page: Any, width: int) -> None:
    check_a11y(page)
    _no_sideways_scroll(page, width)


@pytest.mark.parametrize("viewport", WIDTHS, ids=["320px", "desktop"])
def test_the_admin_brands_the_notification_and_the_portal(
        zegel: Zegel, new_context: Any, viewport: dict[str, int]) -> None:
    from PIL import Image

    from zegel.orgs.models import User

    User.objects.filter(pk=zegel.user.pk).update(role="admin")
    logo_file = zegel.tmp / "logo.png"
    out = io.BytesIO()
    Image.new("RGB", (900, 300), (11, 93, 30)).save(out, format="PNG")
    logo_file.write_bytes(out.getvalue())
    width = viewport["width"]

    admin = new_context(locale="en-GB", viewport=viewport).new_page()
    log_in(admin, zegel.url)
    admin.goto(f"{zegel.url}/settings/organisation")
    _check(admin, width)

    # A colour white text cannot be read on is refused, with the ratio.
    admin.fill("#brand_colour", "#ffcc00")
    admin.locator("form[action$='/settings/organisation'] button[type=submit]").click()
    admin.locator("#brand_colour-error").wait_for()
    assert "contrast of 1.5" in admin.locator("#brand_colour-error").inner_text()
    _check(admin, width)

    admin.fill("#brand_colour", "#0b5d1e")
    admin.fill("#explanation_nl", EXPLANATION)
    admin.fill("#button_text", "Open uw beveiligde bericht")
    admin.locator("form[action$='/settings/organisation'] button[type=submit]").click()
    admin.locator(".notice").wait_for()
    _check(admin, width)

    admin.set_input_files("#logo", str(logo_file))
    admin.locator("form[action$='/logo'] button[type=submit]").first.click()
    admin.locator("img.settings-logo").wait_for()
    assert admin.locator("header img.brand-logo").count() == 0  # the sender app shows the name
    _check(admin, width)
    logo_path = admin.locator("img.settings-logo").get_attribute("src")
    assert logo_path and re.fullmatch(r"/brand/zorg\.example/logo-[0-9a-f]{16}\.png", logo_path)

    # A message goes out; the notification shows the organisation's colour, texts and logo.
    admin.goto(f"{zegel.url}/compose")
    _check(admin, width)
    admin.fill("#r-0-email", RECIPIENT)
    admin.select_option("#r-0-method", "sms")
    admin.fill("#r-0-phone", "06 12345678")
    admin.fill("#subject", "Uw afspraak")
    admin.fill("#body", "Beste meneer Jansen, hierbij de bevestiging.")
    admin.locator("form.compose button[type=submit]").first.click()
    admin.wait_for_url(re.compile(r"/c/[0-9a-f-]{36}$"))
    _check(admin, width)

    mail = zegel.mailbox.wait_for_mail(RECIPIENT)[0]
    zegel.wait_idle()
    html_part, text_part = mail.get_body(("html",)), mail.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html, text = html_part.get_content(), text_part.get_content()
    assert f'<img src="{zegel.url}{logo_path}"' in html
    assert "background:#0b5d1e" in html
    assert "Open uw beveiligde bericht" in html and "Open uw beveiligde bericht" in text
    assert "&lt;b&gt;{{ x }}&lt;/b&gt;" in html and EXPLANATION in text

    # The recipient's portal page shows the logo (loaded, a real image) and the colour.
    guest = new_context(locale="nl-NL", viewport=viewport).new_page()
    guest.goto(link_from(mail, zegel.url))
    guest.locator("[data-send-code]").wait_for()
    logo = guest.locator("header img.brand-logo")
    assert logo.get_attribute("src") == logo_path
    assert guest.evaluate("document.querySelector('header img.brand-logo').naturalWidth") == 600
    brand = guest.evaluate("getComputedStyle(document.documentElement)"
                           ".getPropertyValue('--brand').trim()")
    assert brand == "#0b5d1e"
    _check(guest, width)
