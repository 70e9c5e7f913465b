"""The recipient directory's admin pages in a real browser at 320 px, with axe on every page:
an admin adds a contact (a wrong number is marked at its field first), adds a shared code,
imports a CSV file after its dry run, and finds the contacts in the list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, log_in

pytestmark = pytest.mark.browser

CSV = ("email;name;phone;external_id;shared_code\r\n"
       "els@linde.example;Els de Wit;06 87654321;EPD-2;Praktijk De Linde\r\n"
       "jan@linde.example;Jan Pieters;;EPD-3;Praktijk De Linde\r\n")


def _check(page: Any) -> None:
    check_a11y(page)
    assert_fits(page, 320)


def test_an_admin_manages_the_directory_on_a_phone(zegel: Zegel, new_context: Any) -> None:
    from zegel.directory.models import Contact
    from zegel.orgs.models import User

    User.objects.filter(pk=zegel.user.pk).update(role="admin")
    page = new_context(locale="en-GB", viewport={"width": 320, "height": 640}).new_page()
    log_in(page, zegel.url)
    page.get_by_role("link", name="Contacts").click()
    page.wait_for_url("**/admin/contacts/")
    _check(page)

    page.get_by_role("link", name="Add a contact").click()
    page.fill("#email", "piet@example.org")
    page.fill("#name", "Piet Jansen")
    page.fill("#phone", "12345")
    page.get_by_role("button", name="Add the contact").click()
    page.locator("#phone-error").wait_for()
    assert page.locator("#phone").get_attribute("aria-invalid") == "true"
    _check(page)
    page.fill("#phone", "06 12345678")
    page.get_by_role("button", name="Add the contact").click()
    page.locator(".notice").wait_for()
    assert "Piet Jansen" in page.locator("table.list").inner_text()

    page.get_by_role("link", name="Shared access codes").click()
    page.fill("#name", "Praktijk De Linde")
    page.fill("#code", "linde-2027")
    page.fill("#hint", "Op de brief van januari")
    page.get_by_role("button", name="Add the shared code").click()
    page.locator(".notice").wait_for()
    assert "linde-2027" not in page.content()
    _check(page)

    csv_file = zegel.tmp / "contacts.csv"
    csv_file.write_bytes(CSV.encode("cp1252"))
    page.get_by_role("link", name="Import CSV").click()
    _check(page)
    page.set_input_files("#file", str(csv_file))
    page.get_by_role("button", name="Show what would change").click()
    page.locator("#import-plan").wait_for()
    assert page.locator("[data-count=new]").inner_text() == "2"
    assert Contact.objects.count() == 1  # the dry run wrote nothing
    _check(page)
    page.get_by_role("button", name="Import: add 2, change 0").click()
    page.locator(".notice").wait_for()
    _check(page)
    assert Contact.objects.filter(shared_code__name="Praktijk De Linde").count() == 2
    page.fill("#q", "linde")
    page.get_by_role("button", name="Search").click()
    page.locator(".list-count").wait_for()
    assert "2 contacts found" in page.locator(".list-count").inner_text()

    # Access-code letters: refused without the confirmation, then one PDF for the shared code.
    page.get_by_role("link", name="Access-code letters").click()
    _check(page)
    page.get_by_label("Praktijk De Linde (2 contacts)").check()
    page.get_by_role("button", name="Download the letters (PDF)").click()
    page.locator(".error-summary").wait_for()
    _check(page)
    page.get_by_label("Praktijk De Linde (2 contacts)").check()
    page.locator("#confirm").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the letters (PDF)").click()
    assert download.value.suggested_filename == "access-code-letters.pdf"
