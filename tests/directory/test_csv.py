"""CSV import and export: the dry run says per line what would change and what is wrong (bad
phone, bad e-mail, duplicates, wrong encoding, missing header, limits); the apply writes exactly
the file of the dry run; the export is safe against formula injection and holds no code."""

from __future__ import annotations

import base64
import csv
import io
import re
from typing import Any

import pytest
from django.test import Client

from zegel.audit.models import AuditEvent
from zegel.directory import actions, importing, views
from zegel.directory.access import DirectoryError
from zegel.directory.fields import ContactFields
from zegel.directory.models import Contact
from zegel.orgs.models import User

GOOD = ("email,name,phone,external_id,preferred_method,access_code_hint,shared_code\r\n"
        "piet@example.nl,Piet Jansen,06 12345678,P1,sms,,\r\n"
        "els@example.nl,Els de Wit,,P2,,,\r\n")


def _upload(client: Client, data: bytes, name: str = "contacts.csv") -> Any:
    return client.post("/admin/contacts/import", {"file": _file(data, name)})


def _file(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def _plan(admin: User, text: str | bytes) -> list[importing.PlannedRow]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return importing.plan(admin.organisation_id, importing.read_csv(data))


def _apply_form(response: Any) -> dict[str, str]:
    html = response.content.decode()
    payload = re.search(r'name="payload" value="([^"]*)"', html)
    signature = re.search(r'name="signature" value="([^"]*)"', html)
    assert payload and signature, "the dry run offers no import"
    return {"payload": payload.group(1), "signature": signature.group(1)}


def test_the_dry_run_shows_new_changed_unchanged_and_applies_the_same_rows(
        admin: User, admin_client: Client) -> None:
    actions.save_contact(admin, ContactFields(email="els@example.nl", name="Els de Wit",
                                              external_id="P2"))
    actions.save_contact(admin, ContactFields(email="jan@example.nl", name="Jan", phone="",
                                              external_id="P3"))
    data = (GOOD + "jan@example.nl,Jan Pieters,,P3,,,\r\n").encode()
    dry = _upload(admin_client, data)
    assert dry.status_code == 200
    statuses = re.findall(r'data-line="(\d+)" data-status="(\w+)"', dry.content.decode())
    assert statuses == [("2", "new"), ("3", "unchanged"), ("4", "changed")]
    assert "changes: name" in dry.content.decode()
    assert Contact.objects.count() == 2  # nothing written by the dry run
    done = admin_client.post("/admin/contacts/import/apply", _apply_form(dry))
    assert done.status_code == 302
    assert Contact.objects.count() == 3
    piet = Contact.objects.get(email="piet@example.nl")
    assert (piet.phone, piet.external_id, piet.preferred_method) == ("+31612345678", "P1", "sms")
    assert Contact.objects.get(external_id="P3").name == "Jan Pieters"
    summary = AuditEvent.objects.get(action="contacts.imported")
    assert (summary.data["created"], summary.data["changed"], summary.data["unchanged"]) == (
        1, 1, 1)
    assert AuditEvent.objects.filter(action="contact.created", data__via="import").count() == 1


def test_apply_refuses_another_file_than_the_dry_runs(admin: User,
                                                      admin_client: Client) -> None:
    form = _apply_form(_upload(admin_client, GOOD.encode()))
    other = GOOD.replace("Piet Jansen", "Someone Else").encode()
    forged = {**form, "payload": base64.b64encode(other).decode()}
    refused = admin_client.post("/admin/contacts/import/apply", forged)
    assert refused.status_code == 400
    assert "Upload the file again" in refused.content.decode()
    assert not Contact.objects.exists()
    bad_signature = {**form, "signature": form["signature"] + "x"}
    assert admin_client.post("/admin/contacts/import/apply", bad_signature).status_code == 400
    assert admin_client.post("/admin/contacts/import/apply", {}).status_code == 400
    assert not Contact.objects.exists()


def test_apply_refuses_a_dry_run_of_another_admin(admin: User, admin_client: Client,
                                                  teammate: User) -> None:
    teammate.role = "admin"
    teammate.save()
    other = Client()
    other.force_login(teammate)
    form = _apply_form(_upload(admin_client, GOOD.encode()))
    assert other.post("/admin/contacts/import/apply", form).status_code == 400
    assert not Contact.objects.exists()


def test_an_old_dry_run_is_refused(admin: User, admin_client: Client,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    form = _apply_form(_upload(admin_client, GOOD.encode()))
    monkeypatch.setattr(views, "APPLY_MAX_AGE", -1)  # as if the 30 minutes were over
    assert admin_client.post("/admin/contacts/import/apply", form).status_code == 400
    assert not Contact.objects.exists()


def test_apply_writes_nothing_when_a_line_went_wrong_since(admin: User,
                                                           admin_client: Client) -> None:
    form = _apply_form(_upload(admin_client, GOOD.encode()))
    # Between the dry run and the apply another admin gives P9 Piet's address.
    actions.save_contact(admin, ContactFields(email="piet@example.nl", external_id="P9"))
    refused = admin_client.post("/admin/contacts/import/apply", form)
    assert refused.status_code == 400
    assert Contact.objects.count() == 1


def test_every_bad_line_says_what_is_wrong(admin: User, admin_client: Client) -> None:
    text = ("email,name,phone,external_id\n"
            "piet@example.nl,Piet,06 12345678,P1\n"
            "geen-adres,Kapot,,P2\n"
            "jan@example.nl,Jan,12345,P3\n"
            "PIET@example.nl,Piet twee,,P4\n"
            "els@example.nl,Els,,P1\n"
            "vast@example.nl,Vast,020 555 1234,P5\n"
            "te@veel.nl,Te,,P6,extra\n")
    rows = _plan(admin, text)
    by_line = {row.line: row for row in rows}
    assert by_line[2].status == "new" and not by_line[2].errors
    assert "not a valid e-mail address" in by_line[3].errors[0]
    assert "not a valid mobile number" in by_line[4].errors[0]
    assert "on line 2 already" in by_line[5].errors[0]  # the same address, other case
    assert "external id is on line 2" in by_line[6].errors[0]
    assert "not a mobile number" in by_line[7].errors[0]
    assert "5 cells" in by_line[8].errors[0]
    response = _upload(admin_client, text.encode())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="payload"' not in html  # no import while there are errors
    assert '<dd data-count="error">6</dd>' in html


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"email,name\n", "no contacts"),
    (b"piet@example.nl,Piet\n", "looks like a contact"),
    (b"name,phone\nPiet,0612345678\n", "at least an email column"),
    (b"email,e-mail adres\na@example.nl,x\n", "Unknown columns"),
    (b"email,email\na@example.nl,b@example.nl\n", "named twice"),
    (b"email,access_code\na@example.nl,geheim-123\n", "Access codes are not imported"),
    ("email,name\na@example.nl,Piet\n".encode("utf-16"), "UTF-16"),
    (b"email,name\na@example.nl,Pi\x00et\n", "NUL"),
    (b"email,name\na@example.nl,\x81\x8d\x8f\n", "neither UTF-8 nor Windows-1252"),
    (b'email,name\na@example.nl,"Piet\n', "not valid CSV"),
])
def test_a_bad_file_is_refused_with_a_clear_message(admin: User, admin_client: Client,
                                                    data: bytes, message: str) -> None:
    with pytest.raises(DirectoryError) as caught:
        importing.read_csv(data)
    assert message in caught.value.message
    response = _upload(admin_client, data)
    assert response.status_code == 400
    assert message.encode() in response.content.replace(b"&quot;", b'"')


def test_too_many_rows_or_bytes_are_refused(admin: User, admin_client: Client,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    rows = "".join(f"p{n}@example.nl\n" for n in range(4))
    with pytest.raises(DirectoryError, match="more than 3 contacts"):
        importing.read_csv(("email\n" + rows).encode())
    importing.read_csv(("email\n" + rows[: rows.rindex("p3")]).encode())  # 3 is fine
    big = b"email\n" + b"a" * importing.MAX_BYTES
    response = _upload(admin_client, big)
    assert response.status_code == 400
    assert b"larger than 1 MB" in response.content
    assert not Contact.objects.exists()


def test_utf8_with_a_bom_and_semicolons_is_read(admin: User) -> None:
    data = "\ufeffemail;name\r\nzoë@example.nl;Zoë Ümit\r\n".encode()
    parsed = importing.read_csv(data)
    assert parsed.notice == ""
    assert parsed.rows == [(2, {"email": "zoë@example.nl", "name": "Zoë Ümit"})]


def test_a_windows_1252_file_is_converted_with_a_notice(admin: User,
                                                        admin_client: Client) -> None:
    data = "email;name\r\nzoe@example.nl;Zoë Ümit \u2013 €\r\n".encode("cp1252")
    parsed = importing.read_csv(data)
    assert "Windows-1252" in parsed.notice
    assert parsed.rows[0][1]["name"] == "Zoë Ümit \u2013 €"
    latin1 = "email,name\nrene@example.nl,René Müller\n".encode("latin-1")
    assert importing.read_csv(latin1).rows[0][1]["name"] == "René Müller"
    dry = _upload(admin_client, data)
    assert "Windows-1252" in dry.content.decode()
    admin_client.post("/admin/contacts/import/apply", _apply_form(dry))
    assert Contact.objects.get().name == "Zoë Ümit \u2013 €"


def test_columns_the_file_leaves_out_keep_their_values(admin: User) -> None:
    actions.save_contact(admin, ContactFields(email="piet@example.nl", name="Piet",
                                              phone="0612345678", external_id="P1",
                                              access_code="geheim-123"))
    rows = _plan(admin, "email,name\npiet@example.nl,Piet Jansen\n")
    assert rows[0].status == "changed" and rows[0].changes == ["name"]
    assert rows[0].clean is not None and rows[0].clean.phone == "+31612345678"
    assert rows[0].clean.external_id == "P1"


def test_a_row_may_not_take_another_contacts_address(admin: User) -> None:
    actions.save_contact(admin, ContactFields(email="piet@example.nl", external_id="P1"))
    actions.save_contact(admin, ContactFields(email="els@example.nl", external_id="P2"))
    rows = _plan(admin, "email,external_id\nels@example.nl,P1\nnew@example.nl,P2\n")
    assert "already another contact's address" in rows[0].errors[0]
    rows = _plan(admin, "email,external_id\npiet@example.nl,P7\n")
    assert "with the external id P1" in rows[0].errors[0]


def test_export_is_safe_against_formula_injection_and_holds_no_code(
        admin: User, admin_client: Client) -> None:
    actions.save_contact(admin, ContactFields(
        email="piet@example.nl", name="=cmd|'/c calc'!A1", phone="0612345678",
        access_code="geheim-123", access_code_hint="@SUM(1+1)"))
    actions.save_contact(admin, ContactFields(email="els@example.nl", name="-2+3",
                                              external_id="P2+"))
    actions.save_contact(admin, ContactFields(email="jan@example.nl", name="Jan"))
    response = admin_client.get("/admin/contacts/export.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    body = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
    assert body.startswith("\ufeffemail,name,phone,")
    assert "geheim" not in body and "$argon2" not in body
    rows = {r[0]: r for r in csv.reader(io.StringIO(body.lstrip("\ufeff")))}
    assert rows["piet@example.nl"][1] == "'=cmd|'/c calc'!A1"
    assert rows["piet@example.nl"][2] == "'+31612345678"
    assert rows["piet@example.nl"][5] == "'@SUM(1+1)"
    assert rows["piet@example.nl"][7] == "yes"
    assert rows["els@example.nl"][1] == "'-2+3"
    assert rows["jan@example.nl"][1] == "Jan" and rows["jan@example.nl"][7] == "no"
    assert AuditEvent.objects.filter(action="contacts.exported").count() == 1
    # What was exported imports again unchanged: the apostrophes come off.
    again = _plan(admin, body.encode("utf-8"))
    assert [row.status for row in again] == ["unchanged"] * 3


@pytest.mark.parametrize("cell", ["=1+1", "+31", "-1", "@x", "\tx", "\rx"])
def test_each_formula_start_is_quoted(cell: str) -> None:
    assert importing.safe_cell(cell) == "'" + cell
    assert importing.safe_cell("a" + cell) == "a" + cell


def test_a_member_cannot_import_or_export(sender_client: Client) -> None:
    assert _upload(sender_client, GOOD.encode()).status_code == 403
    assert sender_client.get("/admin/contacts/export.csv").status_code == 403
    assert sender_client.post("/admin/contacts/import/apply", {}).status_code == 403
    assert not Contact.objects.exists()


def test_an_import_costs_a_few_queries_per_changed_line(admin: User) -> None:
    """The plan reads the file's contacts in a few queries under the lock; each line written
    costs its row and its audit event (head, event, head), not a query per check again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(n: int, name: str) -> int:
        lines = [f"p{i}@example.nl,{name} {i},06 {10000000 + i},E{i}" for i in range(n)]
        parsed = importing.read_csv(("email,name,phone,external_id\n"
                                     + "\n".join(lines)).encode())
        with CaptureQueriesContext(connection) as queries:
            actions.apply_import(admin, parsed)
        return len(queries.captured_queries)

    new_10, new_30 = cost(10, "A"), cost(30, "A")  # 10 new; then 10 unchanged and 20 new
    changed_30 = cost(30, "B")
    assert new_30 - new_10 <= 4 * 10 + 5
    assert changed_30 <= 4 * 30 + 12
