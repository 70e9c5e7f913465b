"""Small strict helpers that read configuration from the environment.

Every setting comes from an environment variable. A helper refuses a value it does not
understand instead of guessing, so a typo in a deployment fails at start-up, not at 3 a.m.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(Exception):
    """A configuration value is missing or malformed."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw in ("1", "true", "True", "yes"):
        return True
    if raw in ("0", "false", "False", "no"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (for secret stores).

    Both at once is refused: which one wins would be a guess, and a stale value left in one
    of them is exactly the mistake to catch at start-up."""
    path = os.environ.get(f"{name}_FILE", "")
    if path and os.environ.get(name, ""):
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ConfigError(f"{name}_FILE: cannot read {path}: {reason}") from None
    return os.environ.get(name, default)


_DIGITS = re.compile(r"[0-9]+")


def parse_size(name: str, default: int) -> int:
    """Sizes like 2G, 500M, 1024 (bytes); never negative."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = raw.strip().upper().removesuffix("B").removesuffix("I")
    factor = 1
    if text and text[-1] in units:
        factor = units[text[-1]]
        text = text[:-1]
    # Digits only: int() would also take "-5", "+5" and "5_000".
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        raise ConfigError(f"{name} must be a size such as 2G or 500M, not {raw!r}")
    return int(text) * factor


@dataclass(frozen=True)
class EmailConfig:
    backend: str  # "smtp" or "capture"
    host: str = ""
    port: int = 25
    username: str = ""
    password: str = ""
    use_tls: bool = False  # STARTTLS
    use_ssl: bool = False  # implicit TLS
    timeout: int = 30


def parse_email_url(url: str) -> EmailConfig:
    """`capture`, `smtp://host:port`, `smtp+starttls://user:pass@host:587`, `smtps://host:465`."""
    if url == "capture":
        return EmailConfig(backend="capture")
    parts = urlsplit(url)
    schemes = {"smtp": (False, False, 25), "smtp+starttls": (True, False, 587),
               "smtps": (False, True, 465)}
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(
            "ZEGEL_EMAIL_URL must be 'capture', smtp://host:port, "
            "smtp+starttls://user:pass@host:587 or smtps://host:465"
        )
    use_tls, use_ssl, default_port = schemes[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ConfigError("ZEGEL_EMAIL_URL has an invalid port") from None
    timeout = _email_timeout(parts.query)
    return EmailConfig(
        backend="smtp",
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=use_tls,
        use_ssl=use_ssl,
        timeout=timeout,
    )


def _email_timeout(query: str) -> int:
    """``?timeout=SECONDS`` (a whole number, at least 1; default 30), the only option."""
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"timeout"})
    if unknown:
        raise ConfigError(f"ZEGEL_EMAIL_URL has an unknown option {unknown[0]!r} "
                          "(only ?timeout=SECONDS)")
    values = options.get("timeout", ["30"])
    if len(values) != 1 or not _DIGITS.fullmatch(values[0]) or int(values[0]) < 1:
        raise ConfigError("ZEGEL_EMAIL_URL: timeout must be a whole number of seconds, "
                          f"at least 1, not {', '.join(map(repr, values))}")
    return int(values[0])


@dataclass(frozen=True)
class SmsConfig:
    backend: str  # "capture", "file" or "webhook"
    path: str = ""
    url: str = ""


def parse_sms_url(url: str, *, allow_http: bool = False) -> SmsConfig:
    """`capture`, `file:///path/sms.jsonl`, or an `https://` webhook.

    SMS bodies carry live codes: a webhook is https, except in the demo (`allow_http`), where a
    plain-HTTP gateway on this machine (a local simulator) is allowed too.
    """
    if url == "capture":
        return SmsConfig(backend="capture")
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path:
        return SmsConfig(backend="file", path=unquote(parts.path))
    if parts.scheme == "https" and parts.hostname:
        return SmsConfig(backend="webhook", url=url)
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        if not allow_http:
            raise ConfigError("ZEGEL_SMS_URL: an http:// webhook is only allowed in the demo "
                              "(ZEGEL_DEMO); use https://")
        return SmsConfig(backend="webhook", url=url)
    raise ConfigError(
        "ZEGEL_SMS_URL must be 'capture', file:///path/sms.jsonl or an https:// webhook URL"
    )
