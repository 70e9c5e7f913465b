"""The translation catalogues compile in Python, on a machine without GNU gettext."""

from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zegel.core.catalogues import LOCALE_DIR

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: nl\\n"\n\n'
ROOT = Path(__file__).resolve().parents[2]


def locale_with(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "locale" / "nl" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "django.po").write_text(HEADER + body, encoding="utf-8")
    return tmp_path / "locale"


def compile_without_gettext(locale: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the compiler as `make messages` does, with a PATH that has no msgfmt."""
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    assert shutil.which("msgfmt", path=str(empty)) is None
    env = {"PATH": str(empty), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "zegel.core.catalogues", "--locale-dir",
                           str(locale)], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_the_shipped_catalogue_compiles_without_msgfmt(tmp_path: Path) -> None:
    locale = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale, ignore=shutil.ignore_patterns("*.mo"))
    result = compile_without_gettext(locale, tmp_path)
    assert result.returncode == 0, result.stderr
    with open(locale / "nl" / "LC_MESSAGES" / "django.mo", "rb") as handle:
        dutch = gettext.GNUTranslations(handle)
    assert dutch.pgettext("notification e-mail button", "View the message") == \
        "Bekijk het bericht"
    assert dutch.gettext("Dear %(name)s,") == "Beste %(name)s,"
    assert (locale / "en" / "LC_MESSAGES" / "django.mo").exists()


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_it_writes_the_same_catalogue_as_msgfmt(tmp_path: Path) -> None:
    source = LOCALE_DIR / "nl" / "LC_MESSAGES" / "django.po"
    locale = locale_with(tmp_path, "")
    shutil.copy(source, locale / "nl" / "LC_MESSAGES" / "django.po")
    assert compile_without_gettext(locale, tmp_path).returncode == 0
    reference = tmp_path / "msgfmt.mo"
    subprocess.run(["msgfmt", "-o", str(reference), str(source)], check=True, timeout=60)

    def entries(path: Path) -> dict[str, str]:
        with open(path, "rb") as handle:
            catalogue = dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]
        catalogue.pop("", None)  # the header: msgfmt drops the POT date, polib keeps it
        return catalogue

    ours = entries(locale / "nl" / "LC_MESSAGES" / "django.mo")
    assert ours == entries(reference) and len(ours) > 100


def test_a_translation_that_loses_a_placeholder_is_refused(tmp_path: Path) -> None:
    locale = locale_with(tmp_path, '#, python-format\nmsgid "Dear %(name)s,"\n'
                                   'msgstr "Beste %(naam)s,"\n')
    result = compile_without_gettext(locale, tmp_path)
    assert result.returncode == 1
    assert "line 6" in result.stderr and "Dear %(name)s," in result.stderr
    assert "other placeholders" in result.stderr
    assert not (locale / "nl" / "LC_MESSAGES" / "django.mo").exists()


def test_fuzzy_entries_are_left_out_as_msgfmt_does(tmp_path: Path) -> None:
    locale = locale_with(tmp_path, 'msgid "Not sure?"\nmsgstr "Twijfelt u?"\n\n'
                                   '#, fuzzy\nmsgid "Phone:"\nmsgstr "Tel.:"\n')
    assert compile_without_gettext(locale, tmp_path).returncode == 0
    with open(locale / "nl" / "LC_MESSAGES" / "django.mo", "rb") as handle:
        dutch = gettext.GNUTranslations(handle)
    assert dutch.gettext("Not sure?") == "Twijfelt u?"
    assert dutch.gettext("Phone:") == "Phone:"


def test_a_broken_catalogue_is_refused_with_its_name(tmp_path: Path) -> None:
    locale = locale_with(tmp_path, 'msgid "Phone:"\nmsgstr "Telefoon:"\nmsgid "Phone:"\n'
                                   'msgstr "Tel.:"\n')
    result = compile_without_gettext(locale, tmp_path)
    assert result.returncode == 1 and "django.po" in result.stderr


def test_no_catalogues_is_an_error(tmp_path: Path) -> None:
    result = compile_without_gettext(tmp_path / "nothing", tmp_path)
    assert result.returncode == 1 and "no catalogues" in result.stderr


def test_make_messages_uses_this_compiler() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    messages = makefile.split("\nmessages:", 1)[1].split("\n\n", 1)[0]
    assert "-m zegel.core.catalogues" in messages and "compilemessages" not in messages
    assert "polib==" in (ROOT / "requirements" / "base.txt").read_text(encoding="utf-8")
