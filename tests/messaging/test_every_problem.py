"""A message with several problems is refused with all of them at once, each naming the
recipient it is about; as an ActionError it is the first, for callers that show one."""

from __future__ import annotations

import pytest
from django.utils import translation

from zegel.messaging import actions
from zegel.orgs.models import User


def test_the_action_names_every_problem(sender: User) -> None:
    with pytest.raises(actions.ActionErrors) as refused, translation.override("en"):
        actions.send_message(sender=sender, subject="", body="x", recipients=[
            actions.RecipientSpec(email="a@example.nl", method="sms", phone="020 123 4567"),
            actions.RecipientSpec(email="a@example.nl", method="email")])
    fields = [e.field for e in refused.value.errors]
    assert fields == ["0.phone", "1.email", "subject"]
    # As an ActionError it is the first problem: single-error callers keep working.
    assert refused.value.field == "0.phone" and "a@example.nl" in refused.value.message
    assert "not a mobile number" in refused.value.errors[0].message
