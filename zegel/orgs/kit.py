"""The communication kit: texts an organisation uses to announce secure mail, filled in from its
settings (issue 11, docs/communication-kit.md).

A template is data, never code. Its only syntax is Zegel's own and tiny:

- ``{name}``: a documented placeholder (PLACEHOLDERS), replaced by the organisation's value;
- ``{if name}`` … ``{endif}``: a part kept only when the condition (CONDITIONS) holds, such as
  "the organisation allows the e-mail code"; they may nest;
- everything else is text: ``{{ … }}``, ``{% … %}`` and HTML come out exactly as typed (escaped
  in HTML). Django's template engine never sees a template.

A placeholder without a value renders as a marker in the preview, and export refuses, naming
what is missing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from zegel.audit.log import record, staff_actor
from zegel.orgs.kit_texts import BUILT_IN
from zegel.orgs.models import KitText, Organisation, User

LANGUAGES = ("nl", "en")
# The most one template may hold, in characters: the longest built-in text is a few thousand.
MAX_CHARS = 20_000

# The templates in the order the kit page lists them: key, title, purpose.
TEMPLATES: tuple[tuple[str, Any, Any], ...] = (
    ("colleagues", gettext_lazy("Announcement to colleagues"),
     gettext_lazy("What Zegel is, how to log in and set up a second step, how to send, where "
                  "to ask questions.")),
    ("clients", gettext_lazy("Announcement to clients and partners"),
     gettext_lazy("A short and an extended version: why the organisation mails securely, what "
                  "a notification looks like and the ways to open it that it allows.")),
    ("explanation", gettext_lazy("Explanation in every notification"),
     gettext_lazy("A few sentences for the organisation settings' explanation text, shown in "
                  "every notification.")),
    ("info_page", gettext_lazy("Information page for recipients"),
     gettext_lazy("How to open a message, what each code is, how to recognise a genuine "
                  "notification and whom to contact.")),
    ("news", gettext_lazy("News item"),
     gettext_lazy("A short article for the website, intranet or newsletter.")),
    ("access_code_letter", gettext_lazy("Access-code letter"),
     gettext_lazy("A letter that gives one recipient their access code.")),
    ("nta7516_letter", gettext_lazy("Letter to partner organisations about NTA 7516"),
     gettext_lazy("What the standard asks, why both sides must comply, and the organisation's "
                  "own NTA 7516 record when it publishes one.")),
)
TEMPLATE_KEYS = tuple(key for key, _title, _purpose in TEMPLATES)


@dataclass(frozen=True)
class Placeholder:
    name: str
    # What it stands for, as a missing value is named: "the procedure for changing …".
    label: Any
    # Where its value comes from, as the editor lists it.
    source: Any
    value: Callable[[Organisation], str] | None = None


def _start_date(org: Organisation) -> str:
    if org.kit_start_date is None:
        return ""
    return formats.date_format(org.kit_start_date, "j F Y")


def _methods(org: Organisation) -> str:
    names = [str(label) for _key, label in allowed_methods(org)]
    if len(names) < 2:
        return "".join(names)
    return _("%(list)s or %(last)s") % {"list": ", ".join(names[:-1]), "last": names[-1]}


PLACEHOLDERS: tuple[Placeholder, ...] = (
    Placeholder("organisation", gettext_lazy("the organisation's name"),
                gettext_lazy("Organisation settings: name"), lambda o: o.name),
    Placeholder("start_date", gettext_lazy("the start date"),
                gettext_lazy("This page: start date"), _start_date),
    Placeholder("contact_email", gettext_lazy("the contact e-mail address"),
                gettext_lazy("Organisation settings: support e-mail address"),
                lambda o: o.contact_email),
    Placeholder("contact_phone", gettext_lazy("the contact phone number"),
                gettext_lazy("Organisation settings: support phone number"),
                lambda o: o.contact_phone),
    Placeholder("web_page", gettext_lazy("the web page on recognising a genuine message"),
                gettext_lazy("Organisation settings: web page (or Zegel's page for the "
                             "organisation)"), lambda o: o.genuine_url),
    Placeholder("login_url", gettext_lazy("the log-in address"),
                gettext_lazy("Zegel's log-in page"),
                lambda o: settings.BASE_URL + reverse("sender:login")),
    Placeholder("contact_change_procedure",
                gettext_lazy("the procedure for changing contact details"),
                gettext_lazy("This page: procedure for changing contact details"),
                lambda o: o.contact_change_procedure.strip()),
    Placeholder("methods", gettext_lazy("the verification methods allowed"),
                gettext_lazy("Organisation settings: the methods allowed"), _methods),
    Placeholder("nta7516_record", gettext_lazy("the NTA 7516 record"),
                gettext_lazy("This page: NTA 7516 record"), lambda o: o.nta7516_record_url),
    Placeholder("client_name", gettext_lazy("the client's name"),
                gettext_lazy("Typed for each copy (preview and export)")),
    Placeholder("access_code", gettext_lazy("the access code"),
                gettext_lazy("Typed for each copy (preview and export)")),
)
PLACEHOLDER_NAMES = frozenset(p.name for p in PLACEHOLDERS)
# What a copy gets typed in rather than taken from the organisation.
PER_COPY = ("client_name", "access_code")

CONDITIONS: dict[str, tuple[Any, Callable[[Organisation], bool]]] = {
    "method_sms": (gettext_lazy("the organisation allows the SMS code"),
                   lambda o: any(k == "sms" for k, _l in allowed_methods(o))),
    "method_access_code": (gettext_lazy("the organisation allows the access code"),
                           lambda o: any(k == "access_code" for k, _l in allowed_methods(o))),
    "method_email_code": (gettext_lazy("the organisation allows the e-mail code"),
                          lambda o: any(k == "email" for k, _l in allowed_methods(o))),
    "nta7516": (gettext_lazy("the organisation publishes an NTA 7516 record"),
                lambda o: bool(o.nta7516_record_url)),
}


def allowed_methods(org: Organisation) -> list[tuple[str, Any]]:
    """The verification methods the organisation's senders may choose, in the order the kit
    names them (the SMS and access codes always; the e-mail code when it is allowed)."""
    methods: list[tuple[str, Any]] = [("sms", pgettext_lazy("in a sentence", "SMS code")),
                                      ("access_code", pgettext_lazy("in a sentence",
                                                                    "access code"))]
    if org.email_code_allowed:
        methods.append(("email", pgettext_lazy("in a sentence", "e-mail code")))
    return methods


class KitError(Exception):
    """A template text or an export that was refused; `message` says why, fit to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Parsing ---------------------------------------------------------------------------------

# A tag is one pair of single braces around a word (or "if word" / "endif"); doubled braces
# ({{ … }}) are never a tag, so Django's syntax stays text.
_TAG = re.compile(r"(?<!\{)\{(if [a-z0-9_]+|endif|[a-z0-9_]+)\}(?!\})")
# What looks like a tag but names nothing Zegel knows, to refuse on save.
_LOOKS_LIKE_TAG = re.compile(r"(?<!\{)\{\s*(if\s+\w+|\w+)\s*\}(?!\})", re.IGNORECASE)
_MISSING = "\x00"


def check(text: str) -> None:
    """Refuse a template text Zegel cannot render as documented: too long, an unknown
    placeholder or condition, or an {if} without its {endif}."""
    if len(text) > MAX_CHARS:
        raise KitError(_("The text is %(n)s characters long; a template may hold at most "
                         "%(max)s.") % {"n": f"{len(text):,}", "max": f"{MAX_CHARS:,}"})
    for match in _LOOKS_LIKE_TAG.finditer(text):
        inner, tag = match.group(1), match.group(0)
        words = inner.split()
        if len(words) == 2 and words[0].lower() == "if":
            if tag != "{if " + words[1] + "}" or words[1] not in CONDITIONS:
                raise KitError(_("Unknown condition %(tag)s: the conditions are %(known)s.")
                               % {"tag": tag, "known": ", ".join(sorted(CONDITIONS))})
        elif tag != "{endif}" and (tag != "{" + inner + "}" or inner not in PLACEHOLDER_NAMES):
            raise KitError(_("Unknown placeholder %(tag)s: the placeholders are %(known)s.")
                           % {"tag": tag,
                              "known": ", ".join("{" + p.name + "}" for p in PLACEHOLDERS)})
    depth = 0
    for match in _TAG.finditer(text):
        if match.group(1).startswith("if "):
            depth += 1
        elif match.group(1) == "endif":
            depth -= 1
            if depth < 0:
                raise KitError(_("{endif} without an {if} before it."))
    if depth:
        raise KitError(_("An {if} is not closed with {endif}."))


@dataclass
class Filled:
    """A template with the organisation's values in: `text` holds a \\x00name\\x00 marker
    where a value is missing (`missing`, in the order they first appear)."""

    text: str
    missing: list[str] = field(default_factory=list)


def placeholder_values(org: Organisation, language: str,
                       per_copy: dict[str, str] | None = None) -> dict[str, str]:
    """Each placeholder's value for the organisation in `language` ("" for none)."""
    per_copy = per_copy or {}
    with translation.override(language):
        values: dict[str, str] = {}
        for p in PLACEHOLDERS:
            raw = per_copy.get(p.name, "") if p.value is None else p.value(org)
            values[p.name] = str(raw).replace(_MISSING, "").strip()
    return values


def fill(text: str, org: Organisation, language: str,
         per_copy: dict[str, str] | None = None) -> Filled:
    """`text` (checked) with its conditions decided and its placeholders replaced, in
    `language`."""
    values = placeholder_values(org, language, per_copy)
    conditions = {name: decide(org) for name, (_label, decide) in CONDITIONS.items()}
    out: list[str] = []
    missing: list[str] = []
    # One entry per open {if}: whether its part is kept (and every enclosing one too).
    keep = [True]
    position = 0
    clean = text.replace(_MISSING, "")
    for match in _TAG.finditer(clean):
        if keep[-1]:
            out.append(clean[position:match.start()])
        position = match.end()
        tag = match.group(1)
        if tag.startswith("if "):
            keep.append(keep[-1] and conditions.get(tag[3:], False))
        elif tag == "endif":
            if len(keep) > 1:
                keep.pop()
        elif keep[-1]:
            value = values.get(tag, "")
            if value:
                out.append(value)
            else:
                out.append(_MISSING + tag + _MISSING)
                if tag not in missing:
                    missing.append(tag)
    if keep[-1]:
        out.append(clean[position:])
    return Filled("".join(out), missing)


def label(name: str) -> str:
    for p in PLACEHOLDERS:
        if p.name == name:
            return str(p.label)
    return name


def missing_message(missing: list[str]) -> str:
    """One sentence per missing value: "The procedure for changing contact details is not
    set."."""
    return " ".join(_("%(what)s is not set.") % {"what": capfirst(label(name))}
                    for name in missing)


# --- Structure and output --------------------------------------------------------------------

def blocks(text: str) -> list[tuple[str, list[str]]]:
    """The filled text as ("heading" | "list" | "paragraph", lines) blocks."""
    result: list[tuple[str, list[str]]] = []
    for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip()):
        lines = [line.rstrip() for line in chunk.strip("\n").split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) == 1 and lines[0].startswith("# "):
            result.append(("heading", [lines[0][2:].strip()]))
        elif all(line.startswith("- ") for line in lines):
            result.append(("list", [line[2:].strip() for line in lines]))
        else:
            result.append(("paragraph", lines))
    return result


def _html_line(line: str) -> str:
    parts = line.split(_MISSING)
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            what = html.escape(_("not set: %(what)s") % {"what": label(part)})
            out.append(f'<mark class="kit-missing">[{what}]</mark>')
        else:
            out.append(html.escape(part))
    return "".join(out)


def to_html(filled: Filled) -> str:
    """The filled text as HTML (an element per block), every character of it escaped."""
    out = []
    for kind, lines in blocks(filled.text):
        if kind == "heading":
            out.append(f"<h2>{_html_line(lines[0])}</h2>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{_html_line(x)}</li>" for x in lines) + "</ul>")
        else:
            out.append("<p>" + "<br>".join(_html_line(x) for x in lines) + "</p>")
    return "\n".join(out)


def complete(filled: Filled) -> None:
    if filled.missing:
        raise KitError(_("Cannot export: %(missing)s")
                       % {"missing": missing_message(filled.missing)})


def export_text(filled: Filled) -> str:
    complete(filled)
    return filled.text.strip() + "\n"


def export_html(filled: Filled, *, title: str, language: str) -> str:
    complete(filled)
    return ("<!DOCTYPE html>\n"
            f'<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
            f"{to_html(filled)}\n</body>\n</html>\n")


# --- Stored texts ----------------------------------------------------------------------------

def _check_key(template: str, language: str) -> None:
    if template not in TEMPLATE_KEYS:
        raise KitError(_("No template %(name)r.") % {"name": template})
    if language not in LANGUAGES:
        raise KitError(_("Templates are in %(langs)s, not %(lang)r.")
                       % {"langs": ", ".join(LANGUAGES), "lang": language})


def built_in(template: str, language: str) -> str:
    _check_key(template, language)
    return BUILT_IN[template][language]


def current(org: Organisation, template: str, language: str) -> tuple[str, bool]:
    """The organisation's text of the template, and whether it is its own (not built in)."""
    _check_key(template, language)
    row = KitText.objects.filter(organisation=org, template=template, language=language).first()
    return (row.text, True) if row else (BUILT_IN[template][language], False)


def save_text(org: Organisation, template: str, language: str, text: str, *,
              actor: User) -> None:
    """Store the organisation's own text (checked first), audited without the text."""
    _check_key(template, language)
    text = text.replace("\r\n", "\n")
    check(text)
    if not text.strip():
        raise KitError(_("The text is empty: write one, or reset the template to the built-in "
                         "text."))
    with transaction.atomic():
        KitText.objects.update_or_create(
            organisation=org, template=template, language=language,
            defaults={"text": text, "updated_at": timezone.now(), "updated_by": actor})
        record("org.kit_text_saved", organisation=org, **staff_actor(actor),
               object_type="kit_template", object_id=f"{template}.{language}",
               data={"template": template, "language": language, "characters": len(text)})


def reset_text(org: Organisation, template: str, language: str, *, actor: User) -> bool:
    """Back to the built-in text; False when it already was."""
    _check_key(template, language)
    with transaction.atomic():
        deleted, _rows = KitText.objects.filter(organisation=org, template=template,
                                                language=language).delete()
        if deleted:
            record("org.kit_text_reset", organisation=org, **staff_actor(actor),
                   object_type="kit_template", object_id=f"{template}.{language}",
                   data={"template": template, "language": language})
    return bool(deleted)


KIT_FIELDS = ("kit_start_date", "contact_change_procedure", "nta7516_record_url")
MAX_PROCEDURE_CHARS = 2000


def update_details(org: Organisation, *, actor: User, start_date: Any,
                   procedure: str, nta7516_record_url: str) -> list[str]:
    """Set the kit's own organisation details; the audit event names the fields changed."""
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    procedure = procedure.replace("\r\n", "\n").strip()
    if len(procedure) > MAX_PROCEDURE_CHARS:
        raise KitError(_("The procedure may be at most %(max)s characters long.")
                       % {"max": f"{MAX_PROCEDURE_CHARS:,}"})
    url = nta7516_record_url.strip()
    if url:
        try:
            URLValidator(schemes=["https", "http"])(url)
        except ValidationError:
            raise KitError(_("Enter the NTA 7516 record as a web address "
                             "(https://…).")) from None
        if len(url) > 200:
            raise KitError(_("The web address may be at most 200 characters long."))
    new = {"kit_start_date": start_date, "contact_change_procedure": procedure,
           "nta7516_record_url": url}
    with transaction.atomic():
        row = Organisation.objects.select_for_update().get(pk=org.pk)
        changed = sorted(name for name, value in new.items() if getattr(row, name) != value)
        for name in changed:
            setattr(row, name, new[name])
        if changed:
            row.save(update_fields=changed)
            record("org.kit_details_updated", organisation=row, **staff_actor(actor),
                   object_type="organisation", object_id=row.pk, data={"fields": changed})
    for name in changed:
        setattr(org, name, new[name])
    return changed
