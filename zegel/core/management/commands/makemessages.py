"""Django's makemessages, also extracting the gettext aliases Zegel's code uses.

xgettext only knows the names Django passes it (gettext, gettext_lazy, ngettext, ...). Zegel
also writes `gettext_lazy as _lazy` (a lazy text next to `gettext as _` in one module); without
this keyword those texts never reach the catalogue. tests/core/test_translations.py runs this
command on a copy of the code and fails on any text without a Dutch translation.
"""

from __future__ import annotations

from django.core.management.commands import makemessages

# Every alias of a gettext function in zegel/, beyond the names Django already passes.
EXTRA_KEYWORDS = ["--keyword=_lazy"]


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, *EXTRA_KEYWORDS]
