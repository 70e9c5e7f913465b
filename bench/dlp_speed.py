"""DLP scan speed: median for a 10 KB message, throughput for a ~20 MB text, and time per MB
on text written to make the scan slow against ordinary text.

    .venv/bin/python bench/dlp_speed.py                 # all three
    .venv/bin/python bench/dlp_speed.py --adversarial   # only the last, --rounds 5 --mb 1

The baseline is a single ``re.findall(r"\\d+", text)`` pass over the same text. In the
adversarial run the texts are timed interleaved (one of each per round), so a slower stretch
of a busy machine hits all of them alike; each row gives the median and range over the rounds
of the thread's CPU time (on a shared machine the wall clock also counts other processes).
"""

from __future__ import annotations

import argparse
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
from zegel.dlp.medical import default_terms  # noqa: E402


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


def every_term_runs(size: int) -> str:
    """Runs of every shipped term glued into long words, then glued to letters: the shape
    that made the old term scan quadratic."""
    terms = default_terms()
    written = [t.cased or t.text for t in terms.terms.values()]
    written += ["abc" + t for t in terms.suffixes]
    pieces = [w * 20 + " " + ("x" + w) * 20 + " " for w in written]
    joined = "".join(pieces)
    return (joined * (size // len(joined) + 1))[:size]


def repeated(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def adversarial(rounds: int, megabytes: float) -> None:
    size = int(megabytes * 1_000_000)
    texts = {
        "ordinary text (the corpus)": corpus_text(size),
        '"hiv" repeated': repeated("hiv", size),
        '"soa" repeated': repeated("soa", size),
        '"OTS" repeated': repeated("OTS", size),
        '"xhiv" repeated': repeated("xhiv", size),
        '"hiv " repeated (a finding each)': repeated("hiv ", size),
        "runs of every shipped term": every_term_runs(size),
        "digits only": repeated("1", size),
        '"NL91" repeated': repeated("NL91", size),
    }
    scan_text("warm-up: term lists and regexes compile once per process")
    seconds: dict[str, list[float]] = {name: [] for name in texts}
    for _ in range(rounds):
        for name, text in texts.items():
            started = time.thread_time()
            findings = scan_text(text, budget_seconds=3600)
            seconds[name].append(time.thread_time() - started)
            assert not findings or findings[-1].kind != "not_scanned"
    normal = statistics.median(seconds["ordinary text (the corpus)"])
    print(f"CPU time per MB, {rounds} rounds interleaved, {size / 1e6:g} MB per text:")
    print(f"{'text':<36}{'median s/MB':>12}{'range':>16}{'vs ordinary':>13}")
    for name, runs in seconds.items():
        mb = len(texts[name].encode()) / 1_000_000
        median = statistics.median(runs) / mb
        low, high = min(runs) / mb, max(runs) / mb
        ratio = statistics.median(runs) / normal
        print(f"{name:<36}{median:>12.2f}{f'{low:.2f}-{high:.2f}':>16}{ratio:>12.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--adversarial", action="store_true", help="only the adversarial rows")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mb", type=float, default=1.0, help="size of each adversarial text")
    args = parser.parse_args()
    if not args.adversarial:
        throughput()
    adversarial(args.rounds, args.mb)


def throughput() -> None:
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
