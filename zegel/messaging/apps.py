from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "zegel.messaging"
    label = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from zegel.messaging import receivers  # noqa: F401 - connects the receivers
