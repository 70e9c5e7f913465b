from django.apps import AppConfig


class DlpConfig(AppConfig):
    name = "zegel.dlp"
    label = "dlp"
    default_auto_field = "django.db.models.BigAutoField"
