"""DLP scan speed: median for a 10 KB message and throughput for a ~20 MB text.

    .venv/bin/python bench/dlp_speed.py

The baseline is a single ``re.findall(r"\\d+", text)`` pass over the same text.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")

from zegel.dlp.detectors import scan_text  # noqa: E402


def corpus_text(size: int) -> str:
    texts = []
    for path in sorted((ROOT / "tests" / "dlp" / "corpus").glob("*.jsonl")):
        texts.extend(json.loads(line)["text"] for line in path.open(encoding="utf-8"))
    joined = "\n\n".join(texts)
    return (joined * (size // len(joined) + 1))[:size]


def median_ms(function: object, text: str, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function(text)  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    message = corpus_text(10 * 1024)
    scan_text(message)  # warm-up: term lists and regexes compile once per process
    scan_ms = median_ms(scan_text, message, 200)
    base_ms = median_ms(lambda t: re.findall(r"\d+", t), message, 200)
    print(
        f"10 KB message: scan_text median {scan_ms:.2f} ms (target < 20 ms); "
        f"re.findall(\\d+) {base_ms:.3f} ms; ratio {scan_ms / base_ms:.0f}x"
    )

    big = corpus_text(20 * 1024 * 1024)
    started = time.perf_counter()
    findings = scan_text(big, budget_seconds=600)
    scan_s = time.perf_counter() - started
    started = time.perf_counter()
    re.findall(r"\d+", big)
    base_s = time.perf_counter() - started
    mb = len(big.encode()) / 1_000_000
    print(
        f"{mb:.1f} MB text: scan_text {scan_s:.2f} s = {mb / scan_s:.1f} MB/s "
        f"({len(findings)} findings); re.findall(\\d+) {base_s:.3f} s = {mb / base_s:.0f} MB/s; "
        f"ratio {scan_s / base_s:.0f}x"
    )


if __name__ == "__main__":
    main()
