"""Picking a contact on the compose page with the keyboard only, on a phone's width: the
e-mail field is a combobox (WAI-ARIA pattern), another organisation's contact is never
offered, and the message goes out with the number only the directory holds."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, log_in, wait_for

pytestmark = pytest.mark.browser


def test_pick_a_contact_with_the_keyboard_and_send(zegel: Zegel, new_context: Any) -> None:
    from zegel.directory.models import Contact
    from zegel.messaging.models import Recipient
    from zegel.orgs.models import Organisation

    Contact.objects.create(organisation=zegel.org, email="piet.jansen@example.nl",
                           name="Piet Jansen", phone="+31687654321")
    other = Organisation.objects.create(name="Elders", domain="elders.example")
    Contact.objects.create(organisation=other, email="piet@elders.example", name="Piet Elders",
                           phone="+31611111111")

    page = new_context(viewport={"width": 320, "height": 800}).new_page()
    log_in(page, zegel.url)
    page.goto(f"{zegel.url}/compose")
    email = page.locator("#r-0-email")
    email.click()
    assert email.get_attribute("role") == "combobox"
    assert email.get_attribute("aria-expanded") == "false"
    email.press_sequentially("pie")
    wait_for("the suggestions", lambda: email.get_attribute("aria-expanded") == "true")
    listbox = page.locator(f"#{email.get_attribute('aria-controls')}")
    options = listbox.locator("[role=option]")
    assert options.count() == 1  # not the other organisation's Piet
    assert "Piet Jansen" in options.first.inner_text()
    assert "87654321" not in listbox.inner_text() and "** 21" in listbox.inner_text()
    check_a11y(page)  # with the listbox open
    assert_fits(page)

    email.press("ArrowDown")
    assert email.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    assert options.first.get_attribute("aria-selected") == "true"
    email.press("Escape")
    assert email.get_attribute("aria-expanded") == "false"
    assert email.input_value() == "pie" and listbox.is_hidden()

    email.press("ArrowDown")  # opens again
    wait_for("the suggestions again", lambda: email.get_attribute("aria-expanded") == "true")
    email.press("ArrowDown")
    email.press("Enter")  # picks; does not send
    assert page.url.endswith("/compose")
    assert email.input_value() == "piet.jansen@example.nl"
    assert email.get_attribute("aria-expanded") == "false"
    assert page.locator("#r-0-name").input_value() == "Piet Jansen"
    assert page.locator("#r-0-method").input_value() == "sms"
    assert page.locator("#r-0-phone").input_value() == ""  # the page never has the number
    assert "in the directory" in page.locator("[data-directory-note]").inner_text()

    page.fill("#subject", "Uw uitslag")
    page.fill("#body", "Beste Piet, hierbij de uitslag.")
    page.locator("form[data-compose] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/c/[0-9a-f-]+$"))
    check_a11y(page)
    recipient = Recipient.objects.get()
    assert (recipient.email, recipient.method, recipient.phone) == \
        ("piet.jansen@example.nl", "sms", "+31687654321")
