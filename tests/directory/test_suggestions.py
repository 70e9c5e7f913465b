"""The compose page's type-ahead: directory contacts and recipients used before, named but
never with a full number or a code; for senders only, within their organisation, throttled."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import PASSWORD, send
from tests.directory.helpers import contact, shared_code
from zegel.messaging.drafts import RecipientSpec
from zegel.orgs.models import Organisation, User

URL = "/compose/recipients"


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    cache.clear()  # the throttle's counts


def _results(client: Client, q: str) -> list[dict[str, Any]]:
    response = client.get(URL, {"q": q})
    assert response.status_code == 200, response.content
    assert response["Cache-Control"].startswith("max-age=0")
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_a_contact_is_suggested_with_its_number_masked_and_no_code(
        org: Organisation, sender_client: Client) -> None:
    contact(org, "piet@example.nl", name="Piet Jansen", phone="+31612345678",
            code="geheim-123", access_code_hint="uw postcode")
    response = sender_client.get(URL, {"q": "jans"})
    [piet] = response.json()["results"]
    assert piet == {"email": "piet@example.nl", "name": "Piet Jansen",
                    "label": "Piet Jansen <piet@example.nl>", "in_directory": True,
                    "used_before": False, "method": "sms",
                    "methods": ["sms", "access_code", "email"], "last_method": "",
                    "phone": "+31 6 ** ** ** 78", "has_access_code": True}
    body = response.content.decode()
    for secret in ("612345678", "argon2", "geheim", "uw postcode"):
        assert secret not in body


def test_a_shared_code_counts_as_a_code_on_file(org: Organisation,
                                                sender_client: Client) -> None:
    linde = shared_code(org, "Praktijk De Linde", "gedeeld-789")
    contact(org, "assistent@linde.example", shared_code=linde)
    [entry] = _results(sender_client, "assist")
    assert (entry["method"], entry["has_access_code"], entry["phone"]) == \
        ("access_code", True, "")


def test_another_organisations_contacts_and_recipients_never_show(
        org: Organisation, sender: User, sender_client: Client, outsider: User) -> None:
    contact(outsider.organisation, "piet@example.nl", name="Piet Zuid",
            phone="+31612345678")
    send(outsider, recipients=[RecipientSpec(email="pieter@example.nl", method="email")])
    assert _results(sender_client, "piet") == []
    theirs = Client()
    theirs.force_login(outsider)
    assert [e["email"] for e in _results(theirs, "piet")] == ["piet@example.nl",
                                                               "pieter@example.nl"]


def test_recipients_used_before_come_with_the_method_last_used(
        org: Organisation, sender: User, sender_client: Client) -> None:
    contact(org, "piet@example.nl", name="Piet", phone="+31612345678", code="geheim-123")
    send(sender, recipients=[RecipientSpec(email="piet@example.nl", method="access_code",
                                           access_code="geheim-123")])
    send(sender, recipients=[RecipientSpec(email="klaas@example.nl", name="Klaas Piet",
                                           method="sms", phone="0687654321")])
    piet, klaas = _results(sender_client, "piet")
    # In the directory and used before: last time's method, which the contact still has.
    assert (piet["in_directory"], piet["used_before"], piet["method"]) == \
        (True, True, "access_code")
    # Not in the directory: the method of last time, and nothing of the number.
    assert (klaas["email"], klaas["in_directory"], klaas["method"], klaas["phone"]) == \
        ("klaas@example.nl", False, "sms", "")
    assert "87654321" not in json.dumps([piet, klaas])


def test_an_address_used_before_is_shown_as_its_contact(org: Organisation, sender: User,
                                                         sender_client: Client) -> None:
    """Found by the name used back then, but the directory knows the address by another."""
    contact(org, "piet@example.nl", name="P. Jansen", phone="+31612345678")
    send(sender, recipients=[RecipientSpec(email="piet@example.nl", name="Pietje",
                                           method="email")])
    [entry] = _results(sender_client, "pietje")
    assert (entry["in_directory"], entry["name"], entry["method"], entry["last_method"]) == \
        (True, "P. Jansen", "email", "email")


def test_the_email_code_is_not_offered_where_policy_forbids_it(
        org: Organisation, sender: User, sender_client: Client) -> None:
    send(sender, recipients=[RecipientSpec(email="mail@example.nl", method="email")])
    org.email_code_allowed = False
    org.save()
    contact(org, "mailtje@example.nl", phone="+31612345678", preferred_method="email")
    mailtje, mail = _results(sender_client, "mail")
    assert (mailtje["method"], mailtje["methods"]) == ("sms", ["sms"])
    assert mail["method"] == "" and "email" not in mail["methods"]


def test_the_cost_does_not_grow_with_the_matches(org: Organisation, sender: User,
                                                 sender_client: Client) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            _results(sender_client, "klant")
        return len(captured)

    contact(org, "klant0@example.nl")
    send(sender, recipients=[RecipientSpec(email="klant-oud0@example.nl", method="email")])
    few = queries()
    for n in range(1, 8):
        contact(org, f"klant{n}@example.nl", phone=f"+3161234567{n}")
        send(sender, recipients=[RecipientSpec(email=f"klant-oud{n}@example.nl",
                                               method="email")])
    assert queries() == few
    assert len(_results(sender_client, "klant")) == 10


@pytest.mark.parametrize(("q", "message"), [
    ("", "Type part of a name"), ("   ", "Type part of a name"),
    ("x" * 101, "at most 100 characters"), ("piet\x00", "at most 100 characters"),
])
def test_bad_queries_are_refused_clearly(sender_client: Client, q: str, message: str) -> None:
    response = sender_client.get(URL, {"q": q}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_missing_query_is_refused(sender_client: Client) -> None:
    assert sender_client.get(URL).status_code == 400


def test_only_get_and_only_senders(org: Organisation, sender_client: Client) -> None:
    assert sender_client.post(URL, {"q": "piet"}).status_code == 405
    assert Client().get(URL, {"q": "piet"}).status_code == 302  # to the log-in page
    auditor = User.objects.create_user("audit@zorggroep-noord.nl", org, PASSWORD,
                                       role="auditor")
    client = Client()
    client.force_login(auditor)
    assert client.get(URL, {"q": "piet"}).status_code == 403


def test_searching_fast_is_throttled(sender_client: Client, teammate: User,
                                     settings: Any) -> None:
    settings.RECIPIENT_LOOKUP_RATE_LIMIT = 3
    for _ in range(3):
        assert sender_client.get(URL, {"q": "piet"}).status_code == 200
    refused = sender_client.get(URL, {"q": "piet"}, HTTP_ACCEPT_LANGUAGE="nl")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Te veel zoekopdrachten" in refused.json()["error"]
    # Counted per person: a colleague is not slowed down.
    other = Client()
    other.force_login(teammate)
    assert other.get(URL, {"q": "piet"}).status_code == 200


def test_the_compose_page_offers_suggestions_and_says_what_the_directory_adds(
        org: Organisation, sender_client: Client) -> None:
    page = sender_client.get("/compose", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert f'data-suggest-url="{URL}"' in page and "recipient-combobox.js" in page
    assert "data-directory-hint" not in page  # nothing to say about an empty directory
    contact(org, "piet@example.nl", phone="+31612345678")
    page = sender_client.get("/compose", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "data-directory-hint" in page and "in het adresboek van uw organisatie" in page
