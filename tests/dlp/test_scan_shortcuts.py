"""The scan's shortcuts find exactly what the plain regex searches they replace find.

Each fast path (trying a pattern only where it can start, a regex rewritten to start with a
character class) is compared here with the plain ``finditer`` on text made to hit its edge
cases: case-insensitive letters that are not ASCII (dotted I, dotless i, long s, the Kelvin
sign), digits and underscores glued to words, separators, runs of whitespace.
bench/dlp_same_findings.py compares whole scans against another checkout.
"""

from __future__ import annotations

import re

from zegel.dlp import detectors, medical, normalize, subject

ODD = str.maketrans({"i": "\u0130", "s": "\u017f", "k": "\u212a"})
DOTLESS = str.maketrans({"i": "\u0131"})


def _spans(matches: object) -> list[tuple[tuple[int, int], str]]:
    return [(m.span(), m.group()) for m in matches]  # type: ignore[attr-defined]


def _variants(words: list[str]) -> str:
    pieces = []
    for word in words:
        for form in (word, word.upper(), word.title(), word.translate(ODD),
                     word.translate(DOTLESS)):
            pieces.append(f"uw {form}, {form}'s {form}en 1{form} _{form} x{form}pomp "
                          f"{form}{form}\n\t  {form}.")
    return " ".join(pieces)


def test_number_patterns_are_tried_only_where_a_run_of_digits_starts() -> None:
    text = (
        "BSN 111222333, 1112.22.333 en 111 222 333; a111222333 1111222333 12-03-1985 "
        "3 maart 1990, 1990-03-12, 4111 1111 1111 1111 4111-1111-1111-1111 06-12345678 "
        "0,111222333 1/2/2001 x12.12.1999 99999999999999999999 ١٢٣ 0 00 000000000\n"
    ) * 3
    for pattern in (detectors._BSN, detectors._CARD, detectors._DATE):
        fast = _spans(detectors._digit_matches(pattern, text))
        assert fast == _spans(pattern.finditer(text))
        assert fast  # the text does hold matches of each


def test_word_endings_and_exception_phrases_are_tried_only_where_they_occur() -> None:
    terms = medical.default_terms()
    assert terms._ending_starts is not None and terms._exception_starts is not None
    text = _variants(["abc" + e for e in terms.suffixes]
                     + [p.replace("*", "kom") for p in terms.exceptions])
    folded = medical._Folded(text, None)
    for pattern, pieces, word_start in (
        (terms._suffix_regex, terms._ending_starts, True),
        (terms._exception_regex, terms._exception_starts, False),
    ):
        assert pattern is not None
        fast = _spans(medical._matches(pattern, pieces, text, folded, word_start, None))
        assert fast == _spans(pattern.finditer(text))
        assert len(fast) > 100


def test_an_ending_outside_the_folding_letters_falls_back_to_the_plain_search() -> None:
    terms = medical.TermSet(medical.parse_terms(["*ωσις", "!καλή ωσις"]))
    assert terms._ending_starts is None and terms._exception_starts is None
    text = "μετάσταση θρόμβωσις ΘΡΌΜΒΩΣΙΣ καλή ωσις"
    assert terms._suffix_regex is not None
    found = [f.start for f in terms.find(text)]
    assert found == [m.start() for m in terms._suffix_regex.finditer(text)]
    assert found


def test_the_words_around_a_term_are_those_of_a_split_into_letter_runs() -> None:
    text = "uw diabetes² en xdiabetesx, _diabetes 3diabetes\u0130k Ⅻ astma-aanval " * 2
    words = medical._Words(text, None)
    runs = [m.span() for m in medical._letter_run().finditer(text)]
    for index in range(len(text) + 1):
        before = [s for s, e in runs if s <= index - 1 and e >= index]
        after = [e for s, e in runs if s <= index < e]
        assert words.start_before(index) == (before[-1] if before else index)
        assert words.end_after(index) == (after[-1] if after else index)


def test_the_suspect_characters_are_those_of_the_plain_pattern() -> None:
    plain = re.compile("[" + normalize._REMOVED + normalize._SPACES + normalize._DASHES
                       + "\uff01-\uff5e]|(?![0-9])\\d")
    differ = [hex(code) for code in range(0x10000)
              if bool(plain.match(chr(code))) != bool(normalize._SUSPECT.match(chr(code)))]
    assert differ == []


def test_the_cue_regexes_find_what_they_found_before() -> None:
    text = (
        "Beste Marieke,\nik heb griep. \u0130k  ben ziek, \u0131k heb, Ik\tga ben _ik x ben 1ik "
        "a heb\n"
        "  Hallo Jan\nDear all\nWereldaidsdag, world aids day, WORLD X DAY, xworld a day\n"
    ) * 2
    old_gap = re.compile(r"(?<![^\W_])ik\s+[^\W\d_]+\s+(?:ben|heb|geweest|gehad|gekregen)"
                         r"(?![^\W_])", re.IGNORECASE)
    old_days = re.compile(r"(?<![^\W_])(?:wereld[^\W\d_]*dag|world [^\W\d_]+ day)(?![^\W_])",
                          re.IGNORECASE)
    assert _spans(subject._PRONOUN_GAP.finditer(text)) == _spans(old_gap.finditer(text))
    assert _spans(subject._DAYS.finditer(text)) == _spans(old_days.finditer(text))
    for lo, hi in ((0, len(text)), (0, 30), (5, len(text)), (16, 60)):
        fast = _spans(subject._finditer(subject._SALUTATION, text, lo, hi))
        assert fast == _spans(subject._SALUTATION.finditer(text, lo, hi))
    assert len(_spans(subject._finditer(subject._SALUTATION, text, 0, len(text)))) >= 3


def test_labels_as_a_trie_match_what_longest_first_alternatives_match() -> None:
    words = [*detectors._NEGATIVE_NUMBER_LABELS, "bsn", "bsn-nummer", "b.s.n.", "bsn:",
             "burger service nummer", "sofi nummer"]
    for prefix in (False, True):
        trie = detectors._keyword_re(words, prefix=prefix)
        alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
        end = r"[^\W\d_]*" if prefix else r"(?![^\W_])"
        plain = re.compile(r"(?<![^\W_])(?:" + alternatives + r")" + end, re.IGNORECASE)
        text = _variants(words) + " ".join(w + "nummer" for w in words)
        assert _spans(trie.finditer(text)) == _spans(plain.finditer(text))
