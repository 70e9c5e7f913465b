"""Contacts in and out as CSV: reading an uploaded file (encoding, header, limits), the dry run
that says per line what an import would do, and the export.

The format is in docs/directory.md ("CSV import and export"). In short: UTF-8 with or without a
byte order mark; a file that is not UTF-8 is read as Windows-1252 (what Excel on Windows saves
as "CSV"), and the dry run says so; comma, semicolon or tab between cells; a first line naming
the columns. Access codes are never in a CSV file, in or out: a spreadsheet gets copied and
kept. The export puts an apostrophe before a cell that a spreadsheet would run as a formula,
and the import takes that apostrophe off again.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from zegel.directory.access import DirectoryError, DirectoryErrors
from zegel.directory.fields import (
    CleanContact,
    ContactFields,
    audit_fields,
    clean_contact,
    current_fields,
    method_refusal,
)
from zegel.directory.models import Contact

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000
COLUMNS = ("email", "name", "phone", "external_id", "preferred_method", "access_code_hint",
           "shared_code")
# Written by the export, ignored by the import (so an export can be imported again).
READ_ONLY_COLUMNS = ("has_access_code",)
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
ERROR = "error"


def _refuse(message: str) -> DirectoryError:
    return DirectoryError(message, field="file")


@dataclass(frozen=True)
class ParsedFile:
    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, cells by column)
    notice: str  # said to the admin with the dry run, e.g. how the file was decoded
    digest: str  # sha256 of the file's bytes: the apply must be of the same file


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and a notice ("" when it was UTF-8)."""
    if not data.strip():
        raise _refuse(_("The file is empty."))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _refuse(_("The file is saved as UTF-16 (\"Unicode text\"). Save it as \"CSV UTF-8\" "
                        "and upload it again."))
    if b"\x00" in data:
        raise _refuse(_("The file contains NUL bytes: it is not a CSV text file. Save it as "
                        "\"CSV UTF-8\" and upload it again."))
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise _refuse(_("The file is neither UTF-8 nor Windows-1252 text. Save it as \"CSV "
                        "UTF-8\" and upload it again.")) from None
    return text, _("The file is not UTF-8: it was read as Windows-1252 (Western European, "
                   "what Excel on Windows saves as \"CSV\"). Check that names with accents "
                   "look right below before you import, or save the file as \"CSV UTF-8\".")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unescape(cell: str) -> str:
    """Take off the apostrophe the export put before a formula-like cell."""
    if cell.startswith("'") and cell[1:2] and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell


def _header(cells: list[str]) -> tuple[str, ...]:
    names = tuple(c.strip().lower().replace(" ", "_") for c in cells)
    if "access_code" in names:
        raise _refuse(_("The file has an access_code column. Access codes are not imported "
                        "from CSV files, because spreadsheets get copied and kept: set a "
                        "contact's code on its page, give contacts a shared access code, or use "
                        "the contact-sync API. Remove the column and upload the file again."))
    if "email" not in names:
        if any("@" in c for c in cells):
            raise _refuse(_("The first line must name the columns (at least email), but it "
                            "looks like a contact. Add a line such as \"email,name,phone\" at "
                            "the top."))
        raise _refuse(_("The first line must name the columns, with at least an email "
                        "column. Known columns: %(columns)s.")
                      % {"columns": ", ".join(COLUMNS)})
    unknown = [n for n in names if n not in COLUMNS and n not in READ_ONLY_COLUMNS]
    if unknown:
        raise _refuse(_("Unknown columns: %(unknown)s. Known columns: %(columns)s.")
                      % {"unknown": ", ".join(n[:40] or '""' for n in unknown[:5]),
                         "columns": ", ".join(COLUMNS)})
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _refuse(_("These columns are named twice: %(columns)s.")
                      % {"columns": ", ".join(twice)})
    return names


def read_csv(data: bytes) -> ParsedFile:
    """An uploaded file's header and rows, or a DirectoryError (field "file") saying what is
    wrong with the file as a whole."""
    if len(data) > MAX_BYTES:
        raise _refuse(_("The file is larger than %(mb)d MB; split it into smaller files.")
                      % {"mb": MAX_BYTES // (1024 * 1024)})
    digest = hashlib.sha256(data).hexdigest()
    text, notice = decode(data)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line),
                        strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    columns: tuple[str, ...] = ()
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not columns:
                columns = _header(cells)
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise _refuse(_("The file has more than %(n)d contacts; split it into smaller "
                                "files.") % {"n": MAX_ROWS})
            if len(cells) > len(columns):
                rows.append((start, {"": _("This line has %(cells)d cells, but the first line "
                                           "names %(columns)d columns.")
                                     % {"cells": len(cells), "columns": len(columns)}}))
                continue
            padded = [*cells, *[""] * (len(columns) - len(cells))]
            rows.append((start, {name: _unescape(value)
                                 for name, value in zip(columns, padded, strict=True)}))
    except csv.Error:
        raise _refuse(_("Line %(line)d is not valid CSV (a quote that is not closed?).")
                      % {"line": line}) from None
    if not columns:
        raise _refuse(_("The file is empty."))
    if not rows:
        raise _refuse(_("The file has the column names but no contacts."))
    return ParsedFile(columns=columns, rows=rows, notice=notice, digest=digest)


@dataclass
class PlannedRow:
    line: int
    status: str
    email: str
    name: str = ""
    external_id: str = ""
    changes: list[str] = field(default_factory=list)  # the audit log's field names
    errors: list[str] = field(default_factory=list)
    clean: CleanContact | None = None
    contact: Contact | None = None  # the contact the line changes, as the plan read it


def _existing(organisation_id: int, emails: set[str],
              external_ids: set[str]) -> tuple[dict[str, Contact], dict[str, Contact]]:
    by_email: dict[str, Contact] = {}
    by_external_id: dict[str, Contact] = {}
    base = Contact.objects.filter(organisation_id=organisation_id).select_related("shared_code")
    for values, key in ((sorted(emails), "email"), (sorted(external_ids), "external_id")):
        for start in range(0, len(values), 500):  # within SQLite's limit of query parameters
            for contact in base.filter(**{f"{key}__in": values[start:start + 500]}):
                by_email[contact.email] = contact
                if contact.external_id:
                    by_external_id[contact.external_id] = contact
    return by_email, by_external_id


def plan(organisation_id: int, parsed: ParsedFile) -> list[PlannedRow]:
    """The dry run: per line, whether it adds a contact, changes one (and which fields), leaves
    one as it is, or has errors (and which). Columns the file does not have keep the contact's
    current values; an empty external_id cell keeps the contact's external id."""
    has_external_id = "external_id" in parsed.columns
    emails = {cells.get("email", "").strip().lower() for _line, cells in parsed.rows}
    external_ids = {cells.get("external_id", "").strip() for _line, cells in parsed.rows}
    by_email, by_external_id = _existing(organisation_id, emails - {""}, external_ids - {""})
    seen_email: dict[str, int] = {}
    seen_external_id: dict[str, int] = {}
    seen_contact: dict[uuid.UUID, int] = {}
    planned = []
    for line, cells in parsed.rows:
        row = PlannedRow(line=line, status=ERROR, email=cells.get("email", "").strip()[:254],
                         name=cells.get("name", "").strip()[:200],
                         external_id=cells.get("external_id", "").strip()[:200])
        planned.append(row)
        if "" in cells:  # the line has more cells than the header
            row.errors.append(cells[""])
            continue
        email, external_id = row.email.lower(), row.external_id
        if email and email in seen_email:
            row.errors.append(_("The e-mail address is on line %(line)d already.")
                              % {"line": seen_email[email]})
        if external_id and external_id in seen_external_id:
            row.errors.append(_("The external id is on line %(line)d already.")
                              % {"line": seen_external_id[external_id]})
        if email:
            seen_email.setdefault(email, line)
        if external_id:
            seen_external_id.setdefault(external_id, line)
        contact = by_external_id.get(external_id) if external_id else None
        if contact is None:
            contact = by_email.get(email)
            if contact is not None and external_id and contact.external_id:
                row.errors.append(_("%(email)s is already in the directory with the external id "
                                    "%(id)s.") % {"email": email, "id": contact.external_id})
                contact = None
        elif email and by_email.get(email) not in (None, contact):
            row.errors.append(_("%(email)s is already another contact's address.")
                              % {"email": email})
        if contact is not None:
            if contact.pk in seen_contact:
                row.errors.append(_("Line %(line)d is about the same contact already.")
                                  % {"line": seen_contact[contact.pk]})
            seen_contact.setdefault(contact.pk, line)
        now = current_fields(contact) if contact is not None else {}
        given = {name: (cells.get(name, "") if name in parsed.columns else now.get(name, ""))
                 for name in ("email", "name", "phone", "preferred_method",
                              "access_code_hint", "shared_code")}
        given["external_id"] = (external_id if has_external_id and external_id
                                else now.get("external_id", ""))
        try:
            clean = clean_contact(organisation_id, ContactFields(**given))
        except DirectoryErrors as exc:
            row.errors.extend(message for _field, message in exc.errors)
            continue
        has_code = bool(contact and contact.access_code_hash) or clean.shared_code_id is not None
        refusal = method_refusal(clean.preferred_method, clean.phone, has_code)
        if refusal:
            row.errors.append(refusal)
        if row.errors:
            continue
        row.clean = clean
        if contact is None:
            row.status = NEW
            continue
        row.contact = contact
        row.changes = audit_fields([name for name, value in clean.values().items()
                                    if getattr(contact, name) != value])
        row.status = CHANGED if row.changes else UNCHANGED
    return planned


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP's CSV injection
    advice): an apostrophe before anything starting with = + - @, a tab or a carriage return."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def export_lines(contacts: Iterable[Contact]) -> Iterator[str]:
    """The contacts as CSV lines (UTF-8 with a byte order mark, so Excel reads it right),
    without any access code: whether a contact has one, and its hint."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(cells: list[str]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([safe_cell(c) for c in cells])
        return out.getvalue()

    yield "\ufeff" + line([*COLUMNS, *READ_ONLY_COLUMNS])
    for contact in contacts:
        yield line([contact.email, contact.name, contact.phone, contact.external_id,
                    contact.preferred_method, contact.access_code_hint,
                    contact.shared_code.name if contact.shared_code else "",
                    "yes" if contact.has_access_code else "no"])
