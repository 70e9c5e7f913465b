from django.contrib.auth.views import LogoutView
from django.urls import path

from zegel.sender import views

app_name = "sender"
urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", LogoutView.as_view(next_page="sender:login"), name="logout"),
    path("inbox", views.inbox, name="inbox"),
    path("sent", views.sent, name="sent"),
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
