"""Every user-visible text has a Dutch translation.

Django's makemessages (Zegel's own, zegel/core/management/commands/makemessages.py, which also
extracts the `_lazy` alias) runs on a copy of the code, so the repository's catalogue is not
rewritten; the test fails listing every text that is untranslated or fuzzy in Dutch. To fix
one, append its msgid with a msgstr at the end of zegel/locale/nl/LC_MESSAGES/django.po.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

PACKAGE = Path(__file__).resolve().parents[2] / "zegel"
CATALOGUE = PACKAGE / "locale" / "nl" / "LC_MESSAGES" / "django.po"


def _unquote(line: str) -> str:
    text = line[line.index('"') + 1:line.rindex('"')]
    return (text.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t")
            .replace("\\\\", "\\"))


def read_po(path: Path) -> list[dict[str, Any]]:
    """The entries of a .po file: msgid, msgid_plural, msgstr (all forms), flags, obsolete."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] = {}
    key = ""

    def flush() -> None:
        nonlocal entry
        if "msgid" in entry:
            entries.append(entry)
        entry = {}

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            flush()
            continue
        if line.startswith("#,"):
            if "msgid" in entry:
                flush()
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            if "msgid" in entry and not obsolete:
                flush()
        elif line.startswith(("msgid ", "msgid_plural ", "msgstr", "msgctxt ")):
            if line.startswith(("msgid ", "msgctxt ")) and "msgstr" in entry:
                flush()
            key = line.split(" ", 1)[0]
            if key.startswith("msgstr"):
                entry.setdefault("msgstr", {})[key] = _unquote(line)
            else:
                entry[key] = _unquote(line)
            entry["obsolete"] = obsolete
        elif line.startswith('"'):
            if key.startswith("msgstr"):
                entry["msgstr"][key] += _unquote(line)
            else:
                entry[key] += _unquote(line)
    flush()
    return [e for e in entries if e["msgid"]]  # without the header


def untranslated(entries: list[dict[str, Any]]) -> list[str]:
    return sorted(e["msgid"] for e in entries if not e.get("obsolete") and (
        "fuzzy" in e.get("flags", set()) or not all(e.get("msgstr", {}).values())
        or not e.get("msgstr")))


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The Dutch catalogue as makemessages would leave it for today's code."""
    for tool in ("xgettext", "msgmerge", "msguniq", "msgfmt"):
        assert shutil.which(tool), f"{tool} is missing: install gettext (make system-deps)"
    copy = tmp_path_factory.mktemp("translations") / "zegel"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns(
        "__pycache__", "*.mo", "static", "migrations"))
    from django.conf import settings

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(copy)
        patch.setattr(settings, "LOCALE_PATHS", [copy / "locale"])
        call_command("makemessages", locale=["nl"], verbosity=0)
    po = copy / "locale" / "nl" / "LC_MESSAGES" / "django.po"
    subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(po)], check=True)
    return read_po(po)


def test_every_text_in_the_code_has_a_dutch_translation(
        extracted: list[dict[str, Any]]) -> None:
    missing = untranslated(extracted)
    assert not missing, ("Texts without a Dutch translation (untranslated or fuzzy); append "
                         f"them to {CATALOGUE.relative_to(PACKAGE.parent)}:\n"
                         + "\n".join(f"  {m!r}" for m in missing))


def test_lazy_aliases_are_extracted(extracted: list[dict[str, Any]]) -> None:
    # zegel/sender/views.py writes these with `gettext_lazy as _lazy`, which xgettext does not
    # know by itself.
    found = {e["msgid"] for e in extracted if not e["obsolete"]}
    assert {"No end date", "1 week", "3 months"} <= found


def test_the_catalogue_compiles_and_has_no_fuzzy_entry() -> None:
    subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(CATALOGUE)], check=True)
    entries = read_po(CATALOGUE)
    assert len(entries) > 300
    assert [e["msgid"] for e in entries if "fuzzy" in e.get("flags", set())] == []
    assert not [m for m in untranslated(entries)]
