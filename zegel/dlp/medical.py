"""Special-category (AVG art. 9) terms: loading the term lists and matching them in text.

Term files (terms/*.txt) are plain data an admin can extend:

    # comment
    [category]
    diabetes          whole word, with inflections and compounds (diabetespatiënt)
    psychiatr*        any word starting with this
    OTS               in capitals: an abbreviation, only in capitals and without endings
                      other than (')s, so "OTS" but not "ots" or "Tian" for "TIA"
    *olol             any word ending with this, after at least three letters (metoprolol):
                      for medicine-name stems (WHO INN) and medical word endings (-itis)
    ziekte van crohn  several words, any whitespace between them
    !veilig thuis gekomen   an exception: a term inside this phrase is not reported
    !kom* veilig thuis      (in an exception "woord*" is any word starting so, "*" any word)

All terms are compiled into one case-insensitive trie regex (word endings into a second
one), so the text is searched in C; Python only checks the few words that contain a term.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from zegel.dlp.findings import MEDICAL, Finding

TERMS_DIR = Path(__file__).parent / "terms"
CUSTOM_CATEGORY = "organisation term"

# Endings accepted after a whole-word term: Dutch plurals and adjective forms, English plural.
_INFLECTIONS = frozenset(
    [
        "s",
        "es",
        "en",
        "e",
        "n",
        "'s",
        "ën",
        "ns",
        "r",
        "er",
        "ers",
        "ische",
        "isch",
        "sche",
        "d",
        "ed",
    ]
)
# Second halves that make a compound with a term still about health: "diabetespatiënt".
_COMPOUND_HEADS = (
    "patiënt",
    "patient",
    "patiënte",
    "zorg",
    "behandeling",
    "medicatie",
    "medicijn",
    "kliniek",
    "poli",
    "polikliniek",
    "afdeling",
    "consult",
    "diagnose",
    "onderzoek",
    "traject",
    "verpleegkundige",
    "specialist",
    "therapie",
    "screening",
    "test",
    "dossier",
    "klachten",
    "klacht",
    "ziekte",
    "behandelaar",
    "team",
    "care",
    "nurse",
    "clinic",
    "treatment",
    "medication",
    "centrum",
    "spreekuur",
    "begeleiding",
    "indicatie",
    "opname",
    "risico",
    "zwangerschap",
    "pijn",
    "aanval",
    "aanvallen",
    "verleden",
    "verlof",
    "gebruik",
    "misbruik",
    "controle",
    "verklaring",
)
# A term found inside a longer word ("borstkanker") counts from this length on; shorter
# terms inside words are too often accidental ("hiv" in "archief" would not, but be careful).
_MIN_TAIL_TERM = 5
_MIN_COMPOUND_HEAD_PART = 3
# A term starts any compound ("insulinepomp") from this length on, before a second part of at
# least _MIN_COMPOUND_SECOND_PART letters; shorter terms only before the heads listed above.
_MIN_COMPOUND_FIRST_TERM = 6
_MIN_COMPOUND_SECOND_PART = 4
# Endings accepted after a word-ending term ("*stoornis" -> "stoornissen", "*itis" -> "itis'").
_SUFFIX_INFLECTIONS = r"(?:sen|en|'s)?"
# Endings accepted after an abbreviation written in capitals ("OTS", "TIA's").
_ABBREVIATION_INFLECTIONS = frozenset(["", "s", "'s"])


def _is_word_char(c: str) -> bool:
    return c.isalpha()


@dataclass(frozen=True)
class Term:
    text: str
    category: str
    prefix: bool
    # A word ending ("*olol"): any word of at least three more letters ending so.
    suffix: bool = False
    # An abbreviation in capitals ("OTS"): matched only as written.
    cased: str = ""
    # An exception phrase ("!veilig thuis gekomen"): terms inside it are not reported.
    exception: bool = False


# Characters with a meaning in a trie: any whitespace, and in exception phrases the rest of a
# word ("kom*") and one whole word (a lone "*").
_ANY_REST = "\x00"
_ANY_WORD = "\x01"
_TRIE_SPECIAL = {" ": r"\s+", _ANY_REST: r"[^\W\d_]*", _ANY_WORD: r"[^\W\d_]+"}


def _exception_key(phrase: str) -> str:
    """An exception phrase with its wildcards in trie form: "kom* veilig thuis"."""
    return " ".join(
        _ANY_WORD if word == "*" else word.replace("*", _ANY_REST) for word in phrase.split()
    )


def _trie_pattern(words: Iterable[str]) -> str:
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict) -> str:
        ends = "" in node
        branches = [
            _TRIE_SPECIAL.get(char, re.escape(char)) + render(child)
            for char, child in sorted(node.items())
            if char
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return "(?:" + body + ")?" if len(branches) > 1 or len(body) > 1 else body + "?"
        return body

    return render(trie)


def parse_terms(lines: Iterable[str], default_category: str = CUSTOM_CATEGORY) -> list[Term]:
    """Terms from the lines of a term file; unknown lines are ignored, case is folded."""
    category = default_category
    terms: list[Term] = []
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            category = line[1:-1].strip() or default_category
            continue
        if line.startswith("!"):
            phrase = " ".join(line[1:].lower().split())
            if len(phrase.replace("*", "")) >= 3:
                terms.append(Term(phrase, category, False, exception=True))
            continue
        if line.startswith("*"):
            ending = line[1:].strip().lower()
            if len(ending) >= 3 and ending.isalpha():
                terms.append(Term(ending, category, False, suffix=True))
            continue
        prefix = line.endswith("*")
        written = " ".join(line.rstrip("*").split())
        text = written.lower()
        cased = written if written.isupper() else ""
        if len(text) >= 3:
            terms.append(Term(text, category, prefix, cased=cased))
    return terms


class TermSet:
    """A compiled set of special-category terms."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self.terms: dict[str, Term] = {}
        self.suffixes: dict[str, Term] = {}
        self.exceptions: dict[str, Term] = {}
        for term in terms:
            kind = self.exceptions if term.exception else self.suffixes if term.suffix else None
            (self.terms if kind is None else kind).setdefault(term.text, term)
        pattern = _trie_pattern(self.terms) if self.terms else r"(?!x)x"
        self._regex = re.compile(pattern, re.IGNORECASE)
        # Word endings: reversed into a trie would be faster, but a plain alternation after a
        # run of letters is bounded (one pass per word start) and the list is short.
        self._suffix_regex = (
            re.compile(
                r"(?<![^\W_])[^\W\d_]{3,}?(?P<ending>"
                + _trie_pattern(self.suffixes)
                + ")"
                + _SUFFIX_INFLECTIONS
                + r"(?![^\W_])",
                re.IGNORECASE,
            )
            if self.suffixes
            else None
        )
        self._exception_regex = (
            re.compile(
                r"(?<![^\W_])(?:"
                + _trie_pattern(_exception_key(p) for p in self.exceptions)
                + r")(?![^\W_])",
                re.IGNORECASE,
            )
            if self.exceptions
            else None
        )

    def extended(self, extra: Iterable[str]) -> TermSet:
        """This set plus the given term lines (same syntax as a term file)."""
        added = parse_terms(extra)
        if not added:
            return self
        return TermSet(
            [*self.terms.values(), *self.suffixes.values(), *self.exceptions.values(), *added]
        )

    def _accept(self, term: Term, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Span of the whole word(s) if the term occurrence at text[start:end] counts."""
        word_start = start
        while word_start > 0 and _is_word_char(text[word_start - 1]):
            word_start -= 1
        word_end = end
        while word_end < len(text) and _is_word_char(text[word_end]):
            word_end += 1
        rest = text[end:word_end].lower()
        if term.cased:
            if text[start:end] != term.cased or word_start != start:
                return None
            return (word_start, word_end) if rest in _ABBREVIATION_INFLECTIONS else None
        if word_start == start:
            if not rest or term.prefix:
                return word_start, word_end
            # A short term ("soa", "hiv") takes only the plural endings of an abbreviation, so
            # "soar" is not "soa" + "r".
            if rest in (_ABBREVIATION_INFLECTIONS if len(term.text) <= 3 else _INFLECTIONS):
                return word_start, word_end
            head = rest[1:] if rest[0] == "s" else rest
            if any(head.startswith(h) for h in _COMPOUND_HEADS) or any(
                rest.startswith(h) for h in _COMPOUND_HEADS
            ):
                return word_start, word_end
            # A long one-word term as the first part of any compound: "morfinepleister",
            # "insulinepomp". Short terms are too often the start of unrelated words.
            if (
                len(term.text) >= _MIN_COMPOUND_FIRST_TERM
                and " " not in term.text
                and len(head) >= _MIN_COMPOUND_SECOND_PART
            ):
                return word_start, word_end
            return None
        # The term is the tail of a compound: "borstkanker", "jeugdpsychiatrie".
        if (
            len(term.text) >= _MIN_TAIL_TERM
            and start - word_start >= _MIN_COMPOUND_HEAD_PART
            and (not rest or rest in _INFLECTIONS or term.prefix)
        ):
            return word_start, word_end
        return None

    def find(self, text: str) -> list[Finding]:
        findings: list[Finding] = []
        last_end = -1
        position = 0
        while True:
            m = self._regex.search(text, position)
            if m is None:
                break
            key = " ".join(m.group().lower().split())
            term = self.terms.get(key)
            span = self._accept(term, text, m.start(), m.end()) if term else None
            if term is not None and span is not None and span[0] >= last_end:
                detail = f"special-category term ({term.category})"
                findings.append(Finding(MEDICAL, span[0], span[1], 0.8, detail))
                last_end = span[1]
                position = span[1]
            else:
                # Retry one character later so a term inside this match is not lost.
                position = m.start() + 1
        if self._suffix_regex is not None:
            taken = list(findings)
            for m in self._suffix_regex.finditer(text):
                if any(f.start < m.end() and m.start() < f.end for f in taken):
                    continue
                term = self.suffixes[m.group("ending").lower()]
                detail = f"special-category term ({term.category})"
                findings.append(Finding(MEDICAL, m.start(), m.end(), 0.8, detail))
            findings.sort(key=lambda f: f.start)
        if findings and self._exception_regex is not None:
            # Terms used in another sense: "veilig thuis gekomen", "probation period".
            excepted = [(e.start(), e.end()) for e in self._exception_regex.finditer(text)]
            if excepted:
                findings = [
                    f for f in findings if not any(s < f.end and f.start < e for s, e in excepted)
                ]
        return findings


@cache
def default_terms() -> TermSet:
    """The shipped Dutch and English term lists."""
    terms: list[Term] = []
    for path in sorted(TERMS_DIR.glob("*.txt")):
        terms.extend(parse_terms(path.read_text(encoding="utf-8").splitlines()))
    return TermSet(terms)


def detect_medical(text: str, terms: TermSet | None = None) -> list[Finding]:
    """Special-category terms (health, youth care, criminal records) as whole words."""
    return (terms or default_terms()).find(text)
