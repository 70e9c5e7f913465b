"""The organisation's retention period on /settings/organisation: off by default, saved and
audited, and every bad value refused next to its field (docs/lifecycle.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.orgs.test_org_settings import URL, _client, _form, admin  # noqa: F401 - fixture
from zegel.audit.models import AuditEvent
from zegel.orgs.actions import Refused, update_organisation
from zegel.orgs.models import Organisation, User


def test_retention_is_off_by_default_and_saved_from_the_page(org: Organisation,
                                                             admin: User) -> None:  # noqa: F811
    assert org.retention_days == 0
    client = _client(admin)
    page = client.get(URL).content.decode()
    assert 'id="retention_days"' in page and 'value="0"' in page
    assert client.post(URL, _form(org, retention_days="365")).status_code == 302
    org.refresh_from_db()
    assert org.retention_days == 365
    event = AuditEvent.objects.filter(action="org.updated").latest("id")
    assert event.data == {"fields": ["retention_days"]}
    # A form from before the setting existed leaves it as it is.
    assert client.post(URL, _form(org, name="Zorggroep Noord-Oost")).status_code == 302
    org.refresh_from_db()
    assert org.retention_days == 365


@pytest.mark.parametrize(("value", "said"), [
    ("-1", "0 (off) to 3650"), ("een jaar", "0 (off) to 3650"), ("99999", "0 (off) to 3650"),
    ("4000", "0 (off) to 3650"), ("10", "shorter than the end date"),
])
def test_a_bad_retention_period_is_refused(org: Organisation, admin: User,  # noqa: F811
                                           value: str, said: str) -> None:
    client: Client = _client(admin)
    response = client.post(URL, _form(org, retention_days=value))  # the default end date: 30
    assert response.status_code == 400
    html = response.content.decode()
    assert said in html and 'id="retention_days-error"' in html
    org.refresh_from_db()
    assert org.retention_days == 0


def test_the_action_refuses_what_the_page_cannot_send(org: Organisation) -> None:
    bad: list[Any] = [True, "30", 30.0, -5, 3651]
    for value in bad:
        with pytest.raises(Refused) as refused:
            update_organisation(org.domain, retention_days=value)
        assert refused.value.field == "retention_days"
    update_organisation(org.domain, max_expiry_days=60, default_expiry_days=30)
    with pytest.raises(Refused, match="shorter"):
        update_organisation(org.domain, retention_days=59)
    assert update_organisation(org.domain, retention_days=60).retention_days == 60
