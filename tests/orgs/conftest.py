"""The tests read the actions' refusals in English (a request through the test client switches
to the site's language again); one test checks the Dutch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield
