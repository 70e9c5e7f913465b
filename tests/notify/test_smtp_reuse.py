"""One SMTP connection for the e-mails of one deliver_due call, replaced when the server has
dropped it, and never used again after an error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port, send
from zegel.messaging import actions
from zegel.notify.models import OutboxItem
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User


class Relay:
    """Notes the client's port (one per connection) of every accepted mail; can hang up on
    a NOOP, or refuse the first mail with a 451."""

    def __init__(self) -> None:
        self.peers: list[Any] = []
        self.hang_up = False
        self.refuse_first = False
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refuse_first:
                self.refuse_first = False
                return "451 try again later"
            self.peers.append(session.peer)
        return "250 OK"

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:
        if self.hang_up:
            # As a relay that timed the idle connection out: it is gone when the client
            # next speaks.
            server.transport.close()
        return "250 OK"


@pytest.fixture
def relay(settings: Any) -> Iterator[Relay]:
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield handler
    finally:
        controller.stop()


def _three(sender: User) -> None:
    send(sender, recipients=[
        actions.RecipientSpec(email=f"r{n}@example.nl", name="R", method="sms",
                              phone=f"06 1234567{n}") for n in range(3)])


def _states() -> list[str]:
    return list(OutboxItem.objects.order_by("id").values_list("state", flat=True))


def test_one_connection_carries_every_mail_of_a_run(sender: User, relay: Relay) -> None:
    _three(sender)
    assert deliver_due() == 3
    assert _states() == ["sent"] * 3
    assert len(relay.peers) == 3 and len(set(relay.peers)) == 1


def test_a_connection_the_server_dropped_is_replaced(sender: User, relay: Relay) -> None:
    relay.hang_up = True
    _three(sender)
    # Each mail finds the previous connection closed (NOOP fails) and opens a new one;
    # none of them fails for it.
    deliver_due()
    assert _states() == ["sent"] * 3
    assert len(set(relay.peers)) == 3


def test_after_an_error_the_next_mail_gets_a_new_connection(sender: User,
                                                           relay: Relay) -> None:
    relay.refuse_first = True
    _three(sender)
    deliver_due()
    assert sorted(_states()) == ["pending", "sent", "sent"]
    # The two that went out did so on a connection opened after the refusal: not the one
    # whose exchange failed.
    assert len(relay.peers) == 2 and len(set(relay.peers)) == 1
