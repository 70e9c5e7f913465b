"""Peak memory of the web process while the data-leak check reads a 25 MiB attachment.

    .venv/bin/python bench/dlp_extract_memory.py [--rounds 5]

A (the baseline, the code before the change): decrypt the whole attachment into memory and
run ``extract_text`` in the process. B (now): ``zegel.dlp.service._extract_attachment``,
which pipes the decrypted chunks into a limited child process. Each measurement runs in a
fresh process (peak RSS only grows), interleaved A B A B, for a CSV and for a PDF that is
mostly an embedded image (one line of text). The figure is the growth of the measuring
process's peak RSS (VmHWM, reset through /proc/self/clear_refs) over its RSS just before
the check, after a warm-up check of a tiny file of the same kind (imports, allocator). The
time of that tiny check, done a second time, is the per-attachment cost of the child.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
KINDS = {"csv": "lijst.csv", "pdf": "scan.pdf"}


def _django(data_dir: str) -> None:
    os.environ["ZEGEL_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _file(kind: str, size: int) -> bytes:
    if kind == "csv":
        line = b"Jan Jansen;Dorpsstraat 1;1234 AB Ergens;geen bijzonderheden\n"
        return (b"naam;adres;plaats;opmerking\n" + line * (size // len(line)))[:size]
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=300)
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    text = DecodedStreamObject()
    text.set_data(b"BT /F1 12 Tf 20 200 Td (Verslag van het gesprek) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(text)
    image = DecodedStreamObject()
    image.set_data(os.urandom(max(size - 2000, 0)))
    writer._add_object(image)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _prepare(data_dir: str, size: int) -> dict[str, Any]:
    """Stores a big and a tiny attachment of each kind; returns their ids."""
    _django(data_dir)
    from django.core.management import call_command

    from zegel.crypto.keyring import new_dek
    from zegel.crypto.stream import encrypt_bytes
    from zegel.files.blobs import blob_store, new_blob_id
    from zegel.files.names import guess_content_type
    from zegel.files.uploads import EncryptedUpload
    from zegel.messaging import actions
    from zegel.orgs.models import Organisation, User

    call_command("migrate", interactive=False, verbosity=0)
    org = Organisation.objects.create(name="Bench", domain="bench.example.nl")
    user = User.objects.create_user("bench@bench.example.nl", org, "bench-password-2026")
    ids: dict[str, Any] = {}
    for kind, name in KINDS.items():
        for label, nbytes in (("big", size), ("tiny", 2000)):
            data = _file(kind, nbytes)
            blob_id, dek = new_blob_id(), new_dek()
            writer = blob_store().writer(blob_id)
            writer.write(encrypt_bytes(dek, bytes.fromhex(blob_id), data))
            writer.commit()
            upload = EncryptedUpload(name, guess_content_type(name), len(data),
                                     hashlib.sha256(data).hexdigest(), blob_id, dek)
            ids[f"{kind}-{label}"] = str(
                actions.store_upload(upload, organisation=org, user=user).pk)
            ids[f"{kind}-{label}-bytes"] = len(data)
    return ids


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def _measure(data_dir: str, variant: str, kind: str, ids: dict[str, Any]) -> dict[str, float]:
    _django(data_dir)
    from zegel.dlp import extract, service
    from zegel.messaging.content import attachment_name, iter_attachment
    from zegel.messaging.models import Attachment

    def old(attachment: Attachment, name: str) -> extract.ExtractResult:
        data = bytearray()
        for chunk in iter_attachment(attachment):
            data += chunk
        return extract.extract_text(name, attachment.content_type, bytes(data),
                                    max_bytes=service.ATTACHMENT_MAX_BYTES,
                                    time_budget=service.ATTACHMENT_BUDGET_SECONDS)

    check = old if variant == "A" else service._extract_attachment
    big = Attachment.objects.select_related("key").get(pk=ids[f"{kind}-big"])
    tiny = Attachment.objects.select_related("key").get(pk=ids[f"{kind}-tiny"])
    names = {a.pk: attachment_name(a) for a in (big, tiny)}
    check(tiny, names[tiny.pk])  # warm-up
    started = time.perf_counter()
    check(tiny, names[tiny.pk])
    tiny_seconds = time.perf_counter() - started
    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmRSS")
    started = time.perf_counter()
    result = check(big, names[big.pk])
    seconds = time.perf_counter() - started
    peak = _status("VmHWM")
    return {"growth": peak - before, "peak": peak, "seconds": seconds,
            "tiny_seconds": tiny_seconds, "scanned": float(result.scanned),
            "chars": float(len(result.text))}


def _summary(values: list[float], spec: str = "7.1f") -> str:
    median, low, high = statistics.median(values), min(values), max(values)
    return f"median {median:{spec}}  range {low:{spec}} - {high:{spec}}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=25)
    parser.add_argument("--prepare", nargs=2, metavar=("DIR", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=4, metavar=("DIR", "VARIANT", "KIND", "IDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps(_prepare(args.prepare[0], int(args.prepare[1]))))
        return 0
    if args.measure:
        data_dir, variant, kind, ids = args.measure
        print(json.dumps(_measure(data_dir, variant, kind, json.loads(ids))))
        return 0

    with tempfile.TemporaryDirectory(prefix="zegel-bench-") as data_dir:
        prepared = subprocess.run(
            [sys.executable, __file__, "--prepare", data_dir, str(args.size_mib * MIB)],
            check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        ids = json.loads(prepared.stdout.strip().splitlines()[-1])
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
              f"{args.rounds} rounds, A B interleaved, a fresh process per measurement")
        for kind in KINDS:
            print(f"\n{kind}: {ids[f'{kind}-big-bytes'] / MIB:.1f} MiB attachment")
            runs: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
            for _round in range(args.rounds):
                for variant in ("A", "B"):
                    out = subprocess.run(
                        [sys.executable, __file__, "--measure", data_dir, variant, kind,
                         json.dumps(ids)], check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
                    runs[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
            for variant, label in (("A", "A in process (before)"), ("B", "B child process (now)")):
                rows = runs[variant]
                print(f"  {label:24s} peak RSS growth MiB {_summary([r['growth'] for r in rows])}")
                print(f"  {'':24s} peak RSS MiB        {_summary([r['peak'] for r in rows])}")
                print(f"  {'':24s} 25 MiB check s      "
                      f"{_summary([r['seconds'] for r in rows], '7.2f')}")
                print(f"  {'':24s} tiny file ms        "
                      f"{_summary([r['tiny_seconds'] * 1000 for r in rows])}")
                scanned = {(bool(r["scanned"]), int(r["chars"])) for r in rows}
                print(f"  {'':24s} (scanned, characters): {sorted(scanned)}")
            ratios = [b["growth"] / max(a["growth"], 0.1)
                      for a, b in zip(runs["A"], runs["B"], strict=True)]
            overhead = [(b["tiny_seconds"] - a["tiny_seconds"]) * 1000
                        for a, b in zip(runs["A"], runs["B"], strict=True)]
            print(f"  growth B/A per round: {_summary(ratios, '.3f')}"
                  f"  ({', '.join(f'{r:.3f}' for r in ratios)})")
            print(f"  child process cost per attachment ms (B - A, tiny file): "
                  f"{_summary(overhead)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
