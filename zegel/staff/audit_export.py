"""The audit log as a CSV file, for admins and auditors: the organisation's own events of a
period, optionally only actions starting with a given text, oldest first. Streamed, so a long
period takes no more memory than a short one; every cell is made safe to open in a spreadsheet
(zegel.core.csvsafe). Events hold identifiers and outcomes, never message content, and so does
the file. The export is itself audited."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from zegel.audit.log import record, staff_actor
from zegel.audit.models import AuditEvent
from zegel.core.csvsafe import safe_cell
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user

COLUMNS = ("id", "at_utc", "action", "actor_type", "actor_id", "actor", "object_type",
           "object_id", "ip", "data")


class _Line:
    """csv.writer writes here; each row comes back as one string to stream."""

    def write(self, text: str) -> str:
        return text


def _day(text: str, refusal: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ExportRefused(refusal) from None


class ExportRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _start_of(day: date) -> datetime:
    # A day of the installation's time zone (Europe/Amsterdam), as the pages show times.
    return timezone.make_aware(datetime.combine(day, time.min))


def _rows(events: Any) -> Iterator[str]:
    writer = csv.writer(_Line())
    # A byte order mark, so that spreadsheet programs read the file as UTF-8.
    yield "\ufeff" + writer.writerow(COLUMNS)
    for e in events.iterator(chunk_size=2000):
        yield writer.writerow([safe_cell(v) for v in (
            e.pk, e.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), e.action, e.actor_type,
            e.actor_id, e.actor_label, e.object_type, e.object_id, e.ip or "",
            json.dumps(e.data, ensure_ascii=False, sort_keys=True) if e.data else "")])


@login_required
@never_cache
@role_required(roles.Permission.READ_AUDIT)
def export_csv(request: HttpRequest) -> HttpResponseBase:
    user = staff_user(request)
    action = request.GET.get("action", "").strip()[:64]
    try:
        first = _day(request.GET.get("from", ""),
                     _("Give the first day as YYYY-MM-DD, such as 2027-03-01."))
        last = _day(request.GET.get("until", ""),
                    _("Give the last day as YYYY-MM-DD, such as 2027-03-31."))
        if first and last and first > last:
            raise ExportRefused(_("The period starts after it ends."))
    except ExportRefused as exc:
        return render(request, "error.html", {"title": _("Not done"), "message": exc.message},
                      status=400)
    events = AuditEvent.objects.filter(organisation_id=user.organisation_id)
    if first:
        events = events.filter(at__gte=_start_of(first))
    if last:
        events = events.filter(at__lt=_start_of(last + timedelta(days=1)))
    if action:
        events = events.filter(action__startswith=action)
    record("audit.exported", organisation=user.organisation, **staff_actor(user),
           object_type="organisation", object_id=user.organisation_id, request=request,
           data={"from": first.isoformat() if first else "",
                 "until": last.isoformat() if last else "", "action": action})
    response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
        _rows(events.order_by("pk")), content_type="text/csv; charset=utf-8")
    name = "-".join(p for p in ("audit", user.organisation.domain,
                                first.isoformat() if first else "",
                                last.isoformat() if last else "") if p)
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
