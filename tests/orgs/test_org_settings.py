"""The organisation settings page (/settings/organisation) and what its settings do: the
notification and portal texts, the brand colour's contrast, and the senders' limits in compose,
the conversation page and the API."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from tests.conftest import PASSWORD, deliver_and_get_link, latest_sms_code, send
from zegel.audit.models import AuditEvent
from zegel.messaging import actions
from zegel.messaging.errors import ActionError, ActionErrors
from zegel.messaging.models import Recipient
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.orgs.actions import Refused, contrast_with_white, update_organisation
from zegel.orgs.models import ApiToken, Organisation, User

URL = "/settings/organisation"


@pytest.fixture
def admin(org: Organisation) -> User:
    return User.objects.create_user("beheer@zorggroep-noord.nl", org, PASSWORD, role="admin")


def _client(user: User, **kwargs: bool) -> Client:
    client = Client(headers={"accept-language": "en"}, **kwargs)
    client.force_login(user)
    return client


def _form(org: Organisation, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": org.name, "contact_email": org.contact_email, "contact_phone": org.contact_phone,
        "info_url": org.info_url, "brand_colour": org.brand_colour,
        "explanation_nl": org.explanation, "explanation_en": org.explanation_en,
        "button_text": org.notification_button_text,
        "default_expiry_days": str(org.default_expiry_days),
        "max_expiry_days": str(org.max_expiry_days), "default_method": org.default_method,
        "portal_idle_minutes": str(org.portal_idle_minutes),
        "max_attachment_mb": str(org.max_attachment_mb),
        "notification_sender": org.notification_sender,
    }
    if org.email_code_allowed:
        data["email_code_allowed"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="org.updated").order_by("id"))


# --- The page --------------------------------------------------------------------------------


def test_an_admin_changes_every_setting_and_one_event_names_the_fields(
        admin: User, org: Organisation) -> None:
    client = _client(admin)
    page = client.get(URL)
    assert page.status_code == 200 and b"Organisation settings" in page.content
    response = client.post(URL, _form(
        org, name="Zorggroep Noord-Holland", contact_email="Support@Zorggroep-Noord.nl",
        contact_phone="020 123 45 67", info_url="https://zorggroep-noord.nl/zegel",
        brand_colour="#0B5D1E", explanation_nl="Wij mailen veilig.",
        explanation_en="We e-mail securely.", button_text="Open het bericht",
        default_expiry_days="14", max_expiry_days="90", default_method="access_code",
        email_code_allowed=None, portal_idle_minutes="5", max_attachment_mb="20"))
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.contact_email, org.contact_phone, org.info_url, org.brand_colour) == (
        "Zorggroep Noord-Holland", "support@zorggroep-noord.nl", "020 123 45 67",
        "https://zorggroep-noord.nl/zegel", "#0b5d1e")
    assert (org.explanation, org.explanation_en, org.notification_button_text) == (
        "Wij mailen veilig.", "We e-mail securely.", "Open het bericht")
    assert (org.default_expiry_days, org.max_expiry_days, org.default_method,
            org.email_code_allowed, org.portal_idle_minutes, org.max_attachment_mb) == (
        14, 90, "access_code", False, 5, 20)
    [event] = _events()
    assert (event.actor_type, event.actor_id) == ("user", str(admin.pk))
    assert event.data == {"fields": sorted([
        "name", "contact_email", "contact_phone", "info_url", "brand_colour", "explanation",
        "explanation_en", "notification_button_text", "default_expiry_days", "max_expiry_days",
        "default_method", "email_code_allowed", "portal_idle_minutes", "max_attachment_mb"])}
    # Field names only: no value is in the audit log.
    assert "Wij mailen" not in json.dumps(event.data)


def test_saving_unchanged_settings_writes_no_event(admin: User, org: Organisation) -> None:
    response = _client(admin).post(URL, _form(org))
    assert response.status_code == 302
    assert _events() == []


@pytest.mark.parametrize(("field", "value", "message"), [
    ("brand_colour", "#ffcc00", "contrast of 1.5"),
    ("brand_colour", "#777777", "contrast of 4.48:1"),
    ("brand_colour", "red; background:url(x)", "Not a colour"),
    ("name", "   ", "needs a name"),
    ("contact_email", "not-an-address", "Not an e-mail address"),
    ("contact_phone", "call me", "Not a phone number"),
    ("info_url", "javascript:alert(1)", "Not a web address"),
    ("button_text", "x" * 61, "at most 60 characters"),
    ("explanation_nl", "x" * 2001, "at most 2000 characters"),
    ("default_expiry_days", "-1", "number of days from 0 to 365"),
    ("default_expiry_days", "seven", "number of days from 0 to 365"),
    ("max_expiry_days", "366", "0 (no maximum) to 365 days"),
    ("default_method", "carrier-pigeon", "sms, access_code or email"),
    ("portal_idle_minutes", "1", "0 (the installation&#x27;s) or 2 to 120 minutes"),
    ("portal_idle_minutes", "121", "0 (the installation&#x27;s) or 2 to 120 minutes"),
    ("portal_idle_minutes", "soon", "Enter a number of minutes"),
    ("max_attachment_mb", "-3", "Enter a number of megabytes"),
    ("max_attachment_mb", "999999", "0 (the installation&#x27;s) to 2048 MB"),
])
def test_bad_input_is_refused_with_a_clear_message_at_its_field(
        admin: User, org: Organisation, field: str, value: str, message: str) -> None:
    response = _client(admin).post(URL, _form(org, **{field: value}))
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text
    assert f'id="{field}-error"' in text
    assert _events() == []
    fresh = Organisation.objects.get(pk=org.pk)
    assert (fresh.name, fresh.brand_colour) == (org.name, org.brand_colour)


def test_the_limits_are_checked_together(admin: User, org: Organisation) -> None:
    client = _client(admin)
    longer = client.post(URL, _form(org, default_expiry_days="60", max_expiry_days="30"))
    assert longer.status_code == 400
    assert b"longer than the maximum" in longer.content
    endless = client.post(URL, _form(org, default_expiry_days="0", max_expiry_days="30"))
    assert endless.status_code == 400 and b"cannot be &quot;no end date&quot;" in endless.content
    email = client.post(URL, _form(org, default_method="email", email_code_allowed=None))
    assert email.status_code == 400 and b"cannot be the e-mail code" in email.content
    assert _events() == []


def test_the_contrast_ratio_is_the_wcag_one() -> None:
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)
    assert contrast_with_white("#154273") > 4.5


def test_a_member_is_refused_and_changes_nothing(sender: User, org: Organisation) -> None:
    client = _client(sender)
    assert client.get(URL).status_code == 403
    response = client.post(URL, _form(org, name="Taken over"))
    assert response.status_code == 403
    assert b"Only an administrator" in response.content
    assert Organisation.objects.get(pk=org.pk).name == "Zorggroep Noord"
    assert _events() == []


def test_logged_out_goes_to_the_login_page(org: Organisation) -> None:
    response = Client().post(URL, _form(org, name="Taken over"))
    assert response.status_code == 302 and "/login" in response["Location"]
    assert Organisation.objects.get(pk=org.pk).name == "Zorggroep Noord"


def test_an_admin_changes_only_their_own_organisation(
        admin: User, org: Organisation, outsider: User) -> None:
    other = outsider.organisation
    other_admin = User.objects.create_user("beheer@gemeente-zuid.nl", other, PASSWORD,
                                           role="admin")
    # Whatever the form says of another organisation, it is the admin's own that changes.
    response = _client(other_admin).post(URL, {**_form(other, name="Gemeente Zuid-Oost"),
                                                "domain": org.domain, "organisation": org.pk})
    assert response.status_code == 302
    assert Organisation.objects.get(pk=org.pk).name == "Zorggroep Noord"
    assert Organisation.objects.get(pk=other.pk).name == "Gemeente Zuid-Oost"
    assert _client(admin).get(URL).content.count(b"Gemeente Zuid") == 0


def test_a_post_without_the_csrf_token_is_refused(admin: User, org: Organisation) -> None:
    response = _client(admin, enforce_csrf_checks=True).post(URL, _form(org, name="Forged"))
    assert response.status_code == 403
    assert Organisation.objects.get(pk=org.pk).name == "Zorggroep Noord"


# --- What the settings do -----------------------------------------------------------------


ATTACKS = "<b>vet</b> {{ settings.SECRET_KEY }} {% load static %} <script>alert(1)</script>"


def _fresh(user: User) -> User:
    """The user as a new request reads it, with the organisation's settings of now."""
    return User.objects.select_related("organisation").get(pk=user.pk)


def _notification(to: str = "piet@example.nl") -> CapturedMessage:
    deliver_and_get_link(to)
    mail = CapturedMessage.objects.filter(channel="email", to=to).order_by("-id").first()
    assert mail is not None
    return mail


def test_the_explanation_is_shown_as_text_never_rendered(
        sender: User, org: Organisation, settings: Any) -> None:
    update_organisation(org.domain, explanation_nl=ATTACKS, explanation_en="English " + ATTACKS)
    send(_fresh(sender))
    mail = _notification()
    assert "&lt;b&gt;vet&lt;/b&gt; {{ settings.SECRET_KEY }} {% load static %} " \
        "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html
    assert "<script>" not in mail.html and "<b>vet" not in mail.html
    assert ATTACKS in mail.text
    assert settings.SECRET_KEY not in mail.html + mail.text
    genuine = Client().get(f"/o/{org.domain}/genuine", headers={"accept-language": "nl"})
    assert genuine.status_code == 200
    assert b"&lt;b&gt;vet&lt;/b&gt; {{ settings.SECRET_KEY }}" in genuine.content
    assert b"<script>alert" not in genuine.content


def test_the_notification_reads_the_explanation_in_the_recipients_language(
        sender: User, org: Organisation) -> None:
    update_organisation(org.domain, explanation_nl="Wij mailen veilig.",
                        explanation_en="We e-mail securely.")
    with translation.override("en"):
        assert org.__class__.objects.get(pk=org.pk).localised_explanation == "We e-mail securely."
    with translation.override("nl"):
        assert org.__class__.objects.get(pk=org.pk).localised_explanation == "Wij mailen veilig."
    update_organisation(org.domain, explanation_en="")
    with translation.override("en"):
        assert Organisation.objects.get(pk=org.pk).localised_explanation == "Wij mailen veilig."


def test_the_notification_shows_colour_button_text_and_explanation(
        sender: User, org: Organisation) -> None:
    update_organisation(org.domain, brand_colour="#0b5d1e", button_text="Open het bericht",
                        explanation_nl="Zorggroep Noord mailt veilig.")
    send(_fresh(sender))
    mail = _notification()
    assert "background:#0b5d1e" in mail.html
    assert "Open het bericht" in mail.html and "Open het bericht" in mail.text
    assert "Zorggroep Noord mailt veilig." in mail.text


def _recipient(**kw: str) -> actions.RecipientSpec:
    return actions.RecipientSpec(email="piet@example.nl", name="Piet", **kw)


def test_the_email_code_is_refused_where_it_is_not_allowed(
        sender: User, org: Organisation) -> None:
    update_organisation(org.domain, email_code_allowed=False)
    with pytest.raises(ActionErrors) as refused:
        send(_fresh(sender), recipients=[_recipient(method="sms", phone="06 12345678"),
                                 actions.RecipientSpec(email="kees@example.nl", method="email")])
    [error] = refused.value.errors
    assert error.field == "1.method" and "does not allow the e-mail code" in error.message
    assert "kees@example.nl" in error.message
    # The compose page does not offer it.
    page = _client(sender).get("/compose")
    assert b'value="email"' not in page.content
    # Nor does the API let it through: the recipient is held (docs/api.md "Held recipients"),
    # with no link and no notification, until the sender gives a method that is allowed.
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.post("/api/v1/messages", json.dumps({
        "subject": "x", "body": "y",
        "recipients": [{"email": "a@example.nl", "verification": "email"}]}),
        content_type="application/json")
    assert response.status_code == 201
    [held] = response.json()["recipients"]
    assert (held["status"], held["held_reason"]) == ("held", "method_not_allowed")
    recipient = Recipient.objects.get(pk=held["id"])
    assert not recipient.links.exists()
    assert not OutboxItem.objects.filter(recipient=recipient).exists()


def test_compose_starts_with_the_default_method(sender: User, org: Organisation) -> None:
    update_organisation(org.domain, default_method="access_code")
    page = _client(sender).get("/compose").content.decode()
    assert '<option value="access_code" selected>' in page


def test_a_longer_end_date_than_the_maximum_is_refused(sender: User, org: Organisation) -> None:
    update_organisation(org.domain, default_expiry_days=30, max_expiry_days=90)
    recipients = [_recipient(method="sms", phone="06 12345678")]
    sender = _fresh(sender)
    for expires_at in (None, timezone.now() + timedelta(days=92)):
        with pytest.raises(ActionErrors) as refused:
            actions.send_message(sender=sender, subject="s", body="b", recipients=recipients,
                                 expires_at=expires_at)
        assert [e.field for e in refused.value.errors] == ["expires_at"]
        assert "at most 90 days" in refused.value.errors[0].message
    message = actions.send_message(sender=sender, subject="s", body="b", recipients=recipients,
                                   expires_at=timezone.now() + timedelta(days=90))
    # The conversation page cannot move it past the maximum either.
    with pytest.raises(ActionError) as moved:
        actions.set_expiry(sender=sender, conversation=message.conversation,
                           expires_at=timezone.now() + timedelta(days=200))
    assert "at most 90 days" in moved.value.message
    with pytest.raises(ActionError):
        actions.set_expiry(sender=sender, conversation=message.conversation, expires_at=None)


def test_compose_offers_no_choice_past_the_maximum(sender: User, org: Organisation) -> None:
    update_organisation(org.domain, default_expiry_days=30, max_expiry_days=90)
    page = _client(sender).get("/compose").content.decode()
    assert 'value="90"' in page and 'value="365"' not in page
    assert "No end date" not in page
    response = _client(sender).post("/compose", {
        "rows": "1", "r-0-email": "piet@example.nl", "r-0-method": "sms",
        "r-0-phone": "06 12345678", "subject": "s", "body": "b", "expires_in": "365"})
    assert response.status_code == 400


def test_the_api_refuses_a_longer_end_date(sender: User, org: Organisation) -> None:
    update_organisation(org.domain, default_expiry_days=30, max_expiry_days=90)
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"subject": "x", "body": "y",
            "recipients": [{"email": "a@example.nl", "verification": "sms",
                            "phone": "06 12345678"}]}
    for expires_at in (None, (timezone.now() + timedelta(days=120)).isoformat()):
        response = api.post("/api/v1/messages", json.dumps({**body, "expires_at": expires_at}),
                            content_type="application/json")
        assert response.status_code == 400
        assert response.json()["field"] == "expires_at"
    assert api.post("/api/v1/messages", json.dumps(body),
                    content_type="application/json").status_code == 201


def test_the_refusal_names_its_setting() -> None:
    with pytest.raises(Refused) as refused:
        update_organisation("nowhere.example", brand_colour="#ffff00")
    assert refused.value.field == "brand_colour"


def test_the_contrast_refusal_speaks_dutch_too(org: Organisation) -> None:
    with translation.override("nl"), pytest.raises(Refused) as refused:
        update_organisation(org.domain, brand_colour="#ffff00")
    assert refused.value.message.startswith("Witte tekst op #ffff00 heeft een contrast van 1.07:1")


def test_the_portal_session_ends_after_the_organisations_idle_timeout(
        sender: User, org: Organisation) -> None:
    update_organisation(org.domain, portal_idle_minutes=2)
    send(_fresh(sender))
    token = deliver_and_get_link()
    client = Client(headers={"accept-language": "en"})
    client.post(f"/m/{token}/code")
    assert client.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    assert b'data-idle-seconds="120"' in client.get(f"/m/{token}").content

    def idle_for(seconds: int) -> None:
        session = client.session
        state = session["portal"]
        state["t"] = time.time() - seconds
        session["portal"] = state
        session.save()

    # 100 s is within the organisation's 2 minutes (and the installation's 15).
    idle_for(100)
    assert client.post(f"/m/{token}/stay").json() == {"signed_in": True, "seconds": 120}
    idle_for(130)
    assert client.post(f"/m/{token}/stay").status_code == 401


def test_attachments_over_the_organisations_limit_are_refused(
        sender: User, org: Organisation, settings: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from zegel.messaging.models import Attachment

    settings.MAX_UPLOAD_SIZE = 5 * 1024 * 1024
    with pytest.raises(Refused) as refused:
        update_organisation(org.domain, max_attachment_mb=6)
    assert refused.value.field == "max_attachment_mb" and "to 5 MB" in refused.value.message
    update_organisation(org.domain, max_attachment_mb=1)
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    big = b"x" * (1024 * 1024 + 1)
    response = api.post("/api/v1/attachments", {"file": SimpleUploadedFile("a.bin", big)})
    assert response.status_code == 413
    assert str(1024 * 1024) in response.json()["detail"]
    page = _client(sender).post("/compose/attach",
                                {"attachments": SimpleUploadedFile("a.bin", big)})
    assert page.status_code == 413
    assert not Attachment.objects.exists()
    # Within the organisation's limit it goes in.
    fits = api.post("/api/v1/attachments", {"file": SimpleUploadedFile("a.bin", big[:-2])})
    assert fits.status_code == 201
