"""Staff password rules per NIST SP 800-63B §5.1.1.2 (settings.AUTH_PASSWORD_VALIDATORS).

- Length: at least 15 characters where the organisation lets staff log in with a password
  alone, at least 12 where it requires a second factor (Organisation.two_factor_required);
  at most MAX_LENGTH, far above the 64 that NIST asks to allow.
- Not a common or breached password: the list is Django's (20,000 passwords, from Royce
  Williams' list, BSD licence) together with zxcvbn's (30,000, from Mark Burnett's and
  Xato's password corpora, MIT licence, the pinned `zxcvbn` package), about 40,000 in all,
  read from the installed packages: no network. A password also counts as common when what
  is left after taking digits and punctuation off its ends is on the list ("dragon123456789").
- Not built on context words: the user's e-mail address and name, the organisation's name and
  domain, and "zegel".
- Not one character or a few repeated ("aaaaaaaaaaaaaaa", "abcabcabcabcabc").
- No composition rules (no "a digit and a capital"), as NIST asks.
Passwords are stored with Argon2id (settings.PASSWORD_HASHERS).
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path
from typing import Any

import django
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MIN_LENGTH_WITH_SECOND_FACTOR = 12
MIN_LENGTH_PASSWORD_ONLY = 15
MAX_LENGTH = 1000
# Context words shorter than this are too common inside other words to refuse on.
MIN_CONTEXT_WORD = 4
MIN_DISTINCT_CHARACTERS = 5
_WORD_SPLIT = re.compile(r"[^\w]+|_")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def min_length(user: Any) -> int:
    organisation = getattr(user, "organisation", None) if user is not None else None
    if organisation is not None and organisation.two_factor_required:
        return MIN_LENGTH_WITH_SECOND_FACTOR
    return MIN_LENGTH_PASSWORD_ONLY


class LengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        least = min_length(user)
        if len(password) < least:
            raise ValidationError(
                ngettext("Use at least %(min)d character.", "Use at least %(min)d characters.",
                         least) % {"min": least}, code="password_too_short")
        if len(password) > MAX_LENGTH:
            raise ValidationError(_("Use at most %(max)d characters.") % {"max": MAX_LENGTH},
                                  code="password_too_long")

    def get_help_text(self) -> str:
        return _("At least %(min)d characters (%(least)d when your organisation requires a "
                 "second factor).") % {"min": MIN_LENGTH_PASSWORD_ONLY,
                                        "least": MIN_LENGTH_WITH_SECOND_FACTOR}


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords, lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    django_list = Path(django.__file__).parent / "contrib" / "auth" / "common-passwords.txt.gz"
    with gzip.open(django_list, "rt", encoding="utf-8") as handle:
        words = {line.strip() for line in handle if line.strip()}
    words.update(FREQUENCY_LISTS["passwords"])
    return frozenset(w.casefold() for w in words)


def _is_common(password: str) -> bool:
    known = common_passwords()
    folded = password.casefold()
    if folded in known or "".join(folded.split()) in known:
        return True
    core = _EDGES.sub("", folded)
    return len(core) >= MIN_CONTEXT_WORD and core in known


class CommonPasswordValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if _is_common(password):
            raise ValidationError(_("This password is too common: it is on a list of "
                                    "passwords that attackers try first."),
                                  code="password_too_common")

    def get_help_text(self) -> str:
        return _("Not a common password.")


def context_words(user: Any) -> set[str]:
    """The words a password must not contain for this user."""
    texts = ["zegel"]
    if user is not None:
        email = str(getattr(user, "email", "") or "")
        texts += [email, email.partition("@")[0], email.partition("@")[2],
                  str(getattr(user, "name", "") or "")]
        organisation = getattr(user, "organisation", None)
        if organisation is not None:
            texts += [organisation.name, organisation.domain]
    words: set[str] = set()
    for text in texts:
        folded = text.casefold().strip()
        if len(folded) >= MIN_CONTEXT_WORD:
            words.add(folded)
        words.update(w for w in _WORD_SPLIT.split(folded) if len(w) >= MIN_CONTEXT_WORD)
    # Top-level domains and common address words say nothing about this user.
    return words - {"mail", "info", "test", "example"}


class ContextWordsValidator:
    def validate(self, password: str, user: Any = None) -> None:
        folded = password.casefold()
        squeezed = "".join(ch for ch in folded if ch.isalnum())
        for word in sorted(context_words(user)):
            bare = "".join(ch for ch in word if ch.isalnum())
            if word in folded or (bare and bare in squeezed):
                raise ValidationError(_("Do not build the password on your name, your e-mail "
                                        "address, the organisation's name or its domain."),
                                      code="password_context")

    def get_help_text(self) -> str:
        return _("Not your name, e-mail address or the organisation's name.")


class RepetitionValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if len(set(password.casefold())) < MIN_DISTINCT_CHARACTERS:
            raise ValidationError(_("This password repeats the same few characters."),
                                  code="password_repetitive")

    def get_help_text(self) -> str:
        return _("Not the same few characters repeated.")
