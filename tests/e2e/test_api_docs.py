"""/api/v1/docs in a real browser: Swagger UI from Zegel's own static files renders every
operation under Zegel's CSP, with no violation, no console error and no request to anywhere
but the server itself; axe passes at phone and desktop width."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.e2e.conftest import check_a11y, wait_for

pytestmark = pytest.mark.browser

# Collects what the page's CSP refused, in the page itself (an init script is not subject to
# the page's CSP; an inline one would be).
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def _operations() -> list[tuple[str, str]]:
    document = Client().get("/api/v1/openapi.json").json()
    return [(method.upper(), path) for path, operations in document["paths"].items()
            for method in operations]


@pytest.mark.parametrize("width", [320, 1280])
def test_the_api_docs_render_every_operation_offline_under_the_csp(
        live_server: Any, transactional_db: None, new_context: Any, width: int) -> None:
    origin = urlsplit(live_server.url)
    context = new_context(viewport={"width": width, "height": 900})
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        url = urlsplit(route.request.url)
        if (url.scheme, url.netloc) == (origin.scheme, origin.netloc) or url.scheme == "data":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    context.add_init_script(LISTEN_FOR_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    operations = _operations()
    assert len(operations) > 10
    blocks = page.locator("#api-docs .opblock")
    wait_for("Swagger UI to render the operations", lambda: blocks.count() == len(operations))
    shown = {(blocks.nth(i).locator(".opblock-summary-method").inner_text().strip(),
              blocks.nth(i).locator(".opblock-summary-path").get_attribute("data-path"))
             for i in range(blocks.count())}
    assert shown == set(operations)
    check_a11y(page)

    # One operation opened: its problem answers are listed with their media type.
    send = page.locator("#operations-default-zegel_api_views_create_message")
    send.locator(".opblock-summary-control").click()
    responses = send.locator(".responses-table tr.response")
    wait_for("the responses of POST /messages", lambda: responses.count() > 1)
    codes = {responses.nth(i).get_attribute("data-code") for i in range(responses.count())}
    assert {"201", "400", "401", "403", "404", "413", "422", "429"} <= codes
    assert "application/problem+json" in send.inner_text()
    check_a11y(page)

    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
    assert elsewhere == []
