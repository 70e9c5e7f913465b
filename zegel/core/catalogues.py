"""Compiling the translation catalogues (.po to .mo) in Python, without GNU gettext.

`make messages` (and so `make run`) runs `python -m zegel.core.catalogues`: a newcomer's machine
needs no msgfmt. Like `msgfmt --check-format` it refuses a catalogue whose translation drops or
adds a placeholder (a `%(name)s` missing in Dutch would raise KeyError on the page), and like
msgfmt it leaves fuzzy entries out, so their English text shows until someone checks them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from pathlib import Path

import polib  # type: ignore[import-untyped]  # polib ships no type hints

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([sdifrxXeEgGc%])")


class CatalogueError(Exception):
    pass


def placeholders(text: str) -> Counter[str]:
    """The printf-style placeholders of a text: named ones by name, the others by type."""
    found: Counter[str] = Counter()
    for name, kind in _PLACEHOLDER.findall(text):
        if kind != "%":
            found[f"({name})" if name else kind] += 1
    return found


def problems(catalogue: polib.POFile) -> list[str]:
    """What would make a page fail or lie: translations whose placeholders differ."""
    found = []
    for entry in catalogue.translated_entries():
        if "python-format" not in entry.flags:
            continue
        wanted = placeholders(entry.msgid)
        translations = (list(entry.msgstr_plural.values()) if entry.msgid_plural
                        else [entry.msgstr])
        for text in translations:
            if placeholders(text) != wanted:
                found.append(f"line {entry.linenum}: the translation of {entry.msgid[:60]!r} "
                             "has other placeholders than the original")
    return found


def compile_catalogue(po_path: Path) -> Path:
    """Write the .mo beside the .po (atomically); raise CatalogueError naming each problem."""
    try:
        catalogue = polib.pofile(str(po_path), check_for_duplicates=True)
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{po_path}: {exc}") from None
    found = problems(catalogue)
    if found:
        raise CatalogueError("\n".join(f"{po_path}: {line}" for line in found))
    mo_path = po_path.with_suffix(".mo")
    temporary = mo_path.with_suffix(".mo.tmp")
    temporary.write_bytes(catalogue.to_binary())
    os.replace(temporary, mo_path)
    return mo_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compile Zegel's translation catalogues.")
    parser.add_argument("--locale-dir", type=Path, default=LOCALE_DIR)
    args = parser.parse_args(argv)
    sources = sorted(args.locale_dir.glob("*/LC_MESSAGES/*.po"))
    if not sources:
        print(f"no catalogues under {args.locale_dir}", file=sys.stderr)
        return 1
    failed = False
    for po_path in sources:
        try:
            compile_catalogue(po_path)
        except CatalogueError as exc:
            print(exc, file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
