"""Live hints for attachments (scanned once, at upload), guest replies scanned on arrival, and
the organisation's allow list ("this is not a BSN")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signing import dumps
from django.test import Client

from tests.conftest import deliver_and_get_link, send
from tests.dlp_integration.test_sending import BSN, CARD
from tests.messaging.test_attachments import make_attachment
from tests.portal.test_portal import _verified_client
from zegel.audit.models import AuditEvent
from zegel.dlp import allowlist, service
from zegel.dlp.models import AllowedValue, AttachmentScan, MessageScan
from zegel.messaging.models import Attachment, Recipient
from zegel.orgs.models import ApiToken, User

OTHER_BSN = "123456782"  # passes the 11-proef too


def _form(**overrides: Any) -> dict[str, Any]:
    form = {"rows": "1", "r-0-email": "piet@example.nl", "r-0-phone": "06 12345678",
            "r-0-method": "", "subject": "Gegevens", "body": "Zie de bijlage."}
    form.update(overrides)
    return form


def _attach(client: Client, name: str, data: bytes) -> dict[str, Any]:
    response = client.post("/compose/attach",
                           {"attachments": [SimpleUploadedFile(name, data)]})
    assert response.status_code == 200, response.content
    [attached] = response.json()["attachments"]
    return dict(attached)


def _no_extraction(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append("extracted")
        raise AssertionError("the file was read again")

    monkeypatch.setattr(service, "extract_attachment", refuse)
    return calls


# --- Attachments in the live hints --------------------------------------------------------


def test_an_upload_is_scanned_once_and_the_hints_name_it(
        sender_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    attached = _attach(sender_client, "kaart.txt", f"Kaartnummer {CARD}".encode())
    scan = AttachmentScan.objects.get(attachment_id=attached["id"])
    assert [item["kind"] for item in scan.findings] == ["payment_card"]
    # Kinds, confidences and counts only: no value, masked or not.
    assert "1111" not in json.dumps(scan.findings)

    _no_extraction(monkeypatch)
    for body in ("Zie de bijlage.", "Zie de bijlage!"):  # two keystrokes, no new scan
        result = sender_client.post("/compose/check", _form(body=body, attachment_ids=[
            attached["id"]]), HTTP_ACCEPT_LANGUAGE="en").json()
        assert result["summary"] == "Found: a payment card number in attachment kaart.txt."
        assert result["blocked"]
        assert "id" not in result["findings"][0]  # a kept finding has no value to mark


def test_an_unreadable_upload_counts_as_not_checked(sender_client: Client) -> None:
    attached = _attach(sender_client, "scan.pdf", b"%PDF-1.4 not really a pdf")
    result = sender_client.post("/compose/check", _form(attachment_ids=[attached["id"]]),
                                HTTP_ACCEPT_LANGUAGE="en").json()
    assert [f["kind"] for f in result["findings"]] == ["not_scanned"]
    # No reason is kept: it can name the file type, which is sealed with the file.
    assert AttachmentScan.objects.get().findings == [
        {"kind": "not_scanned", "confidence": 1.0, "count": 1}]


def test_a_draft_without_a_kept_scan_is_scanned_on_the_first_check_only(
        sender: User, sender_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    draft = make_attachment(sender, f"BSN {BSN}".encode(), name="lijst.txt")
    first = sender_client.post("/compose/check", _form(attachment_ids=[str(draft.pk)])).json()
    assert [f["kind"] for f in first["findings"]] == ["bsn"]
    _no_extraction(monkeypatch)
    again = sender_client.post("/compose/check", _form(attachment_ids=[str(draft.pk)])).json()
    assert [f["kind"] for f in again["findings"]] == ["bsn"]


def test_someone_elses_or_unknown_attachment_ids_are_left_out(
        sender_client: Client, outsider: User, teammate: User) -> None:
    theirs = make_attachment(teammate, f"BSN {BSN}".encode(), name="geheim.txt")
    result = sender_client.post("/compose/check", _form(
        attachment_ids=[str(theirs.pk), "not-an-id", "00000000-0000-0000-0000-000000000000"]))
    assert result.status_code == 200
    assert result.json()["findings"] == []
    assert not AttachmentScan.objects.filter(attachment=theirs).exists()  # never read


def test_attach_refuses_no_file_no_login_and_no_csrf(sender: User, sender_client: Client) -> None:
    empty = sender_client.post("/compose/attach", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert empty.status_code == 400 and empty.json()["error"] == "Choose a file to attach."
    anonymous = Client().post("/compose/attach",
                              {"attachments": [SimpleUploadedFile("a.txt", b"x")]})
    assert anonymous.status_code == 302 and not Attachment.objects.exists()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sender)
    refused = strict.post("/compose/attach", {"attachments": [SimpleUploadedFile("a.txt", b"x")]})
    assert refused.status_code == 403 and not Attachment.objects.exists()
    assert sender_client.get("/compose/attach").status_code == 405


def test_the_compose_page_can_upload_at_once(sender_client: Client) -> None:
    page = sender_client.get("/compose").content.decode()
    assert 'data-attach-url="/compose/attach"' in page
    assert 'data-not-sensitive-url="/compose/not-sensitive"' in page


# --- Guest replies ------------------------------------------------------------------------


@pytest.fixture
def token(sender: User) -> str:
    send(sender)
    return deliver_and_get_link()


def test_a_guest_reply_is_scanned_shown_to_staff_and_logged(token: str, sender: User) -> None:
    guest = _verified_client(token)
    response = guest.post(f"/m/{token}/reply", {
        "body": f"Mijn BSN is {BSN}.",
        "attachments": [SimpleUploadedFile("pas.txt", f"kaart {CARD}".encode())]})
    assert response.status_code == 302  # never blocked
    scan = MessageScan.objects.get()
    assert {(i["kind"], i["where"]) for i in scan.findings} == {
        ("bsn", "body"), ("payment_card", "attachment")}

    event = AuditEvent.objects.get(action="dlp.reply_scanned")
    assert event.data == {"findings": {"bsn": 1, "payment_card": 1}, "sensitive": True}
    assert event.actor_type == "recipient" and event.object_id == str(scan.message_id)
    stored = json.dumps([event.data, scan.findings])
    assert BSN not in stored and "2333" not in stored and "1111" not in stored
    assert "pas.txt" not in stored  # the name is sealed with the file

    staff = Client()
    staff.force_login(sender)
    conversation = Recipient.objects.get().conversation
    page = staff.get(f"/c/{conversation.pk}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This reply contains:" in page
    assert "a BSN in the message" in page
    assert "a payment card number in attachment pas.txt" in page
    dutch = staff.get(f"/c/{conversation.pk}", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Dit antwoord bevat:" in dutch and "een BSN in het bericht" in dutch


def test_an_ordinary_reply_shows_and_logs_nothing(token: str, sender: User) -> None:
    guest = _verified_client(token)
    assert guest.post(f"/m/{token}/reply", {"body": "Dank u wel!"}).status_code == 302
    assert MessageScan.objects.get().findings == []
    assert not AuditEvent.objects.filter(action="dlp.reply_scanned").exists()
    staff = Client()
    staff.force_login(sender)
    page = staff.get(f"/c/{Recipient.objects.get().conversation.pk}").content.decode()
    assert "data-dlp-reply" not in page


def test_a_failing_scan_does_not_refuse_the_guest(
        token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("scanner broke")

    monkeypatch.setattr(service, "scan_for", broken)
    guest = _verified_client(token)
    assert guest.post(f"/m/{token}/reply", {"body": f"BSN {BSN}"}).status_code == 302
    assert MessageScan.objects.get().findings == [
        {"kind": "not_scanned", "where": "body", "attachment": "", "count": 1}]


# --- The allow list -----------------------------------------------------------------------


def _bsn_finding(client: Client, body: str, language: str = "en") -> dict[str, Any]:
    result = client.post("/compose/check", _form(body=body),
                         HTTP_ACCEPT_LANGUAGE=language).json()
    [finding] = [f for f in result["findings"] if f["kind"] == "bsn"]
    return dict(finding)


def test_a_finding_marked_not_a_bsn_is_no_longer_reported_in_the_organisation(
        sender_client: Client, teammate: User, outsider: User) -> None:
    finding = _bsn_finding(sender_client, f"Het nummer: {BSN}")
    assert finding["not_label"] == "This is not a BSN"
    assert BSN not in finding["id"]
    response = sender_client.post("/compose/not-sensitive", {"finding": finding["id"]},
                                  HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.json()["message"] == "Noted: this value is no longer reported as a BSN."

    entry = AllowedValue.objects.get()
    assert entry.kind == "bsn" and BSN not in entry.value_hash and len(entry.value_hash) == 64
    event = AuditEvent.objects.get(action="dlp.allow.added")
    assert event.data == {"kind": "bsn", "new": True} and BSN not in json.dumps(event.data)

    # Gone for the whole organisation, however it is written; another BSN is still found.
    colleague = Client()
    colleague.force_login(teammate)
    for body in (f"Nummer {BSN}", "Nummer 111.222.333", "Nummer 1112 22 333"):
        assert not [f for f in colleague.post("/compose/check", _form(body=body)).json()[
            "findings"] if f["kind"] == "bsn"], body
    assert _bsn_finding(colleague, f"BSN {OTHER_BSN}")
    # Not for another organisation.
    stranger = Client()
    stranger.force_login(outsider)
    assert _bsn_finding(stranger, f"BSN {BSN}")
    # Also when a message is sent, and in attachments.
    sender = User.objects.get(email="anna@zorggroep-noord.nl")
    draft = make_attachment(sender, f"lijst {BSN}".encode(), name="lijst.txt")
    result = service.check_draft(sender=sender, subject="", body=f"BSN {BSN}", recipients=[],
                                 attachments=[draft])
    assert [f.finding.kind for f in result.findings if f.finding.kind == "bsn"] == []


def test_marking_twice_keeps_one_entry(sender_client: Client) -> None:
    finding = _bsn_finding(sender_client, f"Nummer {BSN}")
    for _n in range(2):
        assert sender_client.post("/compose/not-sensitive",
                                  {"finding": finding["id"]}).status_code == 200
    assert AllowedValue.objects.count() == 1
    assert list(AuditEvent.objects.filter(action="dlp.allow.added")
                .values_list("data__new", flat=True)) == [True, False]


def test_a_finding_of_another_organisation_cannot_be_marked(
        sender_client: Client, outsider: User) -> None:
    stranger = Client()
    stranger.force_login(outsider)
    theirs = _bsn_finding(stranger, f"Nummer {BSN}")
    response = sender_client.post("/compose/not-sensitive", {"finding": theirs["id"]},
                                  HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json()["error"].startswith("This finding is not known")
    assert not AllowedValue.objects.exists()
    assert not AuditEvent.objects.filter(action="dlp.allow.added").exists()


@pytest.mark.parametrize("token", [
    "", "nonsense", "x" * 600, "eyJvIjoxfQ:1abc:forged",
    dumps({"o": 1, "k": "bsn", "h": "0" * 64}, salt="another.salt"),
])
def test_unknown_or_forged_findings_are_refused(sender_client: Client, token: str) -> None:
    response = sender_client.post("/compose/not-sensitive", {"finding": token})
    assert response.status_code == 404
    assert not AllowedValue.objects.exists()


def test_a_not_scanned_finding_cannot_be_marked(sender: User, sender_client: Client) -> None:
    forged = dumps({"o": sender.organisation_id, "k": "not_scanned", "h": "0" * 64},
                   salt=allowlist.TOKEN_SALT)
    assert sender_client.post("/compose/not-sensitive", {"finding": forged}).status_code == 404


def test_marking_needs_a_login_a_post_and_a_csrf_token(
        sender: User, sender_client: Client) -> None:
    finding = _bsn_finding(sender_client, f"Nummer {BSN}")
    assert Client().post("/compose/not-sensitive", {"finding": finding["id"]}).status_code == 302
    assert sender_client.get("/compose/not-sensitive").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sender)
    assert strict.post("/compose/not-sensitive", {"finding": finding["id"]}).status_code == 403
    assert not AllowedValue.objects.exists()


def test_the_mark_button_speaks_dutch(sender_client: Client) -> None:
    finding = _bsn_finding(sender_client, f"Nummer {BSN}", language="nl")
    assert finding["not_label"] == "Dit is geen BSN"
    response = sender_client.post("/compose/not-sensitive", {"finding": finding["id"]},
                                  HTTP_ACCEPT_LANGUAGE="nl")
    assert response.json()["message"] == (
        "Genoteerd: deze waarde wordt niet meer gemeld als een BSN.")


def test_the_same_value_hashes_differently_in_another_organisation(
        sender: User, outsider: User) -> None:
    ours = allowlist.value_hash(sender.organisation_id, "bsn", BSN)
    assert ours == allowlist.value_hash(sender.organisation_id, "bsn", "111.222.333")
    assert ours != allowlist.value_hash(outsider.organisation_id, "bsn", BSN)
    assert ours != allowlist.value_hash(sender.organisation_id, "iban", BSN)
    assert BSN not in ours


def test_canonical_values_match_across_spellings() -> None:
    assert allowlist.canonical_value("bsn", "1112.22.333") == "111222333"
    assert allowlist.canonical_value("bsn", "11122233") == "011122233"
    assert allowlist.canonical_value("iban", "nl91 abna 0417 1643 00") == "NL91ABNA0417164300"
    assert allowlist.canonical_value("medical", "Ziekte  van\nCrohn") == "ziekte van crohn"


# --- The admin's view of the allow list ---------------------------------------------------


def test_an_admin_sees_and_removes_marked_values(
        sender: User, sender_client: Client, outsider: User) -> None:
    from tests.conftest import PASSWORD

    finding = _bsn_finding(sender_client, f"Nummer {BSN}")
    sender_client.post("/compose/not-sensitive", {"finding": finding["id"]})
    entry = AllowedValue.objects.get()
    assert sender_client.get("/admin/dlp/allowed").status_code == 403  # not an admin

    admin = User.objects.create_user("beheer@zorggroep-noord.nl", sender.organisation, PASSWORD,
                                     role="admin")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/dlp/allowed", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "a BSN" in page and "Anna de Vries" in page and entry.value_hash not in page

    other_admin = User.objects.create_user("beheer@gemeente-zuid.nl", outsider.organisation,
                                           PASSWORD, role="admin")
    stranger = Client()
    stranger.force_login(other_admin)
    assert stranger.post(f"/admin/dlp/allowed/{entry.pk}/remove").status_code == 404
    assert client.post("/admin/dlp/allowed/999999/remove").status_code == 404
    assert AllowedValue.objects.exists()

    assert client.post(f"/admin/dlp/allowed/{entry.pk}/remove").status_code == 302
    assert not AllowedValue.objects.exists()
    assert AuditEvent.objects.get(action="dlp.allow.removed").data == {"kind": "bsn"}
    assert _bsn_finding(sender_client, f"Nummer {BSN}")  # reported again


# --- Reasons ------------------------------------------------------------------------------


def test_the_hints_and_the_api_give_the_reasons(sender_client: Client, sender: User) -> None:
    result = sender_client.post("/compose/check", _form(body="Uw zoon heeft diabetes."),
                                HTTP_ACCEPT_LANGUAGE="en").json()
    [finding] = result["findings"]
    assert [r["code"] for r in finding["reasons"]] == ["term", "person"]
    assert [r["text"] for r in finding["reasons"]] == [
        "the term “diabetes”", "about a person (“Uw zoon”)"]
    dutch = sender_client.post("/compose/check", _form(body="Uw zoon heeft diabetes."),
                               HTTP_ACCEPT_LANGUAGE="nl").json()
    assert dutch["findings"][0]["reasons"][1]["text"] == "over een persoon (“Uw zoon”)"

    # A health word in a newsletter is a hint, not a finding on the compose page.
    quiet = sender_client.post("/compose/check", _form(
        body="Nieuwsbrief: iedereen welkom op het diabetes-symposium!")).json()
    assert quiet["findings"] == [] and quiet["summary"] == ""

    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    answer = api.post("/api/v1/check", json.dumps({
        "subject": "Gegevens", "body": "BSN: 111222333",
        "recipients": [{"email": "piet@example.nl", "verification": "sms",
                        "phone": "06 12345678"}]}),
        content_type="application/json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert answer["findings"][0]["reasons"] == [
        {"code": "checksum", "value": "11-proef", "text": "passes the 11-proef"},
        {"code": "label", "value": "BSN", "text": "labelled “BSN”"}]
