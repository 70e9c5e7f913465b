"""File names from uploads: keep what a person recognises, drop what tricks a person or a file
system. Names are metadata only; blobs are stored under random ids."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

_BIDI_AND_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _BIDI_AND_INVISIBLE.sub("", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot and len(ext) <= 20 else ""
        name = (stem if dot else name)[: 200 - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return name or "attachment"


def guess_content_type(name: str) -> str:
    # The browser's claim is not trusted: the type follows from the name we store, and files
    # are always served as downloads with nosniff anyway.
    guessed, _ = mimetypes.guess_type(name, strict=True)
    return guessed or "application/octet-stream"
