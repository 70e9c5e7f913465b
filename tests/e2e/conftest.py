"""Fixtures for the browser tests: a live server, a real SMTP server, SMS to a file, a worker
thread, and a Chromium driven through Playwright's sync API."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SmtpCollector, free_port

# Playwright's sync API runs an asyncio event loop in the test's thread. Django sees that running
# loop and refuses ORM calls from the same thread with SynchronousOnlyOperation, although the
# calls really are synchronous (Playwright's loop only waits for the browser). The tests use the
# ORM between browser steps (fixtures, checks), so the guard is switched off for this package.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PASSWORD = "correct horse battery staple"
STAFF_EMAIL = "hulpverlener@zorg.example"
WAIT_SECONDS = 15.0
# A rounding pixel or two is not a horizontal scroll.
OVERFLOW_TOLERANCE = 2


def wait_for(what: str, probe: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    """Poll probe() until it returns something truthy; fail clearly after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def log_in(page: Any, url: str) -> None:
    """Log the staff persona in through the real login form, checking both pages with axe."""
    page.goto(f"{url}/login")
    check_a11y(page)
    page.fill("#id_username", STAFF_EMAIL)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/inbox$"))
    check_a11y(page)


def assert_fits(page: Any, width: int | None = None) -> None:
    """The page does not scroll sideways at `width` (default: the viewport's), WCAG 1.4.10."""
    width = width or page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + OVERFLOW_TOLERANCE, f"{page.url}: {scroll} px wide at {width} px"


def check_a11y(page: Any) -> None:
    """Run axe-core on the page; fail on serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response.get("violations", [])
           if v.get("impact") in ("serious", "critical")]
    for violation in results.response.get("violations", []):
        if violation not in bad:  # shown with pytest -s; not a failure
            print(f"axe note ({violation.get('impact')}) on {page.url}: {violation['id']}: "
                  f"{[n.get('target') for n in violation.get('nodes', [])]}")
    if bad:
        lines = [f"axe: {len(bad)} serious/critical violation(s) on {page.url}"]
        for violation in bad:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation.get("nodes", []):
                lines.append(f"    {' '.join(node.get('target', []))}: {node.get('html', '')}")
                summary = node.get("failureSummary", "")
                if summary:
                    lines.append("      " + summary.replace("\n", "\n      "))
        pytest.fail("\n".join(lines))


# --- SMTP ---------------------------------------------------------------------------------

_StoringHandler = SmtpCollector  # the same storing SMTP handler as the unit tests use
_free_port = free_port


@dataclass
class Mailbox:
    handler: _StoringHandler
    port: int

    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        with self.handler.lock:
            envelopes = list(self.handler.envelopes)
        return [(list(e.rcpt_tos), message_from_bytes(e.original_content or e.content,
                                                      policy=policy.default))
                for e in envelopes]

    def wait_for_mail(self, to: str, count: int = 1) -> list[EmailMessage]:
        def probe() -> list[EmailMessage] | None:
            found = [m for rcpt, m in self.messages() if to in rcpt]
            return found if len(found) >= count else None
        return wait_for(f"{count} e-mail(s) to {to} at the SMTP server", probe)  # type: ignore[no-any-return]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    handler = _StoringHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield Mailbox(handler, port)
    finally:
        controller.stop()


# --- The environment -------------------------------------------------------------------------

@dataclass
class Zegel:
    url: str
    mailbox: Mailbox
    sms_path: Path
    tmp: Path
    user: Any
    org: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def wait_idle(self) -> None:
        """Wait until the worker has finished every due outbox item (sent or given up)."""
        from zegel.notify.models import OutboxItem

        wait_for("the worker to finish the outbox", lambda: not OutboxItem.objects.filter(
            state__in=[OutboxItem.State.PENDING, OutboxItem.State.SENDING]).exists())

    def sms(self) -> list[dict[str, str]]:
        import json

        if not self.sms_path.exists():
            return []
        lines = self.sms_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for_code(self, phone: str, after: int = 0) -> str:
        def probe() -> str | None:
            for sms in self.sms()[after:]:
                if sms["to"] == phone:
                    match = re.search(r"\b(\d{6})\b", sms["body"])
                    if match:
                        return match.group(1)
            return None
        return wait_for(f"an SMS code to {phone} in {self.sms_path}", probe)  # type: ignore[no-any-return]


def link_from(mail: EmailMessage, base_url: str) -> str:
    text = mail.get_body(("plain",))
    assert text is not None, "the notification has no text/plain part"
    match = re.search(re.escape(base_url) + r"/m/[A-Za-z0-9_\-]+", text.get_content())
    assert match, "no portal link in the notification's text part"
    return match.group(0)


@pytest.fixture
def zegel(live_server: Any, settings: Any, tmp_path: Path, mailbox: Mailbox,
          transactional_db: None) -> Iterator[Zegel]:
    from django.db import connection
    from django.db.backends.signals import connection_created

    from zegel.config import SmsConfig
    from zegel.crypto.keyring import reset_keyring_cache
    from zegel.jobs.worker import run_worker
    from zegel.orgs.models import Organisation, User

    settings.BASE_URL = live_server.url
    # The CSRF middleware caches this list on first use; only the browser tests use the live
    # server, so setting it here is enough.
    settings.CSRF_TRUSTED_ORIGINS = [live_server.url]
    settings.BLOB_DIR = tmp_path / "blobs"
    settings.KEYRING_FILE = ""
    settings.KEYRING_DEFAULT = tmp_path / "keys" / "keyring.json"
    reset_keyring_cache()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mailbox.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    sms_path = tmp_path / "sms.jsonl"
    settings.SMS = SmsConfig(backend="file", path=str(sms_path))

    # The test database is SQLite in memory with a shared cache: the live server thread shares
    # this thread's connection, the worker thread opens its own. Shared-cache SQLite takes table
    # locks and answers a conflict at once with "database table is locked" (no busy timeout),
    # so the worker's polling SELECT could make a page request fail. Readers that take no table
    # locks (read_uncommitted) remove that conflict; wait_idle() below keeps writes apart.
    def read_uncommitted(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA read_uncommitted = 1")

    connection_created.connect(read_uncommitted)
    read_uncommitted(None, connection)

    org = Organisation.objects.create(name="Zorggroep Voorbeeld", domain="zorg.example")
    user = User.objects.create_user(STAFF_EMAIL, org, PASSWORD, name="Anna de Vries")

    stop = threading.Event()

    def work() -> None:
        from django.db import connections

        try:
            run_worker(stop, poll_seconds=0.1)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work, name="zegel-worker", daemon=True)
    worker.start()
    try:
        yield Zegel(url=live_server.url, mailbox=mailbox, sms_path=sms_path, tmp=tmp_path,
                    user=user, org=org)
    finally:
        stop.set()
        worker.join(timeout=10)
        connection_created.disconnect(read_uncommitted)
        reset_keyring_cache()
        assert not worker.is_alive(), "the worker thread did not stop within 10 s"


# --- The browser -----------------------------------------------------------------------------

# Module scope: while Playwright runs, its event loop counts as running in this thread; keep
# that to the browser tests instead of the whole session.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(browser: Any) -> Iterator[Callable[..., Any]]:
    """Fresh browser contexts (separate cookie jars: the sender, the recipient)."""
    contexts: list[Any] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("accept_downloads", True)
        context = browser.new_context(**kwargs)
        context.set_default_timeout(10_000)
        context.set_default_navigation_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
