"""Wrong-recipient checks over plain data: who is this going to, and does it look right?

Every function takes addresses and lists the caller already has (previous correspondents,
the contact directory, the organisation's domains) and returns ``RecipientFinding`` items;
nothing here touches the database or the network.

The history the checks compare with is kept in indexed tables (``zegel.dlp.history``); the
key functions at the end say which keys a known domain or name is stored under and which keys
a recipient is looked up by, so a check reads only the few entries that can matter to it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from publicsuffixlist import PublicSuffixList

FIRST_CONTACT = "first_contact"
FIRST_SENSITIVE_CONTACT = "first_sensitive_contact"
LOOKALIKE_DOMAIN = "lookalike_domain"
LOOKALIKE_NAME = "lookalike_name"
SEVERAL_ORGANISATIONS = "several_organisations"
MANY_RECIPIENTS = "many_recipients"
FREE_MAIL = "free_mail"

# Consumer mailbox providers: fine for a patient's own address, a risk for professional data.
FREE_MAIL_DOMAINS = frozenset(
    [
        "gmail.com", "googlemail.com", "hotmail.com", "hotmail.nl", "outlook.com", "outlook.nl",
        "live.com", "live.nl", "msn.com", "ziggo.nl", "kpnmail.nl", "kpnplanet.nl", "planet.nl",
        "home.nl", "hetnet.nl", "casema.nl", "chello.nl", "upcmail.nl", "xs4all.nl",
        "telfort.nl", "tele2.nl", "zonnet.nl", "quicknet.nl", "online.nl", "yahoo.com",
        "yahoo.nl", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.com",
        "gmx.net", "gmx.de", "web.de", "protonmail.com", "proton.me", "pm.me",
        "tutanota.com", "mail.com", "zoho.com", "yandex.com", "skynet.be", "telenet.be",
    ]
)  # fmt: skip

# Characters that render (nearly) like another: Cyrillic and Greek look-alikes and the
# digit/letter swaps people fall for in a domain name.
# Written as escapes so the source itself shows which script each character is from.
_CONFUSABLES = str.maketrans(
    {
        "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
        "\u0443": "y", "\u0445": "x", "\u0456": "i", "\u0458": "j", "\u0455": "s",
        "\u04bb": "h", "\u0501": "d", "\u0261": "g", "\u0578": "n", "\u03bd": "v",
        "\u03bf": "o", "\u03b1": "a", "\u03c1": "p", "\u03c4": "t", "\u03ba": "k",
        "\u03b9": "i", "0": "o", "1": "l", "|": "l", "\u0131": "i", "\u0142": "l",
        "\u00f8": "o",
    }
)  # fmt: skip
_MULTI_CONFUSABLES = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("nn", "m"))


@dataclass(frozen=True)
class Recipient:
    address: str
    display_name: str = ""
    field: str = "to"  # "to", "cc" or "bcc"


@dataclass(frozen=True)
class RecipientFinding:
    kind: str
    address: str
    confidence: float
    detail: str


@dataclass(frozen=True)
class DirectoryEntry:
    """A known contact: the display name the sender sees and the address behind it."""

    display_name: str
    address: str


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def domain_of(address: str) -> str:
    """Lower-case domain of an address, IDNA-decoded to Unicode ("xn--" becomes readable)."""
    domain = address.rsplit("@", 1)[-1].strip().strip(".").lower()
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)


def registrable_domain(domain: str) -> str:
    """The registered domain: ``mail.zorggroep-noord.nl`` -> ``zorggroep-noord.nl``."""
    return _psl().privatesuffix(domain) or domain


def skeleton(domain: str) -> str:
    """A form in which look-alike domains become equal (after UTS #39 skeletons, simplified)."""
    text = unicodedata.normalize("NFKD", domain.lower())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_CONFUSABLES)
    for many, one in _MULTI_CONFUSABLES:
        text = text.replace(many, one)
    return text


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, capped at ``limit``."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) >= limit:
            return limit
        previous2, previous = previous, current
    return min(previous[-1], limit)


def first_contact(
    recipients: Sequence[Recipient],
    previous_addresses: Iterable[str],
    *,
    previous_sensitive_addresses: Iterable[str] = (),
    sensitive: bool = False,
) -> list[RecipientFinding]:
    """Addresses never written to before; with sensitive content, also those never sent
    sensitive content before."""
    known = {a.lower() for a in previous_addresses}
    known_sensitive = {a.lower() for a in previous_sensitive_addresses}
    findings: list[RecipientFinding] = []
    for r in recipients:
        address = r.address.lower()
        if address not in known:
            findings.append(
                RecipientFinding(FIRST_CONTACT, r.address, 0.9, "first message to this address")
            )
        elif sensitive and address not in known_sensitive:
            findings.append(
                RecipientFinding(
                    FIRST_SENSITIVE_CONTACT,
                    r.address,
                    0.7,
                    "first message with sensitive content to this address",
                )
            )
    return findings


# The look-alike rules' lengths: the same name under another extension counts from this many
# letters on; and the letters a domain may differ by (edit distance) by its length.
_SAME_NAME_MIN = 4
_ONE_EDIT_MIN = 6
_TWO_EDITS_MIN = 10
MAX_EDITS = 2


def _allowed_edits(length: int) -> int:
    return 2 if length >= _TWO_EDITS_MIN else 1 if length >= _ONE_EDIT_MIN else 0


def _lookalike_reason(candidate: str, known: str) -> str | None:
    if candidate == known:
        return None
    if skeleton(candidate) == skeleton(known):
        return "uses characters that look like those of"
    cand_name, _, cand_tld = candidate.partition(".")
    known_name, _, known_tld = known.partition(".")
    if cand_name == known_name and cand_tld != known_tld and len(cand_name) >= _SAME_NAME_MIN:
        return "has the same name but another extension than"
    allowed = _allowed_edits(min(len(candidate), len(known)))
    if allowed and edit_distance(candidate, known, allowed + 1) <= allowed:
        return "differs by a few letters from"
    return None


def lookalike_domain(
    recipients: Sequence[Recipient], known_domains: Iterable[str]
) -> list[RecipientFinding]:
    """Recipient domains that look like, but are not, a domain written to before."""
    known = {registrable_domain(domain_of(d)) for d in known_domains}
    findings: list[RecipientFinding] = []
    for r in recipients:
        full = domain_of(r.address)
        domain = registrable_domain(full)
        if domain in known:
            continue
        for other in sorted(known):
            reason = _lookalike_reason(domain, other)
            if reason is None and f".{other}." in f".{full}":
                # zorggroep-noord.nl.example.co: the known name as a subdomain elsewhere.
                reason = "contains, but is not,"
            if reason:
                findings.append(
                    RecipientFinding(
                        LOOKALIKE_DOMAIN, r.address, 0.85, f"domain {domain} {reason} {other}"
                    )
                )
                break
    return findings


def name_key(name: str) -> str:
    """The form in which display names are compared: case, accents and punctuation dropped."""
    text = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in text if c.isalnum() or c.isspace()).split())


@dataclass(frozen=True)
class KnownName:
    """One display name as the directory knows it: with how many addresses (lower case) in all,
    and those of them that matter here (at least every recipient's address it is known with)."""

    count: int
    addresses: frozenset[str]


def known_names(directory: Iterable[DirectoryEntry]) -> dict[str, KnownName]:
    by_name: dict[str, set[str]] = {}
    for entry in directory:
        by_name.setdefault(name_key(entry.display_name), set()).add(entry.address.lower())
    return {key: KnownName(len(a), frozenset(a)) for key, a in by_name.items() if key}


def lookalike_name(
    recipients: Sequence[Recipient],
    directory: Iterable[DirectoryEntry] = (),
    *,
    names: Mapping[str, KnownName] | None = None,
) -> list[RecipientFinding]:
    """Recipients whose display name belongs to a directory contact with another address.

    ``names`` (by ``name_key``) is the directory already summed up; it replaces ``directory``.
    """
    by_name = known_names(directory) if names is None else names
    findings: list[RecipientFinding] = []
    for r in recipients:
        key = name_key(r.display_name)
        known = by_name.get(key) if key else None
        if known and known.count and r.address.lower() not in known.addresses:
            findings.append(
                RecipientFinding(
                    LOOKALIKE_NAME,
                    r.address,
                    0.8,
                    f"a contact with this name has {known.count} other known address(es)",
                )
            )
    return findings


def several_organisations(
    recipients: Sequence[Recipient], own_domains: Iterable[str]
) -> list[RecipientFinding]:
    """One finding if the message goes to more than one external organisation."""
    own = {registrable_domain(domain_of(d)) for d in own_domains}
    external = sorted(
        {registrable_domain(domain_of(r.address)) for r in recipients} - own - FREE_MAIL_DOMAINS
    )
    if len(external) < 2:
        return []
    return [
        RecipientFinding(
            SEVERAL_ORGANISATIONS,
            "",
            0.9,
            f"recipients at {len(external)} external organisations: {', '.join(external)}",
        )
    ]


def many_recipients(
    recipients: Sequence[Recipient], *, threshold: int = 10
) -> list[RecipientFinding]:
    """One finding if more than ``threshold`` recipients can see each other (To and CC)."""
    visible = [r for r in recipients if r.field != "bcc"]
    if len(visible) <= threshold:
        return []
    return [
        RecipientFinding(
            MANY_RECIPIENTS, "", 0.9, f"{len(visible)} recipients in To/CC see each other"
        )
    ]


def free_mail(
    recipients: Sequence[Recipient], *, domains: Iterable[str] = FREE_MAIL_DOMAINS
) -> list[RecipientFinding]:
    """Recipients at consumer free-mail providers; rules decide if that matters."""
    free = {d.lower() for d in domains}
    return [
        RecipientFinding(FREE_MAIL, r.address, 1.0, f"free-mail provider {domain_of(r.address)}")
        for r in recipients
        if registrable_domain(domain_of(r.address)) in free or domain_of(r.address) in free
    ]


def check_recipients(
    recipients: Sequence[Recipient],
    *,
    own_domains: Iterable[str] = (),
    previous_addresses: Iterable[str] = (),
    previous_sensitive_addresses: Iterable[str] = (),
    known_domains: Iterable[str] = (),
    directory: Iterable[DirectoryEntry] = (),
    names: Mapping[str, KnownName] | None = None,
    sensitive: bool = False,
    many_threshold: int = 10,
    free_mail_domains: Iterable[str] = FREE_MAIL_DOMAINS,
) -> list[RecipientFinding]:
    """All recipient checks at once, for the compose page and the API.

    ``known_domains`` may be just the candidates ``lookalike_lookup_keys`` found: a known domain
    not among them cannot give a look-alike finding for these recipients."""
    own = list(own_domains)
    return [
        *first_contact(
            recipients,
            previous_addresses,
            previous_sensitive_addresses=previous_sensitive_addresses,
            sensitive=sensitive,
        ),
        *lookalike_domain(recipients, [*known_domains, *own]),
        *lookalike_name(recipients, directory, names=names),
        *several_organisations(recipients, own),
        *many_recipients(recipients, threshold=many_threshold),
        *free_mail(recipients, domains=free_mail_domains),
    ]


# --- Index keys for the history tables -----------------------------------------------------
#
# A known domain is stored under a few 64-bit keys; a recipient is looked up by the keys that
# any known domain giving ``lookalike_domain`` a finding for it must have (or its own domain,
# to skip it). The keys only choose candidates: ``lookalike_domain`` then runs on them as on the
# whole history, so the findings are the same.
#
# The edit-distance rule (at most ``MAX_EDITS`` = 2 letters) is found by halves. Cut a known
# domain of length L at ``_cut(L)``. A domain at most two edits away (insertions, deletions,
# substitutions, swaps of neighbours) has a length within two of L, and can be cut so that
# its two pieces are together at most three edits from the halves (a swap across the cut
# counts in both): one piece is at most one edit from its half. The cut moves by the
# insertions minus the deletions before it, and the length by those before and after, so only
# a few cuts need trying. Two strings at most one edit apart share a form with at most one
# letter deleted (symmetric delete, as SymSpell): each half is stored under those forms, with
# L, and a recipient's pieces are looked up by theirs.


def _key(tag: str, value: str) -> int:
    digest = hashlib.blake2b(f"{tag}\x1f{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _one_deleted(text: str) -> set[str]:
    return {text, *(text[:i] + text[i + 1:] for i in range(len(text)))}


def _cut(length: int) -> int:
    # A little before the middle: the tail keeps the extension (".nl"), which tells little
    # apart, so both halves get about as many of the letters that do.
    return max(1, (length - 3) // 2)


def _half_keys(length: int, head: str, tail: str) -> set[int]:
    return {
        *(_key(f"head {length}", v) for v in _one_deleted(head)),
        *(_key(f"tail {length}", v) for v in _one_deleted(tail)),
    }


def known_domain(address_or_domain: str) -> str:
    """The form in which ``lookalike_domain`` compares a known domain (its registered domain)."""
    return registrable_domain(domain_of(domain_of(address_or_domain)))


def domain_index_key(domain: str) -> int:
    """The key under which a known domain is stored as itself (one of its index keys)."""
    return _key("domain", domain)


def lookalike_index_keys(domain: str) -> set[int]:
    """The keys a known domain (``known_domain``'s form) is stored under."""
    keys = {domain_index_key(domain), _key("skeleton", skeleton(domain))}
    name = domain.partition(".")[0]
    if len(name) >= _SAME_NAME_MIN:
        keys.add(_key("name", name))
    if len(domain) >= _ONE_EDIT_MIN:
        cut = _cut(len(domain))
        keys |= _half_keys(len(domain), domain[:cut], domain[cut:])
    return keys


def lookalike_lookup_keys(address: str) -> set[int]:
    """The keys to look a recipient up by: every known domain ``lookalike_domain`` could
    report for it, or skip it for, has at least one of them."""
    full = domain_of(address)
    domain = registrable_domain(full)
    labels = full.split(".")
    # The domain itself, and each run of labels (the known name inside another domain).
    keys = {
        _key("domain", ".".join(labels[i:j]))
        for i in range(len(labels))
        for j in range(i + 1, len(labels) + 1)
    }
    keys.add(_key("domain", domain))
    keys.add(_key("skeleton", skeleton(domain)))
    name = domain.partition(".")[0]
    if len(name) >= _SAME_NAME_MIN:
        keys.add(_key("name", name))
    if len(domain) < _ONE_EDIT_MIN:
        return keys
    for length in range(len(domain) - MAX_EDITS, len(domain) + MAX_EDITS + 1):
        if length < _ONE_EDIT_MIN:
            continue
        grown = len(domain) - length
        for moved in range(-MAX_EDITS, MAX_EDITS + 1):
            # ``moved`` net insertions before the cut, ``grown - moved`` after it.
            at = _cut(length) + moved
            if abs(moved) + abs(grown - moved) <= MAX_EDITS and 0 <= at <= len(domain):
                keys |= _half_keys(length, domain[:at], domain[at:])
    return keys


def name_index_key(name: str) -> int | None:
    """The key a display name is stored and looked up under; None for a name without one."""
    key = name_key(name)
    return _key("display name", key) if key else None
