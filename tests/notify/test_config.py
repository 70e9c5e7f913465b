"""Configuration URLs for mail and SMS."""

from __future__ import annotations

import pytest

from zegel.config import ConfigError, parse_email_url, parse_size, parse_sms_url


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
    assert parse_sms_url("http://127.0.0.1:9000/hook").backend == "webhook"
    for bad in ("http://sms.example.org/hook", "file://", "nonsense"):
        with pytest.raises(ConfigError):
            parse_sms_url(bad)


def test_it_reads_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_SIZE", "2G")
    assert parse_size("X_SIZE", 0) == 2 * 1024**3
    monkeypatch.setenv("X_SIZE", "lots")
    with pytest.raises(ConfigError):
        parse_size("X_SIZE", 0)
