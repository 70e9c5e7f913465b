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

Whole-word terms are compiled into one Aho-Corasick automaton (pyahocorasick) that reports
every occurrence of every term in one pass over the lower-cased text, in C; Python then checks
each occurrence once against the letters around it, looked up in a table of the text's words
made in the same pass. Nothing walks back over a word per occurrence, so a scan of ``"hiv" *
8000`` (one 24 KB "word" holding 8000 rejected occurrences) takes as long per byte as prose.
Word endings and exception phrases are regexes anchored at a word start (a lookbehind), so
each is tried once per word; an exception word has at most one ``*``, which keeps every
attempt linear in the word's length.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import ahocorasick

from zegel.dlp.budget import Budget, check
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


def _starts_with_head(rest: str) -> bool:
    """Whether the rest of a word after a term is a known health word, after a linking "s"
    or not: "diabetes|patiënt", "kanker|onderzoek"."""
    head = rest[1:] if rest[:1] == "s" else rest
    return any(head.startswith(h) or rest.startswith(h) for h in _COMPOUND_HEADS)


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
            phrase = re.sub(r"\*+", "*", " ".join(line[1:].lower().split()))
            # Two wildcards in one word ("a*b*c") would let the regex try every way to split
            # the word between them: polynomial time in the word's length. Such a phrase is
            # ignored like any other line the syntax does not allow.
            if len(phrase.replace("*", "")) >= 3 and all(
                word.count("*") <= 1 for word in phrase.split()
            ):
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


# How far past a term's end its word is read to judge an ending or a compound head: longer
# than any inflection and any compound head plus a linking "s".
_REST_LOOKAHEAD = max(len(h) for h in (*_COMPOUND_HEADS, *_INFLECTIONS)) + 2
# Whitespace the automaton cannot see as one space: a run of several, or a tab or newline.
# Written to begin with a whitespace character, which the regex engine skips to in C: the
# same matches as r"\s{2,}|[^\S ]" (a run of several, or one that is not a plain space).
_ODD_SPACE = re.compile(r"\s(?:\s+|(?<! ))")
# The runs of _ODD_SPACE that are longer than one character (r"\s{2,}").
_SPACE_RUN = re.compile(r"\s\s+")
# Letters a case-insensitive regex takes for "i" or "s" although their lower case is another
# letter. A term written with one never counted (its lower case is no term), and an occurrence
# through one still does not; it only stops shorter terms at the same place, as before.
_CASE_ONLY = "\u0130\u0131\u017f"
_CASE_ONLY_TABLE = str.maketrans(_CASE_ONLY, "iis")
_CASE_ONLY_RE = re.compile("[" + _CASE_ONLY + "]")


@cache
def _letter_run() -> re.Pattern[str]:
    """Runs of the characters ``str.isalpha()`` accepts, the words of ``_accept``.

    ``[^\\W\\d_]`` alone also takes numerals that are not digits (², Ⅻ), which are not letters.
    """
    numerals = [
        ord(c)
        for c in map(chr, range(sys.maxunicode + 1))
        if c.isalnum() and not c.isalpha() and not c.isdecimal()
    ]
    ranges: list[list[int]] = []
    for code in numerals:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    excluded = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return re.compile(r"[^\W\d_" + excluded + "]+")


class _Folded:
    """Text lower-cased character for character, every whitespace run one space, with a map
    back to offsets in the original."""

    __slots__ = ("case_only", "points", "shifts", "text")

    def __init__(self, text: str, budget: Budget | None) -> None:
        lowered = text.lower()
        if len(lowered) != len(text):
            # "İ" lower-cases to two characters; kept as it is here, so offsets stay put.
            lowered = "".join(low if len(low := c.lower()) == 1 else c for c in text)
        # points[k]: folded index of the k-th collapsed run; shifts[k]: characters removed
        # up to and including it.
        self.points: list[int] = []
        self.shifts: list[int] = []
        self.text = self._collapse(lowered, budget)
        # Folded indexes of the letters in _CASE_ONLY, which are replaced by "i" or "s".
        self.case_only: list[int] = []
        if _CASE_ONLY_RE.search(self.text) is not None:
            self.case_only = [m.start() for m in _CASE_ONLY_RE.finditer(self.text)]
            self.text = self.text.translate(_CASE_ONLY_TABLE)

    def _collapse(self, lowered: str, budget: Budget | None) -> str:
        if _ODD_SPACE.search(lowered) is None:
            return lowered
        # Only a run of several characters shifts offsets; the replacing itself is one
        # sub() in C, not a Python step per newline.
        removed = 0
        for m in _SPACE_RUN.finditer(lowered):
            check(budget)
            self.points.append(m.start() - removed)
            removed += m.end() - m.start() - 1
            self.shifts.append(removed)
        return _ODD_SPACE.sub(" ", lowered)

    def original(self, index: int) -> int:
        k = bisect_left(self.points, index)
        return index + (self.shifts[k - 1] if k else 0)

    def through_case_only(self, start: int, end: int) -> bool:
        """Whether folded text[start:end] holds one of the letters of _CASE_ONLY."""
        k = bisect_left(self.case_only, start)
        return k < len(self.case_only) and self.case_only[k] < end


class _Words:
    """Where the word (run of letters) around an index starts and ends.

    Found on demand around the few places a term occurs, not for every word of the text
    (splitting a whole text into words costs more than the rest of the term scan). The last
    word found is kept: occurrences are looked up in order, so a long word holding many is
    read once, and the scan stays linear.
    """

    __slots__ = ("end", "start", "text")

    def __init__(self, text: str, budget: Budget | None) -> None:
        self.text = text
        self.start = self.end = 0  # the last word found: text[start:end]
        check(budget)

    def _around(self, index: int) -> tuple[int, int]:
        """Bounds of the word holding the letter text[index]."""
        if self.start <= index < self.end:
            return self.start, self.end
        text = self.text
        start = index
        while start > 0 and text[start - 1].isalpha():
            start -= 1
        match = _letter_run().match(text, index)
        end = match.end() if match else index + 1
        self.start, self.end = start, end
        return start, end

    def start_before(self, index: int) -> int:
        """Start of the word that ends at or runs through ``index``; ``index`` if none."""
        if index > 0 and self.text[index - 1].isalpha():
            return self._around(index - 1)[0]
        return index

    def end_after(self, index: int) -> int:
        """End of the word that runs on from ``index``; ``index`` if none."""
        if index < len(self.text) and self.text[index].isalpha():
            return self._around(index)[1]
        return index


class TermSet:
    """A compiled set of special-category terms."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self.terms: dict[str, Term] = {}
        self.suffixes: dict[str, Term] = {}
        self.exceptions: dict[str, Term] = {}
        for term in terms:
            kind = self.exceptions if term.exception else self.suffixes if term.suffix else None
            (self.terms if kind is None else kind).setdefault(term.text, term)
        self._automaton = ahocorasick.Automaton()
        for key, term in self.terms.items():
            self._automaton.add_word(key, (len(key), term))
        if self.terms:
            self._automaton.make_automaton()
        # Word endings: a lazy run of letters from a word start, then the ending, then the
        # word's end; tried once per word start, in time linear in the word.
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
        # Where a word ending or an exception phrase can start, found by Aho-Corasick in the
        # folded text: the regexes above are then tried only there, not at every letter.
        self._ending_starts = _first_pieces(self.suffixes, whole=True)
        # Built here, once per process, rather than inside the time budget of the first scan
        # that meets a term (it reads every Unicode character).
        _letter_run()
        self._exception_starts = _first_pieces((_exception_key(p) for p in self.exceptions),
                                               whole=False)

    def extended(self, extra: Iterable[str]) -> TermSet:
        """This set plus the given term lines (same syntax as a term file)."""
        added = parse_terms(extra)
        if not added:
            return self
        return TermSet(
            [*self.terms.values(), *self.suffixes.values(), *self.exceptions.values(), *added]
        )

    def _accept(
        self, term: Term, text: str, start: int, end: int, words: _Words
    ) -> tuple[int, int] | None:
        """Span of the whole word(s) if the term occurrence at text[start:end] counts."""
        word_start = words.start_before(start)
        word_end = words.end_after(end)
        # Only the first letters of the rest of the word matter; reading all of a long word
        # for every occurrence in it would make the scan quadratic.
        rest_length = word_end - end
        rest = text[end : min(word_end, end + _REST_LOOKAHEAD)].lower()
        whole_rest = rest_length <= _REST_LOOKAHEAD
        if term.cased:
            if text[start:end] != term.cased or word_start != start:
                return None
            counts = whole_rest and rest in _ABBREVIATION_INFLECTIONS
            return (word_start, word_end) if counts else None
        if word_start == start:
            if not rest or term.prefix:
                return word_start, word_end
            # A short term ("soa", "hiv") takes only the plural endings of an abbreviation, so
            # "soar" is not "soa" + "r".
            endings = _ABBREVIATION_INFLECTIONS if len(term.text) <= 3 else _INFLECTIONS
            if whole_rest and rest in endings:
                return word_start, word_end
            head = rest[1:] if rest[0] == "s" else rest
            if _starts_with_head(rest):
                return word_start, word_end
            # A long one-word term as the first part of any compound: "morfinepleister",
            # "insulinepomp". Short terms are too often the start of unrelated words.
            if (
                len(term.text) >= _MIN_COMPOUND_FIRST_TERM
                and " " not in term.text
                and (len(head) >= _MIN_COMPOUND_SECOND_PART or not whole_rest)
            ):
                return word_start, word_end
            return None
        # The term is the tail of a compound: "borstkanker", "jeugdpsychiatrie"; or its middle
        # before a known health word: "borstkankeronderzoek", "kinderdiabetescentrum".
        if (
            len(term.text) >= _MIN_TAIL_TERM
            and start - word_start >= _MIN_COMPOUND_HEAD_PART
            and (not rest or (whole_rest and rest in _INFLECTIONS) or term.prefix
                 or _starts_with_head(rest))
        ):
            return word_start, word_end
        return None

    def _whole_terms(self, text: str, folded: _Folded, budget: Budget | None
                     ) -> list[Finding]:
        """Whole-word terms, leftmost first; of the terms starting at one place the longest."""
        if not self.terms:
            return []
        longest: dict[int, tuple[int, Term]] = {}
        for last, (length, term) in self._automaton.iter(folded.text):
            check(budget)
            start = last - length + 1
            known = longest.get(start)
            if known is None or known[0] < length:
                longest[start] = (length, term)
        if not longest:
            return []
        words = _Words(text, budget)
        findings: list[Finding] = []
        last_end = -1
        for start in sorted(longest):
            check(budget)
            length, term = longest[start]
            original_start = folded.original(start)
            # An occurrence inside the words of the previous finding is part of it.
            if original_start < last_end:
                continue
            if folded.case_only and folded.through_case_only(start, start + length):
                continue
            original_end = folded.original(start + length - 1) + 1
            span = self._accept(term, text, original_start, original_end, words)
            if span is not None and span[0] >= last_end:
                detail = f"special-category term ({term.category})"
                findings.append(Finding(MEDICAL, span[0], span[1], 0.8, detail))
                last_end = span[1]
        return findings

    def find(self, text: str, budget: Budget | None = None) -> list[Finding]:
        """Every special-category term in ``text``; raises BudgetExceeded past the budget."""
        folded = _Folded(text, budget)
        findings = self._whole_terms(text, folded, budget)
        if self._suffix_regex is not None:
            # Term findings do not overlap and are sorted, so their ends are sorted too.
            taken_starts = [f.start for f in findings]
            taken_ends = [f.end for f in findings]
            for m in _matches(self._suffix_regex, self._ending_starts, text, folded, True,
                              budget):
                check(budget)
                i = bisect_right(taken_ends, m.start())
                if i < len(taken_ends) and taken_starts[i] < m.end():
                    continue
                term = self.suffixes.get(m.group("ending").lower())
                if term is None:  # an ending written with "İ": its lower case is no ending
                    continue
                detail = f"special-category term ({term.category})"
                findings.append(Finding(MEDICAL, m.start(), m.end(), 0.8, detail))
            findings.sort(key=lambda f: f.start)
        if findings and self._exception_regex is not None:
            # Terms used in another sense: "veilig thuis gekomen", "probation period".
            excepted = []
            for e in _matches(self._exception_regex, self._exception_starts, text, folded,
                              False, budget):
                check(budget)
                excepted.append((e.start(), e.end()))
            if excepted:
                findings = _outside(findings, excepted)
        return findings


# Characters whose folded form (_Folded) is what a case-insensitive regex takes them for, so
# that a piece found in the folded text is where the regex can match, and nowhere else.
_FOLD_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyz0123456789àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ'-./&")


def _first_pieces(keys: Iterable[str], *, whole: bool) -> Any | None:
    """An automaton of the keys (``whole``) or of their first pieces (up to a space or a
    wildcard), or None if one cannot be looked for so (empty, or a letter that folds
    differently from how the regex compares it)."""
    automaton = ahocorasick.Automaton()
    count = 0
    for key in keys:
        piece = key if whole else re.split("[ " + _ANY_REST + _ANY_WORD + "]", key,
                                           maxsplit=1)[0]
        if not piece or not set(piece) <= _FOLD_SAFE:
            return None
        automaton.add_word(piece, len(piece))
        count += 1
    if not count:
        return None
    automaton.make_automaton()
    return automaton


# A regex letter ([^\W\d_]): what the word-ending regex's lazy run of letters takes.
_REGEX_LETTERS = re.compile(r"[^\W\d_]*")


def _matches(pattern: re.Pattern[str], pieces: Any | None, text: str, folded: _Folded,
             word_start: bool, budget: Budget | None) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, trying the pattern only where it can match: at the start of
    the run of letters holding a piece (``word_start``, for word endings), or where a first
    piece starts. Both patterns begin where no word character precedes, and every match holds
    a piece there, which the folded text shows wherever the regex would see it."""
    if pieces is None:
        yield from pattern.finditer(text)
        return
    starts: set[int] = set()
    run_start = run_end = -1
    for last, length in pieces.iter(folded.text):
        check(budget)
        position = folded.original(last - length + 1)
        if not word_start:
            starts.add(position)
            continue
        if run_start <= position < run_end:
            continue  # a long word holding many endings is walked once
        run_start = position
        while run_start > 0 and text[run_start - 1].isalnum() and not text[
                run_start - 1].isdecimal():
            run_start -= 1
        run = _REGEX_LETTERS.match(text, position)
        run_end = run.end() if run else position
        starts.add(run_start)
    yield from matches_at(pattern, text, sorted(starts))


def matches_at(pattern: re.Pattern[str], text: str,
               starts: Iterable[int]) -> Iterator[re.Match[str]]:
    """What ``pattern.finditer(text)`` gives when every match begins at one of ``starts``
    (ascending): the pattern is tried there only, leftmost first, none overlapping."""
    end = 0
    match = pattern.match
    for start in starts:
        if start < end:
            continue
        m = match(text, start)
        if m is not None:
            yield m
            end = m.end()


def _outside(findings: list[Finding], excepted: list[tuple[int, int]]) -> list[Finding]:
    """The findings that overlap no excepted span; both sorted and without overlaps."""
    kept: list[Finding] = []
    j = 0
    for f in findings:
        while j < len(excepted) and excepted[j][1] <= f.start:
            j += 1
        if j < len(excepted) and excepted[j][0] < f.end:
            continue
        kept.append(f)
    return kept


@cache
def default_terms() -> TermSet:
    """The shipped Dutch and English term lists."""
    terms: list[Term] = []
    for path in sorted(TERMS_DIR.glob("*.txt")):
        terms.extend(parse_terms(path.read_text(encoding="utf-8").splitlines()))
    return TermSet(terms)


def detect_medical(
    text: str, terms: TermSet | None = None, budget: Budget | None = None
) -> list[Finding]:
    """Special-category terms (health, youth care, criminal records) as whole words."""
    return (terms or default_terms()).find(text, budget)
