"""Every kind of page carries the same security headers (docs/security.md, "Web")."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import Client

from tests.conftest import deliver_and_get_link, send
from zegel.orgs.models import User


def _assert_hardened(response: HttpResponse, what: str) -> None:
    policy = {part.strip().split(" ", 1)[0]: part.strip()
              for part in response["Content-Security-Policy"].split(";") if part.strip()}
    assert policy["default-src"] == "default-src 'self'", what
    assert policy["frame-ancestors"] == "frame-ancestors 'none'", what
    assert "unsafe-inline" not in response["Content-Security-Policy"], what
    assert "unsafe-eval" not in response["Content-Security-Policy"], what
    assert response["X-Content-Type-Options"] == "nosniff", what
    assert response["Referrer-Policy"] == "same-origin", what
    assert response["X-Frame-Options"] == "DENY", what


def test_every_kind_of_page_has_the_security_headers(sender: User,
                                                     sender_client: Client) -> None:
    message = send(sender)
    token = deliver_and_get_link()
    pages = {
        "portal": (Client(), f"/m/{token}", 200),
        "unknown link": (Client(), "/m/" + "A" * 43, 404),
        "conversation": (sender_client, f"/c/{message.conversation_id}", 200),
        "login": (Client(), "/login", 200),
        "not found": (Client(), "/no-such-page", 404),
        "openapi": (Client(), "/api/v1/openapi.json", 200),
        "api problem": (Client(), "/api/v1/messages/00000000-0000-0000-0000-000000000000", 401),
        "health": (Client(), "/healthz", 200),
    }
    for what, (client, path, status) in pages.items():
        response = client.get(path)
        assert response.status_code == status, (what, response.status_code)
        _assert_hardened(response, what)
