from django.urls import path

from zegel.staff import audit_export, confirm, views

app_name = "staff"
urlpatterns = [
    path("staff/users", views.user_list, name="users"),
    path("staff/users/invite", views.invite, name="invite"),
    path("staff/users/<int:user_id>", views.user_detail, name="user"),
    path("staff/users/<int:user_id>/role", views.change_role, name="change_role"),
    path("staff/users/<int:user_id>/suspend", views.suspend, name="suspend"),
    path("staff/users/<int:user_id>/reactivate", views.reactivate, name="reactivate"),
    path("staff/users/<int:user_id>/resend", views.resend_invitation, name="resend_invitation"),
    path("staff/users/<int:user_id>/reset-two-factor", views.reset_two_factor,
         name="reset_two_factor"),
    path("staff/users/<int:user_id>/delete", views.delete, name="delete"),
    path("staff/audit", views.audit_log, name="audit"),
    path("staff/audit/export.csv", audit_export.export_csv, name="audit_export"),
    path("staff/audit/export.json", audit_export.export_json, name="audit_export_json"),
    path("staff/audit/verify", audit_export.verify, name="audit_verify"),
    path("account", views.account, name="account"),
    path("account/password", views.change_password, name="change_password"),
    path("account/confirm", confirm.confirm, name="confirm"),
    path("account/confirm/passkey/options", confirm.confirm_passkey_options,
         name="confirm_passkey_options"),
    path("account/confirm/passkey", confirm.confirm_passkey, name="confirm_passkey"),
    path("account/sessions/<int:session_id>/end", views.end_session, name="end_session"),
    path("account/sessions/end-all", views.end_all_sessions, name="end_all_sessions"),
    path("account/invitation/<str:token>", views.accept_invitation, name="accept_invitation"),
    path("account/forgot-password", views.forgot_password, name="forgot_password"),
    path("account/reset/<str:token>", views.reset_password, name="reset_password"),
]
