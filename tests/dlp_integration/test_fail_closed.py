"""Content the scan could not finish or read counts as sensitive for the rules that require
SMS or an access code: it does not go out behind an e-mail code."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import translation
from pypdf import PdfWriter

from tests.conftest import send
from tests.dlp_integration.test_sending import BSN
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.dlp import service
from zegel.dlp.detectors import CHUNK_SIZE
from zegel.dlp.service import DlpRefused, check_draft
from zegel.messaging import actions
from zegel.messaging.models import Message
from zegel.orgs.models import ApiToken, User

# What the issue reproduced: a prefix that used to take seconds per chunk, then the BSN. The
# scan is linear now, so a tiny budget stands in for the slow machine.
SLOW_PREFIX = "hiv" * (CHUNK_SIZE // 3 + 1000)
BODY = f"{SLOW_PREFIX} Het BSN van de cliënt is {BSN}."


def by_email() -> list[actions.RecipientSpec]:
    return [actions.RecipientSpec(email="piet@example.nl", name="Piet", method="email")]


def by_sms() -> list[actions.RecipientSpec]:
    return [actions.RecipientSpec(email="piet@example.nl", name="Piet", method="sms",
                                  phone="06 12345678")]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def slow_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "TEXT_BUDGET_SECONDS", 1e-6)


def image_only_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_bsn_after_a_slow_prefix_does_not_go_out_behind_an_email_code(
    sender: User, slow_scan: None
) -> None:
    with pytest.raises(DlpRefused) as refused:
        send(sender, body=BODY, recipients=by_email())
    assert refused.value.reason == "method"
    assert refused.value.message.count("Part of this message could not be checked") == 1
    assert not Message.objects.exists()
    assert AuditEvent.objects.get(action="dlp.decision").data["outcome"] == "method"

    send(sender, body=BODY, recipients=by_sms())
    sent = AuditEvent.objects.get(action="dlp.decision", data__outcome="sent")
    assert sent.data["sensitive"] is True
    assert sent.data["findings"] == {"not_scanned": 1}


@pytest.mark.parametrize(("data", "name"), [
    (b"%PDF-1.4 not really a pdf", "brief.pdf"),
    (image_only_pdf(), "scan.pdf"),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "foto.png"),
])
def test_an_attachment_that_cannot_be_read_needs_sms_or_an_access_code(
    sender: User, data: bytes, name: str
) -> None:
    unread = make_attachment(sender, data, name)
    with pytest.raises(DlpRefused) as refused:
        send(sender, attachments=[unread], recipients=by_email())
    assert refused.value.reason == "method"
    result = check_draft(sender=sender, subject="x", body="", recipients=by_email(),
                         attachments=[unread])
    assert [f.finding.kind for f in result.findings] == ["not_scanned"]
    assert result.sensitive and result.required_methods == ["access_code", "sms"]

    message = send(sender, attachments=[unread], recipients=by_sms())
    assert message.attachments.count() == 1


def test_the_api_check_says_which_methods_unread_content_needs(
    sender: User, slow_scan: None
) -> None:
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    payload = {"subject": "Gegevens", "body": BODY,
               "recipients": [{"email": "piet@example.nl", "verification": "email"}]}
    response = api.post("/api/v1/check", json.dumps(payload), content_type="application/json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["required_methods"] == ["access_code", "sms"]
    assert [(f["kind"], f["where"]) for f in result["findings"]] == [("not_scanned", "body")]
    require = [r for r in result["rules"] if r["action"] == "require"]
    assert require and all(r["message"].startswith("Part of this message could not be checked")
                           for r in require)
    response = api.post("/api/v1/messages", json.dumps(payload),
                        content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["field"] == "dlp"
