"""The answer form says who receives the answer and lets the sender choose: everyone, or only
the recipients whose reply it answers (the default after a reply)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import send
from zegel.messaging import actions
from zegel.messaging.models import Message, Recipient
from zegel.notify.models import OutboxItem
from zegel.orgs.models import User

PARENTS = [actions.RecipientSpec(email="moeder@example.nl", name="Moeder", method="email"),
           actions.RecipientSpec(email="vader@example.nl", name="Vader", method="email",
                                 kind="cc")]


def _choices(page: str) -> dict[str, str]:
    """value -> label of the audience radios; the checked one under key 'checked'."""
    found = {}
    for value, checked, label in re.findall(
            r'name="audience" type="radio" value="([^"]*)"( checked)?[^>]*><label[^>]*>([^<]*)<',
            page):
        found[value] = label
        if checked:
            found["checked"] = value
    return found


@pytest.fixture
def parents(sender: User) -> tuple[Message, Recipient, Recipient]:
    message = send(sender, recipients=PARENTS)
    mother, father = message.conversation.recipients.order_by("id")
    return message, mother, father


def test_after_a_reply_the_default_is_only_that_recipient(
        sender_client: Client, parents: tuple[Message, Recipient, Recipient]) -> None:
    message, mother, father = parents
    url = f"/c/{message.conversation_id}"
    before = _choices(sender_client.get(url).content.decode())
    assert before["checked"] == "all"
    assert before["all"] == "Iedereen: Moeder, Vader"
    actions.reply_as_recipient(mother, "Een vraag")
    page = sender_client.get(url).content.decode()
    choices = _choices(page)
    assert choices["checked"] == str(mother.pk)
    assert choices[str(mother.pk)] == "Alleen Moeder &lt;moeder@example.nl&gt;"
    assert str(father.pk) in choices
    response = sender_client.post(url, {"body": "Voor moeder", "audience": str(mother.pk)})
    assert response.status_code == 302
    answer = message.conversation.messages.order_by("-created_at").first()
    assert answer is not None and list(answer.audience.all()) == [mother]
    assert set(OutboxItem.objects.filter(message=answer).values_list("recipient_id",
                                                                      flat=True)) == {mother.pk}
    # The thread shows to whom each staff message went; the CC recipient marked as such.
    page = sender_client.get(url).content.decode()
    lines = re.findall(r'data-audience>([^<]*)<', page)
    assert lines == ["Aan: Moeder &lt;moeder@example.nl&gt;, Vader &lt;vader@example.nl&gt; (CC)",
                     "Alleen u leest dit antwoord.", "Aan: Moeder &lt;moeder@example.nl&gt;"]
    assert _choices(page)["checked"] == "all"  # the latest message is the sender's again


def test_everyone_reaches_both_and_revoked_or_locked_are_not_offered(
        sender_client: Client, sender: User,
        parents: tuple[Message, Recipient, Recipient]) -> None:
    message, mother, father = parents
    url = f"/c/{message.conversation_id}"
    assert sender_client.post(url, {"body": "Voor beiden", "audience": "all"}).status_code == 302
    answer = message.conversation.messages.order_by("-created_at").first()
    assert answer is not None and set(answer.audience.all()) == {mother, father}
    actions.revoke_recipient(sender=sender, recipient=father)
    page = sender_client.get(url).content.decode()
    assert _choices(page) == {}
    assert "Dit antwoord gaat naar Moeder &lt;moeder@example.nl&gt;." in page


@pytest.mark.parametrize("audience", ["", "999999", "abc", "other"])
def test_a_bad_audience_is_a_clear_error_that_keeps_body_and_files(
        sender_client: Client, sender: User, parents: tuple[Message, Recipient, Recipient],
        audience: str) -> None:
    message, _mother, _father = parents
    if audience == "other":
        other = send(sender, recipients=[actions.RecipientSpec(email="x@example.nl",
                                                               method="email")])
        audience = str(other.conversation.recipients.get().pk)
    count = Message.objects.count()
    upload = SimpleUploadedFile("bijlage.pdf", b"%PDF-1.4 bijlage")
    response = sender_client.post(f"/c/{message.conversation_id}",
                                  {"body": "Mijn getypte tekst", "audience": audience,
                                   "attachments": upload})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'href="#audience"' in page and 'class="audience-choice has-error"' in page
    assert ("Kies uit de ontvangers van dit gesprek wie het antwoord krijgt." in page
            or "Kies ten minste één ontvanger voor het antwoord." in page)
    assert "Mijn getypte tekst" in page
    assert "bijlage.pdf" in page and 'name="attachment_ids"' in page
    assert Message.objects.count() == count


def test_a_revoked_recipient_chosen_anyway_is_refused_by_name(
        sender_client: Client, sender: User,
        parents: tuple[Message, Recipient, Recipient]) -> None:
    message, _mother, father = parents
    actions.revoke_recipient(sender=sender, recipient=father)
    response = sender_client.post(f"/c/{message.conversation_id}",
                                  {"body": "Tekst", "audience": str(father.pk)})
    assert response.status_code == 400
    assert "vader@example.nl" in response.content.decode()


def test_compose_offers_bcc(sender_client: Client) -> None:
    page = sender_client.get("/compose").content.decode()
    assert '<option value="bcc"' in page
    response = sender_client.post("/compose", {
        "subject": "Nieuwsbrief", "body": "Tekst", "rows": "2",
        "r-0-email": "a@example.nl", "r-0-method": "email", "r-0-kind": "to",
        "r-1-email": "b@example.nl", "r-1-method": "email", "r-1-kind": "bcc"})
    assert response.status_code == 302
    assert Recipient.objects.get(email="b@example.nl").kind == "bcc"
    bad = sender_client.post("/compose", {"subject": "S", "body": "T", "rows": "1",
                                          "r-0-email": "c@example.nl", "r-0-method": "email",
                                          "r-0-kind": "zz"})
    assert bad.status_code == 400
    assert "Kies Aan, CC of BCC voor c@example.nl." in bad.content.decode()
