"""Many guests and senders of one organisation at once, on PostgreSQL: no deadlock, no 500,
every guest with the right code gets in, and two workers send every code and notification
exactly once.

SQLite takes one writer at a time (BEGIN IMMEDIATE) and ignores FOR UPDATE, so it cannot
deadlock and these tests skip there; `make test` runs them in its PostgreSQL pass. Every
request runs in its own thread with its own database connection, through the real portal
views (Django's test client, which raises what a view raised instead of answering 500).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from django.db import connection, connections
from django.test import Client

from tests.conftest import LINK_RE, send
from tests.messaging.test_concurrency import run_together
from zegel.messaging import actions
from zegel.messaging.models import Recipient, RecipientEvent
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks and deadlocks exist on PostgreSQL only"),
]

GUESTS = 50  # in five conversations of ten, every other one with an access code
WRONG = 6  # guests who also try a wrong code, at the same time as their right one


def _deadlocks() -> int:
    """The server's count of deadlocks it broke in this database. A backend reports its
    count when it ends or goes idle, so it is read until it holds still (bounded)."""
    last = -1
    for _ in range(20):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT deadlocks FROM pg_stat_database "
                           "WHERE datname = current_database()")
            count = int(cursor.fetchone()[0])
        if count == last:
            return count
        last = count
        time.sleep(0.3)
    return last


@pytest.fixture(autouse=True)
def _cheap_access_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest cost: 25 hashes at the default 64 MiB each would make this test
    about the CPU, not the locks (the hash runs outside the transaction anyway)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr("zegel.messaging.drafts._argon2", cheap)
    monkeypatch.setattr("zegel.messaging.actions.guest_auth._argon2", cheap)


@pytest.fixture
def deadlocks() -> Iterator[Callable[[], int]]:
    connections.close_all()  # the main thread's own connection: nothing of it pending
    before = _deadlocks()
    yield lambda: _deadlocks() - before


def _code(n: int) -> str:
    return f"toegang-{n:03d}"


def _guests(sender: User) -> list[tuple[Recipient, str]]:
    """Send five conversations of ten recipients and deliver their notifications; every
    recipient with the token from their own notification."""
    for batch in range(GUESTS // 10):
        specs = []
        for n in range(batch * 10, batch * 10 + 10):
            if n % 2:
                specs.append(actions.RecipientSpec(email=f"r{n}@example.nl", name=f"R{n}",
                                                   method="access_code", access_code=_code(n)))
            else:
                specs.append(actions.RecipientSpec(email=f"r{n}@example.nl", name=f"R{n}",
                                                   method="sms", phone=f"06 {20000000 + n}"))
        send(sender, recipients=specs)
    deliver_due(limit=GUESTS + 10)
    guests = []
    for recipient in Recipient.objects.order_by("pk"):
        mail = CapturedMessage.objects.get(channel="email", to=recipient.email)
        match = LINK_RE.search(mail.text)
        assert match
        guests.append((recipient, match.group(1)))
    assert len(guests) == GUESTS
    return guests


def _workers(stop: threading.Event, outcomes: list[int]) -> list[threading.Thread]:
    """Two outbox workers, each with its own connection, until `stop` and nothing is due."""

    def work() -> None:
        try:
            for _turn in range(2000):  # bounded: a few hundred turns at most in practice
                handled = deliver_due(limit=5)
                outcomes.append(handled)
                if not handled:
                    if stop.is_set():
                        return
                    time.sleep(0.02)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    return threads


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a worker did not finish"


def _sent_once(purpose: str) -> None:
    """Every outbox row of this purpose was sent, and each reached its capture exactly once."""
    items = list(OutboxItem.objects.filter(purpose=purpose))
    assert items
    assert {item.state for item in items} == {OutboxItem.State.SENT}
    assert all(item.attempts == 1 for item in items), [i.attempts for i in items]


def _no_trouble(caplog: pytest.LogCaptureFixture) -> None:
    troubled = [r.getMessage() for r in caplog.records
                if r.levelno >= logging.ERROR or "deadlock" in r.getMessage().lower()
                or "claim lost" in r.getMessage()]
    assert not troubled, troubled[:5]


def test_fifty_guests_verify_at_once_and_every_code_is_sent_once(
        sender: User, deadlocks: Callable[[], int], caplog: pytest.LogCaptureFixture) -> None:
    guests = _guests(sender)
    clients = [Client() for _ in guests]
    sms = [(r, t, c) for (r, t), c in zip(guests, clients, strict=True)
           if r.method == Recipient.Method.SMS]
    caplog.set_level(logging.WARNING)

    # Every SMS guest asks for a code at once while two workers send them.
    stop = threading.Event()
    outcomes: list[int] = []
    workers = _workers(stop, outcomes)
    try:
        asked = run_together([lambda t=t, c=c: c.post(f"/m/{t}/code").status_code
                              for _r, t, c in sms])
    finally:
        stop.set()
        _join(workers)
    assert asked == [302] * len(sms), asked
    _sent_once("code")
    codes: dict[str, str] = {}
    for message in CapturedMessage.objects.filter(channel="sms"):
        match = re.search(r"\b(\d{6})\b", message.text)
        assert match and message.to not in codes, "an SMS code was sent twice"
        codes[message.to] = match.group(1)
    assert len(codes) == len(sms)

    def right(recipient: Recipient, token: str, client: Client) -> int:
        code = codes[recipient.phone] if recipient.phone else _code(int(recipient.name[1:]))
        return client.post(f"/m/{token}/verify", {"code": code}).status_code

    def wrong(recipient: Recipient, token: str, client: Client) -> int:
        # An SMS guest guesses in their own session (that counts against the code); an
        # access-code guest from another browser.
        twin = Client()
        for name, morsel in client.cookies.items():
            twin.cookies[name] = morsel.value
        return twin.post(f"/m/{token}/verify", {"code": "000000"}).status_code

    calls = [lambda g=g, c=c: right(*g, c) for g, c in zip(guests, clients, strict=True)]
    calls += [lambda g=g, c=c: wrong(*g, c)
              for g, c in list(zip(guests, clients, strict=True))[:WRONG]]
    results = run_together(calls)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} of {len(results)} requests failed: {errors[:3]}"
    assert results[:GUESTS] == [302] * GUESTS, results[:GUESTS]
    # A wrong guess that lost the race to the right code finds no code left to count against.
    assert set(results[GUESTS:]) <= {400}
    verified = set(RecipientEvent.objects.filter(kind="verified")
                   .values_list("recipient_id", flat=True))
    assert verified == {r.pk for r, _t in guests}
    for client, (_r, token) in list(zip(clients, guests, strict=True))[:4]:
        assert client.get(f"/m/{token}").status_code == 200  # in, with the new session
    assert deadlocks() == 0
    _no_trouble(caplog)


def test_twenty_sends_and_ten_resends_at_once_while_two_workers_deliver_send_each_mail_once(
        sender: User, deadlocks: Callable[[], int], caplog: pytest.LogCaptureFixture) -> None:
    # Ten recipients whose notification still waits: a resend cancels it (its row locked)
    # while other sends of the organisation write their audit events.
    waiting = [send(sender, recipients=[actions.RecipientSpec(
        email=f"w{n}@example.nl", name=f"W{n}", method="email")]).conversation.recipients.get()
        for n in range(10)]
    caplog.set_level(logging.WARNING)

    def one(n: int) -> Any:
        return send(sender, recipients=[
            actions.RecipientSpec(email=f"a{n}@example.nl", name=f"A{n}", method="sms",
                                  phone=f"06 {30000000 + n}"),
            actions.RecipientSpec(email=f"b{n}@example.nl", name=f"B{n}", method="email"),
        ]).pk

    def resend(recipient: Recipient) -> None:
        actions.resend_notification(sender=sender, recipient=recipient)

    stop = threading.Event()
    outcomes: list[int] = []
    workers = _workers(stop, outcomes)
    try:
        results = run_together([*[lambda n=n: one(n) for n in range(20)],
                                *[lambda r=r: resend(r) for r in waiting]])
    finally:
        stop.set()
        _join(workers)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} of {len(results)} calls failed: {errors[:3]}"
    notifications = OutboxItem.objects.filter(purpose="notification")
    # A waiting one that a worker had taken before the resend goes out too (with its old
    # link); the others were cancelled and never sent.
    assert set(notifications.values_list("state", flat=True)) <= {
        OutboxItem.State.SENT, OutboxItem.State.CANCELLED}
    sent = notifications.filter(state=OutboxItem.State.SENT)
    assert all(item.attempts == 1 for item in sent), [i.attempts for i in sent]
    mails = sorted(CapturedMessage.objects.filter(channel="email").values_list("to", flat=True))
    assert mails == sorted(sent.values_list("recipient__email", flat=True))
    assert set(mails) == ({f"a{n}@example.nl" for n in range(20)}
                          | {f"b{n}@example.nl" for n in range(20)}
                          | {r.email for r in waiting})
    assert RecipientEvent.objects.filter(kind="notified").count() == sent.count()
    assert deadlocks() == 0
    _no_trouble(caplog)
