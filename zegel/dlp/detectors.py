"""Content detectors: each takes (normalised) text and returns findings with offsets into it.

Checksummed identifiers (BSN, IBAN, payment cards) are validated with python-stdnum, so a
number that fails its check is never reported. Context keywords raise or cancel a finding;
see docs/dlp.md for what each detector deliberately does not catch.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import mul

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.iso7064 import mod_97_10
from stdnum.nl import bsn as stdnum_bsn

from zegel.dlp.budget import Budget, BudgetExceeded, check
from zegel.dlp.findings import (
    BSN,
    DATE_OF_BIRTH,
    IBAN,
    NOT_SCANNED,
    PASSPORT_NL,
    PAYMENT_CARD,
    PHONE_NL,
    Finding,
    mask,
)
from zegel.dlp.medical import TermSet, default_terms, detect_medical, matches_at
from zegel.dlp.normalize import normalize
from zegel.dlp.patterns import OrgPattern, detect_org_patterns
from zegel.dlp.subject import weigh_medical

# A detector takes normalised text and the scan's budget, which it checks once per candidate.
Detector = Callable[[str, Budget | None], list[Finding]]

# How far (in characters) before a number a label such as "BSN:" is looked for.
_CONTEXT_BEFORE = 60
_CONTEXT_AFTER = 20


def _trie(words: Iterable[str]) -> str:
    """The words as one regex trie: at each character one branch per next character, the
    longer way first. It matches what the words as alternatives, longest first, match (two
    words that differ at a character cannot both match there), with far less backtracking:
    each place is tried once per character, not once per word."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict) -> str:
        branches = [re.escape(char) + render(child) for char, child in sorted(node.items())
                    if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return render(trie)


def _keyword_re(words: Iterable[str], *, prefix: bool = False) -> re.Pattern[str]:
    """Labels as whole words; with ``prefix`` also as the start of a compound (ordernummer)."""
    alternatives = _trie(w.lower() for w in words)
    end = r"[^\W\d_]*" if prefix else r"(?![^\W_])"
    return re.compile(r"(?<![^\W_])(?:" + alternatives + r")" + end, re.IGNORECASE)


# Where a run of digits starts. The number and date patterns can only match there (they start
# with a digit after a non-digit), so they are tried at those places instead of at every
# character of the text: the same matches, found several times faster on ordinary text.
_DIGIT_RUN = re.compile(r"[0-9]+")
_last_runs: tuple[str, list[int]] = ("", [])


def _digit_run_starts(text: str) -> list[int]:
    """Starts of the runs of digits in ``text``; the last text's are kept, as every number
    detector asks for the same chunk's."""
    global _last_runs
    cached = _last_runs
    if cached[0] is text:
        return cached[1]
    starts = [m.start() for m in _DIGIT_RUN.finditer(text)]
    _last_runs = (text, starts)
    return starts


def _digit_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern whose matches start with a digit that follows
    no digit: leftmost first, none overlapping, each tried from a run of digits only."""
    return matches_at(pattern, text, _digit_run_starts(text))


def _labelled(
    text: str, start: int, end: int, positive: re.Pattern[str], negative: re.Pattern[str],
    before_chars: int = _CONTEXT_BEFORE,
) -> tuple[int, str]:
    """(+1, label) if the nearest label around the span is positive, (-1, label) if negative,
    (0, "") if there is none."""
    lo = max(0, start - before_chars)
    # Not from the middle of a word: "...servicenummer" cut from "burgerservicenummer" would
    # read as some other "...nummer" label.
    while lo > 0 and text[lo - 1].isalpha() and start - lo < before_chars + 40:
        lo -= 1
    before = text[lo:start]
    best_pos, verdict, label = -1, 0, ""
    for pattern, value in ((positive, 1), (negative, -1)):
        for m in pattern.finditer(before):
            if m.start() > best_pos:
                best_pos, verdict, label = m.start(), value, m.group()
    if verdict:
        return verdict, label.strip(" :.")
    after = text[end : end + _CONTEXT_AFTER]
    found = positive.search(after)
    if found:
        return 1, found.group().strip(" :.")
    return 0, ""


def _context(
    text: str, start: int, end: int, positive: re.Pattern[str], negative: re.Pattern[str]
) -> int:
    """+1 if the nearest label around the span is positive, -1 if negative, 0 if none."""
    return _labelled(text, start, end, positive, negative)[0]


# Tables: a value in a row of cells takes its meaning from its column's header.
_CELL_SEPARATORS = ";\t|,"
_ROW_LOOKBACK = 30  # rows
_ROW_WIDTH = 2000  # characters of one row that are read


def _line_bounds(text: str, index: int) -> tuple[int, int]:
    start = text.rfind("\n", max(0, index - _ROW_WIDTH), index) + 1
    if start == 0 and index > _ROW_WIDTH:
        start = index - _ROW_WIDTH
    end = text.find("\n", index, index + _ROW_WIDTH)
    return start, len(text) if end < 0 else end


def _separator(row: str) -> str | None:
    """The row's cell separator: a semicolon, tab or bar; a comma only twice or more (one
    comma between digits is a decimal: 0,111222333)."""
    for sep in _CELL_SEPARATORS:
        if row.count(sep) >= (2 if sep == "," else 1):
            return sep
    return None


_ASCII_DIGIT = re.compile(r"[0-9]")


def _has_digit(cell: str) -> bool:
    """Whether any character of the cell is a digit (``str.isdigit``); in ASCII text, where
    only 0-9 are, by one search in C rather than a Python step per character (a "row" of a
    text without line breaks is up to _ROW_WIDTH characters, read for every candidate)."""
    if cell.isascii():
        return _ASCII_DIGIT.search(cell) is not None
    return any(c.isdigit() for c in cell)


def _column_label(
    text: str, start: int, positive: re.Pattern[str], negative: re.Pattern[str]
) -> tuple[int, str]:
    """(+1/-1, header) if the value at ``start`` stands in a table column whose header is a
    positive or negative label, else (0, "")."""
    row_start, row_end = _line_bounds(text, start)
    sep = _separator(text[row_start:row_end])
    if sep is None:
        return _aligned_column_label(text, start, row_start, row_end, positive, negative)
    column = text.count(sep, row_start, start)
    position = row_start
    for _ in range(_ROW_LOOKBACK):
        if position <= 0:
            break
        above_start, above_end = _line_bounds(text, position - 1)
        cells = text[above_start:above_end].split(sep)
        position = above_start
        if len(cells) <= column:
            if not text[above_start:above_end].strip():
                break  # a blank line ends the table
            continue
        cell = cells[column]
        if _has_digit(cell) or not cell.strip():
            continue  # a row of data, not the header
        if positive.search(cell):
            return 1, cell.strip()
        if negative.search(cell):
            return -1, cell.strip()
        return 0, ""
    return 0, ""


# A table aligned with spaces only: cells are separated by runs of two or more spaces.
_ALIGNED_GAP = re.compile(r" {2,}")


def _aligned_cell(line: str, index: int) -> tuple[int, int] | None:
    """The span of the space-aligned cell of ``line`` that covers ``index``, if any."""
    cell_start = 0
    for gap in _ALIGNED_GAP.finditer(line):
        if gap.start() > index:
            return cell_start, gap.start()
        cell_start = gap.end()
        if cell_start > index:
            return None  # index falls in a gap
    return (cell_start, len(line)) if index < len(line.rstrip()) else None


def _aligned_column_label(
    text: str, start: int, row_start: int, row_end: int, positive: re.Pattern[str],
    negative: re.Pattern[str],
) -> tuple[int, str]:
    """As ``_column_label`` for a table whose columns are aligned with spaces only: the header
    is the cell of the nearest line above without digits in it that starts where the value's
    cell starts, in a row that is itself split into cells."""
    row = text[row_start:row_end]
    if not _ALIGNED_GAP.search(row.strip()):
        return 0, ""
    cell = _aligned_cell(row, start - row_start)
    if cell is None:
        return 0, ""
    column = cell[0]
    position = row_start
    for _ in range(_ROW_LOOKBACK):
        if position <= 0:
            break
        above_start, above_end = _line_bounds(text, position - 1)
        line = text[above_start:above_end]
        position = above_start
        if not line.strip():
            break  # a blank line ends the table
        if not _ALIGNED_GAP.search(line.strip()):
            return 0, ""  # prose, not a row of the table
        header = _aligned_cell(line, column)
        if header is None or header[0] != column:
            continue
        value = line[header[0]:header[1]]
        if any(c.isdigit() for c in value):
            continue  # a row of data, not the header
        if positive.search(value):
            return 1, value.strip()
        if negative.search(value):
            return -1, value.strip()
        return 0, ""
    return 0, ""


def _cell_boundary(text: str, index: int) -> bool:
    """Whether text[index] separates two cells of a row rather than joining one number."""
    if index < 0 or index >= len(text) or text[index] not in _CELL_SEPARATORS:
        return False
    row_start, row_end = _line_bounds(text, index)
    return _separator(text[row_start:row_end]) == text[index]


# Labels that say "this number is something else", shared by the number detectors.
_NEGATIVE_NUMBER_LABELS = [
    "order",
    "ordernummer",
    "ordernr",
    "bestelnummer",
    "bestelling",
    "factuur",
    "factuurnummer",
    "factuurnr",
    "invoice",
    "klantnummer",
    "klantnr",
    "customer",
    "referentie",
    "ref",
    "reference",
    "kenmerk",
    "ons kenmerk",
    "uw kenmerk",
    "betalingskenmerk",
    "dossiernummer",
    "dossier",
    "zaaknummer",
    "polisnummer",
    "policy",
    "artikelnummer",
    "artikel",
    "item",
    "tracking",
    "track",
    "zending",
    "pakket",
    "ticket",
    "rekeningnummer",
    "rek.nr",
    "account",
    "tel",
    "tel.",
    "telefoon",
    "telefoonnummer",
    "phone",
    "mobiel",
    "mobile",
    "fax",
    "kvk",
    "kvk-nummer",
    "btw",
    "vat",
    "postbus",
    "agb",
    "agb-code",
    "uzi",
    "big",
    "lidnummer",
    "relatienummer",
    "contractnummer",
    "transactie",
    "transaction",
    "serienummer",
    "serial",
    "licentie",
    "parcel",
    "shipment",
    "zending",
    "vlucht",
    "flight",
    "boeking",
    "booking",
    "pincode",
    "ean",
    "isbn",
    "patiëntnummer",
    "patientnummer",
    "registratienummer",
    # by kind (issue 14): what else a 9-digit number in a letter or a form is
    "aanvraag",
    "reservering",
    "reservation",
    "lidmaatschap",
    "membership",
    "member",
    "abonnement",
    "subscription",
    "claim",
    "case",
    "zaak",
    "kenteken",
    "imei",
    "sku",
    "batch",
    "bon",
    "kassabon",
    "receipt",
    "confirmation",
    "bevestiging",
    "offerte",
    "quote",
    "project",
    "werkorder",
    "inkooporder",
    "purchase",
    "vergunning",
    "permit",
    "student",
    "employee",
    "personeel",
]

# --- BSN ----------------------------------------------------------------------------------

_BSN_LABELS = _keyword_re(
    [
        "bsn",
        "b.s.n.",
        "bsn-nummer",
        "bsnnummer",
        "burgerservicenummer",
        "burgerservice-nummer",
        "burger service nummer",
        "sofinummer",
        "sofi-nummer",
        "sofi nummer",
        "sofi-nr",
        "citizen service number",
        "social security number",
        "persoonsnummer",
        "bsn:",
    ]
)
# Besides the known labels, any Dutch "...nummer"/"...nr" label (declaratienummer,
# offertenr) says the number is something else. A BSN label such as "burgerservicenummer"
# also matches this, but at the same position, and a positive label wins a tie.
_BSN_NOT = re.compile(
    _keyword_re(_NEGATIVE_NUMBER_LABELS, prefix=True).pattern
    + r"|(?<![^\W_])(?:[^\W\d_]{3,}-?(?:nummer|nr|order)|[^\W\d_]*code)(?![^\W_])"
    # and any English "... number" / "... no." / "... ID" label but a citizen service or
    # social security number: "membership number", "case no.", "order ID"
    r"|(?<![^\W_])(?!service\s|security\s)[^\W\d_]{3,}\s(?:number|no\.?|id)(?![^\W_])",
    re.IGNORECASE,
)
_BSN = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{3}|[0-9]{4}([. ])[0-9]{2}\1[0-9]{3}"
    r"|[0-9]{3}[ .\-]?[0-9]{3}[ .\-]?[0-9]{3}|[0-9]{8}"
    # Only with a BSN label (_LABEL_ONLY): 2-2-2-3 with spaces or dashes, 4-2-3 with dashes.
    r"|[0-9]{2}([ \-])[0-9]{2}\2[0-9]{2}\2[0-9]{3}|[0-9]{4}-[0-9]{2}-[0-9]{3})"
    r"(?![0-9A-Za-z])"
)
_LABEL_ONLY = re.compile(
    r"[0-9]{2}[ \-][0-9]{2}[ \-][0-9]{2}[ \-][0-9]{3}|[0-9]{4}-[0-9]{2}-[0-9]{3}")
# How far back a BSN label still makes an 8-digit number (a leading zero dropped) a BSN.
_EIGHT_DIGIT_CONTEXT = 200
# A digit and a separator right before or after the candidate: part of a longer number,
# a date, a decimal or an IBAN group.
_RUN_BEFORE = re.compile(r"[0-9][ .,/\-]$")
_RUN_AFTER_COMPACT = re.compile(r"^[.,/\-][0-9]")
_RUN_AFTER_GROUPED = re.compile(r"^[ .,/\-][0-9]")
_INTERNATIONAL_PREFIX = re.compile(r"(?:\+|00)[0-9]{1,3}[ \-]?(?:\(0\)[ \-]?)?$")


_ELEVEN_PROOF_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)
_SEPARATORS_DROPPED = str.maketrans("", "", " .-")


def detect_bsn(text: str, budget: Budget | None = None) -> list[Finding]:
    """Dutch citizen service numbers that pass the 11-proef.

    Nine digits as 123456782, 1234.56.782 (or 1234 56 782), 123.456.782, 123 456 782 or
    123-456-782. Eight
    digits (a leading zero dropped, as spreadsheets do) only directly after a BSN label.
    """
    findings: list[Finding] = []
    for m in _digit_matches(_BSN, text):
        check(budget)
        start, end = m.start(), m.end()
        raw = m.group()
        if _RUN_BEFORE.search(text[max(0, start - 2) : start]) and not _cell_boundary(
            text, start - 1
        ):
            continue
        following = text[end : end + 2]
        grouped = not raw.isdigit()
        joined = (_RUN_AFTER_GROUPED if grouped else _RUN_AFTER_COMPACT).match(following)
        if joined and not _cell_boundary(text, end):
            continue
        if _INTERNATIONAL_PREFIX.search(text[max(0, start - 12) : start]):
            continue
        digits = raw.translate(_SEPARATORS_DROPPED)  # the regex allows 0-9 and " .-" only
        # The 11-proef in one step first (most candidates fail it), then python-stdnum's.
        nine = digits.zfill(9)
        if sum(map(mul, _ELEVEN_PROOF_WEIGHTS, map(int, nine))) % 11:
            continue
        if not stdnum_bsn.is_valid(nine) or nine == "000000000":
            continue
        reasons: tuple[tuple[str, str], ...] = (("checksum", "11-proef"),)
        context, label = _column_label(text, start, _BSN_LABELS, _BSN_NOT)
        if context:
            reasons += (("column", label),)
        else:
            context, label = _labelled(text, start, end, _BSN_LABELS, _BSN_NOT)
            if context == 0 and len(digits) == 8:
                # The leading zero dropped: a BSN only where the text speaks of BSNs.
                context, label = _labelled(text, start, end, _BSN_LABELS, _BSN_NOT,
                                           before_chars=_EIGHT_DIGIT_CONTEXT)
            if context > 0:
                reasons += (("label", label),)
        if context < 0 or (context == 0 and (len(digits) == 8 or _LABEL_ONLY.fullmatch(raw))):
            continue
        if _inside_iban(text, start, end):
            continue
        confidence = 0.95 if context > 0 else 0.7
        findings.append(
            Finding(BSN, start, end, confidence, f"BSN (11-proef valid) {mask(digits)}", reasons)
        )
    return findings


# --- IBAN ---------------------------------------------------------------------------------

_IBAN_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}[0-9]{2}(?: ?[0-9A-Za-z]){11,30}")


def _iban_at(text: str, m: re.Match[str]) -> tuple[int, int, str] | None:
    """(start, end, compact IBAN) for the candidate ``m`` if a checksum-valid IBAN starts it."""
    candidate = m.group()
    # Possible ends: after each alphanumeric that is followed by a space or the end, so a
    # word after the IBAN ("NL91 ABNA 0417 1643 00 en") is trimmed off again.
    cuts = [
        i + 1
        for i, c in enumerate(candidate)
        if c != " " and (i + 1 == len(candidate) or candidate[i + 1] == " ")
    ]
    if m.end() < len(text) and text[m.end()].isalnum():
        cuts = cuts[:-1]
    for cut in reversed(cuts):
        compact = candidate[:cut].replace(" ", "").upper()
        if len(compact) < 15:
            break
        # The mod-97 check first, as stdnum_iban.is_valid does: most cuts fail it, and the
        # country's format is only looked up for the few that pass.
        if mod_97_10.is_valid(compact[4:] + compact[:4]) and stdnum_iban.is_valid(compact):
            return m.start(), m.start() + cut, compact
    return None


def _iban_spans(text: str, budget: Budget | None = None) -> list[tuple[int, int, str]]:
    """(start, end, compact IBAN) for every checksum-valid IBAN in the text."""
    spans: list[tuple[int, int, str]] = []
    for m in _IBAN_CANDIDATE.finditer(text):
        check(budget)
        span = _iban_at(text, m)
        if span is not None:
            spans.append(span)
    return spans


def _inside_iban(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] lies inside an IBAN found in the 40 characters around it."""
    lo = max(0, start - 40)
    window = text[lo : end + 40]
    start, end = start - lo, end - lo
    for m in _IBAN_CANDIDATE.finditer(window):
        if m.start() > start:
            break  # candidates come in order: this one and all after start too late
        # Only a candidate that reaches past the span is checked: its IBAN is a prefix of it.
        if m.end() >= end:
            span = _iban_at(window, m)
            if span is not None and end <= span[1]:
                return True
    return False


def detect_iban(text: str, budget: Budget | None = None) -> list[Finding]:
    """IBANs of any country that pass mod-97 and the country's length, any case or spacing."""
    return [
        Finding(IBAN, s, e, 0.99, f"IBAN ({compact[:2]}, mod-97 valid) {mask(compact)}")
        for s, e, compact in _iban_spans(text, budget)
    ]


# --- Dutch passport / identity card -------------------------------------------------------

# Since 2014: two letters, six letters or digits, one digit; the letter O is never used.
_PASSPORT = re.compile(r"(?<![0-9A-Za-z])[A-NP-Z]{2}[A-NP-Z0-9]{6}[0-9](?![0-9A-Za-z])")
_PASSPORT_LABELS = _keyword_re(
    [
        "paspoort",
        "paspoortnummer",
        "passport",
        "passport number",
        "identiteitskaart",
        "id-kaart",
        "id kaart",
        "idkaart",
        "identiteitsbewijs",
        "id-bewijs",
        "legitimatie",
        "documentnummer",
        "document number",
        "reisdocument",
        "travel document",
        "id card",
        "identity card",
        "rijbewijs",
        "rijbewijsnummer",
        "paspoortnr",
        "documentnr",
        "docnr",
        "doc.nr",
        "doc nr",
        "id-nummer",
        "id nummer",
        "idnummer",
        "identiteitsnummer",
        "legitimatiebewijs",
        "id-document",
        "id document",
        "identity document",
        "passport no",
        "passport nr",
        "verblijfsdocument",
        "verblijfsvergunning",
        "vreemdelingendocument",
        "residence permit",
        "driving licence",
        "driving license",
        "driver's license",
        "drivers license",
        "kopie id",
        "kopie van je id",
        "kopie van uw id",
        "kopie van zijn id",
        "kopie van haar id",
        "copy of your id",
        "copy of his id",
        "copy of her id",
    ]
)
_NEVER = re.compile(r"(?!x)x")
_DOCUMENT_CONTEXT = 80
# Labels that name a document without saying which: an invoice, a letter and a contract have
# a "documentnummer" too. In running text they count only with an identity document named
# nearby; a table column so headed still counts.
_WEAK_DOCUMENT_LABELS = frozenset(
    ["documentnummer", "document number", "documentnr", "docnr", "doc.nr", "doc nr",
     "id-nummer", "id nummer", "idnummer"]
)
_IDENTITY_NEARBY_BEFORE = 300
_IDENTITY_NEARBY_AFTER = 100
# Labels that say the code is something else: a product, a licence, an order, a booking.
_PASSPORT_NOT = re.compile(
    _keyword_re(
        [
            *_NEGATIVE_NUMBER_LABELS, "serial number", "serie", "licence key", "license key",
            "product key", "productcode", "product", "artikelcode", "bestelcode", "code",
            "sku", "model", "type", "imei", "batch", "kenteken", "voucher", "coupon",
            "kortingscode", "promo", "activering", "activation", "reservering",
            "reservation", "confirmation", "bevestiging", "wachtwoord", "password", "inlog",
            "login", "offerte", "quote", "contract", "polis",
        ],
        prefix=True,
    ).pattern
    + r"|(?<![^\W_])[^\W\d_]{3,}-?(?:nummer|nr|code|key)(?![^\W_])",
    re.IGNORECASE,
)


def _identity_nearby(text: str, start: int, end: int) -> bool:
    """Whether an identity document (not merely "a document") is named around a code."""
    window = text[max(0, start - _IDENTITY_NEARBY_BEFORE):end + _IDENTITY_NEARBY_AFTER]
    return any(" ".join(m.group().lower().split()) not in _WEAK_DOCUMENT_LABELS
               for m in _PASSPORT_LABELS.finditer(window))


def detect_passport_nl(text: str, budget: Budget | None = None) -> list[Finding]:
    """Dutch passport and identity card numbers, only where the text speaks of a document:
    the shape alone (product codes, serial numbers, licence keys share it) is no finding."""
    findings: list[Finding] = []
    for m in _PASSPORT.finditer(text):
        check(budget)
        value = m.group()
        context, label = _column_label(text, m.start(), _PASSPORT_LABELS, _PASSPORT_NOT)
        kind = "column"
        if not context:
            kind = "label"
            context, label = _labelled(text, m.start(), m.end(), _PASSPORT_LABELS,
                                       _PASSPORT_NOT, before_chars=_DOCUMENT_CONTEXT)
        if context <= 0:
            continue
        if kind == "label" and " ".join(label.lower().split()) in _WEAK_DOCUMENT_LABELS and \
                not _identity_nearby(
                text, m.start(), m.end()):
            continue
        findings.append(
            Finding(
                PASSPORT_NL, m.start(), m.end(), 0.85, f"Dutch ID document {mask(value, 2)}",
                ((kind, label),),
            )
        )
    return findings


# --- Payment cards ------------------------------------------------------------------------

_CARD = re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9]){11,18}(?![0-9])")
_CARD_LABELS = _keyword_re(
    [
        "creditcard",
        "credit card",
        "creditcardnummer",
        "kaartnummer",
        "card number",
        "card",
        "visa",
        "mastercard",
        "amex",
        "american express",
        "maestro",
        "betaalkaart",
        "pinpas",
        "debit card",
        "cvc",
        "cvv",
        "vervaldatum",
        "expiry",
    ]
)
_CARD_NOT = _keyword_re(_NEGATIVE_NUMBER_LABELS, prefix=True)


def _card_brand(digits: str) -> str | None:
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4" and n in (13, 16, 19):
        return "Visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "Mastercard"
    if two in (34, 37) and n == 15:
        return "American Express"
    if (two == 50 or 56 <= two <= 69) and 12 <= n <= 19:
        return "Maestro"
    return None


def _card_grouping_ok(raw: str) -> bool:
    separators = {c for c in raw if not c.isdigit()}
    if not separators:
        return True
    if len(separators) > 1:
        return False
    groups = [len(g) for g in re.split(r"[ \-]", raw)]
    if groups in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4


def detect_payment_card(text: str, budget: Budget | None = None) -> list[Finding]:
    """Card numbers of 13-19 digits with a Visa, Mastercard, Amex or Maestro prefix and Luhn."""
    findings: list[Finding] = []
    for m in _digit_matches(_CARD, text):
        check(budget)
        raw = m.group()
        following = text[m.end() : m.end() + 2]
        if len(following) == 2 and following[0] in " -" and following[1].isdigit():
            continue
        digits = raw.translate(_SEPARATORS_DROPPED)  # the regex allows 0-9, " " and "-" only
        if not 13 <= len(digits) <= 19 or not _card_grouping_ok(raw):
            continue
        brand = _card_brand(digits)
        if brand is None or not luhn.is_valid(digits):
            continue
        context = _context(text, m.start(), m.end(), _CARD_LABELS, _CARD_NOT)
        if context < 0:
            continue
        confidence = 0.98 if context > 0 else 0.85
        findings.append(
            Finding(
                PAYMENT_CARD,
                m.start(),
                m.end(),
                confidence,
                f"{brand} card (Luhn valid) {mask(digits)}",
            )
        )
    return findings


# --- Dutch phone numbers ------------------------------------------------------------------

_PHONE = re.compile(
    # "+", "0" or "(" first, looked at before anything else: a quick no at every other place.
    r"(?=[+0(])(?<![\w+/.\-])"
    r"(?:(?:\+|00)31[ \-]?(?:\(0\)[ \-]?)?|\(0[1-9][0-9]{0,2}\)[ \-]?|0(?=[1-9]))"
    r"[0-9](?:(?: - |[ \-.])?[0-9]){5,9}"
    r"(?![0-9]|[ \-.][0-9]| - [0-9])"
)


def detect_phone_nl(text: str, budget: Budget | None = None) -> list[Finding]:
    """Dutch phone numbers (national or +31/0031), validated with the phonenumbers library.

    Digit groups may be separated by a space, dash or dot, or by " - " ("010 - 4122 300").
    """
    findings: list[Finding] = []
    for m in _PHONE.finditer(text):
        check(budget)
        try:
            number = phonenumbers.parse(m.group(), "NL")
        except phonenumbers.NumberParseException:
            continue
        if number.country_code != 31 or not phonenumbers.is_valid_number(number):
            continue
        if _inside_iban(text, m.start(), m.end()):
            continue
        kind = phonenumbers.number_type(number)
        label = "mobile" if kind == phonenumbers.PhoneNumberType.MOBILE else "fixed/other"
        findings.append(
            Finding(
                PHONE_NL,
                m.start(),
                m.end(),
                0.9,
                f"Dutch phone number ({label}) {mask(m.group(), 2)}",
            )
        )
    return findings


# --- Date of birth ------------------------------------------------------------------------

_MONTHS = {
    "januari": 1,
    "jan": 1,
    "january": 1,
    "februari": 2,
    "feb": 2,
    "february": 2,
    "maart": 3,
    "mrt": 3,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mei": 5,
    "may": 5,
    "juni": 6,
    "jun": 6,
    "june": 6,
    "juli": 7,
    "jul": 7,
    "july": 7,
    "augustus": 8,
    "aug": 8,
    "august": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_DATE = re.compile(
    r"(?<![0-9])(?:"
    r"(?P<d>[0-3]?[0-9])(?P<s>[\-/.])(?P<m>[01]?[0-9])(?P=s)(?P<y>(?:19|20)[0-9]{2})"
    r"|(?P<y2>(?:19|20)[0-9]{2})-(?P<m2>[01][0-9])-(?P<d2>[0-3][0-9])"
    r"|(?P<d3>[0-3]?[0-9])\s(?P<mon>"
    + "|".join(sorted(_MONTHS, key=len, reverse=True))
    + r")\.?\s(?P<y3>(?:19|20)[0-9]{2})"
    r")(?![0-9])",
    re.IGNORECASE,
)
_DOB_LABELS = _keyword_re(
    [
        "geboren",
        "geboren op",
        "geb.",
        "geb",
        "geboortedatum",
        "geb.datum",
        "geb. datum",
        "date of birth",
        "dob",
        "d.o.b.",
        "born",
        "born on",
        "birth date",
        "birthdate",
        "geboortedag",
    ]
)
# "Jan de Vries (12-03-1985)" / "J. de Vries, 12-03-1985" / "mevrouw Jansen *12-03-1985".
_NAME_BEFORE = re.compile(
    r"(?:[A-Z][a-zà-ÿ]+|[A-Z]\.)(?:\s(?:van|de|der|den|ter|ten|het|'t|[A-Z][a-zà-ÿ]+|[A-Z]\.))*"
    r"\s[A-Z][a-zà-ÿ\-]+\s*(?:,|\(|\*|-)\s*$"
)


def _parse_date(m: re.Match[str]) -> datetime.date | None:
    try:
        if m.group("y"):
            return datetime.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        if m.group("y2"):
            return datetime.date(int(m.group("y2")), int(m.group("m2")), int(m.group("d2")))
        month = _MONTHS[m.group("mon").lower()]
        return datetime.date(int(m.group("y3")), month, int(m.group("d3")))
    except ValueError:
        return None


def _starts_a_cell(text: str, index: int) -> bool:
    """Whether text[index] can start a table cell: at a line's start, after a cell separator
    (and a space) or after a run of spaces; a date after a word is running text."""
    before = text[max(0, index - 2):index]
    if not before or before[-1] in "\n" + _CELL_SEPARATORS:
        return True
    return before[-1] == " " and (len(before) < 2 or before[0] in " \n" + _CELL_SEPARATORS)


def detect_date_of_birth(text: str, budget: Budget | None = None) -> list[Finding]:
    """A real past date right after a birth label (0.9) or right after a person's name (0.6).

    After a name only a date more than a year back counts: a recent date after a name is
    nearly always a letter's place and date ("Gemeente Den Haag, 20 november 2026").
    """
    findings: list[Finding] = []
    today = datetime.date.today()
    a_year_ago = today - datetime.timedelta(days=365)
    # A column can only be headed so if the text holds a birth label at all.
    columns = _DOB_LABELS.search(text) is not None
    for m in _digit_matches(_DATE, text):
        check(budget)
        date = _parse_date(m)
        if date is None or date > today:
            continue
        before = text[max(0, m.start() - 30) : m.start()]
        if _DOB_LABELS.search(before) or (
                columns and _starts_a_cell(text, m.start())
                and _column_label(text, m.start(), _DOB_LABELS, _NEVER)[0] > 0):
            confidence = 0.9
        elif date < a_year_ago and _NAME_BEFORE.search(text[max(0, m.start() - 60) : m.start()]):
            confidence = 0.6
        else:
            continue
        findings.append(Finding(DATE_OF_BIRTH, m.start(), m.end(), confidence, "date of birth"))
    return findings


# --- Registry and the scan entry point ----------------------------------------------------


def _detect_shipped_terms(text: str, budget: Budget | None = None) -> list[Finding]:
    return detect_medical(text, None, budget)


DETECTORS: dict[str, Detector] = {
    BSN: detect_bsn,
    IBAN: detect_iban,
    PASSPORT_NL: detect_passport_nl,
    PAYMENT_CARD: detect_payment_card,
    PHONE_NL: detect_phone_nl,
    DATE_OF_BIRTH: detect_date_of_birth,
    "medical": _detect_shipped_terms,
}

# Text is scanned in chunks that overlap, so nothing that straddles a boundary is lost; the
# budget is checked inside every detector's loop, so no chunk runs past it either.
CHUNK_SIZE = 131_072
_OVERLAP = 256


def _scan_chunk(
    chunk: str, org_patterns: Sequence[OrgPattern], terms: TermSet, budget: Budget
) -> list[Finding]:
    normal = normalize(chunk, budget)
    found: list[Finding] = []
    for kind, detector in DETECTORS.items():
        if kind == "medical":  # with the organisation's own terms, weighed by who it is about
            found.extend(weigh_medical(normal.text, detect_medical(normal.text, terms, budget),
                                       budget))
        else:
            found.extend(detector(normal.text, budget))
    found.extend(detect_org_patterns(normal.text, org_patterns, budget))
    if not normal.removal_points:
        return found
    mapped: list[Finding] = []
    for f in found:
        start, end = normal.original_span(f.start, f.end)
        if start == f.start and end == f.end:
            mapped.append(f)  # before any removed character: the span stays as it is
        else:
            mapped.append(Finding(f.kind, start, end, f.confidence, f.detail, f.reasons))
    return mapped


def _not_scanned(text: str, position: int, budget: Budget) -> Finding:
    return Finding(
        NOT_SCANNED,
        position,
        len(text),
        1.0,
        f"time budget of {budget.seconds:g} s used up; "
        f"{len(text) - position} characters not scanned",
    )


def scan_text(
    text: str,
    *,
    org_patterns: Sequence[OrgPattern] = (),
    terms: TermSet | Iterable[str] | None = None,
    budget_seconds: float = 2.0,
) -> list[Finding]:
    """All findings in ``text``, sorted by position, with offsets into ``text`` itself.

    ``terms`` adds the organisation's own special-category terms to the shipped lists (pass a
    prepared ``TermSet`` to avoid rebuilding it per call). If the budget runs out, also in
    the middle of a chunk, the rest of the text from that chunk on is reported as one
    ``not_scanned`` finding instead of being skipped silently.
    """
    term_set = terms if isinstance(terms, TermSet) else default_terms().extended(terms or ())
    budget = Budget(budget_seconds)
    findings: set[Finding] = set()
    position = 0
    while position < len(text):
        core_end = min(len(text), position + CHUNK_SIZE)
        if core_end < len(text):
            # Cut at whitespace so a word or number is not split at the core boundary.
            space = text.rfind(" ", core_end - _OVERLAP, core_end)
            if space > position:
                core_end = space
        # The chunk starts a little early so a label such as "BSN:" before the core is seen.
        chunk_start = max(0, position - _OVERLAP)
        chunk = text[chunk_start : min(len(text), core_end + _OVERLAP)]
        try:
            found = _scan_chunk(chunk, org_patterns, term_set, budget)
        except BudgetExceeded:
            # What this chunk found so far is dropped with it: the rest counts as unread.
            findings.add(_not_scanned(text, position, budget))
            break
        for f in found:
            start = f.start + chunk_start
            if position <= start < core_end:
                findings.add(f if not chunk_start else Finding(
                    f.kind, start, f.end + chunk_start, f.confidence, f.detail, f.reasons))
        position = core_end
        if position < len(text) and budget.exceeded():
            findings.add(_not_scanned(text, position, budget))
            break
    return sorted(findings, key=lambda f: (f.start, f.end, f.kind))
