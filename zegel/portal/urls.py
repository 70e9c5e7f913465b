from django.urls import path

from zegel.portal import genuine, views

app_name = "portal"
urlpatterns = [
    path("m/<str:token>", views.landing, name="landing"),
    path("m/<str:token>/code", views.send_code, name="send_code"),
    path("m/<str:token>/verify", views.verify, name="verify"),
    path("m/<str:token>/reply", views.reply, name="reply"),
    path("m/<str:token>/end", views.end_session, name="end"),
    path("m/<str:token>/stay", views.stay, name="stay"),
    path("m/<str:token>/help", views.ask_for_help, name="help"),
    path("m/<str:token>/forget", views.forget, name="forget"),
    path("m/<str:token>/a/<str:attachment_id>", views.download, name="download"),
    path("m/<str:token>/copy.pdf", views.copy_pdf, name="copy_pdf"),
    path("m/<str:token>/e/<str:message_id>", views.copy_eml, name="copy_eml"),
    path("o/<str:domain>/", genuine.info, name="info"),
    path("o/<str:domain>/genuine", genuine.genuine, name="genuine"),
]
