"""The audit view: search by who, action, period, object and address, page through, export
what was found as CSV and JSON, check the chain on demand; auditors see no message content."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import send
from tests.messaging.test_attachments import make_attachment
from tests.orgs.staff import client_of, english, make_user
from zegel.audit.log import record
from zegel.audit.models import AuditEvent
from zegel.orgs.models import ApiToken, Organisation, User
from zegel.staff import audit_export
from zegel.staff import views as staff_views

EVIL = '=HYPERLINK("http://evil","x")'


def _auditor(org: Organisation) -> Client:
    client = english()
    client.force_login(make_user(org, "audit@zorggroep-noord.nl", "auditor"))
    return client


def _ev(org: Organisation, action: str, **extra: Any) -> AuditEvent:
    return record(action, organisation=org, actor_type=extra.pop("actor_type", "user"), **extra)


def _actions(page: str) -> list[str]:
    return [a for a in ("user.login", "user.invited", "message.sent", "message.read")
            if f"<td>{a}</td>" in page]


def test_filters_combine_and_pages_keep_them(org: Organisation, outsider: User,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    client = _auditor(org)
    _ev(org, "message.sent", actor_label="anna@zorggroep-noord.nl", object_type="message",
        object_id="m-1", ip="192.0.2.10")
    _ev(org, "message.read", actor_type="recipient", actor_label="piet@example.nl",
        object_type="message", object_id="m-1", ip="198.51.100.7")
    _ev(org, "message.sent", actor_label="bob@zorggroep-noord.nl", object_type="message",
        object_id="m-2", ip="192.0.2.99")
    _ev(outsider.organisation, "message.sent", actor_label="anna@zorggroep-noord.nl",
        object_id="m-1", ip="192.0.2.10")

    def find(**query: str) -> list[str]:
        answer = client.get("/staff/audit", query)
        assert answer.status_code == 200, query
        return _actions(answer.content.decode())

    assert find(object="m-1") == ["message.sent", "message.read"]
    assert find(object="m-1", actor_type="recipient") == ["message.read"]
    assert find(actor="anna@zorggroep-noord.nl") == ["message.sent"]
    assert find(action="message.", object="m-2") == ["message.sent"]
    assert find(action="message", match="exact") == []
    assert find(action="message.read", match="exact") == ["message.read"]
    assert find(ip="198.51.100.7") == ["message.read"]
    assert find(ip="192.0.2.0/24", action="message.sent") == ["message.sent"]
    page = client.get("/staff/audit", {"ip": "192.0.2.0/24"}).content.decode()
    assert page.count("<td>message.sent</td>") == 2  # not the other organisation's one
    assert 'value="m-1"' not in page and "<option value=\"message.read\">" in page
    # Paging: the "older" link keeps the filter, and a deeper page costs the same queries.
    for n in range(5):
        _ev(org, "user.login", actor_label="anna@zorggroep-noord.nl", object_type="user",
            object_id=f"u{n}")
    monkeypatch.setattr(staff_views, "AUDIT_PAGE", 2)
    counts, seen = [], []
    url = "/staff/audit?actor=anna%40zorggroep-noord.nl&action=user."
    while url:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content.decode()
        counts.append(len(queries))
        seen += re.findall(r"<td>user (u\d)</td>", page)
        older = page.split('<a href="?')[1].split('"')[0] if "Older events" in page else ""
        assert not older or "actor=anna%40zorggroep-noord.nl&amp;action=user." in older
        url = "/staff/audit?" + older.replace("&amp;", "&") if older else ""
    assert seen == ["u4", "u3", "u2", "u1", "u0"] and len(counts) == 3
    assert len(set(counts)) == 1, counts


def test_bad_filters_are_explained_not_a_server_error(org: Organisation) -> None:
    client = _auditor(org)
    cases = {"from": ("1 november", "as YYYY-MM-DD"), "until": ("2026-13-01", "as YYYY-MM-DD"),
             "ip": ("192.0.2.300", "such as 192.0.2.10"), "actor": ("a" * 10_000, "too long"),
             "object": ("x" * 65, "too long"), "actor_type": ("root", "kind of actor"),
             "match": ("regex", "starts with the text")}
    for name, (value, words) in cases.items():
        for url in ("/staff/audit", "/staff/audit/export.csv", "/staff/audit/export.json"):
            answer = client.get(url, {name: value})
            assert answer.status_code == 400, (url, name)
            assert words in answer.content.decode(), (url, name)
    answer = client.get("/staff/audit", {"from": "2026-11-30", "until": "2026-11-01"})
    assert answer.status_code == 400 and "starts after it ends" in answer.content.decode()
    assert client.get("/staff/audit", {"before": "9" * 40}).status_code == 400
    if connection.vendor != "postgresql":
        answer = client.get("/staff/audit", {"ip": "192.0.2.0/20"})
        assert answer.status_code == 400 and "whole-byte" in answer.content.decode()
    else:
        for network in ("192.0.0.0/20", "2001:db8::/32"):
            assert client.get("/staff/audit", {"ip": network}).status_code == 200
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_exports_of_the_search_are_formula_safe_and_audited(org: Organisation) -> None:
    evil = User.objects.create_user("=cmd@evil.example", org, "correct horse battery staple",
                                    name=EVIL, role="admin")
    client = english()
    client.force_login(evil)
    _ev(org, "user.login", actor_label=EVIL, object_id="7", data={"name": EVIL})
    _ev(org, "user.login", actor_label="anna@zorggroep-noord.nl", object_id="8")
    page = client.get("/staff/audit", {"actor": EVIL}).content.decode()
    assert "=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)" in page
    answer = client.get("/staff/audit/export.csv", {"actor": EVIL, "action": "user."})
    text = b"".join(answer.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert [(r["actor"], r["object_id"]) for r in rows] == [("'" + EVIL, "7")]
    assert rows[0]["data"].startswith("{")
    answer = client.get("/staff/audit/export.json", {"actor": EVIL})
    assert answer["Content-Type"] == "application/json; charset=utf-8"
    items = json.loads(b"".join(answer.streaming_content))
    assert [(i["actor"], i["object_id"], i["data"]) for i in items] == [(EVIL, "7",
                                                                         {"name": EVIL})]
    assert items[0]["at"].endswith("Z") and len(items[0]["at"]) == 20
    exports = AuditEvent.objects.filter(action="audit.exported").order_by("pk")
    assert [(e.actor_label, e.data.get("format"), e.data["actor"]) for e in exports] == [
        ("=cmd@evil.example", None, EVIL), ("=cmd@evil.example", "json", EVIL)]
    # An export is recorded before its file is written, so it lists itself too.
    again = client.get("/staff/audit/export.json", {"action": "audit.exported"})
    assert [i["data"]["action"] for i in json.loads(b"".join(again.streaming_content))] == [
        "user.", "", "audit.exported"]


def test_the_chain_check_on_demand_says_ok_or_where_it_broke(
        org: Organisation, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _auditor(org)
    assert "has not been checked" in client.get("/staff/audit").content.decode()
    assert client.get("/staff/audit/verify").status_code == 405
    first = _ev(org, "user.login", actor_label="anna@zorggroep-noord.nl")
    assert client.post("/staff/audit/verify").status_code == 302
    page = client.get("/staff/audit").content.decode()
    assert "OK: the chain of the whole audit log was intact." in page
    done = AuditEvent.objects.get(action="audit.verified")
    assert done.actor_label == "audit@zorggroep-noord.nl" and done.data["result"] == "ok"
    # Pressed again at once: the last result stands, the log is not walked again.
    client.post("/staff/audit/verify")
    assert AuditEvent.objects.filter(action="audit.verified").count() == 1
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE audit_auditevent SET actor_label = 'x' WHERE id = %s",
                       [first.pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    monkeypatch.setattr(audit_export, "CHECK_AGAIN_AFTER", timedelta(0))
    client.post("/staff/audit/verify")
    page = client.get("/staff/audit").content.decode()
    assert f"Broken at entry {first.pk}:" in page
    assert make_user(org, "lid@zorggroep-noord.nl")  # a member may not ask
    member = english()
    member.force_login(User.objects.get(email="lid@zorggroep-noord.nl"))
    assert member.post("/staff/audit/verify").status_code == 403


def test_an_auditor_opening_a_message_is_refused_and_the_log_shows_no_content(
        org: Organisation, sender: User) -> None:
    attachment = make_attachment(sender, b"geheim", name="uitslag-geheim.pdf")
    message = send(sender, subject="Geheime uitslag", attachments=[attachment])
    auditor = make_user(org, "audit@zorggroep-noord.nl", "auditor")
    client = client_of(auditor)
    conversation = message.conversation_id
    for path in (f"/c/{conversation}", f"/c/{conversation}/a/{attachment.pk}",
                 f"/c/{conversation}/m/{message.pk}/proof"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Geheime" not in answer.content.decode() and answer.get(
            "Content-Disposition") is None
    _token, secret = ApiToken.issue(auditor, scopes=("read",))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    for path in (f"/api/v1/messages/{message.pk}", f"/api/v1/conversations/{conversation}"):
        answer = api.get(path)
        assert answer.status_code == 403 and b"Geheime" not in answer.content, path
    # The audit page and both exports for this conversation: identifiers, never content.
    found = [client.get("/staff/audit", {"object": str(message.pk)}).content,
             b"".join(client.get("/staff/audit/export.csv").streaming_content),
             b"".join(client.get("/staff/audit/export.json").streaming_content)]
    assert b"message.sent" in found[0]
    for body in found:
        assert b"Geheime" not in body and b"geheim" not in body and b"Beste mevrouw" not in body
