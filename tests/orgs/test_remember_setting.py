"""The organisation's "remember a recipient's browser" setting on /settings/organisation."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.orgs.test_org_settings import URL, _client, _form
from zegel.audit.models import AuditEvent
from zegel.orgs.actions import Refused, update_organisation
from zegel.orgs.models import Organisation, User


@pytest.fixture
def admin(org: Organisation) -> User:
    return User.objects.create_user("beheer@zorggroep-noord.nl", org, PASSWORD, role="admin")


def test_it_is_off_by_default_and_an_admin_sets_it(org: Organisation, admin: User) -> None:
    assert org.remember_browser_days == 0
    client = _client(admin)
    assert 'name="remember_browser_days"' in client.get(URL).content.decode()
    assert client.post(URL, _form(org, remember_browser_days="30")).status_code == 302
    org.refresh_from_db()
    assert org.remember_browser_days == 30
    event = AuditEvent.objects.filter(action="org.updated").latest("id")
    assert event.data["fields"] == ["remember_browser_days"]


@pytest.mark.parametrize("value", ["91", "-1", "abc", "", "1e3"])
def test_it_refuses_a_value_outside_0_to_90(value: str, org: Organisation, admin: User) -> None:
    response = _client(admin).post(URL, _form(org, remember_browser_days=value))
    assert response.status_code == 400
    assert "0 (off) or 1 to 90" in response.content.decode()
    org.refresh_from_db()
    assert org.remember_browser_days == 0


def test_the_action_refuses_what_the_form_cannot_send(org: Organisation) -> None:
    for bad in (91, True, "30"):
        with pytest.raises(Refused):
            update_organisation(org.domain, remember_browser_days=bad)
    assert update_organisation(org.domain, remember_browser_days=90).remember_browser_days == 90
