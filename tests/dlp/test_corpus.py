"""Precision and recall of each detector over the labelled corpus in tests/dlp/corpus/.

The corpus has two parts, reported separately and together: messages generated from templates
(nl.jsonl, en.jsonl) and messages written by hand (handwritten_*.jsonl). Run with ``-s`` or
``-rP`` to see the tables when the test passes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from zegel.dlp.detectors import scan_text
from zegel.dlp.findings import REPORT_THRESHOLD

CORPUS = Path(__file__).parent / "corpus"
KINDS = ["bsn", "iban", "medical", "phone_nl", "payment_card", "passport_nl", "date_of_birth"]
TARGETS = {"bsn": (0.99, 0.99), "iban": (0.99, 0.99), "medical": (0.8, 0.9)}
HANDWRITTEN_PREFIX = "handwritten_"


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
    scores = {kind: Score() for kind in KINDS}
    mistakes: list[str] = []
    records = _records(part)
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
