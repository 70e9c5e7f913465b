"""The keyed index of subject words, for the sender's search (docs/crypto.md, "Subject search").

Subjects are sealed, so the lists cannot search them in the database. Each distinct word of a
subject is stored as HMAC-SHA256(key, organisation id, word) cut to 128 bits, under a key derived
from the key file, never from the database: a database reader sees which conversations share a
word, but cannot test a guessed word. The rows go when the content goes (revoke, expiry).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

from zegel.crypto.keyring import get_keyring
from zegel.messaging.models import Conversation, SubjectWord

KEY_PURPOSE = "subject-search"
# A subject is at most 300 characters; this bounds the rows one conversation can add.
MAX_WORDS = 64
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The distinct words of `text` in their searchable form: accents dropped, case folded
    ("Patiënt" and "patient" are one word), split at anything that is not a letter or digit."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return list(dict.fromkeys(_WORD.findall(plain)))


def _key() -> bytes:
    return get_keyring().derive(KEY_PURPOSE)


def tokens(organisation_id: int, text: str) -> list[str]:
    """The tokens of the words of `text` for one organisation: another organisation's tokens
    for the same word differ, so nothing can be matched across organisations."""
    key = _key()
    return [hmac.new(key, f"{organisation_id}\x00{word}".encode(), hashlib.sha256).hexdigest()[:32]
            for word in words(text)[:MAX_WORDS]]


def index_subject(conversation: Conversation, subject: str) -> None:
    """Inside the transaction that creates the conversation. The rows are written sorted by
    token, not in the subject's order, so their ids do not tell the order of the words."""
    found = sorted(set(tokens(conversation.organisation_id, subject)))
    SubjectWord.objects.bulk_create([SubjectWord(conversation=conversation, token=t)
                                     for t in found])


def forget_subject(conversation_ids: Iterable[object]) -> None:
    """With the content's keys: a revoked or expired conversation can no longer be found by
    the words of its subject."""
    SubjectWord.objects.filter(conversation_id__in=list(conversation_ids)).delete()
