"""The SMS webhook backend against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.conftest import send
from zegel.config import SmsConfig
from zegel.notify.backends import SmsError, send_sms
from zegel.notify.models import OutboxItem
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200
    paths: list[str] = []

    def do_POST(self) -> None:
        type(self).paths.append(f"POST {self.path}")
        length = int(self.headers.get("Content-Length", "0"))
        type(self).received.append({"content_type": self.headers.get("Content-Type"),
                                    "body": json.loads(self.rfile.read(length))})
        self.send_response(type(self).status)
        if 300 <= type(self).status < 400:
            self.send_header("Location", "/elsewhere")
        self.end_headers()
        self.wfile.write(b'{"status":"queued"}')

    def do_GET(self) -> None:
        type(self).paths.append(f"GET {self.path}")
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[_Gateway]]]:
    handler = type("Gateway", (_Gateway,), {"received": [], "status": 200, "paths": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sms", handler
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_it_posts_json_with_to_and_body(gateway: tuple[str, type[_Gateway]]) -> None:
    url, handler = gateway
    send_sms("+31612345678", "123456 is uw code", SmsConfig(backend="webhook", url=url))
    assert handler.received == [{"content_type": "application/json",
                                 "body": {"to": "+31612345678", "body": "123456 is uw code"}}]


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (404, True), (429, False),
                                                   (500, False), (503, False)])
def test_gateway_errors_are_permanent_or_retried(gateway: tuple[str, type[_Gateway]],
                                                 status: int, permanent: bool) -> None:
    url, handler = gateway
    handler.status = status
    with pytest.raises(SmsError) as error:
        send_sms("+31612345678", "x", SmsConfig(backend="webhook", url=url))
    assert error.value.permanent is permanent


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_and_not_followed(gateway: tuple[str, type[_Gateway]],
                                                  status: int) -> None:
    url, handler = gateway
    handler.status = status
    with pytest.raises(SmsError) as error:
        send_sms("+31612345678", "123456 is uw code", SmsConfig(backend="webhook", url=url))
    assert error.value.permanent is True
    assert "redirects are not followed" in str(error.value)
    assert handler.paths == ["POST /sms"]


def test_unreachable_gateway_is_retried_later(settings: Any, sender: User) -> None:
    from tests.conftest import deliver_and_get_link, free_port

    send(sender)
    token = deliver_and_get_link()
    settings.SMS = SmsConfig(backend="webhook", url=f"http://127.0.0.1:{free_port()}/sms")
    from django.test import Client

    Client().post(f"/m/{token}/code")
    deliver_due()
    item = OutboxItem.objects.get(purpose="code")
    assert item.state == "pending" and item.attempts == 1
    assert "unreachable" in item.last_error
