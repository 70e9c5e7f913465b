"""Build the frozen DLP test set (test_*.jsonl) from the hand-written sources (source_*.txt).

The messages and their medical, phone, date-of-birth and literal labels were written by hand in
source_*.txt. Only the numbers whose check digits matter are filled in here, so that every one of
them is computed rather than typed: BSNs (11-proef), IBANs (ISO 7064 mod 97), payment cards (Luhn)
and Dutch document numbers (shape only). Placeholders in the sources:

    {bsn} {bsn:sp} {bsn:dot} {bsn:dash} {bsn:2223} {bsn:8} {bsn:8dot}   valid BSN, labelled
    {bsnbad} {bsnbad:sp}                          fails the 11-proef, not labelled
    {lucky9} {lucky8}                             passes the 11-proef, not a BSN, not labelled
    {n8} {n9} {n10}                               random digits, not labelled
    {iban:CC} {iban:CC:sp}                        valid IBAN of country CC, labelled
    {ibanbad:CC} {ibanbad:CC:sp}                  wrong check digits, not labelled
    {card:visa|mc|amex[:sp|:dash]}                Luhn-valid card number, labelled
    {cardbad:...}                                 fails Luhn, not labelled
    {doc}                                         Dutch passport / ID-card number, labelled
    {docshape}                                    the same shape, not labelled
    {rijbewijs}                                   Dutch driving-licence number (10 digits), labelled
    {imei}                                        Luhn-valid 15-digit IMEI, not labelled
    [[m:text]] [[p:text]] [[d:text]] [[x:text]] [[b:text]] [[i:text]] [[c:text]]
        literal text labelled medical / phone_nl / date_of_birth / passport_nl / bsn / iban /
        payment_card

A placeholder may end in #tag (e.g. {bsn#a}); the same tag repeats the same value within a message.
Records in a source file start with a line "=== <id>"; the text runs to the next such line.
The random generator is seeded, so running this again rebuilds the same files:

    python3 tests/dlp/corpus/test/make_numbers.py
"""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

HERE = Path(__file__).parent
SEED = 20261201
RNG = random.Random(SEED)  # noqa: S311 - reproducible test data, not secrets
DOC_LETTERS = [c for c in string.ascii_uppercase if c != "O"]
IBAN_BBAN = {  # country: (bank codes, number of digits after the bank code)
    "NL": (["ABNA", "INGB", "RABO", "SNSB", "TRIO", "ASNB", "BUNQ", "KNAB", "RBRB"], 10),
    "DE": ([""], 18),
    "GB": (["NWBK", "BARC", "HBUK", "MIDL"], 14),
    "BE": ([""], 12),
}
KIND = {
    "m": "medical",
    "p": "phone_nl",
    "d": "date_of_birth",
    "x": "passport_nl",
    "b": "bsn",
    "i": "iban",
    "c": "payment_card",
}


def elfproef(digits: str) -> bool:
    d = [int(c) for c in digits.zfill(9)]
    return len(d) == 9 and (sum((9 - i) * d[i] for i in range(8)) - d[8]) % 11 == 0


def valid_bsn(leading_zero: bool = False) -> str:
    while True:
        first = "0" if leading_zero else str(RNG.randint(1, 9))
        digits = first + "".join(str(RNG.randint(0, 9)) for _ in range(8))
        if elfproef(digits) and (leading_zero or digits[1] != "0"):
            return digits[1:] if leading_zero else digits


def invalid_bsn() -> str:
    while True:
        digits = str(RNG.randint(100000000, 999999999))
        if not elfproef(digits):
            return digits


def iban_check(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{98 - number % 97:02d}"


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def make_iban(country: str, bad: bool = False) -> str:
    banks, length = IBAN_BBAN[country]
    digits = "".join(str(RNG.randint(0, 9)) for _ in range(length))
    if country == "BE":  # Belgian national check: last two digits = first ten mod 97
        rest = int(digits[:10]) % 97 or 97
        digits = digits[:10] + f"{rest:02d}"
    bban = RNG.choice(banks) + digits
    check = iban_check(country, bban)
    if bad:
        check = f"{(int(check) + RNG.randint(1, 90)) % 100:02d}"
        if iban_ok(country + check + bban):
            return make_iban(country, bad=True)
    return country + check + bban


def luhn_ok(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def make_card(brand: str, bad: bool = False) -> str:
    prefix, length = {
        "visa": ("4", 16),
        "mc": (str(RNG.randint(51, 55)), 16),
        "amex": (RNG.choice(["34", "37"]), 15),
    }[brand]
    body = prefix + "".join(str(RNG.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    for last in "0123456789":
        if luhn_ok(body + last) != bad:
            return body + last
    raise AssertionError


def group(value: str, sizes: list[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(value[i : i + size])
        i += size
    if i < len(value):
        parts.append(value[i:])
    return sep.join(p for p in parts if p)


def make_doc() -> str:
    alnum = DOC_LETTERS + list(string.digits)
    while True:
        middle = "".join(RNG.choice(alnum) for _ in range(6))
        if any(c.isdigit() for c in middle):
            return (
                "".join(RNG.choice(DOC_LETTERS) for _ in range(2)) + middle + str(RNG.randint(0, 9))
            )


def fill(kind: str, style: str) -> tuple[str, str | None]:
    """The text for one placeholder and the label kind it gets (None: not labelled)."""
    if kind == "bsn":
        if style in ("8", "8dot"):
            v = valid_bsn(leading_zero=True)
            return (v if style == "8" else group(v, [2, 3, 3], ".")), "bsn"
        v = valid_bsn()
        return {
            "": v,
            "sp": group(v, [3, 3, 3], " "),
            "dot": group(v, [3, 3, 3], "."),
            "dash": group(v, [3, 3, 3], "-"),
            "2223": group(v, [2, 2, 2, 3], "."),
            "4": group(v, [4, 2, 3], "."),
        }[style], "bsn"
    if kind == "bsnbad":
        v = invalid_bsn()
        return (group(v, [3, 3, 3], " ") if style == "sp" else v), None
    if kind == "lucky9":
        return valid_bsn(), None
    if kind == "lucky8":
        return valid_bsn(leading_zero=True), None
    if kind in ("n8", "n9", "n10"):
        n = int(kind[1:])
        return str(RNG.randint(10 ** (n - 1), 10**n - 1)), None
    if kind in ("iban", "ibanbad"):
        country, _, sp = style.partition(":")
        v = make_iban(country, bad=kind == "ibanbad")
        v = group(v, [4] * 8, " ") if sp == "sp" else v
        return v, ("iban" if kind == "iban" else None)
    if kind in ("card", "cardbad"):
        brand, _, sep = style.partition(":")
        v = make_card(brand, bad=kind == "cardbad")
        sizes = [4, 6, 5] if brand == "amex" else [4, 4, 4, 4]
        v = group(v, sizes, {"sp": " ", "dash": "-", "": ""}[sep]) if sep else v
        return v, ("payment_card" if kind == "card" else None)
    if kind == "doc":
        return make_doc(), "passport_nl"
    if kind == "docshape":
        return make_doc(), None
    if kind == "imei":
        body = "35" + "".join(str(RNG.randint(0, 9)) for _ in range(12))
        return next(body + c for c in "0123456789" if luhn_ok(body + c)), None
    if kind == "rijbewijs":
        return str(RNG.randint(4000000000, 5999999999)), "passport_nl"
    raise ValueError(kind)


PLACEHOLDER = re.compile(
    r"\{(bsnbad|bsn|lucky9|lucky8|n8|n9|n10|ibanbad|iban|cardbad|card|docshape|doc|rijbewijs|imei)"
    r"(?::([^}#]*))?(?:#(\w+))?\}"
)
LITERAL = re.compile(r"\[\[([mpdxbic]):(.+?)\]\]", re.S)


def build(record_id: str, lang: str, source: str) -> dict:
    labels: list[dict] = []
    tagged: dict[str, tuple[str, str | None]] = {}

    def label(kind: str | None, value: str) -> None:
        if kind and {"kind": kind, "value": value} not in labels:
            labels.append({"kind": kind, "value": value})

    def placeholder(m: re.Match[str]) -> str:
        kind, style, tag = m.group(1), m.group(2) or "", m.group(3)
        if tag and tag in tagged:
            value, label_kind = tagged[tag]
        else:
            value, label_kind = fill(kind, style)
            if tag:
                tagged[tag] = (value, label_kind)
        label(label_kind, value)
        return value

    def literal(m: re.Match[str]) -> str:
        label(KIND[m.group(1)], m.group(2))
        return m.group(2)

    text = LITERAL.sub(literal, PLACEHOLDER.sub(placeholder, source.strip("\n")))
    assert "[[" not in text and not PLACEHOLDER.search(text), record_id
    for lab in labels:
        assert lab["value"] in text, (record_id, lab)
    return {"id": record_id, "lang": lang, "text": text, "labels": labels}


def build_all() -> dict[str, list[dict]]:
    """The records of each language, built from the sources with a freshly seeded generator."""
    RNG.seed(SEED)
    built = {}
    for lang in ("nl", "en"):
        source = (HERE / f"source_{lang}.txt").read_text(encoding="utf-8")
        chunks = re.split(r"^=== (\S+)[^\n]*\n", source, flags=re.M)[1:]
        built[lang] = [build(chunks[i], lang, chunks[i + 1]) for i in range(0, len(chunks), 2)]
    return built


def main() -> None:
    for lang, records in build_all().items():
        with (HERE / f"test_{lang}.jsonl").open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"test_{lang}.jsonl: {len(records)} messages")


if __name__ == "__main__":
    main()
