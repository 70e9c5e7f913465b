from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "zegel.orgs"
    label = "orgs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        from zegel.orgs import signals  # noqa: F401 - connects the receivers

        # zegel.orgs.signals.on_login writes last_login itself, keeping the one before.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
