"""System checks that `django-admin check --deploy` runs in addition to Django's own."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.checks import Warning as CheckWarning


@register("zegel", deploy=True)
def capture_backends_in_production(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The capture backends keep every notification link and code in plaintext for the demo's
    /dev/outbox. In production that would both send nothing and store secrets."""
    errors = []
    if not settings.DEMO and settings.EMAIL.backend == "capture":
        errors.append(Error("ZEGEL_EMAIL_URL is 'capture': no e-mail would be sent.",
                            hint="Set ZEGEL_EMAIL_URL to your SMTP relay.", id="zegel.E001"))
    if not settings.DEMO and settings.SMS.backend == "capture":
        errors.append(Error("ZEGEL_SMS_URL is 'capture': no SMS would be sent.",
                            hint="Set ZEGEL_SMS_URL to your SMS gateway.", id="zegel.E002"))
    if settings.DEBUG:
        errors.append(Error("ZEGEL_DEBUG is on.", hint="Never run production with debug pages.",
                            id="zegel.E003"))
    return errors


def _shared(path: Path) -> int | None:
    """The mode of `path` when group or others have any access to it, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


def _key_file() -> Path:
    return Path(settings.KEYRING_FILE or settings.KEYRING_DEFAULT)


@register("zegel", deploy=True)
def data_files_owner_only(app_configs: Any, **kwargs: Any) -> list[CheckWarning]:
    """The data dir holds the database, blobs and the SMS file (live codes); the key file opens
    every message. Zegel creates them owner-only (umask 077); a copy or a chmod may not be."""
    paths = [Path(settings.DATA_DIR), Path(settings.BLOB_DIR)]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        paths.append(Path(database["NAME"]))
    if settings.SMS.backend == "file":
        paths.append(Path(settings.SMS.path))
    warnings = []
    for path in dict.fromkeys(paths):
        mode = _shared(path)
        if mode is not None:
            warnings.append(CheckWarning(
                f"{path} is accessible to group or others (mode {mode:o}).",
                hint=f"chmod -R go-rwx {path}", id="zegel.W001"))
    mode = _shared(_key_file())
    if mode is not None:
        warnings.append(CheckWarning(
            f"The key file {_key_file()} is accessible to group or others (mode {mode:o}).",
            hint=f"chmod 600 {_key_file()}", id="zegel.W002"))
    return warnings
