"""The staff pages in a real browser: an admin invites a colleague, the colleague opens the
link from the e-mail that reached the SMTP server, sets a password and logs in. Every page
(the users, the invitation, a user's page, the audit log, the account pages) passes axe at
320 px and at desktop width, without sideways scrolling at 320 px."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Zegel, check_a11y, log_in

pytestmark = pytest.mark.browser

COLLEAGUE = "kees@zorg.example"
NEW_PASSWORD = "kiezel lantaarn vijver"


def check_both_widths(page: Any) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    check_a11y(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} scrolls sideways at 320 px ({width} px wide)"
    page.set_viewport_size({"width": 1280, "height": 800})
    check_a11y(page)


def invitation_link(zegel: Zegel) -> str:
    mail = zegel.mailbox.wait_for_mail(COLLEAGUE)[-1]
    text = mail.get_body(("plain",))
    assert text is not None
    match = re.search(re.escape(zegel.url) + r"/account/invitation/[A-Za-z0-9_\-]{43}",
                      text.get_content())
    assert match, "no invitation link in the e-mail"
    return match.group(0)


def test_an_admin_invites_a_colleague_who_sets_a_password_and_logs_in(
        zegel: Zegel, new_context: Any) -> None:
    from zegel.orgs.models import User

    zegel.user.role = "admin"
    zegel.user.save(update_fields=["role"])

    admin = new_context(locale="nl-NL").new_page()
    log_in(admin, zegel.url)
    admin.locator("nav.nav a[href='/staff/users']").click()
    admin.wait_for_url(re.compile(r"/staff/users$"))
    check_both_widths(admin)

    admin.locator("a[href='/staff/users/invite']").click()
    admin.wait_for_url(re.compile(r"/staff/users/invite$"))
    check_both_widths(admin)
    # A bad address first: the error sits at the top and next to the field.
    admin.fill("#id_email", "kees")
    admin.evaluate("document.querySelector('#id_email').type = 'text'")
    admin.locator("main form button[type=submit]").click()
    assert admin.locator(".error-summary").count() == 1
    check_both_widths(admin)
    admin.fill("#id_email", COLLEAGUE)
    admin.fill("#id_name", "Kees Bakker")
    admin.select_option("#id_role", "member")
    admin.locator("main form button[type=submit]").click()
    admin.wait_for_url(re.compile(r"/staff/users$"))
    assert COLLEAGUE in admin.content()
    check_both_widths(admin)

    kees = User.objects.get(email=COLLEAGUE)
    admin.locator(f"a[href='/staff/users/{kees.pk}']").click()
    admin.wait_for_url(re.compile(rf"/staff/users/{kees.pk}$"))
    check_both_widths(admin)

    admin.locator("nav.nav a[href='/staff/audit']").click()
    admin.wait_for_url(re.compile(r"/staff/audit$"))
    assert admin.locator("main table tbody tr").count() >= 2  # the log-in, the invitation
    check_both_widths(admin)
    # A bad address in the search: explained at the top, the page still passes axe.
    admin.fill("#id_ip", "192.0.2.300")
    admin.locator("main form[aria-labelledby=search-heading] button[type=submit]").click()
    assert admin.locator(".error-summary").count() == 1
    check_both_widths(admin)
    # The chain check on demand: the result and its time on the page.
    admin.locator("form[action='/staff/audit/verify'] button").click()
    admin.wait_for_url(re.compile(r"/staff/audit$"))
    assert admin.locator(".audit-check").count() == 1
    assert admin.locator(".audit-check-broken").count() == 0
    check_both_widths(admin)

    link = invitation_link(zegel)
    colleague = new_context(locale="nl-NL").new_page()
    colleague.goto(link)
    check_both_widths(colleague)
    colleague.fill("#id_new_password", NEW_PASSWORD)
    colleague.fill("#id_new_password_again", NEW_PASSWORD)
    colleague.locator("main form button[type=submit]").click()
    colleague.wait_for_url(re.compile(r"/login$"))
    check_both_widths(colleague)
    colleague.fill("#id_username", COLLEAGUE)
    colleague.fill("#id_password", NEW_PASSWORD)
    colleague.locator("main form button[type=submit]").click()
    colleague.wait_for_url(re.compile(r"/inbox$"))
    check_both_widths(colleague)

    colleague.locator("nav.nav a[href='/account']").click()
    colleague.wait_for_url(re.compile(r"/account$"))
    assert colleague.locator("main table tbody tr").count() == 1
    check_both_widths(colleague)
    colleague.locator("a[href='/account/password']").click()
    colleague.wait_for_url(re.compile(r"/account/password$"))
    check_both_widths(colleague)

    # The link is spent: opened again it says so, kindly.
    again = new_context(locale="nl-NL").new_page()
    again.goto(link)
    assert again.locator("h1").count() == 1
    check_both_widths(again)
    again.goto(f"{zegel.url}/account/forgot-password")
    check_both_widths(again)
