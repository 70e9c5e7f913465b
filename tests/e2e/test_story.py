"""The whole story in a real browser: a sender sends a secure message with an attachment, the
recipient gets the notification by SMTP, asks for an SMS code, reads, downloads and replies with
a file, and the sender sees the reply and every status event."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    PASSWORD,
    STAFF_EMAIL,
    Zegel,
    assert_fits,
    check_a11y,
    link_from,
    log_in,
    wait_for,
)

pytestmark = pytest.mark.browser

RECIPIENT = "j.jansen@example.org"
PHONE_TYPED = "06 12345678"
PHONE_E164 = "+31612345678"
SUBJECT = "Uitslag onderzoek SUBJMARK-7731"
BODY = "Beste meneer Jansen,\n\nHierbij de uitslag. BODYMARK-4410 staat in de bijlage."
REPLY = "Dank u wel, REPLYMARK-9902. Hierbij mijn formulier terug."
FILE_NAME = "uitslag-FILEMARK-2210.bin"
REPLY_FILE_NAME = "formulier-terug.bin"
EVENTS = ("notified", "verified", "opened", "downloaded", "replied")
# The 320 px check allows for a rounding pixel or two, not for a real overflow.


def _random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def _download(page: Any, link: Any) -> bytes:
    with page.expect_download(timeout=15_000) as info:
        link.click()
    download = info.value
    assert download.failure() is None, f"download failed: {download.failure()}"
    return Path(download.path()).read_bytes()


def _submit(page: Any, form_selector: str) -> None:
    page.locator(f"{form_selector} button[type=submit]").first.click()


def _sent_sms_items() -> int:
    from zegel.notify.models import OutboxItem

    return OutboxItem.objects.filter(channel="sms").count()


def _event_kinds() -> list[str]:
    from zegel.messaging.models import RecipientEvent

    return sorted(RecipientEvent.objects.values_list("kind", flat=True))


def _assert_no_content_in(mail: Any) -> None:
    parts = [mail["Subject"] or ""]
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
        filename = part.get_filename()
        assert filename is None, f"the notification carries a file: {filename}"
    text = "\n".join(parts)
    for secret in ("SUBJMARK", "BODYMARK", "FILEMARK", "uitslag-"):
        assert secret not in text, f"the notification e-mail leaks {secret!r}"


def test_whole_story(zegel: Zegel, new_context: Any) -> None:
    attachment = _random_file(zegel.tmp / FILE_NAME, 300 * 1024 + 17)
    reply_file = _random_file(zegel.tmp / REPLY_FILE_NAME, 200 * 1024 + 5)

    # The sender logs in and composes.
    sender = new_context().new_page()
    log_in(sender, zegel.url)
    sender.goto(f"{zegel.url}/compose")
    check_a11y(sender)
    sender.fill("#r-0-email", RECIPIENT)
    sender.select_option("#r-0-method", "sms")
    sender.fill("#r-0-phone", PHONE_TYPED)
    sender.fill("#subject", SUBJECT)
    sender.fill("#body", BODY)
    sender.set_input_files("#attachments", str(zegel.tmp / FILE_NAME))
    _submit(sender, "form.compose")
    sender.wait_for_url(re.compile(r"/c/[0-9a-f-]{36}$"))
    conversation_url = sender.url
    assert sender.locator("h1.subject").inner_text() == SUBJECT
    check_a11y(sender)

    # The notification arrives at the SMTP server: a link, no content.
    mail = zegel.mailbox.wait_for_mail(RECIPIENT)[0]
    zegel.wait_idle()
    assert mail.get_content_type() == "multipart/alternative", mail.get_content_type()
    types = sorted(p.get_content_type() for p in mail.iter_parts())
    assert types == ["text/html", "text/plain"], types
    _assert_no_content_in(mail)
    link = link_from(mail, zegel.url)
    html = mail.get_body(("html",))
    assert html is not None and link in html.get_content(), "no link in the HTML part"

    # The recipient opens the link in a browser of their own: the page changes nothing.
    guest = new_context().new_page()
    events_before = _event_kinds()
    guest.goto(link)
    guest.locator("[data-send-code]").wait_for()
    assert guest.locator("#code").count() == 0
    check_a11y(guest)
    assert _sent_sms_items() == 0, "opening the link (GET) enqueued an SMS"
    assert zegel.sms() == [], "opening the link (GET) sent an SMS"
    assert _event_kinds() == events_before == ["notified"], "opening the link changed state"

    # Ask for the code, read it from the SMS, type it.
    guest.locator("[data-send-code]").click()
    guest.locator("#code").wait_for()
    check_a11y(guest)
    code = zegel.wait_for_code(PHONE_E164)
    zegel.wait_idle()
    guest.fill("#code", code)
    _submit(guest, "form[action$='/verify']")
    guest.locator("ol.thread").wait_for()
    assert "BODYMARK-4410" in guest.locator("ol.thread").inner_text()
    assert guest.locator("h1.subject").inner_text() == SUBJECT
    check_a11y(guest)

    # Download the attachment: the same bytes come back.
    got = _download(guest, guest.locator("ol.thread a.file").first)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(attachment).hexdigest()
    assert len(got) == len(attachment)

    # Reply with a text and a file.
    guest.fill("#body", REPLY)
    guest.set_input_files("#attachments", str(zegel.tmp / REPLY_FILE_NAME))
    _submit(guest, "section.reply form")
    guest.locator("ol.thread li.mine", has_text="REPLYMARK-9902").wait_for()
    check_a11y(guest)

    # The sender is told of the reply, by e-mail without content.
    notice = zegel.mailbox.wait_for_mail(STAFF_EMAIL)[0]
    zegel.wait_idle()
    assert "REPLYMARK" not in str(notice)

    # The sender sees the reply, downloads the guest's file and sees every status event.
    sender.goto(conversation_url)
    from_guest = sender.locator("ol.thread li[data-author=recipient]")
    from_guest.wait_for()
    assert "REPLYMARK-9902" in from_guest.inner_text()
    got = _download(sender, from_guest.locator("a.file").first)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(reply_file).hexdigest()
    sender.reload()
    row = sender.locator(f'tr[data-recipient="{RECIPIENT}"]')
    shown = set(row.locator("[data-event]").evaluate_all(
        "els => els.map(e => e.dataset.event)"))
    missing = [kind for kind in EVENTS if kind not in shown]
    assert not missing, f"status column lacks {missing}; it shows {sorted(shown)}"
    check_a11y(sender)


def _no_horizontal_scroll(page: Any, width: int) -> None:
    assert_fits(page, width)


def _tab_to(page: Any, selector: str, limit: int = 25) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    pytest.fail(f"{limit} presses of Tab did not reach {selector}")


def test_portal_on_a_phone_with_keyboard_only(zegel: Zegel, new_context: Any) -> None:
    from zegel.messaging import actions

    actions.send_message(
        sender=zegel.user, subject=SUBJECT, body=BODY,
        recipients=[actions.RecipientSpec(email=RECIPIENT, method="sms", phone=PHONE_TYPED)])
    link = link_from(zegel.mailbox.wait_for_mail(RECIPIENT)[0], zegel.url)
    zegel.wait_idle()

    width = 320
    page = new_context(viewport={"width": width, "height": 640}, device_scale_factor=2,
                       is_mobile=True, has_touch=True).new_page()
    page.goto(link)
    _no_horizontal_scroll(page, width)
    check_a11y(page)

    # Keyboard only: Tab to the send-code button, Enter sends the code.
    _tab_to(page, "[data-send-code]")
    page.keyboard.press("Enter")
    page.locator("#code").wait_for()
    _no_horizontal_scroll(page, width)
    check_a11y(page)

    code = zegel.wait_for_code(PHONE_E164)
    zegel.wait_idle()
    _tab_to(page, "#code")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.locator("ol.thread").wait_for()
    wait_for("the conversation page", lambda: "BODYMARK-4410" in page.content())
    _no_horizontal_scroll(page, width)
    check_a11y(page)


def test_form_posts_carry_a_real_origin(zegel: Zegel, new_context: Any) -> None:
    page = new_context().new_page()
    page.goto(f"{zegel.url}/login")
    page.fill("#id_username", STAFF_EMAIL)
    page.fill("#id_password", PASSWORD)
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/login")) as info:
        _submit(page, "main form")
    origin = info.value.all_headers().get("origin")
    assert origin == zegel.url, f"a form POST carries Origin: {origin}"
