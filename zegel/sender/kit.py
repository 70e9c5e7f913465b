"""The communication kit's pages for the organisation's admins: the list of templates with the
organisation details only the kit uses, and per template and language an editor with the
placeholders beside it, a preview, reset and export (zegel.orgs.kit does the work).

Like the settings page, the pages edit only the admin's own organisation (no id in the address)
and need MANAGE_SETTINGS.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from zegel.core.pdf import Document
from zegel.orgs import kit
from zegel.orgs.access import staff_user
from zegel.orgs.actions import Refused, update_organisation
from zegel.orgs.models import KitText, Organisation
from zegel.sender.org_settings import _refused, may_change_settings

_TITLES = {key: title for key, title, _purpose in kit.TEMPLATES}
_PER_COPY_MAX = 200
_EXPORTS = {"export_html": "html", "export_text": "txt", "export_pdf": "pdf"}


def _overview(request: HttpRequest, org: Organisation, values: dict[str, str],
              error: str = "", error_field: str = "") -> HttpResponse:
    own = set(KitText.objects.filter(organisation=org).values_list("template", "language"))
    rows = [{"key": key, "title": title, "purpose": purpose,
             "languages": [(lang, (key, lang) in own) for lang in kit.LANGUAGES]}
            for key, title, purpose in kit.TEMPLATES]
    return render(request, "settings/kit.html", {
        "tab": "kit", "org": org, "rows": rows, "v": values, "error": error,
        "error_field": error_field, "max_procedure": kit.MAX_PROCEDURE_CHARS,
    }, status=400 if error else 200)


def _details(org: Organisation) -> dict[str, str]:
    return {"start_date": org.kit_start_date.isoformat() if org.kit_start_date else "",
            "procedure": org.contact_change_procedure,
            "nta7516_record_url": org.nta7516_record_url}


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def kit_overview(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if not may_change_settings(user):
        return _refused(request)
    org = user.organisation
    if request.method == "GET":
        return _overview(request, org, _details(org))
    typed = {name: request.POST.get(name, "") for name in _details(org)}
    text = typed["start_date"].strip()
    start: date | None = None
    if text:
        try:
            start = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            start = None
        if start is None:
            return _overview(request, org, typed,
                             _("Enter the start date as a date, such as 2027-03-01."),
                             "start_date")
    try:
        kit.update_details(org, actor=user, start_date=start, procedure=typed["procedure"],
                           nta7516_record_url=typed["nta7516_record_url"])
    except kit.KitError as exc:
        field = "procedure" if "procedure" in exc.message else "nta7516_record_url"
        return _overview(request, org, typed, exc.message, field)
    messages.success(request, _("The communication kit's details were saved."))
    return redirect("sender:kit")


def _editor(request: HttpRequest, org: Organisation, template: str, language: str,
            text: str, per_copy: dict[str, str], *, own: bool, error: str = "",
            status: int = 200) -> HttpResponse:
    preview = ""
    missing: list[str] = []
    try:
        kit.check(text)
        filled = kit.fill(text, org, language, per_copy)
        preview, missing = kit.to_html(filled), filled.missing
    except kit.KitError:
        pass
    values = kit.placeholder_values(org, language, per_copy)
    with_values = [{"name": "{" + p.name + "}", "source": p.source, "value": values[p.name]}
                   for p in kit.PLACEHOLDERS]
    return render(request, "settings/kit_edit.html", {
        "tab": "kit", "org": org, "template": template, "language": language,
        "title": _TITLES[template], "text": text, "own": own, "per_copy": per_copy,
        "placeholders": with_values,
        "conditions": [("{if " + name + "}", label)
                       for name, (label, _d) in kit.CONDITIONS.items()],
        "preview": preview, "missing": [kit.label(m) for m in missing],
        "error": error, "max_chars": kit.MAX_CHARS,
        "other_language": "en" if language == "nl" else "nl",
    }, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def kit_edit(request: HttpRequest, template: str, language: str) -> HttpResponse:
    user = staff_user(request)
    if not may_change_settings(user):
        return _refused(request)
    if template not in kit.TEMPLATE_KEYS or language not in kit.LANGUAGES:
        raise Http404
    org = user.organisation
    if request.method == "GET":
        text, own = kit.current(org, template, language)
        return _editor(request, org, template, language, text, {}, own=own)
    action = request.POST.get("action", "preview")
    text = request.POST.get("text", "").replace("\r\n", "\n")
    per_copy = {name: request.POST.get(name, "").strip()[:_PER_COPY_MAX]
                for name in kit.PER_COPY}
    _stored, own = kit.current(org, template, language)
    if action == "reset":
        kit.reset_text(org, template, language, actor=user)
        messages.success(request, _("The template is back to Zegel's built-in text."))
        return redirect("sender:kit_edit", template=template, language=language)
    if action not in ("preview", "save", "use_as_explanation", *_EXPORTS) or (
            action == "use_as_explanation" and template != "explanation"):
        return _editor(request, org, template, language, text, per_copy, own=own,
                       error=_("Unknown action: choose preview, save, reset or export."),
                       status=400)
    try:
        kit.check(text)
        if action == "save":
            kit.save_text(org, template, language, text, actor=user)
            messages.success(request, _("The template was saved."))
            return redirect("sender:kit_edit", template=template, language=language)
        if action in _EXPORTS:
            return _export(org, template, language, text, per_copy, _EXPORTS[action])
        if action == "use_as_explanation":
            filled = kit.export_text(kit.fill(text, org, language, per_copy)).strip()
            update_organisation(org.domain, actor=user, **{f"explanation_{language}": filled})
            messages.success(request, _("Every notification now carries this explanation."))
            return redirect("sender:kit_edit", template=template, language=language)
    except (kit.KitError, Refused) as exc:
        return _editor(request, org, template, language, text, per_copy, own=own,
                       error=exc.message, status=400)
    return _editor(request, org, template, language, text, per_copy, own=own)


def _export(org: Organisation, template: str, language: str, text: str,
            per_copy: dict[str, str], kind: str) -> HttpResponse:
    filled = kit.fill(text, org, language, per_copy)
    with_language = f"{template}-{language}"
    title = f"{org.name}: {_TITLES[template]}"
    body: Any
    if kind == "html":
        body, content_type = kit.export_html(filled, title=title, language=language), \
            "text/html; charset=utf-8"
    elif kind == "txt":
        body, content_type = kit.export_text(filled), "text/plain; charset=utf-8"
    else:
        body, content_type = export_pdf(filled, title=title, org=org, language=language), \
            "application/pdf"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="zegel-{with_language}.{kind}"'
    return response


def export_pdf(filled: kit.Filled, *, title: str, org: Organisation, language: str) -> bytes:
    kit.complete(filled)
    doc = Document(title=title, author=org.name, footer=org.name)
    doc.set_lang(language)
    for kind, lines in kit.blocks(filled.text):
        if kind == "heading":
            doc.heading(lines[0], size=13)
        elif kind == "list":
            for line in lines:
                doc.paragraph("\u2022 " + line)
        else:
            doc.paragraph("\n".join(lines))
    return doc.output_bytes()
