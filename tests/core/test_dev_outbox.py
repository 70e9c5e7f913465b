"""/dev/outbox shows each captured mail as it looks, without letting anything in it run."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.conftest import send
from zegel.notify.models import CapturedMessage
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User

EVIL = '<!doctype html><html lang="en"><title>x</title><p>Hi</p><script>alert(1)</script></html>'


def test_the_outbox_frames_each_mails_html_in_a_sandbox(sender: User, settings: Any) -> None:
    settings.DEMO = True
    send(sender)
    deliver_due()
    mail = CapturedMessage.objects.get(channel="email")
    page = Client().get("/dev/outbox").content.decode()
    assert f'<iframe class="captured-html" sandbox src="/dev/outbox/{mail.pk}.html"' in page
    assert 'Bekijk het bericht: <a href="https://zegel.example.org/m/' in page  # text, too
    sms = CapturedMessage.objects.create(channel="sms", to="+31612345678", text="123456 is")
    assert f"/dev/outbox/{sms.pk}.html" not in Client().get("/dev/outbox").content.decode()


def test_a_mails_html_is_served_under_a_policy_that_runs_nothing(db: None,
                                                                 settings: Any) -> None:
    settings.DEMO = True
    mail = CapturedMessage.objects.create(channel="email", to="a@example.nl", text="Hi",
                                          html=EVIL)
    response = Client().get(f"/dev/outbox/{mail.pk}.html")
    assert response.status_code == 200
    assert response.content.decode() == EVIL
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy.split("; ")
    assert "script-src" not in policy  # so default-src 'none' forbids every script
    assert "frame-ancestors 'self'" in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Cache-Control"].startswith("max-age=0")


def test_only_captured_mails_with_html_have_a_view(db: None, settings: Any) -> None:
    settings.DEMO = True
    sms = CapturedMessage.objects.create(channel="sms", to="+31612345678", text="123456")
    text_only = CapturedMessage.objects.create(channel="email", to="a@example.nl", text="Hi")
    for path in (f"/dev/outbox/{sms.pk}.html", f"/dev/outbox/{text_only.pk}.html",
                 "/dev/outbox/999999.html", "/dev/outbox/abc.html"):
        assert Client().get(path).status_code == 404


def test_outside_the_demo_no_mail_is_shown(db: None, settings: Any) -> None:
    settings.DEMO = False
    mail = CapturedMessage.objects.create(channel="email", to="a@example.nl", text="Hi",
                                          html=EVIL)
    assert Client().get("/dev/outbox").status_code == 404
    assert Client().get(f"/dev/outbox/{mail.pk}.html").status_code == 404
