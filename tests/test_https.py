"""With an https:// base URL: HSTS, plain HTTP redirected except /healthz, preload on request.
Settings are computed at import, so each case runs in a fresh process with its environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.test_configuration import _env

HOST = "veilig.zorggroep-noord.nl"
PROBE = f"""
import json, logging, django
django.setup()
logging.disable(logging.CRITICAL)
from django.test import Client
web = Client(HTTP_HOST="{HOST}")
out = {{}}
r = web.get("/healthz")
out["healthz"] = [r.status_code, r.content.decode(), r.get("Location", "")]
r = web.get("/login?next=/sent")
out["login"] = [r.status_code, r.get("Location", "")]
r = web.get("/healthz", secure=True)
out["hsts"] = r.get("Strict-Transport-Security", "")
r = web.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
out["proxied"] = [r.status_code, r.get("Strict-Transport-Security", "")]
out["other_host"] = Client(HTTP_HOST="127.0.0.1").get("/healthz").status_code
print(json.dumps(out))
"""


def _probe(tmp_path: Path, **extra: str) -> dict[str, Any]:
    env = _env(tmp_path, DJANGO_SETTINGS_MODULE="zegel.settings", **extra)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_https_redirects_plain_http_except_the_health_check(tmp_path: Path) -> None:
    seen = _probe(tmp_path, ZEGEL_BASE_URL=f"https://{HOST}")
    assert seen["healthz"] == [200, "ok", ""]
    assert seen["login"] == [301, f"https://{HOST}/login?next=/sent"]
    assert seen["hsts"] == "max-age=31536000; includeSubDomains"
    # Behind the TLS proxy the request counts as https: no redirect, and HSTS.
    assert seen["proxied"] == [200, "max-age=31536000; includeSubDomains"]
    assert seen["other_host"] == 400


def test_hsts_preload_only_when_asked(tmp_path: Path) -> None:
    seen = _probe(tmp_path, ZEGEL_BASE_URL=f"https://{HOST}", ZEGEL_HSTS_PRELOAD="true")
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"


def test_plain_http_base_url_neither_redirects_nor_sends_hsts(tmp_path: Path) -> None:
    seen = _probe(tmp_path, ZEGEL_BASE_URL=f"http://{HOST}")
    assert seen["login"][0] == 200
    assert seen["hsts"] == ""
