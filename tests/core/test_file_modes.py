"""Data files are the owner's only: database and WAL, blobs, key file, the SMS file (live codes).

The `zegel` command and the WSGI entry point set umask 077 at start-up; the deploy check warns
about a data dir or key file that group or others can read anyway (a copy, a chmod).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zegel.config import SmsConfig
from zegel.core.checks import data_files_owner_only
from zegel.files.blobs import blob_store
from zegel.notify.backends import send_sms

REPO = Path(__file__).resolve().parents[2]

# Runs in a child process that starts the way production starts (the `zegel` command or the
# WSGI module), with the permissive umask most systems default to; then it makes every kind
# of data file and reports their modes.
CHILD = """
import json, os, sys
from pathlib import Path
os.umask(0o022)
if sys.argv[1] == "cli":
    from zegel.cli import main
    assert main(["migrate"]) == 0
else:
    import zegel.wsgi
    from django.core.management import call_command
    call_command("migrate", interactive=False, verbosity=0)
from django.conf import settings
from django.db import connection
from zegel.crypto.keyring import get_keyring
from zegel.notify.backends import send_sms
get_keyring()
send_sms("+31612345678", "123456 is uw code")
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
    # The WAL file exists while the connection is open: report the modes now.
    modes = {str(p.relative_to(settings.DATA_DIR)): oct(p.stat().st_mode & 0o777)
             for p in Path(settings.DATA_DIR).rglob("*") if "static" not in p.parts}
print(json.dumps(modes))
"""


def _child_modes(how: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"ZEGEL_DATA_DIR": str(data), "ZEGEL_SMS_URL": f"file://{data}/sms.jsonl",
                "PYTHONPATH": str(REPO), "DJANGO_SETTINGS_MODULE": "zegel.settings"})
    result = subprocess.run([sys.executable, "-c", CHILD, how], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    modes: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modes


@pytest.mark.parametrize("how", ["cli", "wsgi"])
def test_data_files_are_created_owner_only(tmp_path: Path, how: str) -> None:
    data = tmp_path / "var"
    modes = _child_modes(how, data)
    for name in ("zegel.sqlite3", "zegel.sqlite3-wal", "sms.jsonl", "secret_key",
                 "keys/keyring.json"):
        assert name in modes, f"{name} was not made: {sorted(modes)}"
    shared = {name: mode for name, mode in modes.items() if int(mode, 8) & 0o077}
    assert shared == {}


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_blobs_and_the_sms_file_are_owner_only_whatever_the_umask(
        settings: Any, tmp_path: Path, loose_umask: None) -> None:
    writer = blob_store().writer("ab" * 16)
    writer.write(b"ciphertext")
    writer.commit()
    blob = blob_store().path("ab" * 16)
    assert stat.S_IMODE(blob.stat().st_mode) == 0o600
    assert stat.S_IMODE(blob.parent.stat().st_mode) == 0o700
    sms = tmp_path / "sms.jsonl"
    send_sms("+31612345678", "123456", SmsConfig(backend="file", path=str(sms)))
    assert stat.S_IMODE(sms.stat().st_mode) == 0o600


def _owner_only_setup(settings: Any, tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "var"
    data.mkdir(mode=0o700)
    key = data / "keyring.json"
    key.write_text("{}")
    key.chmod(0o600)
    settings.DATA_DIR = data
    settings.BLOB_DIR = data / "blobs"
    settings.KEYRING_FILE = str(key)
    return data, key


def _warnings_under(root: Path) -> dict[str, str]:
    # The test database lives elsewhere, made by the test run: only this test's files count.
    return {w.id: w.msg for w in data_files_owner_only(None) if str(root) in w.msg}


def test_the_deploy_check_warns_about_a_readable_data_dir_or_key_file(
        settings: Any, tmp_path: Path) -> None:
    data, key = _owner_only_setup(settings, tmp_path)
    assert _warnings_under(tmp_path) == {}
    data.chmod(0o755)
    key.chmod(0o644)
    found = _warnings_under(tmp_path)
    assert set(found) == {"zegel.W001", "zegel.W002"}
    assert "755" in found["zegel.W001"] and "644" in found["zegel.W002"]


def test_the_deploy_check_warns_about_a_readable_sms_file(settings: Any, tmp_path: Path) -> None:
    data, _key = _owner_only_setup(settings, tmp_path)
    sms = data / "sms.jsonl"
    sms.write_text("")
    sms.chmod(0o644)
    settings.SMS = SmsConfig(backend="file", path=str(sms))
    assert list(_warnings_under(tmp_path).values()) == [f"{sms} is accessible to group or "
                                                       "others (mode 644)."]
