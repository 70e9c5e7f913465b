"""The pictures in README.md and docs/img/, taken from a real run: a sender composes a message
to two recipients (desktop), a recipient opens it on a phone (320 px wide), verifies and
replies, and the sender reads the reply. Each page is checked with axe and, on the phone, for
horizontal scroll, so the pictures never show a page that fails either.

`make screenshots` runs this with ZEGEL_SCREENSHOTS=docs/img and so refreshes the pictures;
in `make test` they go to a temporary folder and are only checked to be real PNG images.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, link_from, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}
PATIENT = "m.jansen@example.nl"
PARTNER = "k.bakker@example.nl"
CODE = "tulp-2026-lente"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _folder(tmp_path: Path) -> Path:
    wanted = os.environ.get("ZEGEL_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path / "img"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shoot(page: Any, path: Path, *, full_page: bool = True) -> None:
    check_a11y(page)
    if page.viewport_size["width"] <= 400:
        assert_fits(page)
    page.screenshot(path=str(path), full_page=full_page)
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_the_pictures_of_compose_conversation_and_portal(zegel: Zegel, new_context: Any,
                                                        tmp_path: Path) -> None:
    folder = _folder(tmp_path)

    sender = new_context(viewport=DESKTOP, locale="nl-NL").new_page()
    log_in(sender, zegel.url)
    sender.goto(f"{zegel.url}/compose")
    sender.fill("#r-0-email", PATIENT)
    sender.fill("#r-0-name", "Marieke Jansen")
    sender.select_option("#r-0-method", "access_code")
    sender.fill("#r-0-access_code", CODE)
    sender.fill("#r-0-hint", "het woord dat we aan de telefoon afspraken")
    sender.locator("[data-add-recipient]").click()
    sender.fill("#r-1-email", PARTNER)
    sender.fill("#r-1-name", "Kees Bakker")
    sender.select_option("#r-1-method", "sms")
    sender.fill("#r-1-phone", "06 12345678")
    sender.fill("#subject", "Verslag van ons gesprek")
    sender.fill("#body", "Beste mevrouw Jansen,\n\nHierbij het verslag van ons gesprek van "
                "vorige week en de afspraken voor het vervolg. U kunt hieronder reageren.\n\n"
                "Met vriendelijke groet,\nAnna de Vries")
    _shoot(sender, folder / "compose.png")
    sender.locator("form.compose button[type=submit]").click()
    sender.wait_for_url(re.compile(r"/c/[0-9a-f-]+$"))
    zegel.wait_idle()

    # The recipient, on a phone: the code page, then the message with a reply typed.
    link = link_from(zegel.mailbox.wait_for_mail(PATIENT)[-1], zegel.url)
    phone = new_context(viewport=PHONE, locale="nl-NL").new_page()
    phone.goto(link)
    phone.locator("#code").wait_for()
    _shoot(phone, folder / "portal.png", full_page=False)
    phone.fill("#code", CODE)
    phone.locator("form[action$='/verify'] button[type=submit]").click()
    phone.locator("ol.thread").wait_for()
    phone.fill("#body", "Dank u wel. Ik kom graag op de afspraak van donderdag.")
    phone.locator("form[action$='/reply'] button[type=submit]").click()
    phone.locator(".notice").first.wait_for()
    _shoot(phone, folder / "portal-conversation.png")

    # The sender reads the reply; the answer form offers to answer only her.
    zegel.wait_idle()
    sender.reload()
    sender.locator("[data-author=recipient]").first.wait_for()
    _shoot(sender, folder / "conversation.png")
