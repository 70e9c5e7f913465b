"""The compose page as a tool: every error at once and linked to its field, nothing typed lost,
files taken out again, the organisation's default end date, and the status after sending."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, send
from tests.dlp_integration.test_sending import BSN
from zegel.files.blobs import blob_store
from zegel.messaging import actions
from zegel.messaging.models import Attachment, Conversation, Recipient
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import Organisation, User


class _Elements(HTMLParser):
    """Every element's attributes by id, the error summary's links, and <option>s."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.summary_links: list[str] = []
        self.selected: dict[str, str] = {}
        self._in_summary = 0
        self._select = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        values["_tag"] = tag
        if "id" in values:
            self.by_id[values["id"]] = values
        if "data-error-summary" in values:
            self._in_summary = 1
        elif self._in_summary and tag == "div":
            self._in_summary += 1
        if self._in_summary and tag == "a":
            self.summary_links.append(values.get("href", ""))
        if tag == "select":
            self._select = values.get("id", "")
        if tag == "option" and "selected" in values:
            self.selected[self._select] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if self._in_summary and tag == "div":
            self._in_summary -= 1


def _parse(response: Any) -> _Elements:
    parser = _Elements()
    parser.feed(response.content.decode())
    return parser


def _summary_texts(html: str) -> list[str]:
    box = re.search(r"<div class=\"error-summary\".*?</div>", html, re.S)
    assert box, "no error summary"
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r"<li><a [^>]+>(.*?)</a></li>",
                                                           box.group(0))]


def _broken_form() -> dict[str, str]:
    """Two recipients with a problem each (three in all), no subject, no message."""
    return {
        "rows": "3",
        "r-0-email": "piet@example.nl", "r-0-name": "Piet", "r-0-kind": "cc",
        "r-0-method": "sms", "r-0-phone": "",
        "r-1-email": "jan@@example", "r-1-method": "access_code",
        "r-1-access_code": "123", "r-1-hint": "uw postcode",
        "r-2-email": "", "r-2-name": "Marie", "r-2-method": "email",
        "subject": "", "body": "", "expires_in": "90",
    }


def test_every_error_is_shown_at_once_and_links_to_its_field(sender_client: Client) -> None:
    response = sender_client.post("/compose", _broken_form(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    page = _parse(response)
    assert page.summary_links == ["#r-0-phone", "#r-1-email", "#r-1-access_code",
                                  "#r-2-email", "#subject", "#body"]
    texts = _summary_texts(html)
    # Each message about a recipient names that recipient.
    assert "piet@example.nl" in texts[0]
    assert "jan@@example" in texts[1] and "jan@@example" in texts[2]
    assert "Marie" in texts[3]
    assert 'role="alert"' in html and "data-error-summary" in html
    for href in page.summary_links:
        field = page.by_id[href[1:]]
        assert field.get("aria-invalid") == "true", href
        message = page.by_id[field["aria-describedby"].split()[-1]]
        assert "field-error" in message.get("class", ""), href
    # The fields without a problem are not marked.
    assert "aria-invalid" not in page.by_id["r-0-email"]
    assert "aria-invalid" not in page.by_id["r-1-hint"]
    assert html.count('class="field has-error"') + html.count('class="field has-error" ') \
        >= len(page.summary_links)
    assert not Conversation.objects.exists()


def test_everything_typed_comes_back_after_an_error(sender_client: Client) -> None:
    form = _broken_form()
    response = sender_client.post("/compose", {**form, "subject": "Uitslag",
                                               "body": "Beste Piet,\nHierbij."})
    page = _parse(response)
    for name in ("r-0-email", "r-0-name", "r-1-email", "r-1-access_code", "r-1-hint",
                 "r-2-name"):
        assert page.by_id[name]["value"] == form[name], name
    assert page.by_id["subject"]["value"] == "Uitslag"
    assert "Beste Piet,\nHierbij.</textarea>" in response.content.decode()
    assert page.selected["r-0-kind"] == "cc"
    assert page.selected["r-0-method"] == "sms"
    assert page.selected["r-1-method"] == "access_code"
    assert page.selected["r-2-method"] == "email"
    assert page.selected["expires_in"] == "90"
    assert page.by_id["r-0-email"]["_tag"] == "input"
    # The three rows, and an empty one to add a recipient without JavaScript.
    assert 'name="rows" value="4"' in response.content.decode()
    assert page.by_id["r-3-email"]["value"] == ""
    assert response.content.decode().count("data-spare") == 1


def test_only_the_fields_a_method_needs_are_kept(sender_client: Client) -> None:
    """A number typed before switching to an e-mail code is not stored, nor is a hint."""
    response = sender_client.post("/compose", {
        "rows": "2", "r-0-email": "piet@example.nl", "r-0-method": "email",
        "r-0-phone": "06 12345678", "r-0-access_code": "geheim-123", "r-0-hint": "x",
        "r-1-email": "jan@example.nl", "r-1-method": "access_code",
        "r-1-phone": "nonsense", "r-1-access_code": "geheim-123", "r-1-hint": "uw postcode",
        "subject": "x", "body": "y", "expires_in": "30"})
    assert response.status_code == 302
    stored = {r.email: r for r in Recipient.objects.all()}
    piet, jan = stored["piet@example.nl"], stored["jan@example.nl"]
    assert (piet.method, piet.phone, piet.access_code_hash, piet.access_code_hint) == \
        ("email", "", "", "")
    assert (jan.method, jan.phone, jan.access_code_hint) == ("access_code", "", "uw postcode")
    assert jan.access_code_hash.startswith("$argon2id$")


def test_each_data_leak_rule_is_listed_once_with_what_to_do(sender_client: Client) -> None:
    response = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "jan@gmail.com", "r-0-method": "sms",
        "r-0-phone": "06 12345678", "subject": "Gegevens", "body": f"Het BSN is {BSN}.",
        "expires_in": "30"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert _parse(response).summary_links == ["#dlp_confirm"]
    assert "tick the box to confirm" in _summary_texts(html)[0]
    hints = re.search(r'<div id="dlp-hints".*?</div>', html, re.S)
    assert hints
    items = re.findall(r"<li>(.*?)</li>", hints.group(0), re.S)
    assert items and len(items) == len(set(items))
    # The rules are told in the list, not again in the summary.
    for item in items:
        assert html.count(item) == 1, item
    assert 'name="dlp_confirm"' in html and "data-dlp-confirm hidden" not in html


def _attach(client: Client, name: str = "brief.txt") -> str:
    response = client.post("/compose/attach",
                           {"attachments": [SimpleUploadedFile(name, b"Beste Piet")]})
    assert response.status_code == 200, response.content
    return str(response.json()["attachments"][0]["id"])


def test_a_draft_attachment_can_be_removed_by_its_uploader(
        sender_client: Client, django_capture_on_commit_callbacks: Any) -> None:
    attachment_id = _attach(sender_client)
    blob = blob_store().path(Attachment.objects.get(pk=attachment_id).blob_id)
    assert blob.exists()
    with django_capture_on_commit_callbacks(execute=True):  # the blob goes after the commit
        response = sender_client.post(f"/compose/attach/{attachment_id}/remove")
    assert response.status_code == 200 and response.json() == {"removed": attachment_id}
    assert not Attachment.objects.filter(pk=attachment_id).exists()
    assert not blob.exists()
    # Removed already: nothing to remove.
    assert sender_client.post(f"/compose/attach/{attachment_id}/remove").status_code == 404


def test_nobody_else_removes_a_draft_and_a_sent_file_stays(
        sender: User, sender_client: Client, teammate: User, outsider: User) -> None:
    attachment_id = _attach(sender_client)
    url = f"/compose/attach/{attachment_id}/remove"
    for other in (teammate, outsider):
        client = Client()
        client.force_login(other)
        refused = client.post(url)
        assert refused.status_code == 404, other
        assert refused.json()["error"]
    assert Client().post(url).status_code == 302  # to the login page
    assert sender_client.get(url).status_code == 405
    assert sender_client.post("/compose/attach/not-a-uuid/remove").status_code == 404
    assert Attachment.objects.filter(pk=attachment_id).exists()

    draft = Attachment.objects.get(pk=attachment_id)
    send(sender, attachments=[draft])
    assert sender_client.post(url).status_code == 404
    assert Attachment.objects.get(pk=attachment_id).message_id is not None


def test_a_refused_form_offers_its_files_to_leave_out(sender_client: Client) -> None:
    kept, dropped = _attach(sender_client, "a.txt"), _attach(sender_client, "b.txt")
    refused = sender_client.post("/compose", {"rows": "1", "r-0-email": "", "subject": "x",
                                              "attachment_ids": [kept, dropped]})
    html = refused.content.decode()
    assert refused.status_code == 400
    assert html.count('name="attachment_ids" type="checkbox"') == 2 and "a.txt" in html
    sent = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "piet@example.nl", "r-0-method": "email", "subject": "x",
        "body": "", "expires_in": "30", "attachment_ids": [kept]})
    assert sent.status_code == 302
    assert Attachment.objects.get(pk=kept).message_id is not None
    assert Attachment.objects.get(pk=dropped).message_id is None


@pytest.mark.parametrize(("days", "selected"), [(30, "30"), (14, "14"), (0, "")])
def test_the_organisations_default_end_date_is_chosen(
        sender_client: Client, org: Organisation, days: int, selected: str) -> None:
    org.default_expiry_days = days
    org.save()
    response = sender_client.get("/compose", HTTP_ACCEPT_LANGUAGE="en")
    page = _parse(response)
    assert page.selected["expires_in"] == selected
    html = response.content.decode()
    assert "No end date" in html
    if days:
        label = {30: "30 days", 14: "14 days"}[days]
        assert f'<option value="{selected}" selected>{label} (default)</option>' in html
    else:
        assert '<option value="" selected>No end date (default)</option>' in html
    form = {"rows": "1", "r-0-email": "piet@example.nl", "r-0-method": "email",
            "subject": "x", "body": "y", "expires_in": selected}
    assert sender_client.post("/compose", form).status_code == 302
    expires = Conversation.objects.get().expires_at
    if days:
        assert expires is not None
        assert abs(expires - (timezone.now() + timedelta(days=days))) < timedelta(minutes=5)
    else:
        assert expires is None


def test_the_end_date_choices_are_in_dutch(sender_client: Client) -> None:
    html = sender_client.get("/compose", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    for label in ("Geen einddatum", "1 week", "30 dagen (standaard)", "3 maanden", "1 jaar"):
        assert f">{label}</option>" in html, label


def test_an_end_date_that_is_not_offered_is_refused(sender_client: Client) -> None:
    response = sender_client.post("/compose", {
        "rows": "1", "r-0-email": "piet@example.nl", "r-0-method": "email",
        "subject": "x", "body": "y", "expires_in": "3650"})
    assert response.status_code == 400
    assert _parse(response).summary_links == ["#expires_in"]
    assert not Conversation.objects.exists()


def test_sending_says_to_whom_and_the_status_follows(sender_client: Client) -> None:
    response = sender_client.post("/compose", {
        "rows": "2", "r-0-email": "piet@example.nl", "r-0-method": "email",
        "r-1-email": "jan@example.nl", "r-1-name": "Jan", "r-1-method": "email",
        "subject": "x", "body": "y", "expires_in": "30"}, follow=True,
        HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    notice = re.search(r'<p class="notice notice-success">(.*?)</p>', html, re.S)
    assert notice and "piet@example.nl" in notice.group(1)
    assert "Jan &lt;jan@example.nl&gt;" in notice.group(1)
    assert html.count('data-status="queued"') == 2 and "data-waiting" in html
    conversation = Conversation.objects.get()
    status_url = f"/c/{conversation.pk}/status"
    assert f'data-status-url="{status_url}"' in html

    waiting = sender_client.get(status_url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert waiting["waiting"] is True
    assert [(r["label"], r["status"], r["status_text"]) for r in waiting["recipients"]] == [
        ("piet@example.nl", "queued", "waiting to be sent"),
        ("Jan <jan@example.nl>", "queued", "waiting to be sent")]

    deliver_due()
    done = sender_client.get(status_url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert done["waiting"] is False
    assert {r["status"] for r in done["recipients"]} == {"notified"}
    event = done["recipients"][0]["events"][0]
    assert event["kind"] == "notified" and event["text"] == "notified" and event["at_text"]
    # A reload shows the same without JavaScript.
    page = sender_client.get(f"/c/{conversation.pk}").content.decode()
    assert page.count('data-status="notified"') == 2 and "data-waiting" not in page


def test_an_answer_says_to_whom_and_waits_again(sender: User, sender_client: Client) -> None:
    message = send(sender)
    deliver_due()
    url = f"/c/{message.conversation_id}"
    answered = sender_client.post(url, {"body": "Graag gedaan."}, follow=True,
                                  HTTP_ACCEPT_LANGUAGE="en")
    html = answered.content.decode()
    assert "Your answer was sent securely to Piet &lt;piet@example.nl&gt;." in html
    status = sender_client.get(f"{url}/status").json()
    assert status["waiting"] is True and status["recipients"][0]["status"] == "queued"
    # The first notification stays in the history.
    assert [e["kind"] for e in status["recipients"][0]["events"]] == ["notified"]


def test_only_the_sender_sees_the_status(sender: User, teammate: User,
                                         outsider: User) -> None:
    message = send(sender)
    url = f"/c/{message.conversation_id}/status"
    for other in (teammate, outsider):
        client = Client()
        assert client.login(username=other.email, password=PASSWORD)
        assert client.get(url).status_code == 404, other
    assert Client().get(url).status_code == 302
    owner = Client()
    owner.force_login(sender)
    assert owner.get("/c/00000000-0000-0000-0000-000000000000/status").status_code == 404
    assert owner.get("/c/nonsense/status").status_code == 404
    assert owner.post(url).status_code == 405
    assert owner.get(url).status_code == 200


def test_every_field_of_a_row_can_show_its_error(sender_client: Client,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An error on any input of a row (the hint, To/CC) is marked beside that input."""
    def refuse(**kwargs: Any) -> None:
        raise actions.ActionErrors([actions.FieldError("0.access_code_hint", "Hint problem"),
                                    actions.FieldError("0.kind", "Kind problem")])

    monkeypatch.setattr(actions, "send_message", refuse)
    response = sender_client.post("/compose", {"rows": "1", "r-0-email": "piet@example.nl",
                                               "subject": "x", "body": "y"})
    page = _parse(response)
    assert page.summary_links == ["#r-0-hint", "#r-0-kind"]
    for name, text in (("r-0-hint", "Hint problem"), ("r-0-kind", "Kind problem")):
        assert page.by_id[name]["aria-invalid"] == "true"
        assert page.by_id[name]["aria-describedby"] == f"{name}-error"
        assert text in response.content.decode()
