"""The organisation admin's data-leak pages: rules, organisation patterns (with a test field)
and extra special-category terms. Every change goes through ``zegel.dlp.policy``, which checks
that the user is an admin, keeps to their own organisation and writes the audit events."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from zegel.dlp import allowlist, patterns, policy, rules
from zegel.dlp.models import MAX_POSITION, DlpRule
from zegel.dlp.service import kind_label
from zegel.messaging.errors import ActionError
from zegel.orgs import roles
from zegel.orgs.access import staff_user
from zegel.orgs.models import User

MAX_SAMPLE = 100_000
CONDITION_EXAMPLE = '{"any_kind": ["bsn"], "recipient_check": ["free_mail"]}'

View = Callable[..., HttpResponseBase]


def _refusal_page(request: HttpRequest, exc: ActionError) -> HttpResponse:
    title = _("Not found") if exc.status == 404 else _("Not allowed")
    return render(request, "error.html", {"title": title, "message": exc.message},
                  status=exc.status)


def admin_page(view: View) -> View:
    """Logged in, never cached, admins only (a clear 403 page otherwise); rows of another
    organisation are a 404 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not roles.allows(staff_user(request), roles.Permission.MANAGE_DLP):
            return _refusal_page(request, ActionError(
                roles.refusal(roles.Permission.MANAGE_DLP), status=403))
        try:
            return view(request, *args, **kwargs)
        except ActionError as exc:
            if exc.status in (403, 404):
                return _refusal_page(request, exc)
            raise

    return login_required(never_cache(wrapped))


def _methods() -> list[tuple[str, str]]:
    labels = {"sms": _("SMS code"), "access_code": _("Access code"),
              "email_code": _("E-mail code")}
    return [(m, labels[m]) for m in ("sms", "access_code", "email_code")]


def _checks() -> list[str]:
    return sorted(patterns.CHECKS)


# --- Rules ---------------------------------------------------------------------------------


def _rule_form(rule: DlpRule | None = None) -> dict[str, Any]:
    if rule is None:
        return {"name": "", "condition": "{}", "action": rules.WARN, "required_methods": [],
                "message_nl": "", "message_en": "", "enabled": True, "position": "0"}
    return {"name": rule.name, "condition": json.dumps(rule.condition, indent=2),
            "action": rule.action, "required_methods": list(rule.required_methods),
            "message_nl": rule.message_nl, "message_en": rule.message_en,
            "enabled": rule.enabled, "position": str(rule.position)}


def _rule_form_from_post(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {"name": post.get("name", ""), "condition": post.get("condition", ""),
            "action": post.get("action", ""), "required_methods": post.getlist("required_methods"),
            "message_nl": post.get("message_nl", ""), "message_en": post.get("message_en", ""),
            "enabled": post.get("enabled") == "1", "position": post.get("position", "0")}


def _save_rule_from(request: HttpRequest, form: dict[str, Any], rule_id: int | None) -> DlpRule:
    """Check what the form can check itself (so the error sits at the right field), then save."""
    text = form["condition"].strip() or "{}"
    try:
        condition = json.loads(text)
    except ValueError as exc:
        raise ActionError(_("The condition is not valid JSON: %(error)s") % {"error": exc},
                          field="condition") from None
    except RecursionError:
        # json gives up on deep nesting with RecursionError, not ValueError.
        raise ActionError(_("The condition is nested more than %(max)d levels deep.")
                          % {"max": rules.MAX_DEPTH}, field="condition") from None
    if not isinstance(condition, dict):
        raise ActionError(_("The condition must be a JSON object, between { and }."),
                          field="condition")
    if form["action"] not in rules.ACTIONS:
        raise ActionError(_("Choose an action."), field="action")
    methods = [m for m in form["required_methods"] if m in rules.VERIFICATION_METHODS]
    if form["action"] == rules.REQUIRE and not methods:
        raise ActionError(_("Choose at least one verification method for the action "
                            "'require'."), field="required_methods")
    try:
        position = int(form["position"])
    except ValueError:
        position = -1
    if not 0 <= position <= MAX_POSITION:
        raise ActionError(_("The position is a whole number from 0 to %(max)d.")
                          % {"max": MAX_POSITION}, field="position")
    return policy.save_rule(
        staff_user(request), rule_id=rule_id, name=form["name"], condition=condition,
        action=form["action"], message_nl=form["message_nl"], message_en=form["message_en"],
        required_methods=methods if form["action"] == rules.REQUIRE else [],
        enabled=form["enabled"], position=position, request=request,
    )


def _rule_rows(admin: User) -> tuple[list[dict[str, Any]], bool]:
    """The organisation's rules, or the shipped defaults (read-only) when it has none."""
    labels = dict(DlpRule.Action.choices)
    own = list(policy.rules_of(admin))
    if own:
        return [{"id": r.pk, "name": r.name, "action": labels.get(r.action, r.action),
                 "enabled": r.enabled, "condition": json.dumps(r.condition, indent=2),
                 "methods": r.required_methods, "message_nl": r.message_nl,
                 "message_en": r.message_en, "position": r.position} for r in own], False
    return [{"id": None, "name": r.name, "action": labels.get(r.action, r.action),
             "enabled": r.enabled, "condition": json.dumps(dict(r.condition), indent=2),
             "methods": sorted(r.required_methods), "message_nl": r.message_nl,
             "message_en": r.message_en, "position": i}
            for i, r in enumerate(rules.default_rules())], True


def _overview(request: HttpRequest, form: dict[str, Any], *, error: ActionError | None = None,
              status: int = 200) -> HttpResponse:
    rows, defaults = _rule_rows(staff_user(request))
    return render(request, "dlp/overview.html", {
        "tab": "dlp", "rows": rows, "defaults": defaults, "form": form,
        "actions": DlpRule.Action.choices, "methods": _methods(),
        "example": CONDITION_EXAMPLE, "error": error.message if error else "",
        "error_field": error.field if error else "",
    }, status=status)


@admin_page
@require_http_methods(["GET", "POST"])
def overview(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return _overview(request, _rule_form())
    form = _rule_form_from_post(request)
    try:
        rule = _save_rule_from(request, form, None)
    except ActionError as exc:
        if exc.status in (403, 404):
            raise
        return _overview(request, form, error=exc, status=400)
    messages.success(request, _("Rule “%(name)s” added.") % {"name": rule.name})
    return redirect("dlp_admin:overview")


@admin_page
@require_POST
def adopt_defaults(request: HttpRequest) -> HttpResponseBase:
    try:
        adopted = policy.adopt_default_rules(staff_user(request), request=request)
    except ActionError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
        return redirect("dlp_admin:overview")
    messages.success(request, _("%(count)d standard rules are now your organisation's own "
                                "rules.") % {"count": len(adopted)})
    return redirect("dlp_admin:overview")


@admin_page
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponseBase:
    rule = policy.rule_of(staff_user(request), rule_id)
    context: dict[str, Any] = {"tab": "dlp", "rule": rule, "actions": DlpRule.Action.choices,
                               "methods": _methods(), "example": CONDITION_EXAMPLE}
    if request.method == "GET":
        return render(request, "dlp/rule_edit.html", {**context, "form": _rule_form(rule)})
    form = _rule_form_from_post(request)
    try:
        saved = _save_rule_from(request, form, rule.pk)
    except ActionError as exc:
        if exc.status in (403, 404):
            raise
        return render(request, "dlp/rule_edit.html", {
            **context, "form": form, "error": exc.message, "error_field": exc.field,
        }, status=400)
    messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
    return redirect("dlp_admin:overview")


@admin_page
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponseBase:
    admin = staff_user(request)
    rule = policy.rule_of(admin, rule_id)
    if request.method == "GET":
        return render(request, "dlp/confirm_delete.html", {
            "tab": "dlp", "question": _("Delete rule “%(name)s”?") % {"name": rule.name},
            "back": "dlp_admin:overview",
        })
    policy.delete_rule(admin, rule.pk, request=request)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("dlp_admin:overview")


# --- Patterns ------------------------------------------------------------------------------


def _patterns_page(request: HttpRequest, *, form: dict[str, Any] | None = None,
                   test: dict[str, Any] | None = None, findings: list[Any] | None = None,
                   error: ActionError | None = None, error_form: str = "",
                   status: int = 200) -> HttpResponse:
    return render(request, "dlp/patterns.html", {
        "tab": "dlp", "patterns": policy.patterns_of(staff_user(request)), "checks": _checks(),
        "form": form or {"name": "", "regex": "", "checksum": "", "enabled": True},
        "test": test or {"regex": "", "checksum": "", "sample": ""},
        "findings": findings, "error": error.message if error else "",
        "error_field": error.field if error else "", "error_form": error_form,
    }, status=status)


@admin_page
@require_http_methods(["GET", "POST"])
def pattern_list(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return _patterns_page(request)
    form: dict[str, Any] = {
        "name": request.POST.get("name", ""), "regex": request.POST.get("regex", ""),
        "checksum": request.POST.get("checksum", ""), "enabled": request.POST.get("enabled") == "1",
    }
    try:
        if form["checksum"] not in ("", *patterns.CHECKS):
            raise ActionError(_("Choose a check from the list."), field="checksum")
        pattern = policy.save_pattern(
            staff_user(request), name=form["name"], regex=form["regex"], checksum=form["checksum"],
            enabled=form["enabled"], request=request)
    except ActionError as exc:
        if exc.status in (403, 404):
            raise
        return _patterns_page(request, form=form, error=exc, error_form="add", status=400)
    messages.success(request, _("Pattern “%(name)s” added.") % {"name": pattern.name})
    return redirect("dlp_admin:patterns")


@admin_page
@require_POST
def pattern_test(request: HttpRequest) -> HttpResponseBase:
    """The test field: what a pattern finds in a sample text. Nothing is saved."""
    test = {"regex": request.POST.get("regex", ""), "checksum": request.POST.get("checksum", ""),
            "sample": request.POST.get("sample", "")[:MAX_SAMPLE]}
    try:
        if test["checksum"] not in ("", *patterns.CHECKS):
            raise ActionError(_("Choose a check from the list."), field="checksum")
        found = policy.try_pattern(staff_user(request), test["regex"], test["checksum"],
                                   test["sample"])
    except ActionError as exc:
        if exc.status in (403, 404):
            raise
        return _patterns_page(request, test=test, error=exc, error_form="test", status=400)
    return _patterns_page(request, test=test, findings=found)


@admin_page
@require_http_methods(["GET", "POST"])
def pattern_delete(request: HttpRequest, pattern_id: int) -> HttpResponseBase:
    admin = staff_user(request)
    pattern = policy.pattern_of(admin, pattern_id)
    if request.method == "GET":
        return render(request, "dlp/confirm_delete.html", {
            "tab": "dlp",
            "question": _("Delete pattern “%(name)s”?") % {"name": pattern.name},
            "back": "dlp_admin:patterns",
        })
    policy.delete_pattern(admin, pattern.pk, request=request)
    messages.success(request, _("Pattern “%(name)s” deleted.") % {"name": pattern.name})
    return redirect("dlp_admin:patterns")


# --- Terms ---------------------------------------------------------------------------------


@admin_page
@require_http_methods(["GET", "POST"])
def term_list(request: HttpRequest) -> HttpResponseBase:
    admin = staff_user(request)
    if request.method == "POST":
        term = request.POST.get("term", "")
        try:
            entry = policy.add_term(admin, term, request=request)
        except ActionError as exc:
            if exc.status in (403, 404):
                raise
            return render(request, "dlp/terms.html", {
                "tab": "dlp", "terms": policy.terms_of(admin), "term": term,
                "error": exc.message, "error_field": "term",
            }, status=400)
        messages.success(request, _("Term “%(term)s” added.") % {"term": entry.term})
        return redirect("dlp_admin:terms")
    return render(request, "dlp/terms.html", {"tab": "dlp", "terms": policy.terms_of(admin)})


@admin_page
@require_POST
def term_remove(request: HttpRequest, term_id: int) -> HttpResponseBase:
    policy.remove_term(staff_user(request), term_id, request=request)
    messages.success(request, _("Term removed."))
    return redirect("dlp_admin:terms")


# --- The allow list ------------------------------------------------------------------------


@admin_page
@require_http_methods(["GET"])
def allowed_list(request: HttpRequest) -> HttpResponseBase:
    """What the organisation marked "not sensitive": kind, who and when; never a value."""
    entries = [{"pk": e.pk, "label": kind_label(e.kind), "at": e.created_at,
                "by": e.created_by.display_name if e.created_by else "—"}
               for e in allowlist.allowed_of(staff_user(request))]
    return render(request, "dlp/allowed.html", {"tab": "dlp", "entries": entries})


@admin_page
@require_POST
def allowed_remove(request: HttpRequest, entry_id: int) -> HttpResponseBase:
    allowlist.remove_allowed(staff_user(request), entry_id, request=request)
    messages.success(request, _("The value is reported again."))
    return redirect("dlp_admin:allowed")
