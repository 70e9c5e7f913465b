"""The admin's user pages: invite, change role, suspend, reactivate, delete; the organisation
boundary; the last admin."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, send
from tests.orgs.race import at_once
from tests.orgs.staff import STRONG, client_of, english, mailed_link, make_user
from zegel.audit.models import AuditEvent
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.orgs.actions import (
    Refused,
    change_role,
    delete_user,
    issue_api_token,
    reset_two_factor,
    suspend_user,
)
from zegel.orgs.models import AccountLink, ApiToken, Organisation, Passkey, RecoveryCode, User
from zegel.orgs.twofactor.policy import has_second_factor


@pytest.fixture
def admin(org: Organisation) -> User:
    return make_user(org, "beheer@zorggroep-noord.nl", "admin")


@pytest.fixture
def admin_client(admin: User) -> Client:
    return client_of(admin)


def test_the_list_shows_role_status_and_last_log_in(admin_client: Client, sender: User,
                                                    outsider: User) -> None:
    client_of(sender, ip="198.51.100.7")
    page = admin_client.get("/staff/users").content.decode()
    assert sender.email in page and "Member" in page and "Active" in page
    assert "198.51.100.7" in page
    assert outsider.email not in page


def test_an_invitation_mails_a_single_use_link_that_sets_the_password(
        admin: User, admin_client: Client) -> None:
    response = admin_client.post("/staff/users/invite", {
        "email": "Kees@Zorggroep-Noord.nl", "name": "Kees Bakker", "role": "auditor"})
    assert response.status_code == 302
    invited = User.objects.get(email="kees@zorggroep-noord.nl")
    assert invited.role == "auditor" and not invited.has_usable_password()
    assert "Invited" in admin_client.get("/staff/users").content.decode()
    event = AuditEvent.objects.get(action="user.invited")
    assert event.actor_id == str(admin.pk) and event.object_id == str(invited.pk)
    token = mailed_link(invited.email, "invitation")
    link = AccountLink.objects.get(user=invited)
    assert token not in link.token_hash and token not in str(event.data)
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    guest = english()
    # The GET shows the form and changes nothing (mail scanners open links).
    assert guest.get(f"/account/invitation/{token}").status_code == 200
    assert guest.get(f"/account/invitation/{token}").status_code == 200
    response = guest.post(f"/account/invitation/{token}", {
        "new_password": STRONG, "new_password_again": STRONG})
    assert response.status_code == 302 and response["Location"] == "/login"
    invited.refresh_from_db()
    assert invited.check_password(STRONG)
    assert AuditEvent.objects.filter(action="user.invitation_accepted",
                                     object_id=invited.pk).count() == 1
    assert english().post("/login", {"username": invited.email, "password": STRONG}
                         ).status_code == 302


def test_a_used_invitation_link_is_refused(admin_client: Client) -> None:
    admin_client.post("/staff/users/invite", {"email": "kees@zorggroep-noord.nl",
                                              "role": "member"})
    token = mailed_link("kees@zorggroep-noord.nl", "invitation")
    form = {"new_password": STRONG, "new_password_again": STRONG}
    assert english().post(f"/account/invitation/{token}", form).status_code == 302
    other = "een ander lang wachtwoord"
    again = english().post(f"/account/invitation/{token}",
                          {"new_password": other, "new_password_again": other})
    assert again.status_code == 404 and "no longer works" in again.content.decode()
    assert english().get(f"/account/invitation/{token}").status_code == 404
    assert User.objects.get(email="kees@zorggroep-noord.nl").check_password(STRONG)


def test_an_expired_invitation_link_is_refused(admin_client: Client) -> None:
    admin_client.post("/staff/users/invite", {"email": "kees@zorggroep-noord.nl",
                                              "role": "member"})
    token = mailed_link("kees@zorggroep-noord.nl", "invitation")
    AccountLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert english().get(f"/account/invitation/{token}").status_code == 404
    response = english().post(f"/account/invitation/{token}",
                             {"new_password": STRONG, "new_password_again": STRONG})
    assert response.status_code == 404
    assert not User.objects.get(email="kees@zorggroep-noord.nl").has_usable_password()


def test_a_new_invitation_replaces_the_old_link(admin_client: Client) -> None:
    admin_client.post("/staff/users/invite", {"email": "kees@zorggroep-noord.nl",
                                              "role": "member"})
    first = mailed_link("kees@zorggroep-noord.nl", "invitation")
    kees = User.objects.get(email="kees@zorggroep-noord.nl")
    assert admin_client.post(f"/staff/users/{kees.pk}/resend").status_code == 302
    second = mailed_link(kees.email, "invitation")
    assert first != second
    assert english().get(f"/account/invitation/{first}").status_code == 404
    assert english().get(f"/account/invitation/{second}").status_code == 200


@pytest.mark.parametrize(("form", "error"), [
    ({"email": "not an address", "role": "member"}, "Not an e-mail address"),
    ({"email": "anna@zorggroep-noord.nl", "role": "member"}, "exists already"),
    ({"email": "kees@zorggroep-noord.nl", "role": "root"}, "Roles are"),
    ({"email": "kees@zorggroep-noord.nl", "role": "member", "name": "x" * 201}, "200"),
])
def test_a_bad_invitation_is_refused_with_nothing_sent(admin_client: Client, sender: User,
                                                       form: dict[str, str],
                                                       error: str) -> None:
    response = admin_client.post("/staff/users/invite", form)
    assert response.status_code == 400 and error in response.content.decode()
    assert not OutboxItem.objects.exists() and not AccountLink.objects.exists()


def test_an_admin_of_one_organisation_cannot_touch_anothers_users(
        admin_client: Client, outsider: User) -> None:
    assert admin_client.get(f"/staff/users/{outsider.pk}").status_code == 404
    for action, form in (("suspend", {}), ("reactivate", {}), ("role", {"role": "admin"}),
                         ("delete", {"confirm": "yes"}), ("resend", {})):
        response = admin_client.post(f"/staff/users/{outsider.pk}/{action}", form)
        assert response.status_code == 404, action
    assert admin_client.post("/staff/users/99999/suspend").status_code == 404
    outsider.refresh_from_db()
    assert outsider.is_active and outsider.role == "member"
    assert not AuditEvent.objects.filter(object_id=outsider.pk).exclude(
        action__startswith="user.login").exists()


def test_suspending_stops_the_old_session_and_the_old_token_at_once(
        admin_client: Client, sender: User) -> None:
    message = send(sender)
    session = client_of(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(sender.email)}")
    assert session.get("/sent").status_code == 200
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 200
    assert admin_client.post(f"/staff/users/{sender.pk}/suspend").status_code == 302
    response = session.get("/sent")
    assert response.status_code == 302 and response["Location"].startswith("/login")
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 401
    assert english().post("/login", {"username": sender.email, "password": PASSWORD}
                         ).status_code == 200
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.data["sessions_ended"] == 1 and event.data["tokens_revoked"] == 1
    # Reactivated, the person logs in again; the old token stays revoked.
    assert admin_client.post(f"/staff/users/{sender.pk}/reactivate").status_code == 302
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 401
    client_of(sender)


def test_a_token_of_a_user_made_inactive_in_the_database_stops_too(sender: User) -> None:
    message = send(sender)
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    User.objects.filter(pk=sender.pk).update(is_active=False)
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 401


def test_changing_a_role_is_audited(admin: User, admin_client: Client, sender: User) -> None:
    response = admin_client.post(f"/staff/users/{sender.pk}/role", {"role": "policy_admin"})
    assert response.status_code == 302
    sender.refresh_from_db()
    assert sender.role == "policy_admin"
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.data == {"email": sender.email, "from": "member", "to": "policy_admin"}
    assert event.actor_id == str(admin.pk)
    assert admin_client.post(f"/staff/users/{sender.pk}/role", {"role": "god"}
                             ).status_code == 302
    sender.refresh_from_db()
    assert sender.role == "policy_admin"


def test_the_last_admin_cannot_be_demoted_suspended_or_deleted(org: Organisation, admin: User,
                                                               admin_client: Client) -> None:
    for action, form in (("role", {"role": "member"}),):
        admin_client.post(f"/staff/users/{admin.pk}/{action}", form)
    admin.refresh_from_db()
    assert admin.role == "admin"
    second = make_user(org, "tweede@zorggroep-noord.nl", "admin")
    suspend_user(admin, second.pk)
    # The suspended admin does not count: the first is still the last active one.
    with pytest.raises(Refused, match="last administrator"):
        change_role(admin, admin.pk, "member")
    with pytest.raises(Refused, match="own account"):
        delete_user(admin, admin.pk)
    assert User.objects.get(pk=admin.pk).role == "admin"


def test_two_admins_can_hand_over(org: Organisation, admin: User) -> None:
    second = make_user(org, "tweede@zorggroep-noord.nl", "admin")
    change_role(second, admin.pk, "member")
    with pytest.raises(Refused, match="last administrator"):
        change_role(second, second.pk, "member")


def test_a_user_without_messages_is_deleted(admin_client: Client, sender: User) -> None:
    issue_api_token(sender.email)
    response = admin_client.post(f"/staff/users/{sender.pk}/delete", {"confirm": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=sender.pk).exists()
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.get(action="user.deleted").data["email"] == sender.email


def test_a_user_who_sent_messages_is_anonymised_not_deleted(admin_client: Client,
                                                            sender: User) -> None:
    message = send(sender)
    token = issue_api_token(sender.email)
    assert admin_client.post(f"/staff/users/{sender.pk}/delete", {}).status_code == 302
    assert User.objects.get(pk=sender.pk).is_active  # not confirmed: nothing happened
    admin_client.post(f"/staff/users/{sender.pk}/delete", {"confirm": "yes"})
    kept = User.objects.get(pk=sender.pk)
    assert kept.anonymised_at is not None and not kept.is_active
    assert kept.email == f"deleted-{sender.pk}@deleted.invalid" and kept.name == ""
    assert not kept.has_usable_password()
    assert message.conversation.created_by_id == kept.pk
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 401
    assert sender.email not in admin_client.get("/staff/users").content.decode()
    assert admin_client.post(f"/staff/users/{sender.pk}/reactivate").status_code == 404
    assert AuditEvent.objects.filter(action="user.anonymised", object_id=sender.pk).exists()


def test_the_invitation_and_the_refusal_speak_dutch(admin_client: Client, sender: User) -> None:
    admin_client.post("/staff/users/invite", {"email": "kees@zorggroep-noord.nl",
                                              "role": "member"})
    mailed_link("kees@zorggroep-noord.nl", "invitation")
    mail = CapturedMessage.objects.get(to="kees@zorggroep-noord.nl")
    assert mail.subject == "U bent uitgenodigd voor Zegel bij Zorggroep Noord"
    dutch = Client()
    dutch.force_login(sender)
    page = dutch.get("/staff/users").content.decode()
    assert "Alleen een beheerder van uw organisatie kan de gebruikers beheren." in page


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(org: Organisation) -> None:
    first = make_user(org, "een@zorggroep-noord.nl", "admin")
    second = make_user(org, "twee@zorggroep-noord.nl", "admin")
    jobs = [lambda: change_role(first, second.pk, "member"),
            lambda: change_role(second, first.pk, "member")]
    lock = threading.Lock()

    def one() -> User:
        with lock:
            job = jobs.pop()
        return job()

    results = at_once(one, times=2)
    assert sum(isinstance(r, User) for r in results) == 1
    assert sum(isinstance(r, Refused) for r in results) == 1, results
    assert User.objects.filter(role="admin", is_active=True).count() == 1
    assert AuditEvent.objects.filter(action="user.role_changed").count() == 1


def test_a_demoted_admins_open_page_can_no_longer_act(org: Organisation, admin: User,
                                                      sender: User) -> None:
    other = make_user(org, "tweede@zorggroep-noord.nl", "admin")
    change_role(other, admin.pk, "member")
    with pytest.raises(Refused, match="Only an administrator"):
        suspend_user(admin, sender.pk)  # `admin` still says "admin" in memory
    assert User.objects.get(pk=sender.pk).is_active


def _give_second_factors(user: User) -> None:
    # Rows as enrolment leaves them (enrolling through the pages is tested in
    # tests/sender/test_two_factor.py); made after the clients logged in with a password.
    Passkey.objects.create(user=user, name="work laptop", credential_id=f"cred-{user.pk}",
                           public_key=b"public key")
    RecoveryCode.objects.create(user=user, code_hash=f"{user.pk:064d}")


def test_an_admin_resets_a_users_two_factor_login(admin: User, admin_client: Client,
                                                  sender: User) -> None:
    _give_second_factors(sender)
    page = admin_client.get(f"/staff/users/{sender.pk}").content.decode()
    assert f'action="/staff/users/{sender.pk}/reset-two-factor"' in page
    # Without the confirmation box ticked nothing happens.
    unconfirmed = admin_client.post(f"/staff/users/{sender.pk}/reset-two-factor")
    assert unconfirmed.status_code == 302 and has_second_factor(sender)
    response = admin_client.post(f"/staff/users/{sender.pk}/reset-two-factor",
                                 {"confirm": "yes"}, follow=True)
    assert response.status_code == 200 and "Two-factor login was reset" in \
        response.content.decode()
    assert not has_second_factor(sender)
    assert not RecoveryCode.objects.filter(user=sender).exists()
    event = AuditEvent.objects.get(action="user.second_factors_reset")
    assert event.actor_id == str(admin.pk) and event.object_id == str(sender.pk)
    assert event.data["passkeys"] == 1 and event.data["recovery_codes"] == 1
    # The user logs in with the password alone again (no second step).
    assert english().post("/login", {"username": sender.email, "password": PASSWORD}
                          )["Location"] == "/"


def test_two_factor_reset_keeps_to_the_admins_organisation_and_role(
        org: Organisation, admin: User, admin_client: Client, sender: User,
        outsider: User) -> None:
    member_client = client_of(sender)
    # Another organisation's admin: their user is "not found" to this one.
    other_admin = make_user(outsider.organisation, "beheer@gemeente-zuid.nl", "admin")
    _give_second_factors(outsider)
    victim = make_user(org, "kees@zorggroep-noord.nl")
    _give_second_factors(victim)
    assert admin_client.post(f"/staff/users/{outsider.pk}/reset-two-factor",
                             {"confirm": "yes"}).status_code == 404
    assert has_second_factor(outsider)
    # A member may not reset anyone's, not even over the action directly.
    refused = member_client.post(f"/staff/users/{victim.pk}/reset-two-factor",
                                 {"confirm": "yes"})
    assert refused.status_code == 403
    with pytest.raises(Refused) as exc:
        reset_two_factor(sender, victim.pk)
    assert exc.value.status == 403
    with pytest.raises(Refused) as exc:
        reset_two_factor(other_admin, victim.pk)
    assert exc.value.status == 404
    assert has_second_factor(victim) and RecoveryCode.objects.filter(user=victim).exists()
    assert not AuditEvent.objects.filter(action="user.second_factors_reset").exists()
