"""The audit log as CSV: the organisation's own events of a period and action, oldest first,
safe to open in a spreadsheet, for admins and auditors only."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from unittest import mock

from django.test import Client
from django.utils import timezone

from tests.orgs.staff import english
from zegel.audit.log import record
from zegel.audit.models import AuditEvent
from zegel.orgs.models import Organisation, User

URL = "/staff/audit/export.csv"


def _client(user: User, role: str) -> Client:
    User.objects.filter(pk=user.pk).update(role=role)
    client = english()
    client.force_login(User.objects.get(pk=user.pk))
    return client


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def _event(org: Organisation, action: str, at: str, **extra: Any) -> None:
    # Events are append-only (on PostgreSQL a trigger refuses an UPDATE): written at that time.
    moment = timezone.make_aware(datetime.fromisoformat(at))
    with mock.patch.object(AuditEvent._meta.get_field("at"), "_get_default", lambda: moment):
        record(action, organisation=org, actor_type="system", object_type="user", **extra)


def test_a_period_and_an_action_in_order_and_only_this_organisation(
        sender: User, org: Organisation, outsider: User) -> None:
    auditor = _client(sender, "auditor")
    _event(org, "user.invited", "2026-10-31 23:30")
    _event(org, "user.invited", "2026-11-01 00:10", object_id="7")
    _event(org, "message.sent", "2026-11-15 12:00")
    _event(org, "user.deactivated", "2026-11-30 23:59")
    _event(org, "user.invited", "2026-12-01 00:01")
    _event(outsider.organisation, "user.invited", "2026-11-10 10:00")
    rows = _csv(auditor.get(URL, {"from": "2026-11-01", "until": "2026-11-30",
                                  "action": "user."}))
    # Days of the installation's time zone; times written in UTC.
    assert [(r["action"], r["at_utc"]) for r in rows] == [
        ("user.invited", "2026-10-31T23:10:00Z"), ("user.deactivated", "2026-11-30T22:59:00Z")]
    assert rows[0]["object_id"] == "7" and rows[0]["actor_type"] == "system"
    everything = _csv(auditor.get(URL))
    # The other organisation's event is not there.
    assert [r["action"] for r in everything].count("user.invited") == 3
    assert {AuditEvent.objects.get(pk=int(r["id"])).organisation_id
            for r in everything} == {org.pk}
    export = AuditEvent.objects.filter(action="audit.exported").order_by("pk").first()
    assert export is not None and export.data == {"from": "2026-11-01", "until": "2026-11-30",
                                                  "action": "user."}


def test_cells_that_a_spreadsheet_would_run_are_text(sender: User, org: Organisation) -> None:
    admin = _client(sender, "admin")
    for label in ("=HYPERLINK(\"https://evil.example\",\"klik\")", "+31 6 1234", "-2+3",
                  "@SUM(A1)", "\tx", "\r=1"):
        record("user.login_failed", organisation=org, actor_type="anonymous",
               actor_label=label, data={"note": "=1+1"})
    rows = _csv(admin.get(URL, {"action": "user.login_failed"}))
    assert [r["actor"] for r in rows] == [
        "'=HYPERLINK(\"https://evil.example\",\"klik\")", "'+31 6 1234", "'-2+3", "'@SUM(A1)",
        "'\tx", "'\r=1"]
    assert all(r["data"] == '{"note": "=1+1"}' for r in rows)


def test_only_admins_and_auditors_and_bad_dates_are_clear(sender: User) -> None:
    for role in ("member", "policy_admin"):
        assert _client(sender, role).get(URL).status_code == 403
    assert Client().get(URL).status_code == 302  # to the log-in page
    admin = _client(sender, "admin")
    for bad in ({"from": "1 november"}, {"until": "2026-13-01"},
                {"from": "2026-11-30", "until": "2026-11-01"}):
        answer = admin.get(URL, bad)
        assert answer.status_code == 400, bad
        assert b"as YYYY-MM-DD" in answer.content or b"starts after it ends" in answer.content
    assert not AuditEvent.objects.filter(action="audit.exported").exists()
    page = admin.get("/staff/audit").content.decode()
    assert 'action="/staff/audit/export.csv"' in page
