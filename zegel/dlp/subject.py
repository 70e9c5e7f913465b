"""Who a text is about: special-category data is data about a person.

A health word in a newsletter, a vacancy, an awareness week or an IT ticket is about nobody;
the same word next to "uw zoon", a patient, a named person, a date of birth or a BSN is
article 9 data. ``weigh_medical`` looks for such cues around each special-category finding:

* a **person cue** within ``_WINDOW`` characters keeps the finding (0.8) and names the cue;
  an **audience, event or organisation cue** ("iedereen", "collega's", "symposium",
  "vacature", "nieuwsbrief", "bestelling", "zorgverzekeraar", ...) lowers it to a hint below
  the report threshold, naming that cue;
* cues are strong (a possessive right before the term: "uw COPD"; "uw zoon", a patient,
  "mevrouw Jansen", a named person, a salutation to one person, a BSN or date of birth;
  many people addressed, an event, a vacancy, a newsletter) or weak ("ik heb", "hij is";
  an order, a supplier, parking, an IT ticket, an insurer). The stronger side wins, of two
  as strong the nearer, a person on a tie;
* with neither the finding stays as it was (a clinical note often names nobody).

A capitalised term in an organisation's name ("Thuiszorg De Zonnebloem", "Stichting Veilig
Thuis") is a hint too. Each finding gets its reasons: ``("term", word)``, then
``("person", cue)``, ``("audience", cue)`` or ``("organisation", name)``. Word cues are
found by one Aho-Corasick automaton, the few others by bounded regexes, once over the
stretches within ``_WINDOW`` of a finding (merged, so linear in the text's length);
findings are matched to cues by bisecting sorted positions.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import ahocorasick

from zegel.dlp.budget import Budget, check
from zegel.dlp.findings import Finding

_WINDOW = 600
HINT_CONFIDENCE = 0.35

_RELATIVES = """
zoon zoontje dochter dochtertje moeder vader man vrouw partner echtgenoot echtgenote kind
kindje kinderen broer zus zusje broertje opa oma schoonmoeder schoonvader vriend vriendin
cliënt client cliënte patiënt patient patiënte pupil leerling bewoner baby tweeling
pleegkind pleegzoon pleegdochter stiefzoon stiefdochter neef nicht tante oom
son daughter mother mum mom father dad husband wife child kid kids brother sister
grandmother grandfather grandma grandpa boyfriend girlfriend twins nephew niece aunt uncle
friend
schoonzoon schoondochter kleinzoon kleindochter kleinkind stiefvader stiefmoeder zwager
schoonzus vriendje vriendinnetje verloofde mama papa mam pap ouders collega buurman
buurvrouw peuter kleuter puber tiener werknemer medewerker medewerkster leidinggevende
stepson stepdaughter stepfather stepmother grandson granddaughter grandchild fiancé fiancée
parents colleague neighbour neighbor toddler baby teenager employee partner
""".split()
_POSSESSIVES = "uw mijn m'n haar zijn z'n je jouw onze ons hun your my her his our their".split()
_PERSON_WORDS = [
    *(f"{owner} {relative}" for owner in _POSSESSIVES for relative in _RELATIVES),
    # the person the care is about
    "patiënt", "patiënte", "patient", "cliënt", "cliënte", "client", "jeugdige", "betrokkene",
    "verdachte", "gedetineerde", "zorgvrager", "pupil", "bewoner", "resident", "service user",
    "de heer", "mevrouw", "mevr",
    "mevr.", "mw", "mw.", "dhr", "dhr.", "meneer", "mr", "mr.", "mrs", "mrs.", "ms", "ms.",
    "miss",
    # identifiers and a date of birth nearby
    "bsn", "burgerservicenummer", "patiëntnummer", "patientnummer", "cliëntnummer",
    "clientnummer", "dossiernummer", "nhs number", "mrn", "geboren", "geb.", "geboortedatum",
    "date of birth", "dob", "d.o.b.", "born on",
    # one person named by role or by an identifier of a person (issue 14, by kind)
    "de werknemer", "deze werknemer", "the employee", "this employee", "verzekerde",
    "de verzekerde", "aanvrager", "de aanvrager", "the applicant", "the claimant",
    "belanghebbende", "justitiabele", "de jongere", "deze jongere", "minderjarige",
    "young person", "the young person", "het kind", "dit kind", "the child", "this child",
    "deze leerling", "this pupil", "the patient", "this patient", "de patiënt", "de cliënt",
    "zorgnummer", "nhs no", "nhs no.", "hospital number", "ziekenhuisnummer", "patient id",
    "patient number", "patiënt-id", "pat.nr", "patnr", "cliëntnr", "clientnr", "dossiernr",
    "parketnummer", "v-nummer", "geb.datum", "geboren op", "birth date", "birthdate",
    # an age ("de 8-jarige", "82 jaar oud", "a 6-year-old"): word cues, no regex pass
    "jarige", "jaar oud", "years old", "year old", "year-old",
]
_PRONOUN_WORDS = [
    *(f"ik {verb}" for verb in
      "ben heb had word werd was gebruik slik lijd krijg kreeg moet voel lig zit".split()),
    *(f"i {verb}" for verb in "am have had was got take suffer need".split()), "i'm", "i've",
    *(f"u {verb}" for verb in "bent heeft had gebruikt krijgt lijdt was".split()),
    *(f"you {verb}" for verb in "are have had were".split()),
    *(f"{who} {verb}" for who in ("hij", "zij", "ze")
      for verb in "is heeft had was gebruikt krijgt kreeg wordt werd".split()),
    *(f"{who} {verb}" for who in ("he", "she") for verb in "is has had was takes got".split()),
    "he's", "she's",
    # patients in the plural: a group (parking, a waiting room) as often as a list of people
    "patiënten", "patients", "cliënten", "clients",
]
_AUDIENCE_WORDS = [
    # many people addressed at once
    "iedereen", "allemaal", "allen", "collega's", "collegas", "beste collega's", "medewerkers",
    "vrijwilligers", "deelnemers", "bezoekers", "visitors", "everyone", "everybody",
    "all staff", "dear all", "hi all",
    "hello all", "colleagues", "volunteers",
    # events, campaigns, vacancies, newsletters
    "awareness", "bewustwording", "themaweek", "week van de", "week tegen", "campagne",
    "campaign", "symposium", "congres", "conference", "webinar", "lezing", "lecture",
    "seminar", "workshop", "nascholing", "bijeenkomst", "inloopavond", "vacature", "vacancy",
    "vacancies", "we zoeken", "we are hiring", "we're hiring", "hiring", "solliciteer",
    "sponsorloop", "charity", "fundraiser", "fundraising", "inzamelingsactie", "collecte",
    "donatie", "donation", "goede doel", "fun run", "benefietloop", "loop mee", "nieuwsbrief",
    "newsletter",
    # parents, members, residents addressed as a group; publications and courses
    "beste ouders", "ouders/verzorgers", "ouder/verzorger", "alle ouders", "leden",
    "members", "inwoners", "bewoners", "residents", "cursisten", "studenten", "students",
    "attendees", "participants", "alle medewerkers", "all employees", "open dag", "open day",
    "informatieavond", "voorlichting", "voorlichtingsavond", "information evening",
    "e-learning", "persbericht", "press release", "jaarverslag",
    "annual report", "brochure", "folder", "flyer", "poster",
]
_THING_WORDS = [
    # orders, facilities, IT, an organisation's arrangements
    "bestelling", "bestellen", "besteld", "bestellijst", "voorraad", "voorraadlijst",
    "voorraadbeheer", "magazijn", "assortiment", "prijslijst", "webshop", "stock", "levering",
    "geleverd", "leverancier", "supplier", "order", "orders", "ordered", "shipped",
    "shipment", "delivery", "delivered", "warehouse", "price list", "invoice", "factuur",
    "inkoop", "parkeren", "parkeerplaats", "parkeergarage", "parkeerbeleid",
    "parkeertarief", "parkeertarieven", "parking", "ticket", "storing",
    "helpdesk", "servicedesk", "wachtwoord", "password", "printer", "vitaliteit", "wellbeing",
    "welzijnsdag", "gezondheidsweek", "zorgverzekeraar", "zorgverzekeraars", "verzekeraar",
    "verzekeraars", "vergoeding", "vergoedingen", "tarieven", "insurer", "insurers",
    "reimbursement", "tariffs",
    # research, statistics, policy: about people in general
    "onderzoek naar", "research", "studie", "statistieken", "statistics", "richtlijn",
    "richtlijnen", "guideline", "guidelines", "protocol", "beleid", "landelijk", "nationwide",
    "preventie", "prevention", "per jaar", "per year",
]
_PERSON, _PRONOUN, _AUDIENCE, _THINGS = "person", "pronoun", "audience", "things"
# The few cues a word list cannot hold.
# Each pattern starts with its first letter in all the forms a case-insensitive regex takes
# for it (i, I, dotted I, dotless i; w, W), which the regex engine skips to in C, and then
# looks behind it.
_PRONOUN_GAP = re.compile(
    r"(?-i:[iI\u0130\u0131])(?<![^\W_].)k"
    r"\s+[^\W\d_]+\s+(?:ben|heb|geweest|gehad|gekregen)(?![^\W_])", re.IGNORECASE)
_DAYS = re.compile(r"(?-i:[wW])(?<![^\W_].)(?:ereld[^\W\d_]*dag|orld [^\W\d_]+ day)(?![^\W_])",
                   re.IGNORECASE)


@cache
def _automaton() -> Any:
    """All word-list cues in one Aho-Corasick automaton: one pass over the text, in C."""
    automaton = ahocorasick.Automaton()
    for group, words in ((_PERSON, _PERSON_WORDS), (_PRONOUN, _PRONOUN_WORDS),
                         (_AUDIENCE, _AUDIENCE_WORDS), (_THINGS, _THING_WORDS)):
        for word in words:
            automaton.add_word(word, (group, len(word)))
    automaton.make_automaton()
    return automaton


def _word_cues(text: str, spans: Sequence[tuple[int, int]],
               budget: Budget | None) -> dict[str, list[Cue]]:
    found: dict[str, list[Cue]] = {_PERSON: [], _PRONOUN: [], _AUDIENCE: [], _THINGS: []}
    automaton = _automaton()
    for lo, hi in spans:
        lowered = text[lo:hi].lower()
        if len(lowered) != hi - lo:  # a letter whose lower case is longer ("İ"): kept as is
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text[lo:hi])
        for end, (group, length) in automaton.iter(lowered):
            check(budget)
            start = end - length + 1
            before = lowered[start - 1] if start > 0 else " "
            after = lowered[end + 1] if end + 1 < len(lowered) else " "
            if before.isalnum() or before == "_" or (
                    (after.isalnum() or after == "_") and lowered[end].isalnum()):
                continue
            found[group].append((lo + start, text[lo + start:lo + end + 1]))
    return found


# A salutation to one named person: "Beste Marieke,", "Dear Mr Smith", "Geachte mevrouw".
_SALUTATION = re.compile(
    r"(?:^|\n)[ \t]*(?i:beste|geachte|lieve|hoi|hallo|hai|hee|dag|goedemorgen|goedemiddag|"
    r"goedenavond|hi|hey|dear|hello|good morning|good afternoon)\s+"
    r"(?!(?i:allen\b|allemaal\b|iedereen\b|collega's|collegas\b|team\b|all\b|everyone\b|"
    r"ouders\b|leden\b|vrijwilligers\b|deelnemers\b|bewoners\b|medewerkers\b|"
    r"heer/mevrouw|sir/madam|colleagues\b|staff\b|parents\b|members\b|volunteers\b))"
    r"(?:(?i:mevrouw|meneer|heer|mr\.?|mrs\.?|ms\.?|dr\.?)\s)?[A-Z][a-zà-ÿ]+",
)
# _SALUTATION after a newline only: it starts with a literal, which the regex engine skips to
# in C; _find tries the whole pattern at the start of the text itself.
_SALUTATION_START = r"(?:^|\n)"
if not _SALUTATION.pattern.startswith(_SALUTATION_START):
    raise ImportError("_SALUTATION must start with " + _SALUTATION_START)
_SALUTATION_AFTER_NEWLINE = re.compile("\n" + _SALUTATION.pattern[len(_SALUTATION_START):])
# A named person doing or having something: "Joyce is", "is Joyce", "Jan de Vries heeft".
_NOT_NAMES = (
    "Dit|Dat|Het|Er|Wie|Wat|Deze|Die|Hier|Daar|Nu|Ook|Wij|We|Jullie|Zij|Ze|Hij|Ik|U|Men|"
    "Iedereen|Alles|Niemand|Niets|Veel|Meer|Dan|Toen|Zo|Als|Wanneer|Welke|Waar|Hoe|Waarom|"
    "De|Een|Onze|Mijn|Uw|Zijn|Haar|Hun|Ons|Elke|Ieder|Geen|Morgen|Vandaag|Gisteren|"
    "This|That|It|There|Who|What|He|She|They|You|I|Everyone|Everybody|Nobody|Everything|"
    "The|A|An|Our|My|Your|His|Her|Their|Each|Every|No|Today|Tomorrow|Yesterday|Here|Now|"
    "Which|Where|How|Why|When|Then|So|If|Also|Maandag|Dinsdag|Woensdag|Donderdag|Vrijdag|"
    "Monday|Tuesday|Wednesday|Thursday|Friday"
)
_VERB = r"(?:is|heeft|had|was|wordt|werd|gaat|ging|krijgt|kreeg|ligt|lag|zit|has|takes|got|needs)"
_NAME = r"[A-Z][a-zà-ÿ]+(?:\s(?:van|de|der|den|van de|van der)\s[A-Z][a-zà-ÿ]+|\s[A-Z][a-zà-ÿ]+)?"
_NAMED = re.compile(
    r"(?=[ihwgklztnA-Z])(?<![^\W_])"  # a verb's or a name's first letter: a quick no elsewhere
    r"(?:" + _VERB + r"\s+(?!(?:" + _NOT_NAMES + r")(?![^\W_]))" + _NAME
    + r"|(?!(?:" + _NOT_NAMES + r")(?![^\W_]))" + _NAME + r"\s+" + _VERB + r")(?![^\W_])"
)
_PRECEDING_CAPITAL = re.compile(r"[A-Z][a-zà-ÿ]+\s$")
# A capitalised term followed by a name ("Thuiszorg De Zonnebloem", "Alzheimer Nederland"),
# or after "Stichting" ("Stichting Veilig Thuis"): an organisation's name.
_NAME_AFTER = re.compile(r"[ \t]+(?:De |Het |'t )?[A-Z][a-zà-ÿ]+")
_ORGANISATION_BEFORE = re.compile(
    r"(?<![^\W_])(?:stichting|vereniging|fonds|foundation|trust|society)\s+$", re.IGNORECASE)
# "uw COPD", "my chemotherapy sessions", "haar nieuwe heup": the term is someone's.
# Only one person's: "our"/"onze" before a term is as often an organisation ("our mental
# health team", "onze oncologie").
_OWNERS = frozenset(_POSSESSIVES) - {"onze", "ons", "hun", "our", "their"}


Cue = tuple[int, str]
STRONG, WEAK = 2, 1


def _windows(findings: Sequence[Finding], length: int) -> list[tuple[int, int]]:
    """The stretches of text within ``_WINDOW`` of a finding, merged: cues are looked for
    there only, so one health word does not make the whole chunk be read again."""
    spans: list[tuple[int, int]] = []
    for f in sorted(findings, key=lambda f: f.start):
        lo, hi = max(0, f.start - _WINDOW - 80), min(length, f.end + _WINDOW + 80)
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


def _finditer(pattern: re.Pattern[str], text: str, lo: int, hi: int
              ) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text, lo, hi)``; _SALUTATION's "^" only matches at 0, so past a
    match there (or none) the rest is the search for one after a newline."""
    if pattern is not _SALUTATION:
        yield from pattern.finditer(text, lo, hi)
        return
    if lo == 0:
        first = pattern.match(text, 0, hi)
        if first is not None:
            yield first
            lo = first.end()
    yield from _SALUTATION_AFTER_NEWLINE.finditer(text, lo, hi)


def _find(pattern: re.Pattern[str], text: str, spans: Sequence[tuple[int, int]],
          budget: Budget | None) -> list[Cue]:
    found = []
    for lo, hi in spans:
        for m in _finditer(pattern, text, lo, hi):
            check(budget)
            if pattern is _NAMED and _PRECEDING_CAPITAL.search(text, max(0, m.start() - 40),
                                                               m.start()):
                continue  # "Zilveren Kruis heeft": an organisation's name, not a person's
            found.append((m.start(), " ".join(m.group().split())))
    return sorted(found)


Cues = dict[tuple[str, int], tuple[list[int], list[Cue]]]


def _cues(text: str, findings: Sequence[Finding], budget: Budget | None) -> Cues:
    """Cues by (side, strength): ("person", STRONG) holds "uw zoon", "mevrouw", a BSN...;
    each as the sorted positions (to bisect) and the sorted cues."""
    spans = _windows(findings, len(text))
    words = _word_cues(text, spans, budget)
    # Strong first: _about stops before the weak ones once a strong cue is near.
    grouped = {
        ("person", STRONG): sorted(words[_PERSON] + _find(_SALUTATION, text, spans, budget)
                                   + _find(_NAMED, text, spans, budget)),
        ("audience", STRONG): sorted(words[_AUDIENCE] + _find(_DAYS, text, spans, budget)),
        ("person", WEAK): sorted(words[_PRONOUN] + _find(_PRONOUN_GAP, text, spans, budget)),
        ("audience", WEAK): sorted(words[_THINGS]),
    }
    return {key: ([position for position, _ in found], found)
            for key, found in grouped.items() if found}


def _nearest(positions: list[int], cues: list[Cue], start: int, end: int
             ) -> tuple[int, str] | None:
    """The cue closest to text[start:end] within the window, not inside it: (distance, cue)."""
    i = bisect_left(positions, start)
    best: tuple[int, str] | None = None
    # A few cues either side: one that starts inside the finding (the term itself) is skipped.
    for j in range(max(0, i - 3), min(len(cues), i + 3)):
        position = positions[j]
        if position < start:
            cue = cues[j][1]
            distance = start - position - len(cue)
            if distance < 0:
                distance = 0
        elif position >= end:
            distance = position - end
        else:
            continue
        if distance <= _WINDOW and (best is None or distance < best[0]):
            best = (distance, cues[j][1])
    return best


def _about(text: str, f: Finding, cues: Cues) -> tuple[str, str]:
    """("person", "audience", "organisation" or "", cue): a name first ("Thuiszorg De
    Zonnebloem" is who wrote, not what anyone has), then the stronger cue near the finding,
    the nearer of two as strong; a person on a tie."""
    if text[f.start:f.start + 1].isupper():
        name = _NAME_AFTER.match(text, f.end, min(len(text), f.end + 60))
        if name:
            return "organisation", " ".join(text[f.start:name.end()].split())
    organisation = _ORGANISATION_BEFORE.search(text, max(0, f.start - 30), f.start)
    if organisation:
        return "organisation", " ".join(text[organisation.start():f.end].split())
    # "uw COPD", "my chemotherapy sessions", "haar nieuwe heup": the term is someone's.
    if f.start > 0 and text[f.start - 1].isspace():
        words = text[max(0, f.start - 30):f.start].split()
        for back in (1, 2):
            if len(words) >= back and words[-back].lower() in _OWNERS:
                return "person", " ".join(words[-back:])
    best: tuple[int, int, int, str, str] | None = None
    for (side, strength), (positions, found) in cues.items():
        if best is not None and -strength > best[0]:
            break  # a strong cue is near: no weak one can win
        near = _nearest(positions, found, f.start, f.end)
        if near is None:
            continue
        candidate = (-strength, near[0], 0 if side == "person" else 1, side, near[1])
        if best is None or candidate < best:
            best = candidate
    return (best[3], best[4]) if best else ("", "")


def weigh_medical(text: str, findings: Sequence[Finding],
                  budget: Budget | None = None) -> list[Finding]:
    """Special-category findings with who the text is about weighed in (see above)."""
    if not findings:
        return []
    cues = _cues(text, findings, budget)
    weighed = []
    for f in findings:
        check(budget)
        term = ("term", " ".join(text[f.start:f.end].split()))
        side, cue = _about(text, f, cues)
        if side == "person":
            weighed.append(Finding(f.kind, f.start, f.end, f.confidence, f.detail,
                                   (term, ("person", cue))))
        elif side in ("audience", "organisation"):
            weighed.append(Finding(f.kind, f.start, f.end, min(f.confidence, HINT_CONFIDENCE),
                                   f.detail, (term, (side, cue))))
        else:
            weighed.append(Finding(f.kind, f.start, f.end, f.confidence, f.detail, (term,)))
    return weighed
