"""`zegel org set` and the demo on a port of its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from zegel.audit.models import AuditEvent
from zegel.cli import demo_base_url, main
from zegel.orgs.models import Organisation

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def noord(db: None) -> Organisation:
    assert main(["createorg", "--name", "Zorggroep Noord", "--domain", "zorggroep-noord.nl"]) == 0
    return Organisation.objects.get()


def test_org_set_changes_what_recipients_see(noord: Organisation,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "set", "--domain", "Zorggroep-Noord.nl",
                 "--contact-email", "Zorg@Zorggroep-Noord.nl", "--contact-phone", "050  123 45 67",
                 "--default-expiry-days", "14", "--button-text", "  Klik voor   bericht "]) == 0
    noord.refresh_from_db()
    assert noord.contact_email == "zorg@zorggroep-noord.nl"
    assert noord.contact_phone == "050 123 45 67"
    assert noord.default_expiry_days == 14
    assert noord.notification_button_text == "Klik voor bericht"
    err = capsys.readouterr().err
    assert re.search(r"button_text: +Klik voor bericht\n", err)
    assert "/o/zorggroep-noord.nl/genuine" in err  # no page of its own: Zegel's
    event = AuditEvent.objects.get(action="org.updated")
    assert event.data["fields"] == ["contact_email", "contact_phone", "default_expiry_days",
                                    "notification_button_text"]


def test_org_set_leaves_out_what_is_not_named_and_clears_what_is_empty(
        noord: Organisation) -> None:
    main(["org", "set", "--domain", "zorggroep-noord.nl", "--contact-phone", "050 123 45 67",
          "--button-text", "Klik voor bericht", "--info-url", "https://zorggroep-noord.nl/echt"])
    assert main(["org", "set", "--domain", "zorggroep-noord.nl", "--button-text", "",
                 "--info-url", ""]) == 0
    noord.refresh_from_db()
    assert noord.contact_phone == "050 123 45 67"
    assert noord.notification_button_text == "" and noord.info_url == ""
    assert main(["org", "set", "--domain", "zorggroep-noord.nl",
                 "--default-expiry-days", "0"]) == 0
    noord.refresh_from_db()
    assert noord.default_expiry_days == 0


@pytest.mark.parametrize(("argv", "says"), [
    (["--contact-email", "not-an-address"], "Not an e-mail address"),
    (["--contact-phone", "call us"], "Not a phone number"),
    (["--contact-phone", "+31 6 1234<script>"], "Not a phone number"),
    (["--default-expiry-days", "366"], "0 (no end date) to 365 days"),
    (["--default-expiry-days", "-1"], "0 (no end date) to 365 days"),
    (["--button-text", "x" * 61], "at most 60 characters"),
    (["--info-url", "javascript:alert(1)"], "Not a web address"),
    ([], "name at least one setting"),
])
def test_org_set_refuses_bad_values_and_changes_nothing(
        noord: Organisation, argv: list[str], says: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "set", "--domain", "zorggroep-noord.nl", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zegel: error: ") and says in err and err.count("\n") == 1
    noord.refresh_from_db()
    assert (noord.contact_email, noord.contact_phone, noord.default_expiry_days,
            noord.notification_button_text, noord.info_url) == ("", "", 30, "", "")
    assert not AuditEvent.objects.filter(action="org.updated").exists()


def test_org_set_needs_a_known_organisation(db: None,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "set", "--domain", "nobody.nl", "--button-text", "Open"]) == 1
    assert "No organisation with domain nobody.nl" in capsys.readouterr().err


def test_org_set_changes_every_setting_of_the_page_with_the_same_checks(
        noord: Organisation, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "set", "--domain", "zorggroep-noord.nl", "--name", "Zorggroep  Oost",
                 "--brand-colour", "#0B5D1E", "--explanation-nl", "Wij vragen nooit om uw "
                 "wachtwoord.", "--explanation-en", "{{ settings.SECRET_KEY }}",
                 "--max-expiry-days", "60", "--default-expiry-days", "14",
                 "--default-method", "access_code", "--email-code-allowed", "no",
                 "--portal-idle-minutes", "5", "--max-attachment-mb", "10"]) == 0
    noord.refresh_from_db()
    assert (noord.name, noord.brand_colour, noord.max_expiry_days, noord.default_expiry_days,
            noord.default_method, noord.email_code_allowed, noord.portal_idle_minutes,
            noord.max_attachment_mb) == ("Zorggroep Oost", "#0b5d1e", 60, 14, "access_code",
                                         False, 5, 10)
    assert noord.explanation_en == "{{ settings.SECRET_KEY }}"
    assert "email_code_allowed:" in capsys.readouterr().err
    assert main(["org", "show", "--domain", "zorggroep-noord.nl"]) == 0
    assert re.search(r"portal_idle_minutes: +5\n", capsys.readouterr().err)
    # Refused as on the page, with its words, and nothing changes.
    for argv, words in [
            (["--brand-colour", "#ffcc00"], "contrast of 1.5"),
            (["--default-expiry-days", "90"], "longer than the maximum"),
            (["--default-method", "email"], "cannot be the e-mail code"),
            (["--default-method", "pigeon"], "sms, access_code or email"),
            (["--portal-idle-minutes", "1"], "2 to 120 minutes"),
            (["--max-attachment-mb", "999999"], "maximum attachment size"),
            (["--explanation-en", "x" * 2001], "at most 2000 characters"),
            (["--name", "  "], "needs a name")]:
        assert main(["org", "set", "--domain", "zorggroep-noord.nl", *argv]) == 1, argv
        assert words in capsys.readouterr().err, argv
    assert AuditEvent.objects.filter(action="org.updated").count() == 1
    for argv in (["--email-code-allowed", "perhaps"], ["--portal-idle-minutes", "5m"]):
        with pytest.raises(SystemExit):
            main(["org", "set", "--domain", "zorggroep-noord.nl", *argv])
    assert main(["org", "set", "--domain", "zorggroep-noord.nl"]) == 1
    assert main(["org", "show", "--domain", "nobody.nl"]) == 1


def test_a_number_of_days_must_be_a_number(noord: Organisation,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["org", "set", "--domain", "zorggroep-noord.nl", "--default-expiry-days", "a week"])
    assert exit_info.value.code == 2
    assert "a whole number of days" in capsys.readouterr().err


def test_the_demos_links_follow_its_port() -> None:
    assert demo_base_url("127.0.0.1:8100") == "http://127.0.0.1:8100"
    assert demo_base_url("0.0.0.0:8100") == "http://127.0.0.1:8100"
    assert demo_base_url("localhost:9000") == "http://localhost:9000"


@pytest.mark.parametrize("addr", ["8100", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"])
def test_the_demo_refuses_an_address_without_a_port(addr: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", addr])
    assert exit_info.value.code == 2
    assert "ADDR:PORT such as 127.0.0.1:8100" in capsys.readouterr().err


def test_the_demo_listens_on_its_port_and_links_there(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "ZEGEL_BASE_URL", "ZEGEL_DEMO")}
    env.update({"ZEGEL_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO)})
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen([sys.executable, "-m", "zegel.cli", "demo", f"127.0.0.1:{port}"],
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the demo did not answer within 60 s"
            time.sleep(0.2)
        text = log.read_text()
        assert f"Log in:        {base}/login" in text
        assert f"{base}/dev/outbox" in text
        assert f"{base}/o/demo.zegel.test/genuine" in text
        assert "Listening on" not in text  # the links are the address it listens on
        with urllib.request.urlopen(f"{base}/o/demo.zegel.test/genuine", timeout=5) as page:
            assert "Zorggroep Demo" in page.read().decode()
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=10)


def test_the_demo_organisation_links_to_its_genuine_page(db: None) -> None:
    from zegel.cli import DEMO_DOMAIN, ensure_demo

    ensure_demo()
    org = Organisation.objects.get(domain=DEMO_DOMAIN)
    assert org.info_url == ""
    assert org.genuine_url.endswith("/o/demo.zegel.test/genuine")
    # A demo made before this page existed is moved over to it.
    Organisation.objects.filter(pk=org.pk).update(info_url="http://127.0.0.1:8000/")
    ensure_demo()
    org.refresh_from_db()
    assert org.info_url == ""


def test_org_set_has_a_flag_for_every_setting_of_the_page() -> None:
    # One list of settings (zegel.orgs.actions) for the page, the API and the command line:
    # a setting added there without its flag here would crash `zegel org set`.
    from zegel.cli import build_parser
    from zegel.orgs.actions import SETTING_NAMES

    args = build_parser().parse_args(["org", "set", "--domain", "zorggroep-noord.nl"])
    assert [name for name in SETTING_NAMES if not hasattr(args, name)] == []
