"""Access-code letters: generated codes (readable, 40+ bits, case- and dash-free to type),
the letters page and its refusals, and the done-test: the code read back from the PDF opens a
message sent to the contact by address only."""

from __future__ import annotations

import io
import json
import math
import re

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from django.test import Client
from pypdf import PdfReader

from tests.conftest import deliver_and_get_link, send
from tests.directory.helpers import contact, shared_code
from zegel.audit.models import AuditEvent
from zegel.directory import codes, letters
from zegel.directory.access import DirectoryError
from zegel.directory.models import Contact, SharedCode
from zegel.directory.validation import legacy_code_forms, normalise_code
from zegel.messaging.actions import guest_auth
from zegel.messaging.drafts import RecipientSpec
from zegel.messaging.models import Recipient
from zegel.orgs.models import ApiToken, Organisation, User

CODE_RE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b")
URL = "/admin/contacts/letters"


def _pdf_codes(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    found = []
    for page in reader.pages:
        [code] = CODE_RE.findall(page.extract_text())
        found.append(code)
    return found


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


# --- The codes


def test_generated_codes_avoid_confusable_characters_and_have_40_bits() -> None:
    for confusable in "0O1lIQ2Z5S8B":
        assert confusable not in codes.ALPHABET
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET)
    assert codes.entropy_bits() == pytest.approx(12 * math.log2(24))
    assert codes.entropy_bits() >= 40
    made = {codes.generate_code() for _ in range(200)}
    assert len(made) == 200
    for code in made:
        assert re.fullmatch(r"[%s]{4}-[%s]{4}-[%s]{4}" % ((codes.ALPHABET,) * 3), code)


def test_a_code_is_the_same_code_typed_any_case_with_or_without_dashes() -> None:
    assert normalise_code("k7p4 9xm3-ht6c") == normalise_code("K7P4-9XM3-HT6C") == "K7P49XM3HT6C"
    assert normalise_code(" k7p4\u20139xm3 ht6c ") == "K7P49XM3HT6C"
    # Hashes made before codes were case-free still verify in their own form.
    assert legacy_code_forms("Tulp-4711") == ["TULP4711", "Tulp4711", "Tulp-4711"]


# --- The letters page and its refusals


def test_the_page_lists_contacts_and_shared_codes(admin_client: Client, org: Organisation) -> None:
    contact(org, "piet@example.nl", name="Piet Jansen")
    shared_code(org, "Huisartsenpraktijk Oost", "oud-geheim-1")
    page = admin_client.get(URL)
    assert page.status_code == 200
    assert b"Piet Jansen" in page.content and b"Huisartsenpraktijk Oost" in page.content
    assert admin_client.get(URL, {"q": "nobody"}).content.count(b'name="contact"') == 0


def test_a_member_without_the_contacts_role_is_refused(org: Organisation,
                                                       teammate: User) -> None:
    piet = contact(org, "piet@example.nl")
    client = Client()
    client.force_login(teammate)
    response = client.post(URL, {"contact": str(piet.pk), "confirm": "yes"})
    assert response.status_code == 403
    assert Contact.objects.get(pk=piet.pk).access_code_hash == ""


def test_another_organisations_contact_or_shared_code_is_a_404_and_nothing_changes(
        admin_client: Client, org: Organisation, outsider: User) -> None:
    mine = contact(org, "piet@example.nl", code="oude-code-1")
    theirs = contact(outsider.organisation, "klaas@example.nl", code="hun-code-1")
    their_shared = shared_code(outsider.organisation, "Partner", "hun-gedeeld-1")
    before = {c.pk: c.access_code_hash for c in Contact.objects.all()}
    for data in ({"contact": [str(mine.pk), str(theirs.pk)]},
                 {"contact": [str(mine.pk)], "shared": [str(their_shared.pk)]},
                 {"contact": [str(mine.pk), "not-a-uuid"]}):
        response = admin_client.post(URL, {**data, "confirm": "yes"})
        assert response.status_code == 404, data
        assert response["Content-Type"].startswith("text/html")
    assert {c.pk: c.access_code_hash for c in Contact.objects.all()} == before
    assert SharedCode.objects.get(pk=their_shared.pk).code_hash == their_shared.code_hash
    assert not AuditEvent.objects.filter(action="contacts.letters_generated").exists()


def test_an_empty_choice_or_no_confirmation_is_refused(admin_client: Client,
                                                       org: Organisation) -> None:
    piet = contact(org, "piet@example.nl", code="oude-code-1")
    empty = admin_client.post(URL, {"confirm": "yes"})
    assert empty.status_code == 400
    assert b"Choose at least one contact" in empty.content
    unconfirmed = admin_client.post(URL, {"contact": str(piet.pk)})
    assert unconfirmed.status_code == 400
    assert b"cannot be read back" in unconfirmed.content
    assert Contact.objects.get(pk=piet.pk).access_code_hash == piet.access_code_hash


def test_too_many_letters_at_once_are_refused(admin: User, org: Organisation,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(letters, "MAX_LETTERS", 2)
    ids = [str(contact(org, f"p{n}@example.nl").pk) for n in range(3)]
    with pytest.raises(DirectoryError, match="At most 2 contacts and shared codes"):
        letters.generate_letters(admin, contact_ids=ids, shared_ids=[], confirmed=True)
    assert not Contact.objects.exclude(access_code_hash="").exists()


# --- What the letters hold


def test_one_letter_per_page_in_each_contacts_language_audited_without_codes(
        admin_client: Client, org: Organisation) -> None:
    org.contact_phone, org.contact_email = "020 123 4567", "info@zorggroep-noord.nl"
    org.save()
    piet = contact(org, "piet@example.nl", name="Piet Jansen")
    john = contact(org, "john@example.com", name="John Smith", language="en")
    partner = shared_code(org, "Apotheek West", "oud-gedeeld-1")
    contact(org, "anna@apotheek-west.nl", name="Anna Bakker", shared_code=partner)
    response = admin_client.post(URL, {"contact": [str(piet.pk), str(john.pk)],
                                       "shared": str(partner.pk), "confirm": "yes"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    texts = _pdf_text(response.content)
    assert len(texts) == 3
    by_name = {name: text for text in texts
               for name in ("Anna Bakker", "John Smith", "Piet Jansen") if name in text}
    assert "Beste Piet Jansen" in by_name["Piet Jansen"]
    assert "Dear John Smith" in by_name["John Smith"]
    assert "collega" in by_name["Anna Bakker"]  # a shared code: share it with colleagues
    for text in texts:
        assert "Zorggroep Noord" in text and "020 123 4567" in text
        assert "https://zegel.example.org/o/zorggroep-noord.nl/" in text
    found = _pdf_codes(response.content)
    assert len(set(found)) == 3
    recipient_hash = {c.email: c for c in Contact.objects.select_related("shared_code")}
    piet_code = CODE_RE.findall(by_name["Piet Jansen"])[0]
    anna_code = CODE_RE.findall(by_name["Anna Bakker"])[0]
    assert letters_verify(recipient_hash["piet@example.nl"].access_code_hash, piet_code)
    assert letters_verify(SharedCode.objects.get(pk=partner.pk).code_hash, anna_code)
    assert recipient_hash["anna@apotheek-west.nl"].access_code_hash == ""
    [event] = AuditEvent.objects.filter(action="contacts.letters_generated")
    assert sorted(event.data["contacts"]) == sorted([str(piet.pk), str(john.pk)])
    assert event.data["shared_codes"] == [str(partner.pk)] and event.data["letters"] == 3
    dumped = json.dumps(event.data)
    for code in found:
        assert code not in dumped and normalise_code(code) not in dumped


def letters_verify(code_hash: str, code: str) -> bool:
    try:
        return bool(PasswordHasher().verify(code_hash, normalise_code(code)))
    except VerificationError:
        return False


def test_generating_again_replaces_the_code(admin: User, org: Organisation) -> None:
    piet = contact(org, "piet@example.nl", name="Piet")
    [first] = letters.generate_letters(admin, contact_ids=[str(piet.pk)], shared_ids=[],
                                       confirmed=True)
    [second] = letters.generate_letters(admin, contact_ids=[str(piet.pk)], shared_ids=[],
                                        confirmed=True)
    stored = Contact.objects.get(pk=piet.pk).access_code_hash
    assert first.code != second.code
    assert letters_verify(stored, second.code) and not letters_verify(stored, first.code)
    assert AuditEvent.objects.filter(action="contacts.letters_generated").count() == 2


# --- Done: the code on paper opens the message


def test_the_code_read_from_the_letter_opens_a_message_sent_by_address_only(
        admin_client: Client, admin: User, org: Organisation) -> None:
    piet = contact(org, "piet@example.nl", name="Piet Jansen")
    response = admin_client.post(URL, {"contact": str(piet.pk), "confirm": "yes"})
    [code] = _pdf_codes(response.content)
    _token, secret = ApiToken.issue(admin)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    sent = api.post("/api/v1/messages", json.dumps({
        "subject": "Uw uitslag", "body": "Beste, hierbij de uitslag.",
        "recipients": [{"email": "piet@example.nl"}]}), content_type="application/json")
    assert sent.status_code == 201, sent.content
    assert Recipient.objects.get(email="piet@example.nl").method == "access_code"
    token = deliver_and_get_link("piet@example.nl")
    guest = Client()
    assert guest.post(f"/m/{token}/verify", {"code": "WRON-GWRO-NGXX"}).status_code != 302
    typed = code.lower().replace("-", " ")  # as someone types it from paper
    assert guest.post(f"/m/{token}/verify", {"code": typed}).status_code == 302
    assert b"hierbij de uitslag" in guest.get(f"/m/{token}").content


def test_the_portal_check_accepts_every_way_of_typing_it(admin: User,
                                                         org: Organisation) -> None:
    piet = contact(org, "piet@example.nl")
    [letter] = letters.generate_letters(admin, contact_ids=[str(piet.pk)], shared_ids=[],
                                        confirmed=True)
    message = send(admin, recipients=[RecipientSpec(email="piet@example.nl")])
    recipient = message.conversation.recipients.get()
    bare = letter.code.replace("-", "")
    for typed in (letter.code, bare, bare.lower(), letter.code.lower(), " ".join(bare)):
        recipient.failed_attempts = 0
        recipient.save(update_fields=["failed_attempts"])
        assert guest_auth.verify_access_code(recipient, typed).ok is True, typed




def test_the_contact_form_sets_the_letters_language_and_refuses_another(
        admin_client: Client, org: Organisation) -> None:
    piet = contact(org, "piet@example.nl", name="Piet")
    form = {"email": "piet@example.nl", "name": "Piet", "language": "en"}
    assert admin_client.post(f"/admin/contacts/{piet.pk}", form).status_code == 302
    assert Contact.objects.get(pk=piet.pk).language == "en"
    assert b'<option value="en" selected>' in admin_client.get(f"/admin/contacts/{piet.pk}").content
    refused = admin_client.post(f"/admin/contacts/{piet.pk}", {**form, "language": "de"})
    assert refused.status_code == 400 and b"Choose Dutch or English" in refused.content
    assert Contact.objects.get(pk=piet.pk).language == "en"
    event = AuditEvent.objects.filter(action="contact.updated").latest("id")
    assert event.data["fields"] == ["language"]
