"""The admin pages of the recipient directory (menu: "Contacts"), for users whose role may
manage contacts: the list with search and pages, a contact's form, shared access codes, CSV
import with a dry run, and the CSV export.

Every change is an action of zegel.directory.actions, which checks the role again and keeps to
the admin's own organisation (another organisation's contact is a 404). A code, once set, is
never shown again; its hint is.

The import is two steps with the same bytes: the upload is read into memory (never written to
disk) and only planned, and the dry-run page carries the file back in its form, signed with a
digest of the bytes, the admin's id and the time. "Import" applies exactly that file, for 30
minutes; anything else is refused.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zegel.audit.log import record, staff_actor
from zegel.directory import actions, importing, letters
from zegel.directory.access import (
    DirectoryError,
    DirectoryErrors,
    contact_of,
    contacts_of,
    shared_code_of,
    shared_codes_of,
)
from zegel.directory.fields import ContactFields, current_fields
from zegel.directory.models import Contact, Language, Method
from zegel.files.uploads import accepts_small_file, upload_refused
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user

MANAGE = roles.Permission.MANAGE_CONTACTS
PAGE_SIZE = 50
APPLY_SALT = "zegel.directory.import"
APPLY_MAX_AGE = 30 * 60
_CONTACT_FIELDS = ("email", "name", "phone", "external_id", "access_code", "access_code_hint",
                   "preferred_method", "shared_code", "language")


def _error_page(request: HttpRequest, exc: DirectoryError) -> HttpResponse:
    title = {403: _("Not allowed"), 404: _("Not found")}.get(exc.status, _("Not done"))
    return render(request, "error.html", {"title": title, "message": exc.message},
                  status=exc.status)


def _errors(exc: DirectoryError) -> dict[str, str]:
    return exc.by_field() if isinstance(exc, DirectoryErrors) else {exc.field or "": exc.message}


def _methods() -> list[tuple[str, str]]:
    return [("", _("The most secure one the contact has")),
            *((value, str(label)) for value, label in Method.choices)]


# --- The list


def _page_number(request: HttpRequest) -> int | None:
    raw = request.GET.get("page", "1").strip()
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 6 and int(raw) >= 1 else None


@login_required
@never_cache
@role_required(MANAGE)
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    contacts = contacts_of(staff_user(request), query)
    number = _page_number(request)
    if number is None:
        return render(request, "error.html", {
            "title": _("Not found"), "message": _("The page number must be a whole number, 1 "
                                                  "or more.")}, status=400)
    total = contacts.count()
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    start = (number - 1) * PAGE_SIZE

    def link(page: int) -> str:
        params = {k: v for k, v in (("q", query), ("page", str(page) if page > 1 else "")) if v}
        return request.path + ("?" + urlencode(params) if params else "")

    return render(request, "directory/contacts.html", {
        "tab": "contacts", "query": query, "contacts": contacts[start:start + PAGE_SIZE],
        "total": total, "page": number, "pages": pages,
        "previous_link": link(number - 1) if number > 1 else "",
        "next_link": link(number + 1) if number < pages else "",
    })


# --- One contact


def _contact_page(request: HttpRequest, *, contact: Contact | None, values: dict[str, Any],
                  exc: DirectoryError | None = None) -> HttpResponse:
    admin = staff_user(request)
    return render(request, "directory/contact.html", {
        "tab": "contacts", "contact": contact, "v": values,
        "errors": _errors(exc) if exc else {},
        "methods": _methods(), "shared_codes": list(shared_codes_of(admin)),
        "languages": Language.choices,
    }, status=exc.status if exc else 200)


def _posted_contact(request: HttpRequest) -> tuple[dict[str, Any], ContactFields]:
    typed: dict[str, Any] = {name: request.POST.get(name, "") for name in _CONTACT_FIELDS}
    typed["remove_code"] = request.POST.get("remove_code") == "on"
    code: str | None = typed["access_code"] or None
    if typed["remove_code"]:
        code = ""
    fields = ContactFields(email=typed["email"], name=typed["name"], phone=typed["phone"],
                           external_id=typed["external_id"].strip(), access_code=code,
                           access_code_hint=typed["access_code_hint"],
                           preferred_method=typed["preferred_method"],
                           shared_code=typed["shared_code"],
                           language=typed["language"] or None)
    typed["access_code"] = ""  # a code is never put back in a page
    return typed, fields


@login_required
@never_cache
@role_required(MANAGE)
@require_http_methods(["GET", "POST"])
def contact_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _contact_page(request, contact=None, values={})
    typed, fields = _posted_contact(request)
    try:
        contact = actions.save_contact(staff_user(request), fields, request=request)
    except DirectoryError as exc:
        if exc.status in (403, 404):
            return _error_page(request, exc)
        return _contact_page(request, contact=None, values=typed, exc=exc)
    messages.success(request, _("%(contact)s was added to the directory.")
                     % {"contact": contact.label})
    return redirect("directory:contacts")


@login_required
@never_cache
@role_required(MANAGE)
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, contact_id: str) -> HttpResponse:
    try:
        contact = contact_of(staff_user(request), contact_id)
    except DirectoryError as exc:
        return _error_page(request, exc)
    if request.method == "GET":
        return _contact_page(request, contact=contact, values=current_fields(contact))
    typed, fields = _posted_contact(request)
    try:
        saved = actions.save_contact(staff_user(request), fields, contact_id=contact.pk,
                                     request=request)
    except DirectoryError as exc:
        if exc.status in (403, 404):
            return _error_page(request, exc)
        return _contact_page(request, contact=contact, values=typed, exc=exc)
    messages.success(request, _("The changes to %(contact)s were saved.")
                     % {"contact": saved.label})
    return redirect("directory:contacts")


@login_required
@role_required(MANAGE)
@require_POST
def contact_delete(request: HttpRequest, contact_id: str) -> HttpResponse:
    try:
        contact = contact_of(staff_user(request), contact_id)
        if request.POST.get("confirm") != "yes":
            messages.error(request, _("Tick the box to confirm that the contact may be "
                                      "deleted."))
            return redirect("directory:contact", contact_id=contact.pk)
        actions.delete_contact(staff_user(request), contact.pk, request=request)
    except DirectoryError as exc:
        return _error_page(request, exc)
    messages.success(request, _("%(contact)s was deleted from the directory. Messages sent "
                                "to them are not affected.") % {"contact": contact.label})
    return redirect("directory:contacts")


# --- Shared access codes


def _shared_list_page(request: HttpRequest, values: dict[str, Any],
                      exc: DirectoryError | None = None) -> HttpResponse:
    codes = shared_codes_of(staff_user(request)).annotate(users=Count("contacts"))
    return render(request, "directory/shared_codes.html", {
        "tab": "contacts", "codes": codes, "v": values, "errors": _errors(exc) if exc else {},
    }, status=exc.status if exc else 200)


@login_required
@never_cache
@role_required(MANAGE)
@require_http_methods(["GET", "POST"])
def shared_code_list(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _shared_list_page(request, {})
    typed = {"name": request.POST.get("name", ""), "hint": request.POST.get("hint", "")}
    try:
        shared = actions.save_shared_code(staff_user(request), name=typed["name"],
                                          code=request.POST.get("code", ""),
                                          hint=typed["hint"], request=request)
    except DirectoryError as exc:
        if exc.status in (403, 404):
            return _error_page(request, exc)
        return _shared_list_page(request, typed, exc)
    messages.success(request, _("The shared access code “%(name)s” was saved. It "
                                "is not shown again: give it to the partner organisation now, "
                                "the way you agreed.") % {"name": shared.name})
    return redirect("directory:shared_codes")


@login_required
@never_cache
@role_required(MANAGE)
@require_http_methods(["GET", "POST"])
def shared_code_edit(request: HttpRequest, shared_id: str) -> HttpResponse:
    admin = staff_user(request)
    try:
        shared = shared_code_of(admin, shared_id)
    except DirectoryError as exc:
        return _error_page(request, exc)
    values = {"name": shared.name, "hint": shared.hint}
    exc_shown: DirectoryError | None = None
    if request.method == "POST":
        values = {"name": request.POST.get("name", ""), "hint": request.POST.get("hint", "")}
        try:
            actions.save_shared_code(admin, shared_id=shared.pk, name=values["name"],
                                     code=request.POST.get("code", "") or None,
                                     hint=values["hint"], request=request)
        except DirectoryError as exc:
            if exc.status in (403, 404):
                return _error_page(request, exc)
            exc_shown = exc
        else:
            messages.success(request, _("The shared access code was saved."))
            return redirect("directory:shared_codes")
    return render(request, "directory/shared_code.html", {
        "tab": "contacts", "shared": shared, "v": values,
        "errors": _errors(exc_shown) if exc_shown else {},
        "users": list(shared.contacts.order_by("name", "email")[:200]),
    }, status=exc_shown.status if exc_shown else 200)


@login_required
@role_required(MANAGE)
@require_POST
def shared_code_delete(request: HttpRequest, shared_id: str) -> HttpResponse:
    try:
        shared = shared_code_of(staff_user(request), shared_id)
        if request.POST.get("confirm") != "yes":
            messages.error(request, _("Tick the box to confirm that the shared access code may "
                                      "be deleted."))
            return redirect("directory:shared_code", shared_id=shared.pk)
        users = actions.delete_shared_code(staff_user(request), shared.pk, request=request)
    except DirectoryError as exc:
        return _error_page(request, exc)
    messages.success(request, ngettext(
        "The shared access code was deleted; %(n)d contact no longer has it.",
        "The shared access code was deleted; %(n)d contacts no longer have it.", users)
        % {"n": users})
    return redirect("directory:shared_codes")


# --- CSV import and export


def _may_import(request: HttpRequest, view_kwargs: dict[str, Any]) -> int | None:
    """The organisation a CSV upload is for; None (the file is not read) for anyone else."""
    if not request.user.is_authenticated:
        return None
    user = staff_user(request)
    return user.organisation_id if roles.allows(user, MANAGE) else None


def _import_page(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "directory/import.html", {
        "tab": "contacts", "error": error, "columns": importing.COLUMNS,
        "max_rows": importing.MAX_ROWS, "max_mb": importing.MAX_BYTES // (1024 * 1024),
    }, status=status)


@login_required
@never_cache
@role_required(MANAGE)
@require_http_methods(["GET", "POST"])
@accepts_small_file(_may_import, importing.MAX_BYTES)
def import_contacts(request: HttpRequest) -> HttpResponse:
    """The upload and its dry run: nothing is written here."""
    if request.method == "GET":
        return _import_page(request)
    if upload_refused(request) or getattr(request, "upload_too_many_files", False):
        return _import_page(request, _("The file is larger than %(mb)d MB; split it into "
                                       "smaller files.")
                            % {"mb": importing.MAX_BYTES // (1024 * 1024)}, 400)
    upload = request.FILES.get("file")
    if upload is None:
        return _import_page(request, _("Choose a CSV file."), 400)
    data = upload.read()
    admin = staff_user(request)
    try:
        parsed = importing.read_csv(data)
    except DirectoryError as exc:
        return _import_page(request, exc.message, 400)
    plan = importing.plan(admin.organisation_id, parsed)
    counts = {status: sum(1 for row in plan if row.status == status)
              for status in (importing.NEW, importing.CHANGED, importing.UNCHANGED,
                             importing.ERROR)}
    return render(request, "directory/import_plan.html", {
        "tab": "contacts", "plan": plan, "counts": counts, "notice": parsed.notice,
        "file_name": (upload.name or "")[:200],
        "payload": base64.b64encode(data).decode("ascii") if not counts[importing.ERROR]
        else "",
        "signature": signing.dumps({"sha256": parsed.digest, "user": admin.pk},
                                   salt=APPLY_SALT),
    })


@login_required
@never_cache
@role_required(MANAGE)
@require_POST
def import_apply(request: HttpRequest) -> HttpResponse:
    """Apply the file of a dry run: the same bytes, by the same admin, within 30 minutes."""
    admin = staff_user(request)
    try:
        signed = signing.loads(request.POST.get("signature", ""), salt=APPLY_SALT,
                               max_age=APPLY_MAX_AGE)
        data = base64.b64decode(request.POST.get("payload", ""), validate=True)
    except (signing.BadSignature, binascii.Error, ValueError):
        return _import_page(request, _("This import's dry run is too old or was changed. Upload "
                                       "the file again to see what it would change."), 400)
    try:
        parsed = importing.read_csv(data)
        if signed.get("user") != admin.pk or signed.get("sha256") != parsed.digest:
            raise DirectoryError(_("This import's dry run is too old or was changed. Upload "
                                   "the file again to see what it would change."), field="file")
        summary = actions.apply_import(admin, parsed, request=request)
    except DirectoryError as exc:
        if exc.status == 403:
            return _error_page(request, exc)
        return _import_page(request, exc.message, 400)
    messages.success(request, _("The import is done: %(created)d added, %(changed)d changed, "
                                "%(unchanged)d unchanged.")
                     % {"created": summary.created, "changed": summary.changed,
                        "unchanged": summary.unchanged})
    return redirect("directory:contacts")


@login_required
@never_cache
@role_required(MANAGE)
@require_GET
def export_contacts(request: HttpRequest) -> StreamingHttpResponse:
    admin = staff_user(request)
    contacts = contacts_of(admin)
    record("contacts.exported", organisation=admin.organisation, **staff_actor(admin),
           object_type="directory", object_id=admin.organisation_id, request=request,
           data={"contacts": contacts.count()})
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in importing.export_lines(contacts.iterator(2000))),
        content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
    return response


# --- Access-code letters

LETTER_LIST = 200  # contacts one letters page lists (search narrows it)


def _letters_page(request: HttpRequest, *, query: str, chosen: set[str],
                  exc: DirectoryError | None = None) -> HttpResponse:
    admin = staff_user(request)
    contacts = contacts_of(admin, query)
    return render(request, "directory/letters.html", {
        "tab": "contacts", "query": query, "contacts": contacts[:LETTER_LIST],
        "more": contacts.count() > LETTER_LIST, "chosen": chosen,
        "codes": shared_codes_of(admin).annotate(users=Count("contacts")),
        "max_letters": letters.MAX_LETTERS, "error": exc.message if exc else "",
    }, status=exc.status if exc else 200)


@login_required
@never_cache
@role_required(MANAGE)
@require_http_methods(["GET", "POST"])
def access_code_letters(request: HttpRequest) -> HttpResponse:
    """Choose contacts and shared codes; the POST answers with the PDF of their letters."""
    query = (request.GET.get("q", "") if request.method == "GET"
             else request.POST.get("q", "")).strip()[:200]
    if request.method == "GET":
        return _letters_page(request, query=query, chosen=set())
    contact_ids = request.POST.getlist("contact")
    shared_ids = request.POST.getlist("shared")
    admin = staff_user(request)
    try:
        made = letters.generate_letters(admin, contact_ids=contact_ids, shared_ids=shared_ids,
                                        confirmed=request.POST.get("confirm") == "yes",
                                        request=request)
    except DirectoryError as exc:
        if exc.status in (403, 404):
            return _error_page(request, exc)
        return _letters_page(request, query=query, chosen=set(contact_ids) | set(shared_ids),
                             exc=exc)
    response = HttpResponse(letters.letters_pdf(admin.organisation, made),
                            content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="access-code-letters.pdf"'
    response["Cache-Control"] = "no-store"
    return response
