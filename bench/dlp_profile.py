"""Where a DLP scan of the 1 MB bench text spends its time, stage by stage.

    .venv/bin/python bench/dlp_profile.py [--rounds 3] [--mb 1] [--tree /other/checkout]

Wraps each detector of ``zegel.dlp.detectors.DETECTORS`` (the medical one as its two
stages: the term scan and the weighing of who the text is about), the normalisation and the
organisation patterns, scans the corpus repeated to ``--mb`` MB, and prints the thread CPU
time of each stage summed over the chunks, for the round with the lowest total. With
``--tree`` the scan of another checkout is profiled (on this checkout's corpus), to compare;
the wrappers add a few microseconds per chunk, not per finding.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")

from dlp_compare import corpus_text, load  # noqa: E402

spent: defaultdict[str, float] = defaultdict(float)


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.thread_time() - started
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to profile")
    args = parser.parse_args()
    load(args.tree.resolve())
    detectors = sys.modules["zegel.dlp.detectors"]
    for kind, detector in list(detectors.DETECTORS.items()):
        if kind != "medical":  # scanned in two stages, wrapped below
            detectors.DETECTORS[kind] = timed(kind, detector)
    detectors.detect_medical = timed("medical: terms", detectors.detect_medical)
    detectors.weigh_medical = timed("medical: who it is about", detectors.weigh_medical)
    detectors.normalize = timed("normalise", detectors.normalize)
    detectors.detect_org_patterns = timed("organisation patterns", detectors.detect_org_patterns)
    text = corpus_text(int(args.mb * 1_000_000))
    detectors.scan_text("warm-up: term lists and regexes compile once per process")
    best: tuple[float, dict[str, float], int] | None = None
    for _ in range(args.rounds):
        spent.clear()
        started = time.thread_time()
        findings = detectors.scan_text(text, budget_seconds=3600)
        total = time.thread_time() - started
        if best is None or total < best[0]:
            best = (total, dict(spent), len(findings))
    assert best is not None
    total, stages, count = best
    print(f"{len(text) / 1e6:g} MB of the corpus, {count} findings, best of {args.rounds}: "
          f"{total:.3f} s CPU = {len(text) / 1e6 / total:.1f} MB/s")
    for name, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        print(f"  {name:<26}{seconds * 1000:8.1f} ms  {seconds / total:6.1%}")
    rest = total - sum(stages.values())
    print(f"  {'the rest (chunks, merging)':<26}{rest * 1000:8.1f} ms  {rest / total:6.1%}")


if __name__ == "__main__":
    main()
