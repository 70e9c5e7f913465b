"""The scan takes time linear in the text, also on text written to make it slow.

Each test times a text and the same text four times as long and compares the time per
character, so the figures hold on a slow or busy machine: a quadratic scan spends about four
times as long per character on the longer text, a linear one about the same. Timings are the
thread's CPU time (a wall clock on a shared machine also counts other processes' turns) and
the best of a few runs, repeated only when the first pair looks slow.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from zegel.dlp.detectors import scan_text
from zegel.dlp.medical import Term, default_terms

# Per-character time on the long text may be this many times that on the short one.
FACTOR = 2.5
ATTEMPTS = 5
# Characters in the short text of one run; the long text is four times as long.
RUN = 400


def _best_time(function: Callable[[str], object], text: str, runs: int = 2) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.thread_time()
        function(text)
        best = min(best, time.thread_time() - started)
    return best


def _slowdown(function: Callable[[str], object], runs: list[str], run: int = RUN) -> float:
    """The most time per character any run takes at 4x its length, against 1x."""
    worst = 0.0
    for piece in runs:
        short = piece * max(1, run // len(piece))
        long = short * 4
        ratio = float("inf")
        for _ in range(ATTEMPTS):
            per_char_short = _best_time(function, short) / len(short)
            per_char_long = _best_time(function, long) / len(long)
            ratio = min(ratio, per_char_long / per_char_short)
            if ratio < FACTOR:
                break
        worst = max(worst, ratio)
    return worst


def _written(term: Term) -> str:
    """The term as a sender would write it."""
    if term.exception:
        # "kom* veilig thuis" -> "komen veilig thuis"; a lone "*" is any word.
        return " ".join(
            "zomaar" if word == "*" else word.replace("*", "en") for word in term.text.split()
        )
    if term.suffix:
        return "abc" + term.text
    return term.cased or term.text


def _variants(term: Term) -> list[str]:
    """The term repeated as one long word, with letters glued on, and as separate words."""
    word = _written(term)
    return [word, word + "x", "x" + word, word + " "]


def test_the_term_scan_is_linear_on_runs_of_every_shipped_term() -> None:
    terms = default_terms()
    every = [*terms.terms.values(), *terms.suffixes.values(), *terms.exceptions.values()]
    assert len(every) > 700
    slow = []
    for term in every:
        ratio = _slowdown(terms.find, _variants(term))
        if ratio >= FACTOR:
            slow.append(f"{term.text!r}: {ratio:.1f}x the time per character at 4x the length")
    assert not slow, "\n".join(slow)


def test_the_term_scan_is_linear_with_many_findings_and_exceptions() -> None:
    # Findings next to word endings and exception phrases: each finding is compared with
    # its neighbours only, not with every other finding.
    runs = ["hiv bisoprolol veilig thuis gekomen depressie ", "diabetes tendinitis "]
    assert _slowdown(default_terms().find, runs, run=20_000) < FACTOR


def test_every_detector_is_linear_on_adversarial_text() -> None:
    runs = [
        "1",  # one long digit run: BSN, card and phone candidates
        "111222333 ",
        "1 ",
        "NL91",  # an IBAN prefix over and over
        "NL91ABNA0417164300 ",
        "AB12345 ",
        "BSN 111222333 geboren 12-03-1985 ",
        "Jan de Vries (12-03-1985) ",
        "06-12345678 ",
        "ordernummer ",
        "hivhiv",
        "soa",
        "OTS",
    ]
    for run in runs:
        ratio = _slowdown(lambda t: scan_text(t, budget_seconds=600), [run], run=2000)
        assert ratio < FACTOR, f"{run!r}: {ratio:.1f}x the time per character at 4x the length"
