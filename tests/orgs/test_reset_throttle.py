"""Flooding "forgot password": per typed address, per client and the installation's reset
e-mails are capped, and the answers still do not tell whether an address has an account."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest import mock

from django.test import Client
from django.utils import timezone

from zegel.audit.models import AuditEvent
from zegel.notify.models import OutboxItem
from zegel.orgs.models import Organisation, PasswordResetRequest, User
from zegel.staff import mail

UNKNOWN = "niemand@zorggroep-noord.nl"


def _ask(email: str, ip: str = "192.0.2.7") -> Any:
    return Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ip).post(
        "/account/forgot-password", {"email": email})


def _page(response: Any, email: str) -> str:
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return text.replace(email, "X")


def test_one_address_gets_at_most_its_share_of_mails_and_the_same_answers(
        sender: User, settings: Any) -> None:
    settings.RESET_MAX_PER_ADDRESS = 3
    renders = mock.patch.object(mail, "render_email", wraps=mail.render_email)
    with renders as rendered:
        known = [_ask(sender.email, f"192.0.2.{i}") for i in range(6)]
        unknown = [_ask(UNKNOWN, f"192.0.2.{i}") for i in range(6)]
    # Every answer is the same page, whether the address has an account or was throttled,
    # and every request rendered the e-mail (about the same work either way).
    pages = {_page(r, sender.email) for r in known} | {_page(r, UNKNOWN) for r in unknown}
    assert {r.status_code for r in known + unknown} == {200} and len(pages) == 1
    assert rendered.call_count == 12
    assert OutboxItem.objects.filter(purpose="password_reset").count() == 3
    assert PasswordResetRequest.objects.count() == 12
    events = AuditEvent.objects.filter(action="user.password_reset_requested",
                                       object_id=str(sender.pk)).order_by("pk")
    assert [e.data for e in events][2:4] == [{"sent": True}, {"sent": False, "throttled": True}]
    # The table keeps no typed address.
    assert not PasswordResetRequest.objects.filter(address_hash__contains="@").exists()


def test_a_client_that_floods_is_refused_the_same_for_every_address(
        sender: User, settings: Any) -> None:
    settings.RESET_MAX_PER_IP = 4
    for i in range(4):
        assert _ask(f"iemand{i}@example.nl").status_code == 200
    refused_known, refused_unknown = _ask(sender.email), _ask(UNKNOWN)
    assert refused_known.status_code == refused_unknown.status_code == 429
    assert _page(refused_known, sender.email) == _page(refused_unknown, UNKNOWN)
    assert "too many requests for a new password" in refused_known.content.decode()
    # Refused requests are not counted (a flood does not grow the table) and send nothing.
    assert PasswordResetRequest.objects.count() == 4
    assert not OutboxItem.objects.exists()
    # Another client is not affected; an IPv6 client counts per /64.
    assert _ask(sender.email, "2001:db8::1").status_code == 200
    assert OutboxItem.objects.count() == 1
    for i in range(2, 5):
        _ask(f"x{i}@example.nl", f"2001:db8::{i}")
    assert _ask(UNKNOWN, "2001:db8::ffff").status_code == 429


def test_the_installation_sends_at_most_its_cap_of_reset_mails(org: Organisation,
                                                                settings: Any) -> None:
    settings.RESET_MAX_MAILS_GLOBAL = 2
    users = [User.objects.create_user(f"u{i}@zorggroep-noord.nl", org, "x" * 20)
             for i in range(4)]
    answers = [_ask(u.email, f"198.51.100.{i}") for i, u in enumerate(users)]
    assert {a.status_code for a in answers} == {200}
    assert OutboxItem.objects.filter(purpose="password_reset").count() == 2
    assert PasswordResetRequest.objects.filter(sent=True).count() == 2


def test_the_limits_count_only_the_window(sender: User, settings: Any) -> None:
    settings.RESET_MAX_PER_ADDRESS = 1
    settings.RESET_MAX_PER_IP = 1
    assert _ask(sender.email).status_code == 200
    assert _ask(sender.email).status_code == 429
    PasswordResetRequest.objects.update(at=timezone.now() - timedelta(
        seconds=settings.RESET_WINDOW + 1))
    assert _ask(sender.email).status_code == 200
    # The old row was pruned; the new one sent a second mail.
    assert PasswordResetRequest.objects.count() == 1
    assert OutboxItem.objects.filter(purpose="password_reset").count() == 2
