"""The deploy checks that guard a production start."""

from __future__ import annotations

from typing import Any

from zegel.config import parse_email_url, parse_sms_url
from zegel.core.checks import capture_backends_in_production


def test_capture_backends_are_refused_outside_the_demo(settings: Any) -> None:
    settings.DEMO = False
    settings.EMAIL = parse_email_url("capture")
    settings.SMS = parse_sms_url("capture")
    assert {e.id for e in capture_backends_in_production(None)} == {"zegel.E001", "zegel.E002"}
    settings.EMAIL = parse_email_url("smtp://mail.example.org:25")
    settings.SMS = parse_sms_url("https://sms.example.org/hook")
    assert capture_backends_in_production(None) == []
    settings.DEMO = True
    settings.EMAIL = parse_email_url("capture")
    assert capture_backends_in_production(None) == []
