"""Wrong codes slow the next try down before anything locks (NIST SP 800-63B 5.2.2), and only
a wrong guess at a code that was sent to that session counts, so whoever saw the notification
cannot lock the real recipient out."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_concurrency import _no_errors, run_together
from zegel.audit.models import AuditEvent
from zegel.messaging import actions
from zegel.messaging.actions import guest_auth
from zegel.messaging.actions.guest_auth import throttle_delay
from zegel.messaging.models import Recipient
from zegel.orgs.models import User

ACCESS_CODE = "geheim-123"


@pytest.fixture
def token(sender: User) -> str:
    send(sender)
    return deliver_and_get_link()


def _access_code_token(sender: User) -> str:
    send(sender, recipients=[actions.RecipientSpec(
        email="piet@example.nl", name="Piet", method="access_code", access_code=ACCESS_CODE)])
    return deliver_and_get_link()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _waited(seconds: float) -> None:
    """As if that long went by since the last failure (the delay is counted from it)."""
    Recipient.objects.update(last_failed_at=timezone.now() - timedelta(seconds=seconds))


def test_a_try_without_a_code_sent_to_that_session_is_refused_without_counting(
        token: str) -> None:
    for _ in range(30):
        assert Client().post(f"/m/{token}/verify", {"code": "123456"}).status_code == 400
    # A session that asked for a code, then someone else's session guessing.
    owner = Client()
    owner.post(f"/m/{token}/code")
    for _ in range(10):
        assert Client().post(f"/m/{token}/verify", {"code": "123456"}).status_code == 400
    recipient = Recipient.objects.get()
    assert recipient.failed_attempts == 0 and recipient.locked_at is None
    assert not AuditEvent.objects.filter(action="verify.failed").exists()
    assert owner.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302


def test_after_three_wrong_codes_the_next_try_waits_thirty_seconds(token: str) -> None:
    client = Client()
    client.post(f"/m/{token}/code")
    code = latest_sms_code()
    for _ in range(3):
        assert client.post(f"/m/{token}/verify", {"code": _wrong(code)}).status_code == 400
    # Even the right code is not checked during the wait, and the try does not count.
    response = client.post(f"/m/{token}/verify", {"code": code}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    text = html.unescape(response.content.decode())
    wait = re.search(r"please wait (\d+) seconds before you try again", text)
    assert wait is not None and 27 <= int(wait.group(1)) <= 30  # a slow machine took a while
    recipient = Recipient.objects.get()
    assert recipient.failed_attempts == 3
    last_failure = recipient.last_failed_at
    client.post(f"/m/{token}/verify", {"code": _wrong(code)})
    # A try during the wait neither counts nor pushes the wait further out.
    recipient.refresh_from_db()
    assert (recipient.failed_attempts, recipient.last_failed_at) == (3, last_failure)
    _waited(25)
    response = client.post(f"/m/{token}/verify", {"code": code}, HTTP_ACCEPT_LANGUAGE="nl")
    assert re.search(r"wacht [1-5] seconden? voordat", html.unescape(response.content.decode()))
    _waited(31)
    assert client.post(f"/m/{token}/verify", {"code": code}).status_code == 302
    assert Recipient.objects.get().failed_attempts == 0


def test_the_wait_doubles_with_each_failure_up_to_the_maximum(token: str,
                                                              settings: Any) -> None:
    assert [throttle_delay(n) for n in range(8)] == [0, 0, 0, 30, 60, 120, 240, 480]
    assert throttle_delay(12) == throttle_delay(1000) == settings.GUEST_THROTTLE_MAX_SECONDS
    client = Client()
    client.post(f"/m/{token}/code")
    code = latest_sms_code()
    for _ in range(4):
        _waited(10**6)
        client.post(f"/m/{token}/verify", {"code": _wrong(code)})
    _waited(50)
    response = client.post(f"/m/{token}/verify", {"code": code}, HTTP_ACCEPT_LANGUAGE="en")
    assert re.search(r"wait ([1-9]|10) seconds? before", html.unescape(response.content.decode()))
    _waited(61)
    assert client.post(f"/m/{token}/verify", {"code": code}).status_code == 302


def test_it_locks_only_after_many_failures(token: str, settings: Any) -> None:
    assert settings.RECIPIENT_MAX_FAILURES == 50
    client = Client()
    for i in range(settings.RECIPIENT_MAX_FAILURES - 1):
        if i % 5 == 0:
            client.post(f"/m/{token}/code")
        _waited(10**6)
        assert client.post(f"/m/{token}/verify", {"code": "000000"}).status_code == 400
    assert Recipient.objects.get().locked_at is None
    _waited(10**6)
    client.post(f"/m/{token}/verify", {"code": "000000"})
    assert Recipient.objects.get().locked_at is not None


def test_access_codes_are_throttled_the_same_way(sender: User, monkeypatch: Any) -> None:
    token = _access_code_token(sender)
    for _ in range(3):
        assert Client().post(f"/m/{token}/verify", {"code": "fout"}).status_code == 400
    hashed: list[str] = []
    real = guest_auth._argon2

    class CountingHasher:
        def verify(self, hash_: str, password: str) -> bool:
            hashed.append(password)
            return real.verify(hash_, password)

    monkeypatch.setattr(guest_auth, "_argon2", CountingHasher())
    response = Client().post(f"/m/{token}/verify", {"code": ACCESS_CODE},
                             HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert re.search(r"wait (2[7-9]|30) seconds", html.unescape(response.content.decode()))
    recipient = Recipient.objects.get()
    assert recipient.failed_attempts == 3
    result = actions.verify_access_code(recipient, ACCESS_CODE)
    assert not result and result.wait_seconds > 0
    assert hashed == [], "a throttled try must not cost an Argon2 hash"
    _waited(31)
    assert Client().post(f"/m/{token}/verify", {"code": ACCESS_CODE}).status_code == 302
    assert len(hashed) == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_codes_count_only_up_to_the_throttle(sender: User) -> None:
    token = _access_code_token(sender)

    def wrong() -> int:
        return Client().post(f"/m/{token}/verify", {"code": "niet-goed"}).status_code

    results = run_together([wrong] * 12)
    _no_errors(results)
    assert set(results) == {400}
    recipient = Recipient.objects.get()
    assert recipient.failed_attempts == 3
    assert AuditEvent.objects.filter(action="verify.failed").count() == 3
    assert recipient.locked_at is None
