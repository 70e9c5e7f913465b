# ruff: noqa: E501 - the token table reads best as one line per token.
"""Regenerate the labelled DLP corpus (nl.jsonl, en.jsonl). Not used by the tests themselves.

    .venv/bin/python tests/dlp/corpus/make_corpus.py

Templates mark what to fill in with [token]; tokens that stand for sensitive data add a
label. Numbers are random (BSNs only 11-proef-valid made-up numbers, never real people's).
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.nl import bsn as stdnum_bsn

HERE = Path(__file__).parent
# A fixed seed keeps the checked-in corpus reproducible; this is test data, not crypto.
rng = random.Random(20240917)  # noqa: S311

FIRST = [
    "Jan",
    "Fatima",
    "Sanne",
    "Mohammed",
    "Eva",
    "Pieter",
    "Noor",
    "Daan",
    "Lotte",
    "Ahmed",
    "Sophie",
    "Bram",
    "Yara",
    "Kees",
    "Ingrid",
    "Tom",
    "Emma",
    "Hassan",
    "Anouk",
    "Joris",
    "Mila",
    "Ravi",
    "Femke",
    "Luuk",
]
LAST = [
    "de Vries",
    "Jansen",
    "Bakker",
    "El Amrani",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Yilmaz",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "van Dijk",
    "Kaya",
    "Willems",
    "Verbeek",
]
CITIES = [
    "Utrecht",
    "Zwolle",
    "Groningen",
    "Eindhoven",
    "Leiden",
    "Almere",
    "Tilburg",
    "Arnhem",
    "Haarlem",
    "Enschede",
    "Delft",
    "Maastricht",
    "Amersfoort",
    "Breda",
]
ORGS = [
    "Zorggroep Noord",
    "Huisartsenpraktijk De Linde",
    "Gemeente Zwolle",
    "Jeugdteam Oost",
    "Advocatenkantoor Van Dam & Partners",
    "Zorgcentrum Rivierduinen",
    "Wijkteam Centrum",
    "Ziekenhuis Rijnstate",
    "Stichting Veilig Thuis Utrecht",
    "Notariskantoor Bosman",
    "Gemeente Almere",
    "Thuiszorg De Zonnebloem",
]
SHOPS = [
    "Bol",
    "Coolblue",
    "Bakkerij Smit",
    "Drukkerij Vos",
    "Kantoorplein",
    "Fietsenwinkel De Ketting",
]
MONTHS_NL = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]
MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
BANKS = ["ABNA", "RABO", "INGB", "TRIO", "SNSB", "ASNB", "KNAB", "BUNQ"]

MED_NL = {
    "diag": [
        "diabetes",
        "diabetespatiënt",
        "borstkanker",
        "longkanker",
        "epilepsie",
        "astma",
        "COPD",
        "dementie",
        "ziekte van Parkinson",
        "hartfalen",
        "hiv",
        "reuma",
        "autisme",
        "ADHD",
        "obesitas",
        "hersenletsel",
        "zwangerschap",
        "miskraam",
        "tumor",
        "leukemie",
        "hoge bloeddruk",
        "eetstoornis",
        "chronische ziekte",
        "ziekmelding",
        "arbeidsongeschikt",
        "dyslexie",
        "trombose",
        "beroerte",
    ],
    "med": [
        "insuline",
        "metformine",
        "methadon",
        "antidepressiva",
        "ritalin",
        "oxazepam",
        "morfine",
        "prednison",
        "lithium",
        "sertraline",
        "medicatieoverzicht",
        "herhaalrecept",
        "bloedverdunners",
        "antibioticakuur",
        "quetiapine",
    ],
    "treat": [
        "chemotherapie",
        "fysiotherapie",
        "dialyse",
        "bestraling",
        "revalidatie",
        "logopedie",
        "ivf-behandeling",
        "palliatieve zorg",
        "ziekenhuisopname",
    ],
    "mental": [
        "depressie",
        "depressieve",
        "psychose",
        "psychiater",
        "psychiatrische",
        "angststoornis",
        "burn-out",
        "schizofrenie",
        "bipolaire stoornis",
        "verslaving",
        "alcoholverslaving",
        "suïcidaal",
        "zelfbeschadiging",
        "ggz-behandeling",
        "GGZ",
        "psycholoog",
        "PTSS",
        "crisisdienst",
        "paniekstoornis",
        "persoonlijkheidsstoornis",
    ],
    "youth": [
        "jeugdzorg",
        "jeugdhulp",
        "uithuisplaatsing",
        "ondertoezichtstelling",
        "pleeggezin",
        "gezinsvoogd",
        "jeugdbescherming",
        "huiselijk geweld",
        "kindermishandeling",
        "pleegzorg",
        "Veilig Thuis",
        "voogdij",
    ],
    "crime": [
        "strafblad",
        "veroordeeld",
        "detentie",
        "taakstraf",
        "reclassering",
        "proces-verbaal",
        "gevangenis",
        "enkelband",
        "strafzaak",
        "zedendelict",
        "justitiële documentatie",
        "celstraf",
    ],
}
MED_EN = {
    "diag": [
        "diabetic",
        "cancer",
        "breast cancer",
        "epileptic",
        "asthma",
        "dementia",
        "Parkinson's disease",
        "heart failure",
        "autism",
        "ADHD",
        "eating disorder",
        "pregnancy",
        "pregnant",
        "miscarriage",
        "tumour",
        "leukaemia",
        "chronic illness",
        "sick leave",
        "medical history",
        "disability",
        "multiple sclerosis",
    ],
    "med": [
        "insulin",
        "metformin",
        "methadone",
        "antidepressants",
        "morphine",
        "ritalin",
        "repeat prescription",
        "blood thinners",
        "antibiotics",
        "antipsychotic",
    ],
    "treat": [
        "chemotherapy",
        "physiotherapy",
        "dialysis",
        "radiotherapy",
        "rehabilitation",
        "IVF treatment",
        "palliative care",
        "hospital admission",
        "nursing home",
    ],
    "mental": [
        "depression",
        "depressed",
        "psychosis",
        "psychiatrist",
        "psychiatric",
        "anxiety disorder",
        "PTSD",
        "schizophrenia",
        "bipolar disorder",
        "addiction",
        "suicidal",
        "self-harm",
        "mental health",
        "psychologist",
        "panic attacks",
    ],
    "youth": [
        "youth care",
        "foster care",
        "foster family",
        "child protection",
        "domestic violence",
        "child abuse",
        "safeguarding",
        "supervision order",
    ],
    "crime": [
        "criminal record",
        "convicted",
        "prison sentence",
        "probation",
        "parole",
        "arrested",
        "detention",
        "certificate of conduct",
        "sex offender",
    ],
}


def valid_bsn() -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        digits[0] = rng.randint(1, 9)
        total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        check = total % 11
        if check < 10:
            number = "".join(map(str, digits)) + str(check)
            assert stdnum_bsn.is_valid(number)
            return number


def invalid_bsn() -> str:
    while True:
        number = str(rng.randint(100_000_000, 999_999_999))
        if not stdnum_bsn.is_valid(number):
            return number


def nine_digits() -> str:
    """A 9-digit reference number that passes the 11-proef half of the time."""
    return valid_bsn() if rng.random() < 0.5 else invalid_bsn()


def fmt_bsn(number: str) -> str:
    style = rng.random()
    if style < 0.5:
        return number
    if style < 0.65:
        return f"{number[:4]}.{number[4:6]}.{number[6:]}"
    if style < 0.8:
        return f"{number[:3]} {number[3:6]} {number[6:]}"
    if style < 0.9:
        return f"{number[:3]}-{number[3:6]}-{number[6:]}"
    if style < 0.95:
        return f"{number[:3]}\u00a0{number[3:6]}\u00a0{number[6:]}"
    return number[:3] + "\u200b" + number[3:6] + "\u200b" + number[6:]


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def valid_iban() -> str:
    while True:
        roll = rng.random()
        if roll < 0.75:
            number = _iban("NL", rng.choice(BANKS) + f"{rng.randint(0, 9_999_999_999):010d}")
        elif roll < 0.9:
            number = _iban(
                "DE", f"{rng.randint(10_000_000, 99_999_999)}{rng.randint(0, 9_999_999_999):010d}"
            )
        else:
            number = _iban("BE", f"{rng.randint(0, 9_999_999_999):010d}")
            body = int(number[4:14])
            number = _iban("BE", f"{number[4:14]}{body % 97 or 97:02d}")
        if stdnum_iban.is_valid(number):
            return number


def invalid_iban() -> str:
    number = valid_iban()
    check = int(number[2:4])
    return f"{number[:2]}{(check + rng.randint(1, 90)) % 100:02d}{number[4:]}"


def fmt_iban(number: str) -> str:
    style = rng.random()
    if style < 0.45:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    if style < 0.85:
        return number
    if style < 0.95:
        return number.lower()
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4)).replace(" ", "\u00a0")


def phone() -> str:
    while True:
        if rng.random() < 0.5:
            subscriber = f"{rng.randint(10_000_000, 99_999_999)}"
            text = rng.choice(
                [
                    f"06-{subscriber}",
                    f"06 {subscriber}",
                    f"+31 6 {subscriber[:4]} {subscriber[4:]}",
                    f"06{subscriber}",
                    f"+316{subscriber}",
                ]
            )
        else:
            area = rng.choice(["020", "010", "030", "038", "050", "040", "071", "026"])
            rest = f"{rng.randint(1_000_000, 9_999_999)}" if len(area) == 3 else ""
            text = rng.choice(
                [f"{area}-{rest}", f"{area} {rest[:3]} {rest[3:]}", f"({area}) {rest}"]
            )
        if phonenumbers.is_valid_number(phonenumbers.parse(text, "NL")):
            return text


def card() -> str:
    while True:
        kind = rng.random()
        if kind < 0.5:
            body = "4" + "".join(str(rng.randint(0, 9)) for _ in range(14))
        elif kind < 0.8:
            body = f"5{rng.randint(1, 5)}" + "".join(str(rng.randint(0, 9)) for _ in range(13))
        else:
            body = rng.choice(["34", "37"]) + "".join(str(rng.randint(0, 9)) for _ in range(12))
        number = body + luhn.calc_check_digit(body)
        if len(number) == 15:
            return f"{number[:4]} {number[4:10]} {number[10:]}"
        return rng.choice([" ", "-", ""]).join(number[i : i + 4] for i in range(0, 16, 4))


def passport() -> str:
    letters = "ABCDEFGHIJKLMNPQRSTUVWXYZ"
    alnum = letters + "0123456789"
    return (
        "".join(rng.choice(letters) for _ in range(2))
        + "".join(rng.choice(alnum) for _ in range(6))
        + str(rng.randint(0, 9))
    )


def date(year_from: int = 2023, year_to: int = 2025, lang: str = "nl") -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(year_from, year_to)
    style = rng.random()
    if style < 0.5:
        return f"{day:02d}-{month:02d}-{year}"
    if style < 0.7:
        return f"{day}/{month}/{year}" if lang == "en" else f"{day}-{month}-{year}"
    months = MONTHS_NL if lang == "nl" else MONTHS_EN
    return f"{day} {months[month - 1]} {year}"


def name() -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def amount() -> str:
    return f"€ {rng.randint(10, 99_999):,}".replace(",", ".") + f",{rng.randint(0, 99):02d}"


TOKENS: dict[str, Callable[[str], tuple[str, str | None]]] = {
    "bsn": lambda lang: (fmt_bsn(valid_bsn()), "bsn"),
    "badbsn": lambda lang: (fmt_bsn(invalid_bsn()), None),
    "iban": lambda lang: (fmt_iban(valid_iban()), "iban"),
    "badiban": lambda lang: (fmt_iban(invalid_iban()), None),
    "phone": lambda lang: (phone(), "phone_nl"),
    "card": lambda lang: (card(), "payment_card"),
    "passport": lambda lang: (passport(), "passport_nl"),
    "dob": lambda lang: (date(1935, 2015, lang), "date_of_birth"),
    "date": lambda lang: (date(lang=lang), None),
    "name": lambda lang: (name(), None),
    "first": lambda lang: (rng.choice(FIRST), None),
    "last": lambda lang: (rng.choice(LAST), None),
    "city": lambda lang: (rng.choice(CITIES), None),
    "org": lambda lang: (rng.choice(ORGS), None),
    "shop": lambda lang: (rng.choice(SHOPS), None),
    "amount": lambda lang: (amount(), None),
    "nine": lambda lang: (nine_digits(), None),
    "ten": lambda lang: (str(rng.randint(1_000_000_000, 9_999_999_999)), None),
    "eight": lambda lang: (str(rng.randint(10_000_000, 99_999_999)), None),
    "invoice": lambda lang: (f"{rng.randint(2022, 2025)}-{rng.randint(1, 99999):05d}", None),
    "postcode": lambda lang: (
        f"{rng.randint(1000, 9999)} {rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}",
        None,
    ),
    "time": lambda lang: (f"{rng.randint(8, 17)}:{rng.choice(['00', '15', '30', '45'])}", None),
    "n": lambda lang: (str(rng.randint(2, 40)), None),
    "track": lambda lang: (
        f"3S{''.join(rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ') for _ in range(4))}{rng.randint(100_000_000, 999_999_999)}",
        None,
    ),
}

_TOKEN = re.compile(r"\[(med:(?P<cat>\w+)|(?P<name>\w+))\]|\{\{(?P<literal>[^}]+)\}\}")


def fill(template: str, lang: str) -> dict[str, object]:
    labels: list[dict[str, str]] = []

    def replace(m: re.Match[str]) -> str:
        if m.group("literal"):
            # A special-category word in the template's own text.
            labels.append({"kind": "medical", "value": m.group("literal")})
            return m.group("literal")
        if m.group("cat"):
            terms = (MED_NL if lang == "nl" else MED_EN)[m.group("cat")]
            value = rng.choice(terms)
            labels.append({"kind": "medical", "value": value})
            return value
        value, kind = TOKENS[m.group("name")](lang)
        if kind:
            labels.append({"kind": kind, "value": value})
        return value

    return {"text": _TOKEN.sub(replace, template.strip()), "labels": labels}


def main() -> None:
    sys.path.insert(0, str(HERE))
    from templates import EN, NL

    for lang, templates, copies in (("nl", NL, 6), ("en", EN, 5)):
        records = []
        for t_index, template in enumerate(templates):
            for copy in range(copies):
                record = fill(template, lang)
                records.append({"id": f"{lang}-{t_index:03d}-{copy}", "lang": lang, **record})
        with (HERE / f"{lang}.jsonl").open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(lang, len(records))


if __name__ == "__main__":
    main()
