"""Configuration URLs for mail and SMS."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from email import policy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import send
from zegel.config import ConfigError, parse_email_url, parse_size, parse_sms_url
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User

REPO = Path(__file__).resolve().parents[2]


def test_it_reads_smtp_urls() -> None:
    config = parse_email_url("smtp+starttls://user%40x:p%3Ass@mail.example.org:587")
    assert (config.host, config.port, config.username, config.password, config.use_tls) == (
        "mail.example.org", 587, "user@x", "p:ss", True)
    assert parse_email_url("smtp://127.0.0.1:2525").port == 2525
    assert parse_email_url("capture").backend == "capture"


@pytest.mark.parametrize("url", ["", "http://x", "smtp://", "smtp://h:notaport", "ftp://h"])
def test_it_rejects_bad_email_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_email_url(url)


def test_it_reads_sms_urls() -> None:
    assert parse_sms_url("file:///tmp/sms.jsonl").path == "/tmp/sms.jsonl"
    assert parse_sms_url("https://sms.example.org/hook").backend == "webhook"
    for bad in ("http://sms.example.org/hook", "file://", "nonsense"):
        with pytest.raises(ConfigError):
            parse_sms_url(bad)


def test_a_plain_http_sms_webhook_is_for_the_demo_only() -> None:
    with pytest.raises(ConfigError, match="only allowed in the demo"):
        parse_sms_url("http://127.0.0.1:9000/hook")
    assert parse_sms_url("http://127.0.0.1:9000/hook", allow_http=True).backend == "webhook"
    with pytest.raises(ConfigError):
        parse_sms_url("http://sms.example.org/hook", allow_http=True)


@pytest.mark.parametrize(("demo", "code"), [("false", 2), ("true", 0)])
def test_the_zegel_command_refuses_an_http_webhook_at_start_up(tmp_path: Path, demo: str,
                                                               code: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"ZEGEL_DATA_DIR": str(tmp_path), "ZEGEL_DEMO": demo,
                "ZEGEL_SMS_URL": "http://127.0.0.1:9/sms", "PYTHONPATH": str(REPO)})
    result = subprocess.run([sys.executable, "-m", "zegel.cli", "migrate"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == code, result.stderr[-2000:]
    if code:
        assert result.stderr.startswith("zegel: configuration error: ZEGEL_SMS_URL")


def test_it_reads_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_SIZE", "2G")
    assert parse_size("X_SIZE", 0) == 2 * 1024**3
    monkeypatch.setenv("X_SIZE", "lots")
    with pytest.raises(ConfigError):
        parse_size("X_SIZE", 0)


@pytest.mark.parametrize("raw", ["-5M", "-1", "+5M", "5_000", "1.5G", "M"])
def test_it_refuses_sizes_that_are_not_a_plain_count(monkeypatch: pytest.MonkeyPatch,
                                                     raw: str) -> None:
    monkeypatch.setenv("X_SIZE", raw)
    with pytest.raises(ConfigError, match="X_SIZE must be a size"):
        parse_size("X_SIZE", 0)


def test_it_reads_the_email_timeout() -> None:
    assert parse_email_url("smtp://relay:25?timeout=5").timeout == 5
    assert parse_email_url("smtp://relay:25").timeout == 30


@pytest.mark.parametrize("query", ["timeout=abc", "timeout=-1", "timeout=", "timeout=0",
                                   "timeout", "timeout=5&timeout=6", "timout=5"])
def test_it_refuses_a_bad_email_timeout(query: str) -> None:
    with pytest.raises(ConfigError, match="ZEGEL_EMAIL_URL"):
        parse_email_url(f"smtp://user:secret@relay:25?{query}")


@pytest.mark.parametrize(("name", "value"), [
    ("ZEGEL_EMAIL_URL", "smtp://user:secret@relay:25?timeout=abc"),
    ("ZEGEL_EMAIL_URL", "smtp://user:secret@relay:25?timeout=-1"),
    ("ZEGEL_EMAIL_URL", "smtp://user:secret@relay:25?timeout="),
    ("ZEGEL_MAX_UPLOAD_SIZE", "-5M"),
])
def test_the_cli_reports_a_bad_setting_in_one_line(tmp_path: Path, name: str, value: str) -> None:
    environment = {**os.environ, "ZEGEL_DATA_DIR": str(tmp_path), name: value}
    environment.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "zegel.cli", "migrate"], env=environment, capture_output=True,
        text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("zegel: configuration error: ")
    assert done.stderr.count("\n") == 1 and name in done.stderr
    assert "secret" not in done.stderr


def test_smtps_is_implicit_tls_on_465() -> None:
    config = parse_email_url("smtps://zegel:geheim@mail.example.org")
    assert (config.use_ssl, config.use_tls, config.port) == (True, False, 465)
    assert (config.username, config.password) == ("zegel", "geheim")
    assert parse_email_url("smtps://mail.example.org:1465").port == 1465
    starttls = parse_email_url("smtp+starttls://mail.example.org")
    assert (starttls.use_ssl, starttls.use_tls, starttls.port) == (False, True, 587)


def test_sizes_take_megabytes_and_plain_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_SIZE", "500M")
    assert parse_size("X_SIZE", 0) == 500 * 1024**2
    monkeypatch.setenv("X_SIZE", "1048576")
    assert parse_size("X_SIZE", 0) == 1048576
    monkeypatch.delenv("X_SIZE")
    assert parse_size("X_SIZE", 7) == 7


def test_notifications_come_from_noreply_at_the_org_domain(smtp_server: Any, sender: User,
                                                         settings: Any) -> None:
    settings.EMAIL_FROM = ""
    send(sender)
    deliver_due()
    settings.EMAIL_FROM = "veilig@zorggroep-noord.nl"
    send(sender)
    deliver_due()
    senders = [e.mail_from for e in smtp_server.envelopes]
    assert senders == ["noreply@zorggroep-noord.nl", "veilig@zorggroep-noord.nl"]
    froms = [email.message_from_bytes(e.content, policy=policy.default)["From"]
             for e in smtp_server.envelopes]
    assert [f.addresses[0].addr_spec for f in froms] == senders
