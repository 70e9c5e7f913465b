"""Access codes Zegel makes up itself, for the access-code letters (zegel.directory.letters).

A generated code is printed on paper and typed or read aloud over the phone, so it uses only
characters that cannot be mistaken for one another in print or in speech: no 0/O/Q, no 1/I/L,
and no 2/Z, 5/S, 8/B. That leaves 24 characters. Three groups of four (`K7P4-9XM3-HT6C`) give
12 * log2(24) ≈ 55.0 bits of entropy, well above the 40 bits the communication kit asks for;
two groups (8 characters) would give only 36.7. The code is drawn with the `secrets` module.

The portal checks a code in its normalised form (zegel.directory.validation.normalise_code: no
spaces or dashes, capitals), so "k7p4 9xm3 ht6c" opens what "K7P4-9XM3-HT6C" does.
"""

from __future__ import annotations

import math
import secrets

ALPHABET = "34679ACDEFGHJKMNPRTUVWXY"
GROUPS = 3
GROUP_LENGTH = 4


def entropy_bits() -> float:
    """The entropy of one generated code, in bits."""
    return GROUPS * GROUP_LENGTH * math.log2(len(ALPHABET))


def generate_code() -> str:
    """A new access code such as `K7P4-9XM3-HT6C`."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH))
                    for _ in range(GROUPS))
