from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "zegel.orgs"
    label = "orgs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from zegel.orgs import signals  # noqa: F401 - connects the receivers
