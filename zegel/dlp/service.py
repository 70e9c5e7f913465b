"""Data-leak checks on a draft as the product sees it: text, files, recipients and the rules.

The detectors, recipient checks and rule evaluation are pure functions elsewhere in this
package; this module feeds them from the database (history, the organisation's rules,
patterns and terms), decides whether a send may go ahead, and writes the audit events.
Findings carry masked details only; neither the results nor the audit events hold content.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from zegel.audit.log import record, staff_actor
from zegel.dlp import allowlist, extract, history, isolation, rules
from zegel.dlp.detectors import scan_text
from zegel.dlp.findings import NOT_SCANNED, REPORT_THRESHOLD, Finding
from zegel.dlp.medical import TermSet, default_terms
from zegel.dlp.models import DlpRule, DlpTerm, OrgPattern, SensitiveContact
from zegel.dlp.patterns import OrgPattern as PatternSpec
from zegel.dlp.recipients import (
    KnownName,
    Recipient,
    RecipientFinding,
    check_recipients,
    domain_of,
    name_index_key,
    name_key,
)
from zegel.messaging.content import AttachmentMeta, attachment_meta, iter_attachment
from zegel.messaging.errors import ActionError
from zegel.messaging.guards import Draft, DraftRecipient
from zegel.messaging.models import Attachment, Conversation
from zegel.messaging.models import Recipient as RecipientRow
from zegel.orgs.models import Organisation, User

# The product calls the e-mail code "email"; the rules call it "email_code".
_RULE_METHOD = {"email": "email_code", "sms": "sms", "access_code": "access_code"}
_PRODUCT_METHOD = {rule: product for product, rule in _RULE_METHOD.items()}
# A rule's "verification" condition sees one method: the weakest any recipient uses.
_WEAKEST_FIRST = ("email_code", "sms", "access_code")
TEXT_BUDGET_SECONDS = 2.0
ATTACHMENT_BUDGET_SECONDS = 5.0
ATTACHMENT_MAX_BYTES = extract.DEFAULT_MAX_BYTES
ATTACHMENT_MEMORY_LIMIT = isolation.DEFAULT_MEMORY_LIMIT


@dataclass(frozen=True)
class LocatedFinding:
    """A finding and the part of the draft it is in: subject, body or attachment ``index``."""

    where: str
    finding: Finding
    index: int | None = None
    name: str = ""  # the attachment's file name, for the sender's own screen only


@dataclass
class DlpResult:
    findings: list[LocatedFinding]
    recipient_findings: list[RecipientFinding]
    decision: rules.Decision

    @property
    def blocked(self) -> bool:
        return self.decision.blocked

    @property
    def needs_confirmation(self) -> bool:
        return self.decision.needs_confirmation

    @property
    def required_methods(self) -> list[str]:
        """Verification methods (product names) that satisfy every ``require`` rule."""
        return sorted(_PRODUCT_METHOD.get(m, m) for m in self.decision.required_methods)

    @property
    def sensitive(self) -> bool:
        return _is_sensitive([f.finding for f in self.findings])

    def summary(self) -> dict[str, Any]:
        """What the audit log may hold: rule names, actions, counts of finding kinds."""
        return {
            "rules": [{"name": r.rule, "action": r.action} for r in self.decision.results],
            "findings": dict(Counter(f.finding.kind for f in self.findings)),
            "recipient_findings": dict(Counter(r.kind for r in self.recipient_findings)),
            "sensitive": self.sensitive,
            "blocked": self.blocked,
            "needs_confirmation": self.needs_confirmation,
            "required_methods": self.required_methods,
        }

    def rule_messages(self) -> list[str]:
        """The matched rules' messages in the active language, most severe first."""
        ordered = sorted(self.decision.results, key=lambda r: -rules.SEVERITY[r.action])
        shown = [r for r in ordered if r.action != rules.AUDIT]
        # The reason a rule matched on unread content is told once, not per rule.
        note = [_unscanned_note()] if any(r.unscanned for r in shown) else []
        return note + [_rule_text(r) for r in shown]

    def as_json(self) -> dict[str, Any]:
        """The answer of the API's and the compose page's check."""
        return {
            "findings": [
                {
                    "kind": f.finding.kind,
                    "where": f.where,
                    "index": f.index,
                    "name": f.name,
                    "start": f.finding.start,
                    "end": f.finding.end,
                    "confidence": f.finding.confidence,
                    "detail": f.finding.detail,
                    "text": finding_text(f),
                    "reasons": [
                        {"code": code, "value": value, "text": reason_text(code, value)}
                        for code, value in f.finding.reasons
                    ],
                }
                for f in self.findings
            ],
            "recipient_findings": [
                {
                    "kind": r.kind,
                    "address": r.address,
                    "confidence": r.confidence,
                    "detail": r.detail,
                }
                for r in self.recipient_findings
            ],
            "rules": [
                {
                    "name": r.rule,
                    "action": r.action,
                    "message": message_for(r),
                    "message_nl": r.message_nl,
                    "message_en": r.message_en,
                    "required_methods": sorted(
                        _PRODUCT_METHOD.get(m, m) for m in r.required_methods
                    ),
                }
                for r in self.decision.results
            ],
            "blocked": self.blocked,
            "needs_confirmation": self.needs_confirmation,
            "required_methods": self.required_methods,
        }


class DlpRefused(ActionError):
    """A send stopped by the rules; ``reason`` is blocked, unconfirmed or method."""

    def __init__(self, message: str, *, reason: str, result: DlpResult) -> None:
        super().__init__(message, field="dlp", status=400)
        self.reason = reason
        self.needs_confirmation = result.needs_confirmation
        self.rules = [
            {"name": r.rule, "action": r.action, "message": message_for(r)}
            for r in result.decision.results
            if r.action != rules.AUDIT
        ]
        # What a form lists: each rule's message once, the "could not be checked" note once.
        self.notes = list(dict.fromkeys(result.rule_messages()))
        self.required_methods = result.required_methods


def not_label(kind: str) -> str:
    """The button that marks a finding as a false positive: "This is not a BSN"."""
    labels = {
        "bsn": _("This is not a BSN"),
        "iban": _("This is not a bank account number"),
        "passport_nl": _("This is not a passport or ID-card number"),
        "payment_card": _("This is not a payment card number"),
        "phone_nl": _("This is not a phone number"),
        "date_of_birth": _("This is not a date of birth"),
        "medical": _("This is not medical data"),
    }
    if kind.startswith("org:"):
        return _("This is not a %(pattern)s") % {"pattern": kind[4:]}
    return labels.get(kind, _("This is not sensitive"))


def kind_label(kind: str) -> str:
    labels = {
        "bsn": _("a BSN"),
        "iban": _("a bank account number (IBAN)"),
        "passport_nl": _("a passport or ID-card number"),
        "payment_card": _("a payment card number"),
        "phone_nl": _("a phone number"),
        "date_of_birth": _("a date of birth"),
        "medical": _("special-category (medical) data"),
        "not_scanned": _("content that could not be checked"),
    }
    if kind.startswith("org:"):
        return _("a %(pattern)s") % {"pattern": kind[4:]}
    return labels.get(kind, kind)


def reason_text(code: str, value: str) -> str:
    """Why a finding was made, for the sender, in the active language."""
    texts = {
        "term": _("the term “%(value)s”"),
        "person": _("about a person (“%(value)s”)"),
        "audience": _("addressed to many or about an event (“%(value)s”), so only a hint"),
        "label": _("labelled “%(value)s”"),
        "column": _("in the column “%(value)s”"),
        "checksum": _("passes the %(value)s"),
    }
    return texts.get(code, "%(value)s") % {"value": value}


def finding_text(located: LocatedFinding) -> str:
    """One finding for the sender, in the active language: what, and where."""
    what = kind_label(located.finding.kind)
    if located.where == "subject":
        return _("%(what)s in the subject") % {"what": what}
    if located.where == "body":
        return _("%(what)s in the message") % {"what": what}
    return _("%(what)s in attachment %(name)s") % {"what": what, "name": located.name}


def message_for(result: rules.RuleResult) -> str:
    """The rule's message in the active language, saying so if unread content set it off."""
    message = _rule_text(result)
    return f"{_unscanned_note()} {message}" if result.unscanned else message


def _rule_text(result: rules.RuleResult) -> str:
    return result.message_nl if (get_language() or "").startswith("nl") else result.message_en


def _unscanned_note() -> str:
    return _("Part of this message could not be checked, so it is treated as sensitive.")


def summary_is_sensitive(counts: dict[str, int]) -> bool:
    """``_is_sensitive`` for kept counts of findings that were all above the threshold."""
    return any(kind in rules.SENSITIVE_KINDS or kind == NOT_SCANNED for kind in counts)


def _is_sensitive(findings: Sequence[Finding]) -> bool:
    """Sensitive kinds found, or content that could not be checked (fail closed)."""
    return any(
        (f.kind in rules.SENSITIVE_KINDS or f.kind == NOT_SCANNED)
        and f.confidence >= REPORT_THRESHOLD
        for f in findings
    )


# --- The organisation's configuration -----------------------------------------------------


def organisation_rules(organisation: Organisation) -> list[rules.Rule]:
    rows = list(DlpRule.objects.filter(organisation=organisation))
    return [row.as_rule() for row in rows] if rows else rules.default_rules()


def organisation_patterns(organisation: Organisation) -> list[PatternSpec]:
    return [
        p.as_pattern() for p in OrgPattern.objects.filter(organisation=organisation, enabled=True)
    ]


@lru_cache(maxsize=64)
def _term_set(extra: tuple[str, ...]) -> TermSet:
    return default_terms().extended(extra)


def organisation_terms(organisation: Organisation) -> TermSet:
    extra = DlpTerm.objects.filter(organisation=organisation).values_list("term", flat=True)
    return _term_set(tuple(sorted(extra)))


# --- History -------------------------------------------------------------------------------


@dataclass
class _History:
    previous: set[str]
    previous_sensitive: set[str]
    known_domains: set[str]
    names: dict[str, KnownName]


def _history(sender: User, people: Sequence[DraftRecipient]) -> _History:
    """What this sender wrote before: only their own conversations, the ones the access rule
    lets them see, so the findings never reveal to whom a colleague wrote. Read from the
    history tables (zegel.dlp.history) for this message's addresses, names and domains only."""
    organisation = sender.organisation
    addresses = {r.email.strip().lower() for r in people}
    keys = {name_key(r.name or ""): name_index_key(r.name or "") for r in people}
    wanted = {index: key for key, index in keys.items() if index is not None}
    # The organisation's staff are in every sender's directory.
    staff: dict[int, set[str]] = {}
    # Read only when a recipient has a name to compare (most sends by the API have none).
    directory = (User.objects.filter(organisation=organisation).exclude(name="")
                 .values_list("name", "email") if wanted else ())
    for name, email in directory:
        index = name_index_key(name)
        if index in wanted:
            staff.setdefault(index, set()).add(email.lower())
    known = history.look_up(organisation.pk, sender.pk, addresses, wanted,
                            name_addresses=set().union(*staff.values()))
    previous_sensitive = set(
        SensitiveContact.objects.filter(organisation=organisation, sender=sender,
                                        address__in=addresses)
        .values_list("address", flat=True)
    )
    names = {}
    for index, key in wanted.items():
        count, members = known.names.get(index, (0, set()))
        colleagues = staff.get(index, set())
        total = count + len(colleagues - members)
        if total:
            names[key] = KnownName(total, frozenset(members | colleagues))
    return _History(known.addresses, previous_sensitive, known.domains, names)


# --- Checking -----------------------------------------------------------------------------


def scan_for(organisation: Organisation, text: str, *,
             patterns: Sequence[PatternSpec] | None = None, terms: TermSet | None = None,
             allowed: set[tuple[str, str]] | None = None) -> list[Finding]:
    """The organisation's scan of one text: its patterns and terms, less its allow list."""
    if not text:
        return []
    found = scan_text(
        text,
        org_patterns=organisation_patterns(organisation) if patterns is None else patterns,
        terms=organisation_terms(organisation) if terms is None else terms,
        budget_seconds=TEXT_BUDGET_SECONDS,
    )
    if allowed is None:
        allowed = allowlist.allowed_hashes(organisation)
    return allowlist.drop_allowed(organisation, text, found, allowed)


def extract_attachment(attachment: Attachment, meta: AttachmentMeta) -> extract.ExtractResult:
    """The attachment's text, extracted in a limited child process that is fed the decrypted
    file chunk by chunk: the web process never holds the whole file, nor runs a parser."""
    if meta.size > ATTACHMENT_MAX_BYTES:
        return extract.too_large(ATTACHMENT_MAX_BYTES).result()
    return isolation.extract_text_isolated(
        meta.name,
        meta.content_type,
        iter_attachment(attachment),
        max_bytes=ATTACHMENT_MAX_BYTES,
        time_budget=ATTACHMENT_BUDGET_SECONDS,
        memory_limit=ATTACHMENT_MEMORY_LIMIT,
    )


def _scan_attachments(
    organisation: Organisation,
    attachments: Sequence[Attachment],
    patterns: Sequence[PatternSpec],
    terms: TermSet,
    allowed: set[tuple[str, str]],
) -> list[LocatedFinding]:
    found: list[LocatedFinding] = []
    for index, attachment in enumerate(attachments):
        meta = attachment_meta(attachment)
        name = meta.name
        result = extract_attachment(attachment, meta)
        text, scanned, reason = result.text, result.scanned, result.reason
        if not scanned:
            found.append(
                LocatedFinding("attachment", Finding(NOT_SCANNED, 0, 0, 1.0, reason), index, name)
            )
        if text:
            found.extend(
                LocatedFinding("attachment", f, index, name)
                for f in scan_for(organisation, text, patterns=patterns, terms=terms,
                                  allowed=allowed)
            )
    return found


def rule_method(method: str) -> str | None:
    return _RULE_METHOD.get(method)


def check_draft(
    *,
    sender: User,
    subject: str,
    body: str,
    recipients: Sequence[DraftRecipient],
    attachments: Sequence[Attachment] = (),
    attachment_findings: Sequence[LocatedFinding] | None = None,
) -> DlpResult:
    """Findings, recipient findings and the rules' decision for a draft; writes nothing.

    ``attachment_findings`` are the attachments' kept findings (``zegel.dlp.scans``, for the
    live hints); without them the attachments are extracted and scanned now (a send)."""
    organisation = sender.organisation
    patterns = organisation_patterns(organisation)
    terms = organisation_terms(organisation)
    allowed = allowlist.allowed_hashes(organisation)
    findings = [
        LocatedFinding(where, f)
        for where, text in (("subject", subject), ("body", body))
        for f in scan_for(organisation, text, patterns=patterns, terms=terms, allowed=allowed)
    ]
    if attachment_findings is not None:
        findings.extend(attachment_findings)
    else:
        findings.extend(_scan_attachments(organisation, attachments, patterns, terms, allowed))

    # Half-typed addresses in the compose page are skipped, not reported.
    people = [r for r in recipients if "@" in (r.email or "")]
    addresses = {r.email.strip().lower() for r in people}
    known = _history(sender, people)
    sensitive = _is_sensitive([f.finding for f in findings])
    recipient_findings = check_recipients(
        [Recipient(r.email.strip(), r.name or "", r.kind or "to") for r in people],
        own_domains=[organisation.domain],
        previous_addresses=known.previous,
        previous_sensitive_addresses=known.previous_sensitive,
        known_domains=known.known_domains,
        names=known.names,
        sensitive=sensitive,
    )
    used = {rule_method(r.method) for r in people if r.method}
    context = rules.RuleContext(
        recipient_domains=frozenset(domain_of(a) for a in addresses),
        recipient_count=len(people),
        verification_method=next((m for m in _WEAKEST_FIRST if m in used), None),
    )
    decision = rules.evaluate(
        organisation_rules(organisation), [f.finding for f in findings], recipient_findings, context
    )
    return DlpResult(findings, recipient_findings, decision)


def enforce(result: DlpResult, *, confirmed: bool, methods: Sequence[str]) -> None:
    """Raise DlpRefused if the rules stop this send; ``methods`` are the recipients'."""
    messages = " ".join(result.rule_messages())
    if result.blocked:
        raise DlpRefused(
            _("This message cannot be sent. %(reasons)s") % {"reasons": messages},
            reason="blocked",
            result=result,
        )
    if result.decision.required_methods:
        allowed = set(result.required_methods)
        if any(m not in allowed for m in methods):
            names = ", ".join(str(_method_label(m)) for m in result.required_methods)
            raise DlpRefused(
                _("Every recipient must verify with: %(methods)s. %(reasons)s")
                % {"methods": names, "reasons": messages},
                reason="method",
                result=result,
            )
    if result.needs_confirmation and not confirmed:
        raise DlpRefused(
            _("Check the warning and confirm that you want to send this message. %(reasons)s")
            % {"reasons": messages},
            reason="unconfirmed",
            result=result,
        )


def _method_label(method: str) -> str:
    return str(dict(RecipientRow.Method.choices).get(method, method))


# --- Audit ---------------------------------------------------------------------------------


def _audit(
    action: str,
    result: DlpResult,
    *,
    sender: User,
    outcome: str,
    via: str,
    request: HttpRequest | None,
    conversation: Conversation | None,
) -> None:
    record(
        action,
        organisation=sender.organisation,
        **staff_actor(sender),
        object_type="conversation" if conversation else "",
        object_id=conversation.pk if conversation else "",
        request=request,
        data={"outcome": outcome, "via": via, **result.summary()},
    )


def _note_history(conversation: Conversation, *, sensitive: bool) -> None:
    """The conversation's recipients join the sender's history (every one: a revoked
    recipient was still written to); with sensitive content, those who still have access
    are marked in SensitiveContact."""
    if conversation.new_recipients is not None:  # a new conversation: all its recipients
        rows = [(r.email, r.name, r.revoked_at, r.created_at)
                for r in conversation.new_recipients]
    else:
        rows = list(RecipientRow.objects.filter(conversation=conversation)
                    .values_list("email", "name", "revoked_at", "created_at"))
    now = timezone.now()
    history.note(conversation.organisation_id, conversation.created_by_id,
                 [(email, name) for email, name, _revoked, _at in rows],
                 at=min((at for *_row, at in rows), default=now))
    if not sensitive:
        return
    addresses = {email.strip().lower() for email, _name, revoked, _at in rows if revoked is None}
    # An address seen before keeps its first date: the unique constraint ignores the repeat.
    SensitiveContact.objects.bulk_create(
        [
            SensitiveContact(organisation_id=conversation.organisation_id,
                             sender_id=conversation.created_by_id, address=a, first_sent_at=now)
            for a in sorted(addresses)
        ],
        ignore_conflicts=True,
    )


def guard_send(
    result: DlpResult,
    *,
    sender: User,
    confirmed: bool,
    methods: Sequence[str],
    via: str,
    request: HttpRequest | None = None,
) -> None:
    """``enforce``, auditing a refusal before it is raised."""
    try:
        enforce(result, confirmed=confirmed, methods=methods)
    except DlpRefused as exc:
        _audit(
            "dlp.decision",
            result,
            sender=sender,
            outcome=exc.reason,
            via=via,
            request=request,
            conversation=None,
        )
        raise


def record_sent(
    result: DlpResult,
    *,
    sender: User,
    confirmed: bool,
    conversation: Conversation,
    via: str,
    request: HttpRequest | None = None,
) -> None:
    """Audit that the draft went out; a confirmed warning is also an override event.

    The recipients join the sender's history (zegel.dlp.history), and with sensitive content
    they are marked in SensitiveContact; later checks read both.
    """
    _audit(
        "dlp.decision",
        result,
        sender=sender,
        outcome="sent",
        via=via,
        request=request,
        conversation=conversation,
    )
    _note_history(conversation, sensitive=result.sensitive)
    if result.needs_confirmation and confirmed:
        _audit(
            "dlp.override",
            result,
            sender=sender,
            outcome="confirmed",
            via=via,
            request=request,
            conversation=conversation,
        )


class DlpSendGuard:
    """The organisation's data-leak rules as a guard on every send (registered by DlpConfig)."""

    def before_send(self, draft: Draft) -> DlpResult:
        result = check_draft(sender=draft.sender, subject=draft.subject, body=draft.body,
                             recipients=draft.recipients, attachments=draft.attachments)
        guard_send(result, sender=draft.sender, confirmed=draft.confirmed,
                   methods=[r.method for r in draft.recipients], via=draft.via,
                   request=draft.request)
        return result

    def after_send(self, draft: Draft, verdict: DlpResult, conversation: Conversation) -> None:
        record_sent(verdict, sender=draft.sender, confirmed=draft.confirmed,
                    conversation=conversation, via=draft.via, request=draft.request)

    def required_methods(self, verdict: DlpResult) -> list[str]:
        """The methods the rules required of every recipient of this send (product names)."""
        return verdict.required_methods
