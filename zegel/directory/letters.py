"""Access-code letters: one PDF, one letter per page, ready for the post, each carrying a new
access code for a contact (or for everyone on a shared access code), in the contact's language
(docs/communication-kit.md).

A code is stored only as its Argon2id hash, so a code that exists already cannot be printed:
every letter carries a NEW code, and making the letters replaces the old codes (the admin
confirms that). The PDF is the only place the codes ever appear; the audit event names who made
the letters and for which contacts and shared codes (ids), never a code.

The words of the letter are Zegel's built-in text (builtin_letter_text), in Dutch and English;
the communication kit's editable template 6 is meant to replace that one function.

Concurrency: the codes are hashed before the transaction (Argon2 is slow on purpose); inside it
the organisation's directory lock is taken (zegel.directory.actions), so two batches for the
same contact take turns and the later one's code is the one that stays valid.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from zegel.audit.log import record, staff_actor
from zegel.core.pdf import FAMILY, Document
from zegel.directory.access import DirectoryError, manager
from zegel.directory.actions import _lock_directory
from zegel.directory.codes import generate_code
from zegel.directory.models import Contact, Language, SharedCode
from zegel.directory.validation import hash_access_code
from zegel.orgs.models import Organisation

# Contacts plus shared codes in one batch: each needs a new code hashed with Argon2id, which
# is slow on purpose (about half a second each on a busy two-core machine), inside one request.
MAX_LETTERS = 100


@dataclass(frozen=True)
class Letter:
    name: str  # whom the letter greets: the contact's name, or the shared code's name
    language: str  # "nl" or "en"
    code: str
    shared: bool  # a code several people at one organisation share


def _ids(values: list[str], not_found: str) -> list[str]:
    found: list[str] = []
    for value in values:
        try:
            pk = str(uuid.UUID(str(value).strip()))
        except (TypeError, ValueError):
            raise DirectoryError(not_found, status=404) from None
        if pk not in found:
            found.append(pk)
    return found


def generate_letters(user: Any, *, contact_ids: list[str], shared_ids: list[str],
                     confirmed: bool, request: HttpRequest | None = None) -> list[Letter]:
    """New access codes for the chosen contacts (a personal code each) and shared codes (one
    code for everyone on it), stored as hashes, and the letters that carry them. Refused
    (DirectoryError, nothing changed): no choice, more than MAX_LETTERS contacts and shared
    codes, not confirmed,
    or a contact or shared code that is not the admin's organisation's (404)."""
    admin = manager(user)
    org_id = admin.organisation_id
    no_contact = _("That contact is not in your organisation's directory.")
    no_shared = _("That shared access code is not in your organisation's directory.")
    contacts_wanted = _ids(contact_ids, no_contact)
    shared_wanted = _ids(shared_ids, no_shared)
    if not contacts_wanted and not shared_wanted:
        raise DirectoryError(_("Choose at least one contact or shared access code."),
                             field="contacts")
    if len(contacts_wanted) + len(shared_wanted) > MAX_LETTERS:
        raise DirectoryError(_("At most %(n)d contacts and shared codes at once; choose "
                               "fewer.")
                             % {"n": MAX_LETTERS}, field="contacts")
    if Contact.objects.filter(organisation_id=org_id, pk__in=contacts_wanted).count() \
            != len(contacts_wanted):
        raise DirectoryError(no_contact, status=404)
    if SharedCode.objects.filter(organisation_id=org_id, pk__in=shared_wanted).count() \
            != len(shared_wanted):
        raise DirectoryError(no_shared, status=404)
    if not confirmed:
        raise DirectoryError(_("A letter always carries a new access code: the current code "
                               "is stored only in a form that cannot be read back. Tick the "
                               "box to confirm that the current codes may stop working."),
                             field="confirm")
    codes = {pk: generate_code() for pk in [*contacts_wanted, *shared_wanted]}
    hashes = {pk: hash_access_code(code) for pk, code in codes.items()}  # before the lock
    letters: list[Letter] = []
    with transaction.atomic():
        _lock_directory(org_id)
        now = timezone.now()
        contacts = list(Contact.objects.select_for_update(of=("self",), no_key=True)
                        .filter(organisation_id=org_id, pk__in=contacts_wanted)
                        .order_by("name", "email", "id"))
        shared_codes = list(SharedCode.objects.select_for_update(of=("self",), no_key=True)
                            .filter(organisation_id=org_id, pk__in=shared_wanted)
                            .order_by("name", "id"))
        if len(contacts) != len(contacts_wanted) or len(shared_codes) != len(shared_wanted):
            raise DirectoryError(_("A contact or shared access code was deleted meanwhile; "
                                   "choose again."), status=404)
        for contact in contacts:
            Contact.objects.filter(pk=contact.pk).update(access_code_hash=hashes[str(contact.pk)],
                                                         updated_at=now)
            letters.append(Letter(name=contact.name, language=contact.language,
                                  code=codes[str(contact.pk)], shared=False))
        picked = {str(contact.pk) for contact in contacts}
        for shared in shared_codes:
            SharedCode.objects.filter(pk=shared.pk).update(code_hash=hashes[str(shared.pk)],
                                                           updated_at=now)
            # A contact's own code comes before the shared one, so a letter with the shared
            # code would not open their messages: they get none.
            users = [c for c in shared.contacts.order_by("name", "email", "id")
                     if not c.access_code_hash and str(c.pk) not in picked]
            for name, language in ([(c.name, c.language) for c in users]
                                   or [(shared.name, Language.DUTCH.value)]):
                letters.append(Letter(name=name, language=language,
                                      code=codes[str(shared.pk)], shared=True))
        record("contacts.letters_generated", organisation=admin.organisation,
               **staff_actor(admin), object_type="directory", object_id=org_id,
               request=request,
               data={"contacts": sorted(picked),
                     "shared_codes": sorted(str(s.pk) for s in shared_codes),
                     "letters": len(letters)})
    return letters


# --- The letter's words


@dataclass(frozen=True)
class LetterText:
    title: str
    greeting: str
    paragraphs: list[str]
    code_label: str
    after_code: list[str]
    contact_heading: str


def builtin_letter_text(org: Organisation, letter: Letter) -> LetterText:
    """Zegel's own words for an access-code letter, in the letter's language. The
    communication kit's editable letter (template 6) is to replace this function."""
    if letter.language == Language.ENGLISH:
        return LetterText(
            title=f"Your access code for secure messages from {org.name}",
            greeting=f"Dear {letter.name}," if letter.name else "Dear Sir or Madam,",
            paragraphs=[
                f"{org.name} sends personal and confidential information through Zegel, a "
                "secure message service, instead of ordinary e-mail. When a message is ready "
                f"for you, you receive an e-mail from “{org.name} via Zegel” with a button "
                "that opens it. The e-mail itself holds neither the message nor attachments.",
                "To open a message: click the button in the e-mail, choose to enter your "
                "access code, and type the code below. Capitals, spaces and dashes do not "
                "matter.",
            ],
            code_label="Your access code:",
            after_code=[
                ("Keep this letter in a safe place. Share the code only with the colleagues "
                 "who read our messages with you; nobody else needs it."
                 if letter.shared else
                 "Keep this letter in a safe place and do not share the code with anyone."),
                f"Nobody from {org.name} will ever ask you for this code, by phone or by "
                "e-mail. You type it only on the page the link in our e-mail opens. This "
                "code replaces any access code you received from us earlier.",
            ],
            contact_heading="Questions?",
        )
    return LetterText(
        title=f"Uw toegangscode voor beveiligde berichten van {org.name}",
        greeting=f"Beste {letter.name}," if letter.name else "Geachte heer, mevrouw,",
        paragraphs=[
            f"{org.name} stuurt persoonlijke en vertrouwelijke informatie via Zegel, een "
            "beveiligde berichtendienst, in plaats van via gewone e-mail. Staat er een bericht "
            f"voor u klaar, dan krijgt u een e-mail van “{org.name} via Zegel” met een knop "
            "die het bericht opent. In die e-mail zelf staan geen bericht en geen bijlagen.",
            "Zo opent u een bericht: klik op de knop in de e-mail, kies voor uw toegangscode "
            "en typ de code hieronder in. Hoofdletters, spaties en streepjes maken niet uit.",
        ],
        code_label="Uw toegangscode:",
        after_code=[
            ("Bewaar deze brief op een veilige plek. Deel de code alleen met de collega's die "
             "onze berichten met u lezen; verder heeft niemand hem nodig."
             if letter.shared else
             "Bewaar deze brief op een veilige plek en deel de code met niemand."),
            f"Niemand van {org.name} vraagt u ooit om deze code, niet telefonisch en niet per "
            "e-mail. U typt hem alleen in op de pagina die de link in onze e-mail opent. Deze "
            "code vervangt een toegangscode die u eerder van ons kreeg.",
        ],
        contact_heading="Vragen?",
    )


class _LetterDocument(Document):
    def footer(self) -> None:  # a letter for the post has no batch page numbers
        return None


def _contact_lines(org: Organisation, language: str) -> list[str]:
    with override(language):
        lines = []
        if org.contact_phone:
            lines.append(_("Phone:") + " " + org.contact_phone)
        if org.contact_email:
            lines.append(_("E-mail:") + " " + org.contact_email)
        lines.append(_("More information:") + " " + org.info_page_url)
    return lines


def letters_pdf(org: Organisation, letters: list[Letter], *, today: date | None = None,
                text: Any = builtin_letter_text) -> bytes:
    """One PDF with each letter on its own page."""
    today = today or timezone.localdate()
    doc = _LetterDocument(title=_("Access-code letters"), author=org.name)
    for index, letter in enumerate(letters):
        if index:
            doc.add_page()
        words: LetterText = text(org, letter)
        with override(letter.language):
            dated = date_format(today, "j F Y")
        doc.set_font(FAMILY, "B", 12)
        doc.cell(0, 6, org.name, new_x="LMARGIN", new_y="NEXT")
        doc.set_font(FAMILY, "", 10)
        doc.cell(0, 6, dated, new_x="LMARGIN", new_y="NEXT")
        doc.ln(12)
        doc.heading(words.title, size=14)
        doc.paragraph(words.greeting)
        for paragraph in words.paragraphs:
            doc.paragraph(paragraph)
        doc.ln(3)
        doc.paragraph(words.code_label, size=11)
        doc.set_font(FAMILY, "B", 20)
        doc.cell(0, 12, letter.code, new_x="LMARGIN", new_y="NEXT")
        doc.ln(4)
        for paragraph in words.after_code:
            doc.paragraph(paragraph)
        doc.ln(3)
        doc.heading(words.contact_heading, size=11)
        for line in _contact_lines(org, letter.language):
            doc.paragraph(line)
    return doc.output_bytes()
