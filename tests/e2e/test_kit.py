"""The communication kit's editor in a real browser, at 320 px with axe: the admin previews a
text with a missing value and Django syntax, sees the marker and the text as typed, and the
preview follows the text while typing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, log_in

pytestmark = pytest.mark.browser


def test_the_kit_editor_previews_and_marks_a_missing_value(zegel: Zegel,
                                                           new_context: Any) -> None:
    from zegel.orgs.models import User

    User.objects.filter(pk=zegel.user.pk).update(role="admin")
    page = new_context(locale="en-GB", viewport={"width": 320, "height": 640}).new_page()
    log_in(page, zegel.url)
    page.goto(f"{zegel.url}/settings/kit")
    check_a11y(page)
    assert_fits(page, 320)
    page.locator("a[href$='/settings/kit/clients/en']").click()
    page.fill("#text", "# {organisation}\n\n{{ settings.SECRET_KEY }} <b>x</b>\n\n"
                       "{contact_change_procedure}")
    page.locator("button[value=preview]").click()
    page.locator(".kit-document h2").wait_for()
    check_a11y(page)
    assert_fits(page, 320)
    document = page.locator(".kit-document")
    assert "{{ settings.SECRET_KEY }} <b>x</b>" in document.inner_text()
    assert document.locator("b").count() == 0
    assert "not set: the procedure for changing contact details" in \
        document.locator("mark.kit-missing").inner_text()
    # With JavaScript the preview follows the text as it is typed, without the button.
    page.fill("#text", "# Live {organisation}")
    page.locator(".kit-document h2", has_text="Live").wait_for()
    assert page.locator(".kit-document h2").inner_text() == f"Live {zegel.org.name}"
    assert page.locator(".kit-document mark.kit-missing").count() == 0
