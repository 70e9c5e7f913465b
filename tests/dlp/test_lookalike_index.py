"""The look-alike domain check finds its candidates by index keys (the history tables) and must
then report exactly what it reported when it compared with every known domain."""

from __future__ import annotations

import random

from zegel.dlp.recipients import (
    Recipient,
    domain_of,
    known_domain,
    lookalike_domain,
    lookalike_index_keys,
    lookalike_lookup_keys,
)

TLDS = ["nl", "com", "org", "co.uk", "be", "nu"]
LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789-"
SWAPS = str.maketrans({"o": "0", "l": "1", "a": "\u0430", "e": "\u0435", "c": "\u0441"})
LOOKS = ["0", "1", "rn", "vv", "\u0430", "\u043e", "\u0435", "\u00f8", "."]


def _index(known: list[str]) -> dict[int, set[str]]:
    index: dict[int, set[str]] = {}
    for domain in known:
        for key in lookalike_index_keys(domain):
            index.setdefault(key, set()).add(domain)
    return index


def _by_index(address: str, known: list[str] | dict[int, set[str]]) -> list[str]:
    """The known domains the index offers for ``address``, as the check reads them."""
    index = _index(known) if isinstance(known, list) else known
    return sorted(set().union(*(index.get(k, set()) for k in lookalike_lookup_keys(address))))


def _edit(rng: random.Random, text: str) -> str:
    at = rng.randrange(len(text))
    what = rng.randrange(5)
    if what == 0:  # substitute
        return text[:at] + rng.choice(LETTERS) + text[at + 1:]
    if what == 1:  # insert
        return text[:at] + rng.choice(LETTERS) + text[at:]
    if what == 2 and len(text) > 1:  # delete
        return text[:at] + text[at + 1:]
    if what == 3 and at + 1 < len(text):  # swap neighbours
        return text[:at] + text[at + 1] + text[at] + text[at + 2:]
    return text[:at] + rng.choice(LOOKS) + text[at + 1:]


def _domains(rng: random.Random, count: int) -> list[str]:
    names = set()
    while len(names) < count:
        stem = "".join(rng.choice(LETTERS[:26]) for _ in range(rng.randint(3, 16)))
        if rng.random() < 0.3:
            stem += "-" + "".join(rng.choice(LETTERS[:26]) for _ in range(rng.randint(3, 8)))
        names.add(f"{stem}.{rng.choice(TLDS)}")
    return sorted(names)


def _candidates(rng: random.Random, known: list[str], count: int) -> list[str]:
    found = []
    for _ in range(count):
        base = rng.choice(known)
        shape = rng.randrange(7)
        if shape == 0:
            domain = f"mail.{base}"
        elif shape == 1:
            domain = f"{base}.{rng.choice(known)}"  # the known name inside another domain
        elif shape == 2:
            domain = f"{base.partition('.')[0]}.{rng.choice(TLDS)}"
        elif shape == 3:  # every letter that has a look-alike swapped for it
            domain = base.translate(SWAPS).replace("m", "rn").replace("w", "vv")
        elif shape == 4:  # two letters more or fewer before the middle: the cut moves by two
            at = rng.randrange(len(base) // 2 + 1)
            extra = rng.choice(LETTERS) + rng.choice(LETTERS)
            domain = base[:at] + extra + base[at:] if rng.random() < 0.5 else (
                base[:at] + base[at + 2:])
        else:
            domain = base
            for _ in range(rng.randint(1, 3)):
                domain = _edit(rng, domain)
        found.append(f"x@{domain.strip('.') or 'a.nl'}")
    return found


def test_the_index_finds_what_the_full_comparison_finds() -> None:
    rng = random.Random(20261201)  # noqa: S311 - test data, not secrets
    written = _domains(rng, 120)
    # The known domains as the tables hold them (mixed case and subdomains as written).
    emails = [f"p@{d.upper() if i % 7 == 0 else d}" for i, d in enumerate(written)]
    emails += [f"q@post.{d}" for d in written[:20]]
    stored = sorted({known_domain(e) for e in emails})
    old_known = [domain_of(e) for e in emails]
    index = _index(stored)
    addresses = _candidates(rng, written, 800)
    reported = 0
    for address in addresses:
        recipient = [Recipient(address)]
        before = lookalike_domain(recipient, old_known)
        assert lookalike_domain(recipient, _by_index(address, index)) == before, address
        reported += bool(before)
    # The cases really exercise the check: many findings, and many addresses without one.
    assert 150 < reported < len(addresses) - 150


def test_the_index_keeps_the_documented_cases() -> None:
    known = [known_domain(d) for d in ["zorggroep-noord.nl", "ggd-utrecht.nl"]]
    for address in [
        "a@zorggroep-nord.nl", "a@zorggroep-noord.com", "a@zorggr0ep-noord.nl",
        "a@xn--zrggroep-noord-gmb.nl", "a@zorggroep-noord.nl.example.co", "a@ggd-utrehct.nl",
        "a@zorgroep-noord.nu", "a@zorggroep-noord.nl", "a@mail.zorggroep-noord.nl",
        "a@rivierduinen.nl",
    ]:
        recipient = [Recipient(address)]
        assert lookalike_domain(recipient, _by_index(address, known)) == lookalike_domain(
            recipient, known), address


def test_a_domain_far_from_every_known_one_reads_no_candidate() -> None:
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    known = [known_domain(d) for d in _domains(rng, 2_000)]
    assert _by_index("a@volkomen-anders.example", known) == []
