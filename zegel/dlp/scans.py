"""Scans kept for later: a file's findings from its upload on, a guest reply's on arrival.

An attachment is extracted (in the isolated child process) and scanned once, when it is
uploaded; the compose page's live hints read the kept findings on every pause in typing and
never the file. A guest's reply is scanned when it arrives: the staff member reading it is
told what it contains ("a BSN"), the audit log gets the kinds and counts, and the guest is
never refused or slowed by more than the scan itself. Kept are kinds, confidences and counts
only: no text, no positions, no masked values, no file names (those are sealed with the file;
a kept scan names an attachment by its id).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import guest_actor, record
from zegel.dlp import service
from zegel.dlp.findings import NOT_SCANNED, REPORT_THRESHOLD, Finding
from zegel.dlp.models import AttachmentScan, MessageScan
from zegel.messaging.content import attachment_meta, attachment_name
from zegel.messaging.models import Attachment, Message, Recipient
from zegel.orgs.models import Organisation

log = logging.getLogger(__name__)


def summarise(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Findings as kinds, confidences and counts. Not even a "not scanned" reason is kept: it
    can name the file's type or quote a parser's error, and those are sealed with the file."""
    counts: Counter[tuple[str, float]] = Counter(
        (f.kind, round(f.confidence, 3)) for f in findings)
    return [{"kind": kind, "confidence": confidence, "count": count}
            for (kind, confidence), count in sorted(counts.items())]


def unsummarise(summary: Sequence[dict[str, Any]]) -> list[Finding]:
    """Findings the rules can weigh again (no positions: they were never kept)."""
    return [
        Finding(str(item["kind"]), 0, 0, float(item["confidence"]), "")
        for item in summary
        for _n in range(min(int(item.get("count", 1)), 1000))
    ]


def _scan_file(attachment: Attachment, organisation: Organisation) -> list[Finding]:
    meta = attachment_meta(attachment)
    result = service.extract_attachment(attachment, meta)
    found: list[Finding] = []
    if not result.scanned:
        found.append(Finding(NOT_SCANNED, 0, 0, 1.0, result.reason))
    if result.text:
        found.extend(service.scan_for(organisation, result.text))
    return found


def scan_upload(attachment: Attachment) -> AttachmentScan:
    """Extract and scan a new upload once and keep what was found (kinds and counts)."""
    organisation = Organisation.objects.get(pk=attachment.organisation_id)
    try:
        found = _scan_file(attachment, organisation)
    except Exception:  # a file that cannot be read is "not checked", never a failed upload
        log.exception("scanning upload %s failed", attachment.pk)
        found = [Finding(NOT_SCANNED, 0, 0, 1.0, _("The file could not be read."))]
    scan, _created = AttachmentScan.objects.update_or_create(
        attachment=attachment,
        defaults={"findings": summarise(found), "scanned_at": timezone.now()})
    return scan


def attachment_findings(attachments: Sequence[Attachment]) -> list[service.LocatedFinding]:
    """The kept findings of these drafts, as check_draft would report them; a draft without
    a kept scan (uploaded before scans were kept) is scanned now, once."""
    kept = {s.attachment_id: s for s in AttachmentScan.objects.filter(
        attachment__in=[a.pk for a in attachments])}
    located: list[service.LocatedFinding] = []
    for index, attachment in enumerate(attachments):
        scan = kept.get(attachment.pk) or scan_upload(attachment)
        name = attachment_meta(attachment).name
        located.extend(service.LocatedFinding("attachment", f, index, name)
                       for f in unsummarise(scan.findings))
    return located


def scan_guest_reply(message: Message, body: str, recipient: Recipient, *,
                     request: HttpRequest | None = None) -> MessageScan:
    """Scan a reply that has arrived, keep the kinds per part and audit them. Never raises:
    the reply is already stored, and a guest is never refused over what they wrote."""
    organisation = recipient.conversation.organisation
    rows: list[dict[str, Any]] = []
    try:
        # Read as the message has them now: claiming re-wrapped their keys for it.
        attachments = list(message.attachments.select_related("key", "message__conversation"))
        body_found = [f for f in service.scan_for(organisation, body)
                      if f.confidence >= REPORT_THRESHOLD or f.kind == NOT_SCANNED]
        for kind, count in sorted(Counter(f.kind for f in body_found).items()):
            rows.append({"kind": kind, "where": "body", "attachment": "", "count": count})
        for located in attachment_findings(attachments):
            f = located.finding
            if located.index is not None and (
                    f.confidence >= REPORT_THRESHOLD or f.kind == NOT_SCANNED):
                rows.append({"kind": f.kind, "where": "attachment",
                             "attachment": str(attachments[located.index].pk), "count": 1})
    except Exception:
        log.exception("scanning reply %s failed", message.pk)
        rows.append({"kind": NOT_SCANNED, "where": "body", "attachment": "", "count": 1})
    merged: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        merged[(row["kind"], row["where"], row["attachment"])] += row["count"]
    findings: list[dict[str, Any]] = [{"kind": k, "where": w, "attachment": a, "count": c}
                                      for (k, w, a), c in sorted(merged.items())]
    scan, _created = MessageScan.objects.update_or_create(
        message=message, defaults={"findings": findings, "scanned_at": timezone.now()})
    if findings:
        counts: Counter[str] = Counter()
        for (kind, _where, _attachment), count in merged.items():
            counts[kind] += count
        record("dlp.reply_scanned", organisation=organisation, **guest_actor(recipient),
               object_type="message", object_id=message.pk, request=request,
               data={"findings": dict(sorted(counts.items())),
                     "sensitive": service.summary_is_sensitive(counts)})
    return scan


def reply_notes(messages: Iterable[Message]) -> dict[Any, list[str]]:
    """Per guest reply, what its scan found, in the reader's language ("a BSN in the
    message"); attachment names are unsealed here, for the reader only."""
    ids = [m.pk for m in messages if m.author_recipient_id]
    scans = list(MessageScan.objects.filter(message__in=ids))
    names = {
        str(a.pk): attachment_name(a)
        for a in Attachment.objects.filter(message__in=ids).select_related(
            "key", "message__conversation")
    }
    notes: dict[Any, list[str]] = {}
    for scan in scans:
        texts = []
        for item in scan.findings:
            where = "attachment" if item.get("where") == "attachment" else "body"
            name = names.get(str(item.get("attachment", "")), "")
            located = service.LocatedFinding(where, Finding(str(item["kind"]), 0, 0, 1.0, ""),
                                             name=name)
            texts.append(service.finding_text(located))
        if texts:
            notes[scan.message_id] = list(dict.fromkeys(texts))
    return notes
