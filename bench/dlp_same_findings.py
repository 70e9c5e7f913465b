"""Whether this checkout's DLP scan finds exactly what another checkout's does.

    .venv/bin/python bench/dlp_same_findings.py --baseline /path/to/other/checkout

Both checkouts' ``scan_text`` are imported into one process (as in dlp_compare.py) and run on
every message of the corpus (tests/dlp/corpus/*.jsonl and the frozen test set in
tests/dlp/corpus/test/), on the bench texts (10 KB, 1 MB of the corpus repeated, and the
adversarial texts of dlp_speed.py), and on the corpus messages with an organisation pattern
and extra terms. The full finding lists (kind, span, confidence, detail, reasons) are
compared. Only counts and message ids are printed, never a message's text or findings, so
the test set can be checked without being read.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "dlp" / "corpus"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")
sys.path.insert(0, str(ROOT / "bench"))

from dlp_compare import load  # noqa: E402


def records() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CORPUS.glob("*.jsonl")) + sorted((CORPUS / "test").glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines):
                if line.strip():
                    record = json.loads(line)
                    found.append((f"{path.name}:{record.get('id', number)}", record["text"]))
    return found


def term_variants() -> str:
    """Every shipped term, word ending and exception phrase, in upper, lower and title case,
    with the letters a case-insensitive regex takes for "i", "s" and "k" (dotted and
    dotless i, long s, Kelvin sign), with inflections, in compounds and after a digit: where
    the term scan's shortcuts could differ from a plain regex search."""
    from zegel.dlp.medical import default_terms

    terms = default_terms()
    written = [t.cased or t.text for t in terms.terms.values()]
    written += ["abc" + e for e in terms.suffixes]
    written += [p.replace("*", "abc") for p in terms.exceptions]
    odd = str.maketrans({"i": "\u0130", "s": "\u017f", "k": "\u212a"})
    dotless = str.maketrans({"i": "\u0131"})
    pieces = []
    for word in written:
        for form in (word, word.upper(), word.title(), word.translate(odd),
                     word.translate(dotless)):
            pieces.append(f"uw {form} {form}'s {form}en {form}sen 1{form} _{form} "
                          f"x{form}pomp {form}{form}\n\t  {form}.")
    for phrase in terms.exceptions:
        term = next(iter(terms.terms))
        pieces.append(f"{term} {phrase.replace('*', 'kom')} {term}")
    return " ".join(pieces)


def label_variants(detectors: Any) -> str:
    """Every label the number detectors know (read from the baseline's label regexes), in
    several cases, as a compound and glued to others, before and after a valid BSN, card
    number, IBAN, passport number and birth date: where the label regexes decide a finding
    and its reasons."""
    labels: set[str] = set(detectors._NEGATIVE_NUMBER_LABELS)
    for name in ("_BSN_LABELS", "_PASSPORT_LABELS", "_CARD_LABELS", "_DOB_LABELS"):
        pattern = getattr(detectors, name).pattern
        labels.update(w.replace("\\", "") for w in re.findall(r"[\w\\. :'-]{2,}", pattern))
    values = ["111222333", "11122233", "4111 1111 1111 1111", "NL91 ABNA 0417 1643 00",
              "XR1234567", "12-03-1985"]
    pieces = []
    for label in sorted(labels):
        for form in (label, label.upper(), label.title()):
            for value in values:
                pieces.append(f"{form}: {value}; {form}nummer {value} x{form} {value} "
                              f"{value} ({form}) {form}-{form} {value}\n")
    return "".join(pieces)


def plain(findings: object) -> list[tuple[object, ...]]:
    """Findings as tuples: the two checkouts' Finding classes never compare equal."""
    return [(f.kind, f.start, f.end, f.confidence, f.detail, f.reasons)
            for f in findings]  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    args = parser.parse_args()
    old_scan, old_modules = load(args.baseline.resolve()), dict(sys.modules)
    new_scan = load(ROOT)
    new_patterns = sys.modules["zegel.dlp.patterns"]
    old_patterns = old_modules["zegel.dlp.patterns"]
    import dlp_speed  # this checkout's zegel is loaded last; only its texts are used

    cases = records()
    texts = [(name, text) for name, text in cases]
    texts.append(("bench 10 KB", dlp_speed.corpus_text(10 * 1024)))
    texts.append(("bench 1 MB", dlp_speed.corpus_text(1_000_000)))
    texts.append(("bench 3 MB", dlp_speed.corpus_text(3_000_000)))
    size = 100_000
    for unit in ("hiv", "soa", "OTS", "xhiv", "hiv ", "1", "NL91", "BSN 111222333 "):
        texts.append((f"{unit!r} repeated", dlp_speed.repeated(unit, size)))
    texts.append(("runs of every shipped term", dlp_speed.every_term_runs(size)))
    texts.append(("every term in odd cases and spellings", term_variants()))
    texts.append(("every label before and after numbers",
                  label_variants(old_modules["zegel.dlp.detectors"])))
    different = []
    findings = 0
    for name, text in texts:
        old = plain(old_scan(text, budget_seconds=3600))
        findings += len(old)
        if old != plain(new_scan(text, budget_seconds=3600)):
            different.append(name)
    # With an organisation's own pattern and terms.
    old_org = [old_patterns.OrgPattern("dossier", r"DOS-[0-9]{6}")]
    new_org = [new_patterns.OrgPattern("dossier", r"DOS-[0-9]{6}")]
    extra = ["griep", "rugpijn", "slaapapneu"]
    for name, text in cases:
        old = old_scan(text, org_patterns=old_org, terms=extra, budget_seconds=3600)
        new = new_scan(text, org_patterns=new_org, terms=extra, budget_seconds=3600)
        findings += len(old)
        if plain(old) != plain(new):
            different.append(name + " (org pattern, extra terms)")
    print(f"{len(texts) + len(cases)} scans compared ({len(cases)} corpus messages, twice); "
          f"{findings} findings of the baseline; {len(different)} scans differ")
    for name in different:
        print("differs:", name)
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
