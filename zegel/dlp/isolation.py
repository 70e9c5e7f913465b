"""Attachment text extraction in a separate process with hard limits.

Parsers of PDF, office and e-mail files are large and see untrusted input, and their time
budget is only checked between pages and rows. So the product never runs them in the web
process: each attachment gets a fresh Python process (not a fork, so it holds no keys, no
database connection and no other request's data), fed the decrypted file through a pipe
in chunks, so neither a temporary file nor the web process ever holds the whole file. The
child limits itself with ``setrlimit`` (address space, CPU seconds, no files written, no
core dump, no new processes) before it reads the file; the parent kills it when the
wall-clock budget is over. Anything else than a well-formed answer is "not scanned".

Run as ``python -m zegel.dlp.isolation`` this module is the child.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zegel.dlp.extract import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIME_BUDGET,
    MAX_TEXT_CHARS,
    ExtractResult,
    Outcome,
    extract_outcome,
    gettext_noop,
    too_large,
)

DEFAULT_MEMORY_LIMIT = 1024 * 1024 * 1024
# Interpreter start-up and imports happen before the child's own budget starts.
STARTUP_GRACE = 2.0
_HEADER_MAX = 64 * 1024
# The child's text is UTF-8: at most four bytes per character.
_TEXT_BYTES_MAX = 4 * MAX_TEXT_CHARS
# The package root, so the child imports this same copy of zegel.
_ROOT = Path(__file__).resolve().parents[2]


def _timed_out(seconds: float) -> ExtractResult:
    return Outcome("", False, gettext_noop("time budget of %(s)g s exceeded"),
                   {"s": seconds}).translated()


def _crashed() -> ExtractResult:
    return Outcome("", False, gettext_noop("document could not be read (reader crashed)")
                   ).translated()


def _child_command() -> list[str]:
    # -P: no script or working directory on sys.path; -s: no user site-packages.
    return [sys.executable, "-P", "-s", "-m", "zegel.dlp.isolation"]


def _child_environment() -> dict[str, str]:
    # Nothing of the web process's environment (secrets, database URL) reaches the child.
    return {"PATH": os.defpath, "PYTHONPATH": str(_ROOT), "PYTHONDONTWRITEBYTECODE": "1",
            "LC_ALL": "C.UTF-8"}


def _chunks(data: bytes | Iterable[bytes]) -> Iterable[bytes]:
    return (data,) if isinstance(data, bytes | bytearray | memoryview) else data


def _answer(header: bytes, text: bytes) -> ExtractResult | None:
    """The child's answer, or None if it is not one."""
    try:
        meta = json.loads(header)
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    scanned, message, params = meta.get("scanned"), meta.get("message"), meta.get("params")
    if not isinstance(scanned, bool) or not isinstance(message, str):
        return None
    if not isinstance(params, dict) or not all(
        isinstance(v, str | int | float) for v in params.values()
    ):
        return None
    try:
        return Outcome(text.decode("utf-8"), scanned, message, params).translated()
    except (UnicodeDecodeError, KeyError, TypeError, ValueError):
        return None


def extract_text_isolated(
    name: str,
    content_type: str,
    data: bytes | Iterable[bytes],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_budget: float = DEFAULT_TIME_BUDGET,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
) -> ExtractResult:
    """``extract_text`` in a child process with hard limits, fed ``data`` chunk by chunk.

    The child is killed after ``time_budget`` plus the start-up grace; a file larger than
    ``max_bytes`` is refused as soon as the chunks pass that size. Exceptions raised by the
    ``data`` iterator itself (a file that fails to decrypt) are the caller's and propagate.
    """
    wall = time_budget + STARTUP_GRACE
    header = json.dumps({
        "name": name, "content_type": content_type, "max_bytes": max_bytes,
        "time_budget": time_budget, "memory_limit": memory_limit,
        "cpu_seconds": math.ceil(wall),
    }).encode() + b"\n"
    try:
        child = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
            _child_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=_child_environment(), cwd="/", close_fds=True,
        )
    except OSError:
        return _crashed()  # no process to read it with (out of processes or memory)
    assert child.stdin is not None and child.stdout is not None  # noqa: S101 (PIPE above)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        child.kill()

    timer = threading.Timer(wall, kill)
    timer.daemon = True
    timer.start()
    try:
        sent = 0
        try:
            child.stdin.write(header)
            child.stdin.flush()  # so the child limits itself before the file arrives
            for chunk in _chunks(data):
                sent += len(chunk)
                if sent > max_bytes:
                    return too_large(max_bytes).result()
                child.stdin.write(chunk)
            child.stdin.close()
        except BrokenPipeError:
            pass  # the child ended early; its answer or its death says why
        answer_header = child.stdout.readline(_HEADER_MAX)
        answer = None
        try:
            size = int(json.loads(answer_header).get("text_bytes", -1))
        except (ValueError, AttributeError, TypeError):
            size = -1
        if 0 <= size <= _TEXT_BYTES_MAX:
            text = child.stdout.read(size)
            if len(text) == size:
                answer = _answer(answer_header, text)
        child.wait()
        if killed.is_set():
            return _timed_out(time_budget)
        if answer is not None and child.returncode == 0:
            return answer
        if child.returncode == -signal.SIGXCPU:
            return _timed_out(time_budget)
        return _crashed()
    finally:
        timer.cancel()
        close = getattr(data, "close", None)
        if close is not None:
            close()  # a generator stopped early releases its file now
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            try:
                pipe.close()
            except BrokenPipeError:
                pass


# --- The child ---------------------------------------------------------------------------


def _limit(memory_limit: int, cpu_seconds: int) -> None:
    import resource

    def lower(kind: int, soft: int, hard: int) -> None:
        # Never above a hard limit the server already runs under (raising it is refused).
        current = resource.getrlimit(kind)[1]
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(kind, (soft, hard))

    lower(resource.RLIMIT_AS, memory_limit, memory_limit)
    lower(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    # No plaintext may reach the disk, not even as a core dump.
    lower(resource.RLIMIT_FSIZE, 0, 0)
    lower(resource.RLIMIT_CORE, 0, 0)
    lower(resource.RLIMIT_NPROC, 0, 0)


def _child() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    job: dict[str, Any] = json.loads(stdin.readline(_HEADER_MAX))
    _limit(int(job["memory_limit"]), int(job["cpu_seconds"]))
    max_bytes = int(job["max_bytes"])
    data = stdin.read(max_bytes + 1)
    if len(data) > max_bytes:
        error = too_large(max_bytes)
        outcome = Outcome("", False, error.message, error.params)
    else:
        outcome = extract_outcome(str(job["name"]), str(job["content_type"]), data,
                                  max_bytes=max_bytes, time_budget=float(job["time_budget"]))
    del data
    text = outcome.text.encode("utf-8", "replace")
    stdout.write(json.dumps({"scanned": outcome.scanned, "message": outcome.message,
                             "params": outcome.params, "text_bytes": len(text)}).encode())
    stdout.write(b"\n")
    stdout.write(text)
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child())
