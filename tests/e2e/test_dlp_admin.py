"""The admin's data-leak pages in a real browser: an admin tries a pattern in the test field,
sees what it finds, adds it as an organisation pattern, and every page passes axe."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Zegel, check_a11y, log_in

pytestmark = pytest.mark.browser

REGEX = r"\bPAT-\d{7}\b"


def test_an_admin_tests_and_adds_an_organisation_pattern(zegel: Zegel,
                                                         new_context: Any) -> None:
    from zegel.dlp.models import OrgPattern

    zegel.user.role = "admin"
    zegel.user.save(update_fields=["role"])

    page = new_context(locale="nl-NL").new_page()
    log_in(page, zegel.url)

    page.locator("nav.nav a[href='/admin/dlp/']").click()
    page.wait_for_url(re.compile(r"/admin/dlp/$"))
    assert page.locator("form[action='/admin/dlp/rules/adopt-defaults']").count() == 1
    check_a11y(page)

    page.locator("a[href='/admin/dlp/patterns']").click()
    page.wait_for_url(re.compile(r"/admin/dlp/patterns$"))
    check_a11y(page)

    # The test field: nothing saved, the finding shown masked.
    page.fill("#test-regex", REGEX)
    page.fill("#test-sample", "Patiënt PAT-1234567 komt morgen; bestelling PAT-12 niet.")
    page.locator("form[action^='/admin/dlp/patterns/test'] button[type=submit]").click()
    result = page.locator("#test-result")
    result.wait_for()
    text = result.inner_text()
    assert "org:test" in text and "******4567" in text
    assert "PAT-1234567" not in text
    assert not OrgPattern.objects.exists()
    check_a11y(page)

    # A refused pattern: the message next to the field, what was typed kept.
    page.fill("#test-regex", "(a+)+$")
    page.locator("form[action^='/admin/dlp/patterns/test'] button[type=submit]").click()
    page.locator("#test-regex-error").wait_for()
    assert page.input_value("#test-regex") == "(a+)+$"
    check_a11y(page)

    # Add it for real.
    page.fill("#name", "patientnummer")
    page.fill("#regex", REGEX)
    page.locator("form[action='/admin/dlp/patterns'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin/dlp/patterns$"))
    page.get_by_role("cell", name="patientnummer", exact=True).wait_for()
    check_a11y(page)
    pattern = OrgPattern.objects.get()
    assert pattern.organisation_id == zegel.org.pk and pattern.regex == REGEX

    page.locator("a[href='/admin/dlp/terms']").click()
    page.wait_for_url(re.compile(r"/admin/dlp/terms$"))
    check_a11y(page)


def test_the_rule_pages_pass_axe(zegel: Zegel, new_context: Any) -> None:
    from zegel.dlp.models import DlpRule

    zegel.user.role = "admin"
    zegel.user.save(update_fields=["role"])
    page = new_context(locale="nl-NL").new_page()
    log_in(page, zegel.url)

    page.goto(f"{zegel.url}/admin/dlp/")
    page.fill("#name", "Alles")
    page.fill("#condition", "{kapot")
    page.locator("#main form[action='/admin/dlp/'] button[type=submit]").click()
    page.locator("#condition-error").wait_for()
    assert page.input_value("#name") == "Alles"
    check_a11y(page)

    page.locator("form[action='/admin/dlp/rules/adopt-defaults'] button").click()
    page.wait_for_url(re.compile(r"/admin/dlp/$"))
    check_a11y(page)
    rule = DlpRule.objects.filter(organisation=zegel.org).first()
    assert rule is not None
    page.locator(f"a[href='/admin/dlp/rules/{rule.pk}']").click()
    page.wait_for_url(re.compile(rf"/admin/dlp/rules/{rule.pk}$"))
    check_a11y(page)
    page.locator(f"a[href='/admin/dlp/rules/{rule.pk}/delete']").click()
    page.wait_for_url(re.compile(r"/delete$"))
    check_a11y(page)
    page.locator("#main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin/dlp/$"))
    check_a11y(page)
    assert not DlpRule.objects.filter(pk=rule.pk).exists()
