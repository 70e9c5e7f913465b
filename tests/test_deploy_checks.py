"""The deploy checks that guard a production start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from zegel.config import parse_email_url, parse_sms_url
from zegel.core.checks import capture_backends_in_production

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "docs" / "operations.md"


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


def test_debug_mode_is_refused(settings: Any) -> None:
    settings.DEMO = False
    settings.EMAIL = parse_email_url("smtp://mail.example.org:25")
    settings.SMS = parse_sms_url("https://sms.example.org/hook")
    settings.DEBUG = True
    assert [e.id for e in capture_backends_in_production(None)] == ["zegel.E003"]
    settings.DEMO = True  # not even in the demo
    assert [e.id for e in capture_backends_in_production(None)] == ["zegel.E003"]


def _documented_production_environment() -> dict[str, str]:
    text = OPERATIONS.read_text(encoding="utf-8")
    block = text.split("A minimal production environment:", 1)[1].split("```sh\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip())


def test_the_documented_production_environment_passes_check_deploy(tmp_path: Path) -> None:
    documented = _documented_production_environment()
    assert {"ZEGEL_BASE_URL", "ZEGEL_SECRET_KEY_FILE", "DATABASE_URL",
            "ZEGEL_EMAIL_URL", "ZEGEL_SMS_URL"} <= documented.keys()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
           "DJANGO_SETTINGS_MODULE": "zegel.settings"}
    for name, value in documented.items():
        # The secret store and data dir of the example live under tmp_path here.
        if value.startswith(("/run/secrets/", "/var/lib/")):
            value = str(tmp_path / value.lstrip("/"))
        env[name] = value
    secret = Path(env["ZEGEL_SECRET_KEY_FILE"])
    secret.parent.mkdir(parents=True)
    secret.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "django", "check", "--deploy"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
    assert done.stderr == ""
