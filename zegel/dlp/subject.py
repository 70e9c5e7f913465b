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
``("person", cue)``, ``("audience", cue)`` or ``("organisation", name)``. The cues are
regexes of bounded alternatives, tried once over the stretches within ``_WINDOW`` of a
finding (merged, so linear in the text's length); findings are matched to cues by bisecting
sorted positions.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence

from zegel.dlp.budget import Budget, check
from zegel.dlp.findings import Finding

_WINDOW = 600
HINT_CONFIDENCE = 0.35

_RELATIVES = (
    "zoon|zoontje|dochter|dochtertje|moeder|vader|man|vrouw|partner|echtgeno(?:ot|te)|kind|"
    "kindje|kinderen|broer|zus|zusje|broertje|opa|oma|schoonmoeder|schoonvader|vriend|vriendin|"
    "cliënt|client|cliënte|patiënt|patient|patiënte|pupil|leerling|bewoner|baby|tweeling|"
    "pleegkind|pleegzoon|pleegdochter|stiefzoon|stiefdochter|neef|nicht|tante|oom|"
    "son|daughter|mother|mum|mom|father|dad|husband|wife|child|kid|kids|brother|sister|"
    "grandmother|grandfather|grandma|grandpa|boyfriend|girlfriend|baby|twins|nephew|niece|"
    "aunt|uncle|friend"
)
_PERSON = re.compile(
    r"(?<![^\W_])(?:"
    # uw zoon, mijn moeder, haar dochter, your son, my wife
    r"(?:uw|mijn|m'n|haar|zijn|z'n|je|jouw|onze|ons|hun|your|my|her|his|our|their)\s+"
    r"(?:" + _RELATIVES + r")"
    # the person the care is about
    r"|patiënt(?:e|en)?|patient(?:s)?|cliënt(?:e|en)?|client(?:s)?|jeugdige|betrokkene|"
    r"verdachte|gedetineerde|zorgvrager|pupil|bewoner|resident|service user|"
    r"de heer|mevrouw|mevr\.?|mw\.?|dhr\.?|meneer|mr\.?|mrs\.?|ms\.?|miss|"
    # identifiers and a date of birth nearby
    r"bsn|burgerservicenummer|patiëntnummer|patientnummer|cliëntnummer|clientnummer|"
    r"dossiernummer|nhs number|mrn|geboren|geb\.|geboortedatum|date of birth|dob|d\.o\.b\.|"
    r"born on"
    r")(?![^\W_])",
    re.IGNORECASE,
)
# Weaker: the writer, the addressee or a "he"/"she" doing or having something.
_PRONOUN = re.compile(
    r"(?<![^\W_])(?:"
    r"ik\s+(?:ben|heb|had|word|werd|was|gebruik|slik|lijd|krijg|kreeg|moet|voel|lig|zit)|"
    r"ik\s+[^\W\d_]+\s+(?:ben|heb|geweest|gehad|gekregen)|"
    r"i\s+(?:am|have|had|was|got|take|suffer|need)|i'm|i've|"
    r"u\s+(?:bent|heeft|had|gebruikt|krijgt|lijdt|was)|you\s+(?:are|have|had|were)|"
    r"hij\s+(?:is|heeft|had|was|gebruikt|krijgt|kreeg|wordt|werd)|"
    r"zij\s+(?:is|heeft|had|was|gebruikt|krijgt|kreeg|wordt|werd)|"
    r"ze\s+(?:is|heeft|had|was|gebruikt|krijgt|kreeg|wordt|werd)|"
    r"he\s+(?:is|has|had|was|takes|got)|she\s+(?:is|has|had|was|takes|got)|"
    r"he's|she's"
    r")(?![^\W_])",
    re.IGNORECASE,
)
# A salutation to one named person: "Beste Marieke,", "Dear Mr Smith", "Geachte mevrouw".
_SALUTATION = re.compile(
    r"(?:^|\n)[ \t]*(?i:beste|geachte|lieve|hoi|hallo|hi|hey|dear|hello)\s+"
    r"(?!(?i:allen\b|allemaal\b|iedereen\b|collega's|collegas\b|team\b|all\b|everyone\b|"
    r"ouders\b|leden\b|vrijwilligers\b|deelnemers\b|bewoners\b|medewerkers\b|"
    r"heer/mevrouw|sir/madam|colleagues\b|staff\b|parents\b|members\b|volunteers\b))"
    r"(?:(?i:mevrouw|meneer|heer|mr\.?|mrs\.?|ms\.?|dr\.?)\s)?[A-Z][a-zà-ÿ]+",
)
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
    r"(?<![^\W_])(?:" + _VERB + r"\s+(?!(?:" + _NOT_NAMES + r")(?![^\W_]))" + _NAME
    + r"|(?!(?:" + _NOT_NAMES + r")(?![^\W_]))" + _NAME + r"\s+" + _VERB + r")(?![^\W_])"
)
_PRECEDING_CAPITAL = re.compile(r"[A-Z][a-zà-ÿ]+\s$")
# A capitalised term followed by a name ("Thuiszorg De Zonnebloem", "Alzheimer Nederland"),
# or after "Stichting" ("Stichting Veilig Thuis"): an organisation's name.
_NAME_AFTER = re.compile(r"[ \t]+(?:De |Het |'t )?[A-Z][a-zà-ÿ]+")
_ORGANISATION_BEFORE = re.compile(
    r"(?<![^\W_])(?:stichting|vereniging|fonds|foundation|trust|society)\s+$", re.IGNORECASE)
# "uw COPD", "my chemotherapy sessions", "haar nieuwe heup": the term is someone's.
_POSSESSIVE_BEFORE = re.compile(
    r"(?<![^\W_])(?:uw|mijn|m'n|haar|zijn|z'n|je|jouw|hun|your|my|her|his|their)"
    r"\s+(?:[^\W\d_]+\s+)?$",
    re.IGNORECASE,
)
_AUDIENCE = re.compile(
    r"(?<![^\W_])(?:"
    # many people addressed at once
    r"iedereen|allemaal|allen|collega's|collegas|medewerkers|vrijwilligers|deelnemers|"
    r"everyone|everybody|all staff|dear all|hi all|hello all|colleagues|volunteers|"
    # events, campaigns, vacancies, newsletters
    r"awareness|bewustwording|themaweek|week van de|week tegen|wereld\w*dag|world \w+ day|"
    r"campagne|campaign|symposium|congres|conference|webinar|lezing|lecture|seminar|"
    r"workshop|nascholing|bijeenkomst|inloopavond|"
    r"vacature|vacancy|vacancies|we zoeken|we are hiring|we're hiring|hiring|solliciteer|"
    r"sponsorloop|charity|fundraiser|fundraising|inzamelingsactie|collecte|donatie|donation|"
    r"goede doel|fun run|benefietloop|loop mee|"
    r"nieuwsbrief|newsletter"
    r")(?![^\W_])",
    re.IGNORECASE,
)
# Weaker: orders, facilities, IT, an organisation's arrangements.
_THINGS = re.compile(
    r"(?<![^\W_])(?:"
    r"bestelling|bestellen|voorraad|stock|levering|leverancier|supplier|inkoop|"
    r"parkeren|parkeerplaats|parkeergarage|parking|"
    r"ticket|storing|helpdesk|servicedesk|wachtwoord|password|printer|"
    r"vitaliteit|wellbeing|welzijnsdag|gezondheidsweek|"
    # organisations and their arrangements
    r"zorgverzekeraar|zorgverzekeraars|verzekeraar|verzekeraars|vergoeding|vergoedingen|"
    r"tarieven|insurer|insurers|reimbursement|tariffs"
    r")(?![^\W_])",
    re.IGNORECASE,
)


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


def _find(pattern: re.Pattern[str], text: str, spans: Sequence[tuple[int, int]],
          budget: Budget | None) -> list[Cue]:
    found = []
    for lo, hi in spans:
        for m in pattern.finditer(text, lo, hi):
            check(budget)
            if pattern is _NAMED and _PRECEDING_CAPITAL.search(text, max(0, m.start() - 40),
                                                               m.start()):
                continue  # "Zilveren Kruis heeft": an organisation's name, not a person's
            found.append((m.start(), " ".join(m.group().split())))
    return sorted(found)


def _cues(text: str, findings: Sequence[Finding],
          budget: Budget | None) -> dict[tuple[str, int], list[Cue]]:
    """Cues by (side, strength): ("person", STRONG) holds "uw zoon", "mevrouw", a BSN..."""
    spans = _windows(findings, len(text))
    return {
        ("person", STRONG): sorted(_find(_PERSON, text, spans, budget)
                                   + _find(_SALUTATION, text, spans, budget)
                                   + _find(_NAMED, text, spans, budget)),
        ("person", WEAK): _find(_PRONOUN, text, spans, budget),
        ("audience", STRONG): _find(_AUDIENCE, text, spans, budget),
        ("audience", WEAK): _find(_THINGS, text, spans, budget),
    }


def _nearest(cues: Sequence[tuple[int, str]], start: int, end: int
             ) -> tuple[int, str] | None:
    """The cue closest to text[start:end] within the window, not inside it: (distance, cue)."""
    if not cues:
        return None
    i = bisect_left(cues, (start, ""))
    best: tuple[int, str] | None = None
    # A few cues either side: one that starts inside the finding (the term itself) is skipped.
    for j in range(max(0, i - 3), min(len(cues), i + 3)):
        position, cue = cues[j]
        if start <= position < end:
            continue
        distance = start - position - len(cue) if position < start else position - end
        distance = max(0, distance)
        if distance <= _WINDOW and (best is None or distance < best[0]):
            best = (distance, cue)
    return best


def _about(text: str, f: Finding, cues: dict[tuple[str, int], list[Cue]]) -> tuple[str, str]:
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
    before = text[max(0, f.start - 30):f.start]
    owner = _POSSESSIVE_BEFORE.search(before)
    if owner:
        return "person", " ".join(owner.group().split())
    best: tuple[int, int, int, str, str] | None = None
    for (side, strength), found in cues.items():
        near = _nearest(found, f.start, f.end)
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
