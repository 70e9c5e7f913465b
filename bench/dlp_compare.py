"""DLP scan speed of this checkout against another one (a baseline), interleaved A B A B.

    .venv/bin/python bench/dlp_compare.py --baseline /path/to/other/checkout

Both checkouts' ``zegel.dlp.detectors.scan_text`` are imported into one process and timed
one after the other in every round, on the same texts (the corpus of *this* checkout,
repeated): a 10 KB message (``--rounds`` rounds, median and range of the thread's CPU time)
and a 1 MB text (``--big-rounds`` rounds, median throughput). On a shared machine the CPU time
of the thread is what one scan costs; interleaving makes a busy stretch hit both alike. The
ratio is this checkout over the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")

Scan = Callable[..., object]


def load(tree: Path) -> Scan:
    """``scan_text`` of the checkout at ``tree``, imported fresh."""
    for name in [n for n in sys.modules if n == "zegel" or n.startswith("zegel.")]:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        from zegel.dlp.detectors import scan_text
    finally:
        sys.path.remove(str(tree))
    return scan_text


def corpus_text(size: int) -> str:
    texts = []
    for path in sorted((ROOT / "tests" / "dlp" / "corpus").glob("*.jsonl")):
        texts.extend(json.loads(line)["text"] for line in path.open(encoding="utf-8"))
    joined = "\n\n".join(texts)
    return (joined * (size // len(joined) + 1))[:size]


def cpu(scan: Scan, text: str) -> float:
    started = time.thread_time()
    scan(text, budget_seconds=600)
    return time.thread_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--big-rounds", type=int, default=3)
    args = parser.parse_args()
    baseline, branch = load(args.baseline.resolve()), load(ROOT)
    small, big = corpus_text(10_000), corpus_text(1_000_000)
    for scan in (baseline, branch):
        scan(small)
    times: dict[str, list[float]] = {"baseline": [], "this": []}
    for _ in range(args.rounds):
        times["baseline"].append(cpu(baseline, small))
        times["this"].append(cpu(branch, small))
    for name, values in times.items():
        print(f"10 KB message, {name:<8}: median {statistics.median(values) * 1000:.2f} ms "
              f"({min(values) * 1000:.2f}-{max(values) * 1000:.2f}), target < 20 ms")
    ratio = statistics.median(times["this"]) / statistics.median(times["baseline"])
    print(f"10 KB ratio this/baseline: {ratio:.2f}x")
    big_times: dict[str, list[float]] = {"baseline": [], "this": []}
    for _ in range(args.big_rounds):
        big_times["baseline"].append(cpu(baseline, big))
        big_times["this"].append(cpu(branch, big))
    for name, values in big_times.items():
        median = statistics.median(values)
        print(f"1 MB text, {name:<8}: median {median:.2f} s = {1 / median:.1f} MB/s "
              f"({min(values):.2f}-{max(values):.2f} s), target >= 5 MB/s")


if __name__ == "__main__":
    main()
