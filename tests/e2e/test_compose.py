"""The compose page in a real browser, on a phone (320 px) and a desktop: two recipients with
different ways of verifying (their fields appear and disappear), a file added and taken out,
errors linked to their fields, and after sending the status turning to "notified" without a
reload; and without JavaScript the same form works as a plain form."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, log_in

pytestmark = pytest.mark.browser

PIET = "piet@example.nl"
JAN = "jan@example.nl"


def _no_horizontal_scroll(page: Any, width: int) -> None:
    if width > 400:
        return
    assert_fits(page, width)


def _focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


def _hold_mail(zegel: Zegel) -> threading.Event:
    """The SMTP server answers no mail until the returned event is set: the notifications
    stay "waiting" while the test looks at the page."""
    gate = threading.Event()
    handler = zegel.mailbox.handler
    deliver = handler.handle_DATA

    async def held(server: Any, session: Any, envelope: Any) -> str:
        for _ in range(200):  # at most 10 s, inside the sending side's EMAIL_TIMEOUT
            if gate.is_set():
                break
            await asyncio.sleep(0.05)
        return await deliver(server, session, envelope)

    handler.handle_DATA = held  # type: ignore[method-assign]
    return gate


@pytest.mark.parametrize("width", [320, 1280])
def test_compose_with_errors_then_live_status(zegel: Zegel, new_context: Any,
                                              width: int) -> None:
    from zegel.messaging.models import Attachment

    page = new_context(viewport={"width": width, "height": 800}).new_page()
    log_in(page, zegel.url)
    page.goto(f"{zegel.url}/compose")
    check_a11y(page)
    _no_horizontal_scroll(page, width)

    # One row to start with: SMS, so the number shows and the access code does not.
    assert page.locator("[data-recipient-row]").count() == 1
    assert page.locator("#r-0-phone").is_visible()
    assert not page.locator("#r-0-access_code").is_visible()
    assert not page.locator("[data-remove-recipient]").first.is_visible()
    assert page.locator("#expires_in").input_value() == "30"  # the organisation's default
    page.fill("#r-0-email", PIET)  # the number is left out on purpose

    page.locator("[data-add-recipient]").click()
    assert _focused_id(page) == "r-1-email"
    page.fill("#r-1-email", JAN)
    page.select_option("#r-1-method", "access_code")
    assert page.locator("#r-1-access_code").is_visible()
    assert not page.locator("#r-1-phone").is_visible()
    page.fill("#r-1-access_code", "123")  # too short
    page.fill("#r-1-hint", "uw postcode")
    page.select_option("#r-1-method", "email")  # nothing more for an e-mail code
    assert not page.locator("#r-1-access_code").is_visible()
    assert not page.locator("#r-1-phone").is_visible()
    page.select_option("#r-1-method", "access_code")

    # A third recipient, taken out again with its own button.
    page.locator("[data-add-recipient]").click()
    page.fill("#r-2-email", "marie@example.nl")
    page.get_by_role("button", name="Remove recipient 3 (marie@example.nl)").click()
    assert page.locator("[data-recipient-row]").count() == 2
    assert page.locator("[data-rows]").input_value() == "2"

    # A file added and taken out again: its draft is gone from the server.
    note = zegel.tmp / "notitie.txt"
    note.write_text("Tot ziens", encoding="utf-8")
    page.set_input_files("#attachments", str(note))
    remove = page.get_by_role("button", name="Remove notitie.txt")
    remove.wait_for()
    assert Attachment.objects.filter(message__isnull=True).count() == 1
    check_a11y(page)
    _no_horizontal_scroll(page, width)
    remove.click()
    page.locator("[data-attach-status]", has_text="notitie.txt was removed.").wait_for()
    assert page.locator("[data-attached] li").count() == 0
    assert not Attachment.objects.exists()

    page.fill("#subject", "Uitslag")
    page.fill("#body", "Beste Piet en Jan,\n\nHierbij de uitslag.")
    page.locator("form.compose button[type=submit]").click()

    # Every problem at once, the summary focused, each entry a link to its field.
    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    assert _focused_id(page) == "" and page.evaluate(
        "document.activeElement.hasAttribute('data-error-summary')")
    links = summary.locator("a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "#r-0-phone", "#r-1-access_code"]
    assert PIET in links.nth(0).inner_text() and JAN in links.nth(1).inner_text()
    check_a11y(page)
    _no_horizontal_scroll(page, width)
    links.nth(1).click()
    assert _focused_id(page) == "r-1-access_code"
    links.nth(0).click()
    assert _focused_id(page) == "r-0-phone"
    assert page.locator("#r-0-phone").get_attribute("aria-invalid") == "true"

    # Nothing typed was lost, and each row shows its own method's fields again.
    assert page.locator("#r-1-access_code").input_value() == "123"
    assert page.locator("#r-1-hint").input_value() == "uw postcode"
    assert page.locator("#r-1-method").input_value() == "access_code"
    assert not page.locator("#r-1-phone").is_visible()
    assert page.locator("#body").input_value() == "Beste Piet en Jan,\n\nHierbij de uitslag."

    # Fixed and sent; the mail server holds the notifications for a moment.
    gate = _hold_mail(zegel)
    page.fill("#r-0-phone", "06 12345678")
    page.fill("#r-1-access_code", "geheim-123")
    page.locator("form.compose button[type=submit]").click()
    page.wait_for_url(re.compile(r"/c/[0-9a-f-]{36}$"))
    notice = page.locator(".notice-success").inner_text()
    assert PIET in notice and JAN in notice
    row = page.locator(f'tr[data-recipient="{PIET}"]')
    assert row.get_attribute("data-status") == "queued"
    # The conversation page's own 320 px reflow (its status table) is another change's.
    check_a11y(page)

    # The status changes in the page itself: the marker set now survives (no reload).
    page.evaluate("window.zegelNoReload = true")
    gate.set()
    for email in (PIET, JAN):
        page.locator(f'tr[data-recipient="{email}"][data-status="notified"]').wait_for(
            timeout=20_000)
    assert page.evaluate("window.zegelNoReload === true")
    assert row.locator("[data-event=notified]").count() == 1
    assert row.locator("[data-queued]").count() == 0
    assert "notified" in page.locator("[data-status-live]").inner_text()
    check_a11y(page)
    zegel.wait_idle()


def test_compose_without_javascript(zegel: Zegel, new_context: Any) -> None:
    """Without Zegel's scripts every field shows, with the text saying which matter; an empty
    row adds a recipient; the status is there after a reload."""
    width = 320
    context = new_context(viewport={"width": width, "height": 800})
    # Zegel's own scripts do not load, as with JavaScript off; axe (injected by the test
    # driver) still runs, which it cannot with JavaScript disabled in the browser.
    context.route(re.compile(r"/static/zegel/.*\.js$"), lambda route: route.abort())
    page = context.new_page()
    log_in(page, zegel.url)
    page.goto(f"{zegel.url}/compose")
    check_a11y(page)
    _no_horizontal_scroll(page, width)
    assert page.locator("[data-methods-hint]").is_visible()
    assert page.locator("[data-recipient-row]").count() == 2  # one spare
    for field in ("phone", "access_code", "hint"):
        assert page.locator(f"#r-0-{field}").is_visible(), field
    page.fill("#r-0-email", PIET)
    page.fill("#r-0-phone", "06 12345678")
    page.fill("#r-1-email", JAN)
    page.select_option("#r-1-method", "access_code")
    page.fill("#r-1-access_code", "12")
    page.fill("#subject", "Uitslag")
    page.fill("#body", "Hierbij.")
    page.locator("form.compose button[type=submit]").click()
    page.locator("[data-error-summary]").wait_for()
    assert page.locator("[data-error-summary] a").get_attribute("href") == "#r-1-access_code"
    assert page.locator("#r-1-access_code").input_value() == "12"
    assert page.locator("[data-recipient-row]").count() == 3  # the two, and a spare
    check_a11y(page)
    _no_horizontal_scroll(page, width)
    page.fill("#r-1-access_code", "geheim-123")
    page.locator("form.compose button[type=submit]").click()
    page.wait_for_url(re.compile(r"/c/[0-9a-f-]{36}$"))
    assert JAN in page.locator(".notice-success").inner_text()
    zegel.wait_idle()
    page.reload()
    for email in (PIET, JAN):
        assert page.locator(f'tr[data-recipient="{email}"]').get_attribute(
            "data-status") == "notified"
    check_a11y(page)
