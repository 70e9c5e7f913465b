"""The scan's time budget holds inside a chunk, not only between chunks."""

from __future__ import annotations

import time

import pytest

from zegel.dlp.budget import Budget, BudgetExceeded
from zegel.dlp.detectors import _OVERLAP, CHUNK_SIZE, DETECTORS, scan_text
from zegel.dlp.findings import NOT_SCANNED
from zegel.dlp.medical import default_terms
from zegel.dlp.normalize import normalize
from zegel.dlp.patterns import OrgPattern, detect_org_patterns

# One candidate for every detector, and characters normalisation replaces.
EVERYTHING = (
    "BSN 111222333, NL91ABNA0417164300, paspoort SPECI2014, Visa 4111 1111 1111 1111, "
    "bel 06-12345678, geboren op 12-03-1985, diabetes, bisoprolol, veilig thuis gekomen, "
    "PAT-123456789\u00a0en\u200b verder. "
)


def test_every_detector_checks_the_budget_in_its_loop() -> None:
    spent = Budget(-1.0)
    for kind, detector in DETECTORS.items():
        with pytest.raises(BudgetExceeded):
            detector(EVERYTHING, spent)
        assert detector(EVERYTHING, None), kind
    with pytest.raises(BudgetExceeded):
        default_terms().find(EVERYTHING, spent)
    with pytest.raises(BudgetExceeded):
        detect_org_patterns(EVERYTHING, [OrgPattern("patient", r"PAT-\d{9}")], spent)
    with pytest.raises(BudgetExceeded):
        normalize(EVERYTHING, spent)


def test_it_stops_inside_one_chunk_when_the_budget_runs_out() -> None:
    text = (EVERYTHING * (CHUNK_SIZE // len(EVERYTHING)))[: CHUNK_SIZE - 1000]
    started = time.monotonic()
    whole = scan_text(text, budget_seconds=600)
    full = time.monotonic() - started
    assert NOT_SCANNED not in {f.kind for f in whole}

    started = time.monotonic()
    cut = scan_text(text, budget_seconds=full / 20)
    assert time.monotonic() - started < full / 2
    # The one chunk is not finished, so all of it is reported as not scanned.
    assert cut == [
        next(f for f in cut if f.kind == NOT_SCANNED and f.start == 0 and f.end == len(text))
    ]


class _CountingClock:
    """A monotonic clock that moves one microsecond each time it is read: the budget then
    counts the scan's own budget checks, whatever the machine's load."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def monotonic(self) -> float:
        self.reads += 1
        self.now += 1e-6
        return self.now


def test_it_keeps_the_findings_of_the_chunks_it_finished(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from zegel.dlp import budget as budget_module

    clock = _CountingClock()
    monkeypatch.setattr(budget_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    first = "BSN 111222333 " + "woord " * (CHUNK_SIZE // 6)
    text = first + EVERYTHING * (40 * CHUNK_SIZE // len(EVERYTHING))
    # What the first chunk (with the overlap that follows it) costs, and a little: far less
    # than the 40 dense chunks after it need.
    scan_text(text[: CHUNK_SIZE + _OVERLAP], budget_seconds=600)
    findings = scan_text(text, budget_seconds=1.5 * clock.reads * 1e-6)
    assert findings[0].kind == "bsn"
    assert findings[-1].kind == NOT_SCANNED
    assert findings[-1].end == len(text)
