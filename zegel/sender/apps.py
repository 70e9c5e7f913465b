from django.apps import AppConfig


class SenderConfig(AppConfig):
    name = "zegel.sender"
    label = "sender"
    default_auto_field = "django.db.models.BigAutoField"
