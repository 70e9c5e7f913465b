"""Configuration from the environment, as README.md documents it. Settings are computed when
the module is imported, so each case starts a fresh Python process with its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from zegel.config import ConfigError, env_secret

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The variables that carry credentials, each of which README.md says accepts NAME_FILE.
SECRETS = ["ZEGEL_SECRET_KEY", "DATABASE_URL", "ZEGEL_EMAIL_URL", "ZEGEL_SMS_URL"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing leaks in from the test run (its DATABASE_URL, say)."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
           "ZEGEL_DATA_DIR": str(tmp_path / "var")}
    env.update(extra)
    return env


def _settings(tmp_path: Path, names: list[str], **extra: str) -> dict[str, Any]:
    code = ("import json, zegel.settings as s\n"
            f"print(json.dumps({{n: repr(getattr(s, n)) for n in {names!r}}}))")
    done = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _zegel(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zegel.cli", *args],
                          env=_env(tmp_path, **extra), capture_output=True, text=True,
                          timeout=60, check=False)


def _secret_file(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name.lower()
    path.write_text(value + "\n", encoding="utf-8")
    return str(path)


def test_every_secret_is_read_from_its_file(tmp_path: Path) -> None:
    files = {
        "ZEGEL_SECRET_KEY_FILE": _secret_file(tmp_path, "key", "s" * 50),
        "DATABASE_URL_FILE": _secret_file(tmp_path, "db", "postgres://zegel:pw@db.internal/zegel"),
        "ZEGEL_EMAIL_URL_FILE": _secret_file(tmp_path, "mail",
                                             "smtp+starttls://zegel:geheim@smtp.internal:587"),
        "ZEGEL_SMS_URL_FILE": _secret_file(tmp_path, "sms",
                                           "https://sms.example.org/hook?key=geheim"),
    }
    seen = _settings(tmp_path, ["SECRET_KEY", "DATABASES", "EMAIL", "SMS"], **files)
    assert seen["SECRET_KEY"] == repr("s" * 50)
    assert "'ENGINE': 'django.db.backends.postgresql'" in seen["DATABASES"]
    assert "'PASSWORD': 'pw'" in seen["DATABASES"]
    assert "host='smtp.internal'" in seen["EMAIL"] and "password='geheim'" in seen["EMAIL"]
    assert "url='https://sms.example.org/hook?key=geheim'" in seen["SMS"]


def test_database_url_file_alone_does_not_fall_back_to_sqlite(tmp_path: Path) -> None:
    url = _secret_file(tmp_path, "db", "postgres://zegel@db.internal/zegel")
    seen = _settings(tmp_path, ["DATABASES"], DATABASE_URL_FILE=url)
    assert "sqlite" not in seen["DATABASES"]


def test_database_connections_are_kept_as_configured(tmp_path: Path) -> None:
    default = _settings(tmp_path, ["DATABASES"])["DATABASES"]
    assert "'CONN_MAX_AGE': 300" in default and "'CONN_HEALTH_CHECKS': True" in default
    seen = _settings(tmp_path, ["DATABASES"], DATABASE_URL="postgres://zegel@db.internal/z",
                     ZEGEL_DB_CONN_MAX_AGE="0", ZEGEL_DB_HEALTH_CHECKS="false")["DATABASES"]
    assert "'CONN_MAX_AGE': 0" in seen and "'CONN_HEALTH_CHECKS': False" in seen
    seen = _settings(tmp_path, ["DATABASES"], ZEGEL_DB_CONN_MAX_AGE="45")["DATABASES"]
    assert "'CONN_MAX_AGE': 45" in seen


@pytest.mark.parametrize(("name", "value", "error"), [
    ("ZEGEL_DB_CONN_MAX_AGE", "5m", "ZEGEL_DB_CONN_MAX_AGE must be a whole number, not '5m'"),
    ("ZEGEL_DB_CONN_MAX_AGE", "-1", "ZEGEL_DB_CONN_MAX_AGE must not be negative"),
    ("ZEGEL_DB_HEALTH_CHECKS", "sometimes",
     "ZEGEL_DB_HEALTH_CHECKS must be true or false, not 'sometimes'"),
])
def test_bad_connection_settings_stop_the_start(tmp_path: Path, name: str, value: str,
                                                error: str) -> None:
    done = _zegel(tmp_path, "audit", "anchor", **{name: value})
    assert done.returncode == 2
    assert done.stderr.strip() == f"zegel: configuration error: {error}"


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_and_its_file_together_are_refused(tmp_path: Path, name: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "one")
    monkeypatch.setenv(f"{name}_FILE", _secret_file(tmp_path, name, "two"))
    with pytest.raises(ConfigError, match=f"set {name} or {name}_FILE, not both"):
        env_secret(name)
    done = _zegel(tmp_path, "audit", "anchor", **{name: "capture" if "URL" in name else "x",
                                                 f"{name}_FILE": str(tmp_path / name.lower())})
    assert done.returncode == 2
    assert done.stderr.strip() == (f"zegel: configuration error: set {name} or {name}_FILE, "
                                   "not both")


def test_an_unreadable_secret_file_is_one_line_of_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file"
    done = _zegel(tmp_path, "audit", "anchor", DATABASE_URL_FILE=str(missing))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"zegel: configuration error: DATABASE_URL_FILE: cannot read {missing}: "
        "No such file or directory")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    done = _zegel(tmp_path, "audit", "anchor", ZEGEL_SECRET_KEY_FILE=str(binary))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"zegel: configuration error: ZEGEL_SECRET_KEY_FILE: cannot read {binary}: "
        "not UTF-8 text"]


def test_readme_lists_every_secret_that_accepts_a_file() -> None:
    text = README.read_text(encoding="utf-8")
    listed = text.split("accept `NAME_FILE`", 1)[1].split("\n\n", 1)[0]
    for name in SECRETS:
        assert f"`{name}`" in listed, name


def test_production_answers_only_to_the_base_url_host(tmp_path: Path) -> None:
    seen = _settings(tmp_path, ["ALLOWED_HOSTS"], ZEGEL_BASE_URL="https://veilig.example.nl")
    assert seen["ALLOWED_HOSTS"] == repr(["veilig.example.nl"])


def test_a_local_base_url_demo_or_debug_also_answers_to_localhost(tmp_path: Path) -> None:
    local = ["127.0.0.1", "localhost"]
    for extra in ({"ZEGEL_BASE_URL": "http://127.0.0.1:8000"},
                  {"ZEGEL_BASE_URL": "https://veilig.example.nl", "ZEGEL_DEMO": "true"},
                  {"ZEGEL_BASE_URL": "https://veilig.example.nl", "ZEGEL_DEBUG": "true"}):
        hosts = eval(_settings(tmp_path, ["ALLOWED_HOSTS"], **extra)["ALLOWED_HOSTS"])  # noqa: S307
        assert set(local) <= set(hosts), extra


def test_allowed_hosts_replace_the_default(tmp_path: Path) -> None:
    seen = _settings(tmp_path, ["ALLOWED_HOSTS"], ZEGEL_BASE_URL="https://veilig.example.nl",
                     ZEGEL_ALLOWED_HOSTS="veilig.example.nl,10.0.0.5")
    assert seen["ALLOWED_HOSTS"] == repr(["veilig.example.nl", "10.0.0.5"])


def test_bad_trusted_proxies_are_a_configuration_error(tmp_path: Path) -> None:
    done = _zegel(tmp_path, "audit", "anchor", ZEGEL_TRUSTED_PROXIES="10.0.0.0/33")
    assert done.returncode == 2
    assert done.stderr.startswith("zegel: configuration error: ZEGEL_TRUSTED_PROXIES:")
    assert len(done.stderr.strip().splitlines()) == 1
    seen = _settings(tmp_path, ["TRUSTED_PROXIES"],
                     ZEGEL_TRUSTED_PROXIES="127.0.0.1/32, 10.0.0.0/24")
    assert seen["TRUSTED_PROXIES"] == ("[IPv4Network('127.0.0.1/32'), "
                                       "IPv4Network('10.0.0.0/24')]")


def test_gunicorn_trusts_the_forwarded_allow_ips(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.app.base import BaseApplication

    from zegel import cli

    started: list[Any] = []
    monkeypatch.setattr(BaseApplication, "run", lambda self: started.append(self.cfg))
    monkeypatch.setenv("ZEGEL_FORWARDED_ALLOW_IPS", "10.0.0.7,10.0.0.8")
    cli._serve("127.0.0.1:0", 1)
    assert started[0].forwarded_allow_ips == ["10.0.0.7", "10.0.0.8"]
    monkeypatch.delenv("ZEGEL_FORWARDED_ALLOW_IPS")
    cli._serve("127.0.0.1:0", 1)
    assert started[1].forwarded_allow_ips == ["127.0.0.1"]
