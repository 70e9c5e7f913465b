from django.apps import AppConfig


class DlpConfig(AppConfig):
    name = "zegel.dlp"
    label = "dlp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from zegel.dlp.service import DlpSendGuard
        from zegel.messaging import guards

        guards.register(DlpSendGuard())
