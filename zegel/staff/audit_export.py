"""The audit log as a CSV or JSON file, for admins and auditors: the organisation's own events
that match the page's filter (zegel.staff.audit_search), oldest first. Streamed, so a long
period takes no more memory than a short one; every cell is made safe to open in a spreadsheet
(zegel.core.csvsafe). Events hold identifiers and outcomes, never message content, and so does
the file. The export is itself audited."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from zegel.audit.log import ChainBroken, record, staff_actor, verify_log
from zegel.audit.models import AuditEvent
from zegel.core.csvsafe import safe_cell
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user
from zegel.staff import audit_search

log = logging.getLogger(__name__)

COLUMNS = ("id", "at_utc", "action", "actor_type", "actor_id", "actor", "object_type",
           "object_id", "ip", "data")


class _Line:
    """csv.writer writes here; each row comes back as one string to stream."""

    def write(self, text: str) -> str:
        return text


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(events: Any) -> Iterator[str]:
    writer = csv.writer(_Line())
    # A byte order mark, so that spreadsheet programs read the file as UTF-8.
    yield "\ufeff" + writer.writerow(COLUMNS)
    for e in events.iterator(chunk_size=2000):
        yield writer.writerow([safe_cell(v) for v in (
            e.pk, _utc(e.at), e.action, e.actor_type,
            e.actor_id, e.actor_label, e.object_type, e.object_id, e.ip or "",
            json.dumps(e.data, ensure_ascii=False, sort_keys=True) if e.data else "")])


def _objects(events: Any) -> Iterator[str]:
    """A JSON array, one event object a line, written as the rows come (no whole list in
    memory). Text is JSON-escaped, so nothing in it can be read as code by a JSON reader."""
    yield "["
    first = True
    for e in events.iterator(chunk_size=2000):
        item = {"id": e.pk, "at": _utc(e.at), "action": e.action, "actor_type": e.actor_type,
                "actor_id": e.actor_id, "actor": e.actor_label, "object_type": e.object_type,
                "object_id": e.object_id, "ip": e.ip, "data": e.data}
        yield ("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False, sort_keys=True)
        first = False
    yield "\n]\n"


def _export(request: HttpRequest, kind: str) -> HttpResponseBase:
    user = staff_user(request)
    flt = audit_search.parse(request.GET)
    if flt.errors:
        return render(request, "error.html", {"title": _("Not done"),
                                              "message": " ".join(flt.errors)}, status=400)
    events = audit_search.events(user.organisation_id, flt).order_by("pk")
    record("audit.exported", organisation=user.organisation, **staff_actor(user),
           object_type="organisation", object_id=user.organisation_id, request=request,
           data={**flt.record_data(), **({"format": kind} if kind != "csv" else {})})
    body = _rows(events) if kind == "csv" else _objects(events)
    content_type = ("text/csv; charset=utf-8" if kind == "csv"
                    else "application/json; charset=utf-8")
    response = StreamingHttpResponse(body, content_type=content_type)
    name = "-".join(p for p in ("audit", user.organisation.domain,
                                flt.first.isoformat() if flt.first else "",
                                flt.last.isoformat() if flt.last else "") if p)
    response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@never_cache
@role_required(roles.Permission.READ_AUDIT)
def export_csv(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "csv")


@login_required
@never_cache
@role_required(roles.Permission.READ_AUDIT)
def export_json(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "json")


# --- The chain check, on demand

# A check asked for within this many seconds of the last one shows that one instead: the
# walk reads the whole log, so a button pressed again and again must not repeat it.
CHECK_AGAIN_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class ChainCheck:
    at: datetime
    ok: bool
    broken_at: int | None


def last_check() -> ChainCheck | None:
    """The newest result of the chain check (installation-wide: the chain links every
    organisation's events into one sequence, so only the whole of it can be checked)."""
    event = AuditEvent.objects.filter(action="audit.verified").order_by("-pk").first()
    if event is None:
        return None
    broken = event.data.get("broken_at")
    return ChainCheck(at=event.at, ok=event.data.get("result") == "ok",
                      broken_at=int(broken) if isinstance(broken, int) else None)


@login_required
@never_cache
@require_POST
@role_required(roles.Permission.READ_AUDIT)
def verify(request: HttpRequest) -> HttpResponseBase:
    """Walk the whole chain as `zegel audit verify` does and record the outcome as an
    `audit.verified` event of the asker's organisation; the audit page shows the newest."""
    user = staff_user(request)
    previous = last_check()
    if previous is None or timezone.now() - previous.at >= CHECK_AGAIN_AFTER:
        data: dict[str, Any]
        try:
            state = verify_log()
        except ChainBroken as exc:
            data = {"result": "broken", "broken_at": exc.event_id}
            log.error("audit chain broken: %s", exc)
        else:
            data = {"result": "ok", "events": state.events}
        record("audit.verified", organisation=user.organisation, **staff_actor(user),
               object_type="audit_log", request=request, data=data)
    return redirect("staff:audit")
