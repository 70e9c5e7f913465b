from django.contrib.auth.views import LogoutView
from django.urls import path

from zegel.orgs import settings_views
from zegel.sender import lists, second_step, security, views

app_name = "sender"
urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.LoginView.as_view(), name="login"),
    path("login/verify", second_step.login_verify, name="login_verify"),
    path("login/passkey/options", second_step.login_passkey_options, name="login_passkey_options"),
    path("login/passkey", second_step.login_passkey, name="login_passkey"),
    path("security", security.security, name="security"),
    path("security/totp/start", security.totp_start, name="security_totp_start"),
    path("security/totp", security.totp_confirm, name="security_totp"),
    path("security/totp/qr.svg", security.totp_qr, name="security_totp_qr"),
    path("security/totp/remove", security.totp_remove, name="security_totp_remove"),
    path("security/recovery-codes", security.recovery_new, name="security_recovery"),
    path("security/passkeys/options", security.passkey_options,
         name="security_passkey_options"),
    path("security/passkeys", security.passkey_add, name="security_passkey_add"),
    path("security/passkeys/<int:passkey_id>/rename", security.passkey_rename,
         name="security_passkey_rename"),
    path("security/passkeys/<int:passkey_id>/remove", security.passkey_remove,
         name="security_passkey_remove"),
    path("logout", LogoutView.as_view(next_page="sender:login"), name="logout"),
    path("settings/organisation", settings_views.organisation_settings,
         name="organisation_settings"),
    path("inbox", lists.inbox, name="inbox"),
    path("sent", lists.sent, name="sent"),
    path("compose", views.compose, name="compose"),
    path("compose/check", views.compose_check, name="compose_check"),
    path("compose/attach", views.compose_attach, name="compose_attach"),
    path("compose/attach/<str:attachment_id>/remove", views.compose_detach,
         name="compose_detach"),
    path("compose/not-sensitive", views.compose_not_sensitive, name="compose_not_sensitive"),
    path("c/<str:conversation_id>", views.conversation, name="conversation"),
    path("c/<str:conversation_id>/a/<str:attachment_id>", views.download, name="download"),
    path("c/<str:conversation_id>/status", views.conversation_status,
         name="conversation_status"),
    path("c/<str:conversation_id>/revoke", views.revoke, name="revoke"),
    path("c/<str:conversation_id>/expiry", views.change_expiry, name="change_expiry"),
    path("c/<str:conversation_id>/recipients/<int:recipient_id>/revoke", views.revoke_recipient,
         name="revoke_recipient"),
    path("c/<str:conversation_id>/recipients/<int:recipient_id>/resend", views.resend,
         name="resend"),
]
