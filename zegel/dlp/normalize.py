"""Undo the tricks that hide a number from a pattern, keeping a map back to the original text.

Zero-width characters and soft hyphens are removed; exotic spaces, dashes, and full-width or
other non-ASCII decimal digits and letters are replaced one-for-one by their ASCII form. Only
removals shift offsets, so the map is a sorted list of removal points.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field

from zegel.dlp.budget import Budget, check

# Removed: zero-width space/non-joiner/joiner, LRM/RLM, word joiner and invisible operators,
# byte-order mark, soft hyphen, Mongolian vowel separator.
_REMOVED = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"
# Replaced by a plain space: NBSP, figure/punctuation/thin/hair and other fixed-width spaces,
# narrow NBSP, medium mathematical space, ideographic space.
_SPACES = (
    "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
# Replaced by "-": hyphen, non-breaking hyphen, figure dash, en/em dash, minus sign.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"

# Every such character is outside ASCII, so the search is for a non-ASCII character (which the
# regex engine skips to in C), then looks back at it: one of the above, the full-width ASCII
# block, or a decimal digit (not 0-9 then). The same matches as "[...]|(?![0-9])\\d", which
# tries both alternatives at every character, in a fraction of the time.
_SUSPECT = re.compile(
    "[^\x00-\x7f](?<=[" + _REMOVED + _SPACES + _DASHES + "\uff01-\uff5e]|\\d)")
_REPLACEMENTS: dict[str, str] = {c: "" for c in _REMOVED}
_REPLACEMENTS.update({c: " " for c in _SPACES})
_REPLACEMENTS.update({c: "-" for c in _DASHES})


@dataclass(frozen=True)
class NormalizedText:
    """Normalised text plus the positions (in normalised text) where characters were removed."""

    text: str
    # removal_points[j] is the normalised index at which the (j+1)-th removed character sat.
    removal_points: list[int] = field(default_factory=list)

    def original_start(self, index: int) -> int:
        """Original offset of the character at normalised ``index``."""
        return index + bisect_right(self.removal_points, index)

    def original_end(self, index: int) -> int:
        """Original (exclusive) end offset for a normalised (exclusive) end ``index``."""
        if index <= 0:
            return 0
        return self.original_start(index - 1) + 1

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.original_start(start), self.original_end(end)


def _replacement(char: str) -> str:
    known = _REPLACEMENTS.get(char)
    if known is not None:
        return known
    if "\uff01" <= char <= "\uff5e":
        # Full-width ASCII block: the NFKC form is the ASCII character.
        return chr(ord(char) - 0xFEE0)
    return str(unicodedata.decimal(char))


def normalize(text: str, budget: Budget | None = None) -> NormalizedText:
    """Return ``text`` with hiding characters neutralised and a map back to the original."""
    if _SUSPECT.search(text) is None:
        return NormalizedText(text)
    pieces: list[str] = []
    removal_points: list[int] = []
    last = 0
    out_len = 0
    for match in _SUSPECT.finditer(text):
        check(budget)
        start = match.start()
        pieces.append(text[last:start])
        out_len += start - last
        replacement = _replacement(match.group())
        if replacement:
            pieces.append(replacement)
            out_len += 1
        else:
            removal_points.append(out_len)
        last = start + 1
    pieces.append(text[last:])
    return NormalizedText("".join(pieces), removal_points)
